import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RedisProcess, startRedis } from "../scripts/cluster.mjs";
import { type HttpServing, serveHttp } from "../src/http.js";
import { type Emulators, type Harness, startEmulators, startHarness, textOf } from "./helpers.js";
import { requireReplicaServers } from "./replica-servers.js";

/** Two in-process runtimes ("replicas") with one confirmation key and one real Redis, as --http replicas. */

const PASSWORD = "redis-password-for-tests-0123";
const CONFIRM_KEY = "shared-confirm-key-for-replicas-0123456789";
const missing = requireReplicaServers(["redis-server"]);

let dir: string;
let redis: RedisProcess;
let upstreams: Awaited<ReturnType<typeof startEmulators>>;
const open: Harness[] = [];
let serving: HttpServing | undefined;

beforeAll(async () => {
  if (missing.length > 0) return;
  dir = mkdtempSync(join(tmpdir(), "infra-mcp-redis-"));
  redis = await startRedis({ dir, password: PASSWORD });
  upstreams = await startEmulators();
});

afterEach(async () => {
  await serving?.close();
  serving = undefined;
  for (const harness of open.splice(0)) {
    await harness.runtime.spentTokens.close();
    await harness.close();
  }
  upstreams?.emulators.dci.clearFaults();
});

afterAll(async () => {
  await upstreams?.stop();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A replica: its own runtime and upstream sessions, the shared emulators, key and Redis. */
async function replica(): Promise<Harness> {
  const harness = await startHarness({
    emulators: upstreams.emulators as Partial<Emulators>,
    env: { INFRA_MCP_REDIS_URL: redis.url, INFRA_MCP_CONFIRM_KEY: CONFIRM_KEY },
  });
  open.push(harness);
  return harness;
}

/** Each test powers off its own server: the emulator refuses a server busy with an earlier operation. */
const powerOff = (serverId: number) => ({ server_id: serverId, action: "off" });

function powerOffs(serverId: number): number {
  const path = `/api/dci/v3/server/${serverId}/power_off`;
  return upstreams.emulators.dci.requests.filter((r) => r.method === "POST" && r.path === path).length;
}

async function tokenFrom(harness: Harness, args: Record<string, unknown>): Promise<string> {
  const first = await harness.call("dci_power_server", args);
  return (first.structuredContent as { confirmation_token: string }).confirmation_token;
}

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.skipIf(missing.length > 0)(
  `confirmation tokens spent in a shared Redis${missing.length > 0 ? ` (skipped: ${missing.join(", ")} not installed)` : ""}`,
  () => {
    it("spends a token with SET NX PX (its remaining lifetime) on one replica, and both refuse it after", async () => {
      const monitor = createClient({ url: redis.url });
      await monitor.connect();
      const commands: string[] = [];
      await monitor.monitor((line) => {
        if (line.includes('"SET"')) commands.push(line);
      });
      try {
        const [a, b] = [await replica(), await replica()];
        const args = powerOff(1);
        const before = powerOffs(1);
        const token = await tokenFrom(a, args);
        expect(powerOffs(1)).toBe(before);

        const done = await b.call("dci_power_server", { ...args, confirmation_token: token });
        expect(done.isError).toBeFalsy();
        expect(done.structuredContent).toMatchObject({ ok: true, ...args });
        for (const harness of [a, b]) {
          const again = await harness.call("dci_power_server", { ...args, confirmation_token: token });
          expect(again.isError).toBe(true);
          expect(textOf(again)).toContain("was already used; nothing was done again");
        }
        expect(powerOffs(1)).toBe(before + 1);

        // What crossed the wire to Redis: one key per token, set only if absent, expiring with the token.
        await until(() => commands.length >= 3, "three SETs in Redis's MONITOR");
        const sets = commands.map((line) =>
          line
            .slice(line.indexOf('"SET"'))
            .split(" ")
            .map((part) => JSON.parse(part)),
        );
        for (const set of sets) {
          expect(set.slice(0, 2)).toEqual(["SET", sets[0]![1]]);
          expect(set[1]).toMatch(/^infra-mcp:confirm:spent:[\w-]{16}$/);
          expect(set[2]).toBe("1");
          expect(set).toContain("NX");
          const lifetimeMs = Number(set[set.indexOf("PX") + 1]);
          expect(lifetimeMs).toBeGreaterThan(290_000);
          expect(lifetimeMs).toBeLessThanOrEqual(300_000);
        }
        expect(sets).toHaveLength(3);
        // Nothing is held in the replicas' memory.
        expect(a.runtime.confirmations.remembered() + b.runtime.confirmations.remembered()).toBe(0);
      } finally {
        await monitor.close();
      }
    });

    it("lets exactly one of two replicas act on a token both receive at the same moment", async () => {
      const [a, b] = [await replica(), await replica()];
      const args = powerOff(2);
      const before = powerOffs(2);
      const token = await tokenFrom(a, args);
      const results = await Promise.all(
        [a, b, a, b].map((harness) =>
          harness.call("dci_power_server", { ...args, confirmation_token: token }),
        ),
      );
      expect(
        results.filter((result) => !result.isError),
        results.map(textOf).join("\n"),
      ).toHaveLength(1);
      expect(results.filter((result) => textOf(result).includes("already used"))).toHaveLength(3);
      expect(powerOffs(2)).toBe(before + 1);
    });

    it("refuses and sends nothing while Redis is down, keeps serving reads, and honours the token once it is back", async () => {
      const [a, b] = [await replica(), await replica()];
      const args = powerOff(3);
      await b.runtime.spentTokens.check(); // b has been talking to Redis when it goes away
      serving = await serveHttp(b.runtime, { host: "127.0.0.1", port: 0 }, "bearer-token-0123456789abcdef");
      const readyz = () =>
        fetch(new URL("/readyz", serving!.url)).then(async (r) => [r.status, await r.json()]);
      expect(await readyz()).toEqual([200, { status: "ready" }]);
      const before = powerOffs(3);
      const token = await tokenFrom(a, args);

      await redis.stop();
      await until(() => b.logs.some((line) => line.includes("is unreachable")), "the outage in b's log");
      const refusals = [];
      for (let i = 0; i < 2; i += 1) {
        refusals.push(await b.call("dci_power_server", { ...args, confirmation_token: token }));
      }
      for (const refused of refusals) {
        expect(refused.isError).toBe(true);
        const text = textOf(refused);
        expect(text).toContain("could not be recorded as used, so nothing was done");
        expect(text).toContain(
          `Redis at redis://127.0.0.1:${redis.port} (password hidden) (INFRA_MCP_REDIS_URL)`,
        );
        expect(text).toContain("Repeat the call with the same confirmation_token once it is back");
      }
      expect(powerOffs(3)).toBe(before);
      expect((await b.call("dci_get_server", { server_id: 1 })).isError).toBeFalsy();
      const [status, body] = await readyz();
      expect(status).toBe(503);
      expect(JSON.stringify(body)).not.toContain(String(redis.port)); // no address for the unauthenticated
      // One warning per outage, not one per reconnection attempt.
      expect(b.logs.filter((line) => line.includes("is unreachable"))).toHaveLength(1);

      redis = await startRedis({ dir, password: PASSWORD, port: redis.port });
      await until(
        () =>
          b.runtime.spentTokens.check().then(
            () => true,
            () => false,
          ),
        "b to reconnect",
      );
      const done = await b.call("dci_power_server", { ...args, confirmation_token: token });
      expect(done.isError).toBeFalsy();
      expect(powerOffs(3)).toBe(before + 1);
      expect(b.logs.some((line) => line.includes("answers again"))).toBe(true);
      expect(await readyz()).toEqual([200, { status: "ready" }]);

      // The password (in the URL) appears in no log line and no result.
      const everything = [...a.logs, ...b.logs, ...refusals.map(textOf), textOf(done)].join("\n");
      expect(everything).not.toContain(PASSWORD);
    });

    it("refuses within its bound when Redis takes the command and never answers", async () => {
      const [a, b] = [await replica(), await replica()];
      const args = powerOff(4);
      await b.runtime.spentTokens.check();
      const before = powerOffs(4);
      const token = await tokenFrom(a, args);
      redis.pause();
      try {
        const started = Date.now();
        const refused = await b.call("dci_power_server", { ...args, confirmation_token: token });
        const elapsed = Date.now() - started;
        expect(refused.isError).toBe(true);
        expect(textOf(refused)).toContain("failed: no answer within 2000 ms");
        expect(textOf(refused)).toContain("if it is then refused as already used");
        expect(elapsed).toBeGreaterThanOrEqual(1_900);
        expect(elapsed).toBeLessThan(4_000);
      } finally {
        redis.resume();
      }
      expect(powerOffs(4)).toBe(before);
    });
  },
);
