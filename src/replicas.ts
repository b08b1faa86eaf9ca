import type { ConfigProblem } from "./config.js";
import type { HttpServing } from "./http.js";
import type { Runtime } from "./server.js";

/**
 * What running as one of several `--http` replicas behind a load balancer needs besides serving: settings
 * that cannot be shared are refused or explained at start-up, the shared store of spent tokens must answer
 * before the first call, and SIGTERM drains.
 */

export interface ReplicaReview {
  /** Settings that cannot work: the process exits with status 2. */
  problems: ConfigProblem[];
  /** Settings that work on one replica only: said once, at start-up. */
  warnings: string[];
}

const KEY_EXAMPLE = "INFRA_MCP_CONFIRM_KEY=$(openssl rand -hex 32), the same value on every replica";

/**
 * `--http` is how replicas run, and a shared Redis (INFRA_MCP_REDIS_URL) says there are several: what
 * cannot work across replicas is refused when Redis declares them, and explained when only `--http` does
 * (one replica alone is a fine deployment). Then, when Redis is configured, it must answer.
 */
export async function reviewReplicaSettings(
  runtime: Runtime,
  env: Readonly<Record<string, string | undefined>>,
  options: { http: boolean },
): Promise<ReplicaReview> {
  const { config } = runtime;
  const review: ReplicaReview = { problems: [], warnings: [] };
  const shared = config.redisUrl !== undefined;
  if (options.http && config.confirmKey === undefined) {
    const why =
      "confirmation tokens are signed with a random key of this process, so a token works only on the " +
      "replica that issued it (and on none after a restart)";
    if (shared)
      review.problems.push({
        variable: "INFRA_MCP_CONFIRM_KEY",
        problem: `missing: INFRA_MCP_REDIS_URL says replicas share confirmations, but ${why}`,
        example: KEY_EXAMPLE,
      });
    else review.warnings.push(`INFRA_MCP_CONFIRM_KEY is not set: ${why}. Set ${KEY_EXAMPLE}.`);
  }

  for (const platform of runtime.platforms) {
    if (!options.http || !config.toolsets.has(platform.name)) continue;
    for (const variable of platform.variables) {
      if (!variable.usableOnce || !env[variable.name]?.trim()) continue;
      const why =
        `${variable.name} can be used once: it yields one session, for one replica, and every other ` +
        `replica's ${platform.name} calls would fail to log in`;
      const instead = variable.usableOnce.instead;
      if (shared)
        review.problems.push({
          variable: variable.name,
          problem: `cannot serve replicas (INFRA_MCP_REDIS_URL is set): ${why}. Give them credentials they can share`,
          example: instead,
        });
      else review.warnings.push(`${why}. Behind a load balancer, use ${instead}, or run one --http replica.`);
    }
  }

  if (shared) {
    try {
      await runtime.spentTokens.check();
    } catch (error) {
      review.problems.push({
        variable: "INFRA_MCP_REDIS_URL",
        problem:
          `${runtime.redactor.scrub((error as Error).message)}. Replicas spend confirmation tokens there; ` +
          "check that Redis runs and that the URL's host, port and password are right",
        example: "INFRA_MCP_REDIS_URL=redis://:<password>@redis.internal:6379/0",
      });
    }
  }
  return review;
}

/**
 * SIGTERM (or SIGINT): stop accepting, let the calls in flight finish within INFRA_MCP_SHUTDOWN_TIMEOUT_MS,
 * then exit 0. A second signal cuts them at once (each client told so) and exits with status 1, for an
 * operator who will not wait.
 */
export function drainOnSignals(serving: HttpServing, runtime: Runtime, release: () => Promise<void>): void {
  const say = (message: string) => process.stderr.write(`infra-mcp: ${message}\n`);
  let draining = false;
  let forced = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (draining) {
      forced = true;
      say(`${signal} again: stopping now, cutting the calls still in flight.`);
      await serving.cutNow(`the server was told to stop at once (${signal} twice)`);
      process.exit(1);
    }
    draining = true;
    const boundMs = runtime.config.shutdownTimeoutMs;
    say(`${signal}: draining; no new connections, calls in flight get up to ${boundMs} ms to finish.`);
    const { finished, cut } = await serving.drain(boundMs);
    if (forced) return;
    say(
      `drained: ${finished} call${finished === 1 ? "" : "s"} finished` +
        (cut > 0 ? `, ${cut} cut at the ${boundMs} ms bound (INFRA_MCP_SHUTDOWN_TIMEOUT_MS)` : "") +
        "; exiting.",
    );
    await runtime.spentTokens.close();
    await release();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
