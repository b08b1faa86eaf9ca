import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../scripts/cluster.mjs";
import { finished, spawnCli } from "./built.js";

/** Start-up of the built binary with settings that cannot work, or work only once, across replicas. */

const HTTP_TOKEN = "replica-settings-http-token-0123456789";
const CONFIRM_KEY = "replica-settings-confirm-key-0123456789abcdef";
const REDIS_PASSWORD = "redis-secret-password-0123";
const LOGIN_KEY = "one-time-login-key-0123456789";
const cwd = mkdtempSync(join(tmpdir(), "infra-mcp-settings-")); // no stray .env

afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/**
 * Runs the binary with exactly `env` (plus PATH). When it is still running once it serves (or after
 * `settleMs` over stdio), it is stopped: what it said by then is the answer.
 */
function run(args: string[], env: Record<string, string>, settleMs = 1_500) {
  const child = spawnCli(args, env, cwd);
  child.stderr.on("data", (chunk) => {
    if (String(chunk).includes(" serving ")) child.kill("SIGTERM");
  });
  const timer = setTimeout(() => child.kill("SIGTERM"), settleMs);
  return finished(child).finally(() => clearTimeout(timer));
}

const DCI_WITH_KEY = { DCI_URL: "http://127.0.0.1:9", DCI_LOGIN_KEY: LOGIN_KEY };

describe("start-up with replica settings", () => {
  it("exits 2 when INFRA_MCP_REDIS_URL does not answer, naming it and the address tried, never the password", async () => {
    const port = await freePort();
    for (const args of [["--http", "127.0.0.1:0"], []]) {
      const { code, stdout, stderr } = await run(args, {
        INFRA_MCP_HTTP_TOKEN: HTTP_TOKEN,
        INFRA_MCP_CONFIRM_KEY: CONFIRM_KEY,
        INFRA_MCP_REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${port}/0`,
      });
      expect(code, args.join(" ")).toBe(2);
      expect(stdout).toBe("");
      expect(stderr).toContain("  - INFRA_MCP_REDIS_URL: Redis at ");
      expect(stderr).toContain(`redis://127.0.0.1:${port}/0 (password hidden)`);
      expect(stderr).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
      expect(stderr).toContain("check that Redis runs and that the URL's host, port and password are right");
      expect(stderr).not.toContain(REDIS_PASSWORD);
      expect(stderr).not.toContain(" serving ");
    }
  });

  it("exits 2 on an INFRA_MCP_REDIS_URL that is not a redis URL, without echoing it", async () => {
    for (const [value, problem] of [
      [`http://user:${REDIS_PASSWORD}@redis.internal:6379`, "scheme http: is not redis: or rediss: (TLS)"],
      [`${REDIS_PASSWORD} not a url`, "INFRA_MCP_REDIS_URL: not a URL"],
    ] as const) {
      const { code, stderr } = await run([], { INFRA_MCP_REDIS_URL: value });
      expect(code).toBe(2);
      expect(stderr).toContain(problem);
      expect(stderr).not.toContain(REDIS_PASSWORD);
    }
  });

  it("refuses replicas that share Redis but not INFRA_MCP_CONFIRM_KEY", async () => {
    const port = await freePort();
    const { code, stderr } = await run(["--http", "127.0.0.1:0"], {
      INFRA_MCP_HTTP_TOKEN: HTTP_TOKEN,
      INFRA_MCP_REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    expect(code).toBe(2);
    expect(stderr).toContain(
      "  - INFRA_MCP_CONFIRM_KEY: missing: INFRA_MCP_REDIS_URL says replicas share confirmations, but " +
        "confirmation tokens are signed with a random key of this process",
    );
    expect(stderr).toContain(
      "example: INFRA_MCP_CONFIRM_KEY=$(openssl rand -hex 32), the same value on every replica",
    );
  });

  it("refuses a one-time DCI_LOGIN_KEY for replicas sharing Redis, naming credentials they can share", async () => {
    const port = await freePort();
    const { code, stderr } = await run(["--http", "127.0.0.1:0"], {
      ...DCI_WITH_KEY,
      INFRA_MCP_HTTP_TOKEN: HTTP_TOKEN,
      INFRA_MCP_CONFIRM_KEY: CONFIRM_KEY,
      INFRA_MCP_REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    expect(code).toBe(2);
    expect(stderr).toContain(
      "  - DCI_LOGIN_KEY: cannot serve replicas (INFRA_MCP_REDIS_URL is set): DCI_LOGIN_KEY can be used once: " +
        "it yields one session, for one replica, and every other replica's dci calls would fail to log in",
    );
    expect(stderr).toContain("example: DCI_TOKEN=<long-lived token>, or DCI_EMAIL + DCI_PASSWORD");
    expect(stderr).not.toContain(LOGIN_KEY);
  });

  it("serves --http alone but explains what works on one replica only; stdio says nothing of replicas", async () => {
    const http = await run(["--http", "127.0.0.1:0"], { ...DCI_WITH_KEY, INFRA_MCP_HTTP_TOKEN: HTTP_TOKEN });
    expect(http.stderr).toContain(" serving ");
    expect(http.stderr).toContain(
      "WARN INFRA_MCP_CONFIRM_KEY is not set: confirmation tokens are signed with a random key of this " +
        "process, so a token works only on the replica that issued it (and on none after a restart).",
    );
    expect(http.stderr).toContain(
      "WARN DCI_LOGIN_KEY can be used once: it yields one session, for one replica, and every other " +
        "replica's dci calls would fail to log in. Behind a load balancer, use DCI_TOKEN=<long-lived token>, " +
        "or DCI_EMAIL + DCI_PASSWORD, or run one --http replica.",
    );
    expect(http.stderr).not.toContain(LOGIN_KEY);

    const stdio = await run([], DCI_WITH_KEY, 1_000);
    expect(stdio.stderr).not.toContain("replica");
    expect(stdio.stdout).toBe("");
  });
});
