import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Client as ModernClient,
  StreamableHTTPClientTransport as ModernHttpTransport,
} from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  freePort,
  NGINX_LOCATION,
  type NginxProcess,
  type RedisProcess,
  type ReplicaProcess,
  startNginx,
  startRedis,
  startReplica,
} from "../scripts/cluster.mjs";
import { builtCli, root } from "./built.js";
import { MODERN, pinnedModernClient, startEmulators, textOf } from "./helpers.js";
import { requireReplicaServers } from "./replica-servers.js";

/**
 * The real thing: nginx round-robin in front of three `infra-mcp --http` replicas (the built binary), one
 * redis-server, and one set of upstream emulators that all three replicas talk to. Each replica listens on
 * its own loopback address (127.0.0.2-4), as each would on its own host; nginx names the replica that
 * answered every response in X-Upstream-Addr.
 */

const HTTP_TOKEN = "replicas-http-token-0123456789abcdef";
const CONFIRM_KEY = "replicas-confirm-key-0123456789abcdef-0123";
const REDIS_PASSWORD = "replicas-redis-password-0123";
const missing = requireReplicaServers(["nginx", "redis-server"]);

let dir: string;
let upstreams: Awaited<ReturnType<typeof startEmulators>>;
let redis: RedisProcess;
let replicas: ReplicaProcess[] = [];
let nginx: NginxProcess;

beforeAll(async () => {
  if (missing.length > 0) return;
  dir = mkdtempSync(join(tmpdir(), "infra-mcp-replicas-"));
  upstreams = await startEmulators();
  redis = await startRedis({ dir, password: REDIS_PASSWORD });
}, 60_000);

afterAll(async () => {
  await redis?.stop();
  await upstreams?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Three replicas of the built server and nginx in front of them, fresh for each generation's tests. */
async function startCluster(): Promise<void> {
  const env = {
    ...upstreams.env,
    INFRA_MCP_HTTP_TOKEN: HTTP_TOKEN,
    INFRA_MCP_CONFIRM_KEY: CONFIRM_KEY,
    INFRA_MCP_REDIS_URL: redis.url,
    INFRA_MCP_LOG_LEVEL: "debug",
    INFRA_MCP_SHUTDOWN_TIMEOUT_MS: "10000",
  };
  const cli = builtCli();
  replicas = await Promise.all(
    [2, 3, 4].map((n) => startReplica({ cli, env, host: `127.0.0.${n}`, cwd: dir })),
  );
  nginx = await startNginx({
    dir,
    sites: [{ port: await freePort(), upstreams: replicas.map((r) => r.address) }],
  });
}

async function stopCluster(): Promise<void> {
  await nginx?.stop();
  for (const replica of replicas) await replica.stop();
}

/** A connected client, whichever protocol generation it speaks; `call` is bounded by `timeout`. */
interface Connection {
  call(name: string, args: Record<string, unknown>, timeout?: number): Promise<CallToolResult>;
  close(): Promise<void>;
}

/**
 * A fetch that notes, for each tools/call, the replica nginx says answered it, as soon as the answer's
 * headers arrive. (The client's other requests, such as its background GET for a stream, are left out:
 * they may finish in any order.)
 */
function notingReplicas(answeredBy: (string | null)[], retries: unknown[] = []): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const body = String(init?.body);
    if (body.includes('"method":"tools/call"')) {
      answeredBy.push(response.headers.get("x-upstream-addr"));
      // A retry carrying the answer to an input request, as the client sent it.
      if (body.includes('"requestState"')) retries.push(JSON.parse(body));
    }
    return response;
  };
}

const authorization = { headers: { authorization: `Bearer ${HTTP_TOKEN}` } };

/** The 2025-era client (the SDK's 1.x Client), which opens with `initialize`. */
async function connect(url: string): Promise<{ client: Client; answeredBy: (string | null)[] }> {
  const answeredBy: (string | null)[] = [];
  const client = new Client({ name: "replicas-test", version: "1" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: authorization,
      fetch: notingReplicas(answeredBy),
    }),
  );
  return { client, answeredBy };
}

/**
 * The SDK's v2 client pinned to 2026-07-28 (it opens with `server/discover`); with `confirm`, it declares
 * elicitation and accepts every confirmation it is asked for.
 */
async function connectModern(
  url: string,
  confirm = false,
): Promise<{ client: ModernClient; answeredBy: (string | null)[]; retries: unknown[] }> {
  const answeredBy: (string | null)[] = [];
  const retries: unknown[] = [];
  const client = pinnedModernClient("replicas-test-modern", confirm ? "accept" : undefined);
  await client.connect(
    new ModernHttpTransport(new URL(url), {
      requestInit: authorization,
      fetch: notingReplicas(answeredBy, retries),
    }),
  );
  return { client, answeredBy, retries };
}

/** Both generations, each as a Connection beside the replicas that answered its calls. */
const GENERATIONS = [
  {
    revision: "2025-11-25",
    connect: async (url: string): Promise<{ connection: Connection; answeredBy: (string | null)[] }> => {
      const { client, answeredBy } = await connect(url);
      return {
        answeredBy,
        connection: {
          call: (name, args, timeout) => call(client, name, args, timeout),
          close: () => client.close(),
        },
      };
    },
  },
  {
    revision: MODERN,
    connect: async (url: string): Promise<{ connection: Connection; answeredBy: (string | null)[] }> => {
      const { client, answeredBy } = await connectModern(url);
      return {
        answeredBy,
        connection: {
          call: (name, args, timeout = 10_000) =>
            client.callTool({ name, arguments: args }, { timeout }) as Promise<CallToolResult>,
          close: () => client.close(),
        },
      };
    },
  },
];

/** Resolves once nothing accepts connections at host:port any more. */
async function refusing(address: string): Promise<void> {
  const [host, port] = address.split(":");
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = netConnect({ host: host!, port: Number(port) }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (!open) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One tools/call with a bound, so a call that never gets an answer fails instead of hanging. */
function call(client: Client, name: string, args: Record<string, unknown>, timeout = 10_000) {
  return client.callTool({ name, arguments: args }, undefined, { timeout }) as Promise<CallToolResult>;
}

const powerOffs = (serverId: number) =>
  upstreams.emulators.dci.requests.filter(
    (r) => r.method === "POST" && r.path === `/api/dci/v3/server/${serverId}/power_off`,
  ).length;

describe.skipIf(missing.length > 0).each(GENERATIONS)(
  `three --http replicas behind nginx, sharing Redis${missing.length > 0 ? ` (skipped: ${missing.join(" and ")} not installed; apt-get install nginx redis-server)` : ""}: a $revision client`,
  (generation) => {
    beforeAll(startCluster, 60_000);
    afterAll(stopCluster);

    it.runIf(generation.revision !== MODERN)(
      "acts once on a confirmation issued by one replica and confirmed on another; every replica refuses it after",
      async () => {
        const { client, answeredBy } = await connect(nginx.urls[0]!);
        const args = { server_id: 3, action: "off" };
        const first = await call(client, "dci_power_server", args);
        expect(first.structuredContent).toMatchObject({ confirmation_required: true });
        const issuer = answeredBy.at(-1);
        const token = (first.structuredContent as { confirmation_token: string }).confirmation_token;
        expect(powerOffs(3)).toBe(0);

        const done = await call(client, "dci_power_server", { ...args, confirmation_token: token });
        expect(done.structuredContent).toMatchObject({ ok: true, server_id: 3, action: "off" });
        const confirmer = answeredBy.at(-1);
        // Round-robin put the confirmation on another replica than the one that issued the token.
        expect(replicas.map((r) => r.address)).toContain(issuer);
        expect(replicas.map((r) => r.address)).toContain(confirmer);
        expect(confirmer).not.toBe(issuer);
        // And that replica's log says it acted; no other replica's does.
        const acted = replicas.filter((r) => r.logs().includes("dci_power_server ok in"));
        expect(acted.map((r) => r.address)).toEqual([confirmer]);

        // The spent token, presented to each replica directly: refused everywhere, nothing sent again.
        for (const replica of replicas) {
          const direct = await connect(replica.url);
          const again = await call(direct.client, "dci_power_server", { ...args, confirmation_token: token });
          expect(again.isError, replica.address).toBe(true);
          expect(textOf(again)).toContain("was already used; nothing was done again");
          await direct.client.close();
        }
        expect(powerOffs(3)).toBe(1);

        // Redis holds the one spent token, with the token's remaining lifetime.
        const inspector = createClient({ url: redis.url });
        await inspector.connect();
        const keys = await inspector.keys("infra-mcp:confirm:spent:*");
        expect(keys).toHaveLength(1);
        const ttl = await inspector.pTTL(keys[0]!);
        expect(ttl).toBeGreaterThan(280_000);
        expect(ttl).toBeLessThanOrEqual(300_000);
        await inspector.close();
        await client.close();
      },
    );

    it.runIf(generation.revision === MODERN)(
      "acts once on a confirmation asked by one replica (an input request) and answered on another; every replica refuses its state after",
      async () => {
        const { client, answeredBy, retries } = await connectModern(nginx.urls[0]!, true);
        const args = { server_id: 4, action: "off" };
        // One call: the first round asks (its answer carries the signed state), the retry acts.
        const done = (await client.callTool({ name: "dci_power_server", arguments: args })) as CallToolResult;
        expect(done.structuredContent).toMatchObject({ ok: true, server_id: 4, action: "off" });
        const [asker, confirmer] = answeredBy.slice(-2);
        expect(replicas.map((r) => r.address)).toContain(asker);
        expect(replicas.map((r) => r.address)).toContain(confirmer);
        // Round-robin put the retry on another replica than the one that asked.
        expect(confirmer).not.toBe(asker);
        const acted = replicas.filter((r) => r.logs().includes("dci_power_server ok in"));
        expect(acted.map((r) => r.address)).toEqual([confirmer]);
        expect(powerOffs(4)).toBe(1);

        // The state the retry carried, once more, on each replica directly: refused everywhere, nothing sent.
        const retry = retries.at(-1) as { params: Record<string, unknown> & { requestState: string } };
        expect(retry.params.requestState).toMatch(/^[\w-]+\.[\w-]+$/);
        for (const replica of replicas) {
          const direct = await connectModern(replica.url);
          const again = await direct.client.request(
            { method: "tools/call", params: retry.params as never },
            { allowInputRequired: true },
          );
          expect(again, replica.address).toMatchObject({ isError: true });
          expect(JSON.stringify(again)).toContain("was already used; nothing was done again");
          await direct.client.close();
        }
        expect(powerOffs(4)).toBe(1);

        // Redis holds the state's nonce as spent, with the state's remaining lifetime.
        const { nonce } = JSON.parse(
          Buffer.from(retry.params.requestState.split(".")[0]!, "base64url").toString(),
        ) as {
          nonce: string;
        };
        const inspector = createClient({ url: redis.url });
        await inspector.connect();
        const ttl = await inspector.pTTL(`infra-mcp:confirm:spent:${nonce}`);
        expect(ttl).toBeGreaterThan(280_000);
        expect(ttl).toBeLessThanOrEqual(300_000);
        await inspector.close();
        await client.close();
      },
    );

    it("keeps serving when a replica is killed mid-load; only calls in flight on it fail", async () => {
      const { connection } = await generation.connect(nginx.urls[0]!);
      const victim = replicas[2]!;
      const total = 240;
      const inFlight = 16;
      let started = 0;
      // How many calls had started when the kill was sent, and when the replica was gone.
      let killedAt: number | undefined;
      let goneAt: number | undefined;
      const outcomes: { index: number; ok: boolean; error?: string }[] = [];
      const worker = async () => {
        while (started < total) {
          const index = started++;
          if (index === total / 3) {
            victim.signal("SIGKILL");
            killedAt = index;
            void victim.exited.then(() => {
              goneAt = started;
            });
          }
          try {
            const result = await connection.call("dci_list_servers", { limit: 2, fields: ["id"] }, 5_000);
            outcomes.push({
              index,
              ok: result.isError !== true,
              error: result.isError ? textOf(result) : undefined,
            });
          } catch (error) {
            outcomes.push({ index, ok: false, error: (error as Error).message });
          }
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
      expect(await victim.exited).toEqual({ code: null, signal: "SIGKILL" });

      const failures = outcomes.filter((o) => !o.ok);
      // A call fails only if it was on the killed replica before it was gone: a few of the calls in flight
      // then. Every call started once it was gone succeeded, nginx passing them to the other two.
      expect(killedAt).toBe(total / 3);
      expect(failures.length, JSON.stringify(failures)).toBeLessThanOrEqual(inFlight);
      for (const failure of failures) expect(failure.index).toBeLessThan(goneAt!);
      expect(outcomes.filter((o) => o.index >= goneAt!).every((o) => o.ok)).toBe(true);
      expect(outcomes.filter((o) => o.ok).length).toBeGreaterThanOrEqual(total - inFlight);
      // What such a client sees: nginx's 502 page when the replica died before its answer began (nginx
      // does not send a POST again), or an event stream that ended without an answer, after which the
      // SDK client waits for its request timeout.
      for (const failure of failures) expect(failure.error).toMatch(/502 Bad Gateway|Request timed out/);
      // nginx stopped sending to the dead replica: its later requests all went to the other two.
      const lastLines = nginx.accessLog().trim().split("\n").slice(-100);
      expect(lastLines.filter((line) => line.includes(victim.address) && / 200 /.test(line))).toEqual([]);
      await connection.close();
    }, 60_000);

    it("lets a call in flight finish on SIGTERM; the replica exits 0 and the others take the next calls", async () => {
      const { connection, answeredBy } = await generation.connect(nginx.urls[0]!);
      const dci = upstreams.emulators.dci;
      dci.delayNext(1, 1_500, { methods: ["GET"] });
      const before = answeredBy.length;
      const seen = dci.requests.length;
      const slow = connection.call("dci_get_server", { server_id: 1 });
      // The answer's headers (an event stream) arrive at once, naming the replica before the call ends.
      while (answeredBy.length === before) await new Promise((resolve) => setTimeout(resolve, 10));
      const serving = replicas.find((r) => r.address === answeredBy.at(-1))!;
      expect(serving).toBeDefined();
      while (!dci.requests.slice(seen).some((r) => r.faulted && r.path === "/api/dci/v3/server/1")) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      serving.signal("SIGTERM");

      // Once it has stopped listening, new calls through nginx land on the replicas still up: nginx's
      // connection is refused, so it passes the call on. (A call nginx writes to it in the very instant it
      // stops listening gets a 502: nginx does not send a POST twice.)
      await refusing(serving.address);
      for (let i = 0; i < 4; i += 1) {
        const read = await connection.call("dci_get_server", { server_id: 2 });
        expect(read.isError, textOf(read)).toBeFalsy();
        expect(answeredBy.at(-1)).not.toBe(serving.address);
      }
      const finished = await slow;
      expect(finished.isError, textOf(finished)).toBeFalsy();
      expect(finished.structuredContent).toMatchObject({ id: 1 });
      expect(await serving.exited).toEqual({ code: 0, signal: null });
      expect(serving.logs()).toContain("drained: 1 call finished; exiting.");
      await connection.close();
    }, 30_000);
  },
);

describe("the README's deployment section", () => {
  it("shows the nginx location block that the replica test runs", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const block = readme.slice(
      readme.indexOf("```nginx"),
      readme.indexOf("```", readme.indexOf("```nginx") + 3),
    );
    const shown = block.split("\n").map((line) => line.trim());
    for (const line of NGINX_LOCATION) expect(shown, line).toContain(line.trim());
    // And nothing that the test does not run, such as upstream keepalive.
    expect(block).not.toContain("keepalive");
  });
});
