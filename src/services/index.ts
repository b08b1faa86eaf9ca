import { createDciAuth } from "../auth/dci.js";
import { createNetprofilerAuth } from "../auth/netprofiler.js";
import { type AuthStrategy, type ServiceProfile, Session } from "../auth/session.js";
import type { Config, TlsConfig } from "../config.js";
import type { Logger } from "../log.js";
import type { Redactor } from "../safety/redact.js";
import { dciProfileFor } from "./dci.js";
import { netprofilerProfile } from "./netprofiler.js";

interface SessionPlan {
  url: string;
  tls: TlsConfig;
  profile: ServiceProfile;
  strategy: AuthStrategy;
}

/** The upstream APIs the configuration enables, each with its profile and way of logging in. */
function plans(config: Config): SessionPlan[] {
  const found: SessionPlan[] = [];
  if (config.dci) {
    const { url, tls, auth } = config.dci;
    found.push({ url, tls, profile: dciProfileFor(auth), strategy: createDciAuth(auth) });
  }
  if (config.netprofiler) {
    const { url, tls, auth } = config.netprofiler;
    found.push({ url, tls, profile: netprofilerProfile, strategy: createNetprofilerAuth(auth) });
  }
  return found;
}

/** Ids of the upstream APIs the configuration enables, as the generic tools name them. */
export function enabledApis(config: Config): string[] {
  return plans(config).map((plan) => plan.profile.api);
}

/** One Session per enabled upstream API, keyed by API id (`netprofiler`, `dci`, `squonk_dm`, ...). */
export function createSessions(config: Config, redactor: Redactor, logger: Logger): Map<string, Session> {
  const sessions = new Map<string, Session>();
  for (const { url, tls, profile, strategy } of plans(config)) {
    sessions.set(
      profile.api,
      new Session({
        baseUrl: url,
        profile,
        strategy,
        tls,
        timeoutMs: config.timeoutMs,
        readOnly: config.readOnly,
        redactor,
        logger,
      }),
    );
  }
  return sessions;
}
