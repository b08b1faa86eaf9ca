import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { ApiPlan, Platform } from "../platform.js";
import type { Redactor } from "../safety/redact.js";
import { Session } from "./session.js";

/** One enabled upstream API: the plan of its session, and the platform it belongs to. */
interface EnabledApi extends ApiPlan {
  platform: Platform;
}

/** The upstream APIs the configuration enables, in the order of the platforms given (registry order). */
function enabledPlans(config: Config, platforms: readonly Platform[]): EnabledApi[] {
  const found: EnabledApi[] = [];
  for (const platform of platforms) {
    const enabled = config.platforms.get(platform.name);
    if (enabled === undefined) continue;
    for (const plan of platform.apis(enabled.settings)) found.push({ ...plan, platform });
  }
  return found;
}

/** Ids of the upstream APIs the configuration enables, as the generic tools name them. */
export function enabledApis(config: Config, platforms: readonly Platform[]): string[] {
  return enabledPlans(config, platforms).map((plan) => plan.profile.api);
}

/** One Session per enabled upstream API, keyed by API id. */
export function openSessions(
  config: Config,
  platforms: readonly Platform[],
  redactor: Redactor,
  logger: Logger,
): Map<string, Session> {
  const sessions = new Map<string, Session>();
  for (const { url, profile, strategy, platform } of enabledPlans(config, platforms)) {
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
