import { findExecutable } from "../scripts/cluster.mjs";

/**
 * Which of the servers a replica test runs (nginx, redis-server) this machine lacks, so the suite can skip
 * with a clear message. CI installs them (.ci/run) and sets INFRA_MCP_REQUIRE_REPLICA_SERVERS=1, so there a
 * missing one fails instead: a skipped replica test must never pass for a green run.
 */
export function requireReplicaServers(names: readonly string[]): string[] {
  const missing = names.filter((name) => findExecutable(name) === undefined);
  if (missing.length > 0 && process.env.INFRA_MCP_REQUIRE_REPLICA_SERVERS === "1") {
    throw new Error(
      `${missing.join(" and ")} missing, but INFRA_MCP_REQUIRE_REPLICA_SERVERS=1: .ci/run should have installed them (apt-get install nginx redis-server).`,
    );
  }
  return missing;
}
