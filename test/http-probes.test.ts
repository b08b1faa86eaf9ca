import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort, type ReplicaProcess, startReplica } from "../scripts/cluster.mjs";
import { type HttpServing, serveHttp } from "../src/http.js";
import { createRuntime } from "../src/server.js";
import { builtCli } from "./built.js";
import { type Emulators, loadConfig, PLATFORMS, startEmulators } from "./helpers.js";

/** What a load balancer needs from one --http replica: liveness, readiness, and a drain on SIGTERM. */

const TOKEN = "http-bearer-token-for-probe-tests-0123";
const SERVER = "/api/dci/v3/server/2";
let upstreams: Awaited<ReturnType<typeof startEmulators>>;
let dci: Emulators["dci"];
let serving: HttpServing | undefined;
let replica: ReplicaProcess | undefined;
const logs: string[] = [];
const dir = mkdtempSync(join(tmpdir(), "infra-mcp-probes-"));

beforeAll(async () => {
  upstreams = await startEmulators();
  dci = upstreams.emulators.dci;
});

afterEach(async () => {
  await serving?.close();
  serving = undefined;
  await replica?.stop();
  replica = undefined;
  dci.clearFaults();
  logs.length = 0;
});

afterAll(async () => {
  await upstreams.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(env: Record<string, string> = {}): Promise<HttpServing> {
  const config = loadConfig({ ...upstreams.env, INFRA_MCP_HTTP_TOKEN: TOKEN, ...env });
  const runtime = createRuntime(config, PLATFORMS, { writeLog: (line) => logs.push(line) });
  serving = await serveHttp(runtime, { host: "127.0.0.1", port: 0 }, TOKEN);
  return serving;
}

async function get(url: string, path: string, init: RequestInit = {}): Promise<[number, unknown]> {
  const response = await fetch(new URL(path, url), init);
  return [response.status, await response.json()];
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: "probe-test", version: "1" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
    }),
  );
  return client;
}

/** A read that the emulator holds for `ms`, started now; resolves once the emulator has it. */
async function slowRead(client: Client, ms: number): Promise<{ result: Promise<CallToolResult> }> {
  dci.delayNext(1, ms, { methods: ["GET"] });
  const seen = dci.requests.length;
  // Short, so that a cut call left unanswered fails the test rather than waiting the SDK's default minute.
  const result = client.callTool({ name: "dci_get_server", arguments: { server_id: 2 } }, undefined, {
    timeout: ms + 2_000,
  }) as Promise<CallToolResult>;
  result.catch(() => undefined); // asserted by the caller, which may expect it to fail
  const deadline = Date.now() + 5_000;
  while (!dci.requests.slice(seen).some((r) => r.path === SERVER && r.faulted)) {
    if (Date.now() > deadline) throw new Error("the slow read never reached the emulator");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { result };
}

describe("/healthz and /readyz", () => {
  it("answers /healthz 200 without a token, without any upstream request", async () => {
    const { url } = await serve();
    const before = Object.values(upstreams.emulators).reduce((n, e) => n + e.requests.length, 0);
    expect(await get(url, "/healthz")).toEqual([200, { status: "ok" }]);
    const head = await fetch(new URL("/healthz", url), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await get(url, "/healthz", { method: "POST" })).toEqual([405, { status: "method not allowed" }]);
    const after = Object.values(upstreams.emulators).reduce((n, e) => n + e.requests.length, 0);
    expect(after).toBe(before);
  });

  it("answers /readyz 200 with spent tokens kept in the process", async () => {
    const { url } = await serve();
    expect(await get(url, "/readyz")).toEqual([200, { status: "ready" }]);
  });

  it("answers /readyz 503 when the configured Redis does not answer, logging where without the password", async () => {
    const port = await freePort();
    const { url } = await serve({ INFRA_MCP_REDIS_URL: `redis://:probe-password-0123@127.0.0.1:${port}` });
    const [status, body] = await get(url, "/readyz");
    expect(status).toBe(503);
    expect(body).toEqual({ status: "not ready", reason: "the Redis of INFRA_MCP_REDIS_URL does not answer" });
    const warning = logs.find((line) => line.includes("readyz: not ready"));
    expect(warning).toContain(
      `Redis at redis://127.0.0.1:${port} (password hidden) (INFRA_MCP_REDIS_URL) failed`,
    );
    expect(logs.join("\n")).not.toContain("probe-password-0123");
  });
});

describe("draining", () => {
  it("lets a call in flight finish, accepts no new connection, and counts what finished", async () => {
    const { url } = await serve();
    const client = await connect(url);
    const { result } = await slowRead(client, 600);
    const drained = serving!.drain(5_000);
    await expect(fetch(new URL("/healthz", url))).rejects.toThrow(); // no longer listening
    const read = await result;
    expect(read.isError).toBeFalsy();
    expect(read.structuredContent).toMatchObject({ id: 2 });
    expect(await drained).toEqual({ finished: 1, cut: 0 });
  });

  it("cuts what is still running at the bound, telling the client that the outcome is unknown", async () => {
    const { url } = await serve();
    const client = await connect(url);
    const { result } = await slowRead(client, 3_000);
    const started = Date.now();
    expect(await serving!.drain(200)).toEqual({ finished: 0, cut: 1 });
    await expect(result).rejects.toThrow(
      "infra-mcp: the server is shutting down and cut this call after waiting 200 ms for it " +
        "(INFRA_MCP_SHUTDOWN_TIMEOUT_MS). Whether it took effect upstream is unknown",
    );
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});

describe("SIGTERM on the built binary", () => {
  const replicaEnv = () => ({
    ...upstreams.env,
    INFRA_MCP_HTTP_TOKEN: TOKEN,
    INFRA_MCP_CONFIRM_KEY: "probe-test-confirm-key-0123456789abcdef",
  });

  it("lets the call in flight finish, then exits 0 saying so", async () => {
    replica = await startReplica({ cli: builtCli(), env: replicaEnv(), cwd: dir });
    const client = await connect(replica.url);
    const { result } = await slowRead(client, 800);
    replica.signal("SIGTERM");
    const read = await result;
    expect(read.isError).toBeFalsy();
    expect(read.structuredContent).toMatchObject({ id: 2 });
    expect(await replica.exited).toEqual({ code: 0, signal: null });
    expect(replica.logs()).toContain("SIGTERM: draining");
    expect(replica.logs()).toContain("drained: 1 call finished; exiting.");
  });

  it("stops at once, with status 1, on a second signal", async () => {
    replica = await startReplica({ cli: builtCli(), env: replicaEnv(), cwd: dir });
    const client = await connect(replica.url);
    const { result } = await slowRead(client, 5_000);
    const started = Date.now();
    replica.signal("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 100));
    replica.signal("SIGTERM");
    await expect(result).rejects.toThrow("the server was told to stop at once (SIGTERM twice)");
    expect(await replica.exited).toEqual({ code: 1, signal: null });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(replica.logs()).toContain("SIGTERM again: stopping now");
  });
});
