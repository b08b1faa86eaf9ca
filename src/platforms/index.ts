import { Session } from "../auth/session.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { ApiPlan, Platform } from "../platform.js";
import type { Redactor } from "../safety/redact.js";
import { dciPlatform } from "../services/dci.js";
import { ovcPlatform } from "../services/ovc.js";
import { netprofilerPlatform } from "./netprofiler/index.js";
import { squonkPlatform } from "./squonk/index.js";
import { ssmcmPlatform } from "./ssmcm/index.js";

/** The registry: one line per platform, in the order tools are listed. Everything else reads it. */
export const PLATFORMS = [
  ssmcmPlatform,
  dciPlatform,
  squonkPlatform,
  ovcPlatform,
  netprofilerPlatform,
] as const;

/** A registry entry with its settings type erased, as the core handles every platform alike. */
const registry: readonly Platform[] = PLATFORMS;

/** One enabled upstream API: the plan of its session, and the platform it belongs to. */
interface EnabledApi extends ApiPlan {
  platform: Platform;
}

/** The upstream APIs the configuration enables, in registry order. */
function enabledPlans(config: Config, platforms: readonly Platform[] = registry): EnabledApi[] {
  const found: EnabledApi[] = [];
  for (const platform of platforms) {
    const enabled = config.platforms.get(platform.name);
    if (enabled === undefined) continue;
    for (const plan of platform.apis(enabled.settings)) found.push({ ...plan, platform });
  }
  return found;
}

/** Ids of the upstream APIs the configuration enables, as the generic tools name them. */
export function enabledApis(config: Config): string[] {
  return enabledPlans(config).map((plan) => plan.profile.api);
}

/** One Session per enabled upstream API, keyed by API id. */
export function createSessions(config: Config, redactor: Redactor, logger: Logger): Map<string, Session> {
  const sessions = new Map<string, Session>();
  for (const { url, profile, strategy, platform } of enabledPlans(config)) {
    sessions.set(
      profile.api,
      new Session({
        baseUrl: url,
        profile,
        strategy,
        tls: config.platforms.get(platform.name)?.tls ?? { insecure: false },
        timeoutMs: config.timeoutMs,
        maxResponseBytes: config.maxResponseBytes,
        readOnly: config.readOnly,
        redactor,
        logger,
        settingsPrefix: platform.prefix,
      }),
    );
  }
  return sessions;
}

/** What enables each platform, for messages that tell a user how to turn one on. */
export function enablingVariables(): string {
  return registry.map((platform) => `${platform.urlVariable} (${platform.name})`).join(", ");
}
