import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer, type Server } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Session, type SessionOptions } from "../src/auth/session.js";
import type { AuthStrategy, Credential } from "../src/auth/types.js";
import type { TlsConfig } from "../src/config.js";
import { CancelledError, LoginError, UpstreamError } from "../src/errors.js";
import { createLogger } from "../src/log.js";
import { NETPROFILER_SANDBOX, NetprofilerEmulator } from "../src/platforms/netprofiler/emulator.js";
import { createBasicAuth, createCookieAuth } from "../src/platforms/netprofiler/login.js";
import { netprofilerProfile } from "../src/platforms/netprofiler/profile.js";
import { Redactor } from "../src/safety/redact.js";

const STATUS = "/api/npm.aws_config/1.0/status";
const basic = () => createBasicAuth(NETPROFILER_SANDBOX.username, NETPROFILER_SANDBOX.password);

let emulator: NetprofilerEmulator;
const logs: string[] = [];

beforeEach(async () => {
  emulator = new NetprofilerEmulator();
  await emulator.start();
  logs.length = 0;
});

afterEach(async () => {
  vi.useRealTimers();
  await emulator.stop();
});

function session(overrides: Partial<SessionOptions> = {}): Session {
  const redactor = new Redactor();
  return new Session({
    baseUrl: emulator.url,
    profile: netprofilerProfile,
    strategy: basic(),
    tls: { insecure: false },
    timeoutMs: 5_000,
    maxResponseBytes: 4 * 1024 * 1024,
    readOnly: false,
    redactor,
    logger: createLogger("debug", redactor, [], (line) => logs.push(line)),
    settingsPrefix: "NETPROFILER",
    ...overrides,
  });
}

/** Wraps a strategy to count logins and optionally delay them or give the credential a life. */
function counting(
  inner: AuthStrategy,
  options: { delayMs?: number; lifeMs?: number; idleTimeoutMs?: number } = {},
) {
  const counter = { logins: 0 };
  const strategy: AuthStrategy = {
    method: inner.method,
    renewable: inner.renewable,
    async login(context): Promise<Credential> {
      counter.logins += 1;
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      const credential = await inner.login(context);
      if (options.idleTimeoutMs !== undefined) credential.idleTimeoutMs = options.idleTimeoutMs;
      return options.lifeMs === undefined
        ? credential
        : { ...credential, expiresAt: Date.now() + options.lifeMs };
    },
  };
  return { strategy, counter };
}

describe("Session credentials", () => {
  it("shares one pending login among concurrent callers", async () => {
    const { strategy, counter } = counting(basic(), { delayMs: 50 });
    const s = session({ strategy });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => s.request({ method: "GET", path: STATUS })),
    );
    expect(results).toHaveLength(10);
    expect(counter.logins).toBe(1);
    expect(s.state()).toMatchObject({ authenticated: true, logins: 1 });
  });

  it("refreshes a margin before a known expiry (fake clock)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { strategy, counter } = counting(basic(), { lifeMs: 100_000 });
    const s = session({ strategy });
    await s.request({ method: "GET", path: STATUS });
    expect(s.state().expiresInSeconds).toBe(100);
    vi.setSystemTime(Date.now() + 89_000);
    await s.request({ method: "GET", path: STATUS });
    expect(counter.logins).toBe(1);
    vi.setSystemTime(Date.now() + 2_000);
    expect(s.state().authenticated).toBe(false);
    await s.request({ method: "GET", path: STATUS });
    expect(counter.logins).toBe(2);
  });

  it("logs in again after the credential's idle timeout, counted from the last use (fake clock)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { strategy, counter } = counting(basic(), { idleTimeoutMs: 60 * 60_000 });
    const s = session({ strategy });
    await s.request({ method: "GET", path: STATUS });
    vi.setSystemTime(Date.now() + 50 * 60_000);
    await s.request({ method: "GET", path: STATUS });
    vi.setSystemTime(Date.now() + 50 * 60_000);
    await s.request({ method: "GET", path: STATUS });
    expect(counter.logins).toBe(1);
    vi.setSystemTime(Date.now() + 59 * 60_000);
    await s.request({ method: "GET", path: STATUS });
    expect(counter.logins).toBe(2);
  });

  it("lets every waiting caller see a failed login, and tries again on the next call", async () => {
    const { strategy, counter } = counting(createCookieAuth("admin", "wrong-password-1"), { delayMs: 30 });
    const s = session({ strategy });
    const failures = await Promise.allSettled([
      s.request({ method: "GET", path: STATUS }),
      s.request({ method: "GET", path: STATUS }),
    ]);
    for (const failure of failures) {
      expect(failure.status).toBe("rejected");
      expect((failure as PromiseRejectedResult).reason).toBeInstanceOf(LoginError);
    }
    expect(counter.logins).toBe(1);
    expect(s.state().lastError).toContain("AUTH_INVALID_CREDENTIALS");
    // A failed login is not remembered: the next call logs in again.
    await expect(s.request({ method: "GET", path: STATUS })).rejects.toBeInstanceOf(LoginError);
    expect(counter.logins).toBe(2);
    expect(emulator.requestsTo("/api/common/1.0/login")).toHaveLength(2);
    expect(emulator.requestsTo(STATUS)).toHaveLength(0);
  });

  it("lets one caller walk away from a shared login it no longer wants, without cancelling it for the others", async () => {
    const { strategy, counter } = counting(basic(), { delayMs: 200 });
    const s = session({ strategy });
    const controller = new AbortController();
    const impatient = s.request({ method: "GET", path: STATUS }, { signal: controller.signal });
    const patient = s.request({ method: "GET", path: STATUS });
    setTimeout(() => controller.abort(), 50);
    await expect(impatient).rejects.toBeInstanceOf(CancelledError);
    await expect(patient).resolves.toMatchObject({ state: "SYNC_SUCCEEDED" });
    expect(counter.logins).toBe(1);
    expect(emulator.requestsTo(STATUS)).toHaveLength(1);
  });

  it("reports a refused fixed credential once, without logging in again", async () => {
    const strategy: AuthStrategy = {
      method: "fixed token",
      renewable: false,
      refusedHint: "Replace THE_TOKEN.",
      login: async () => ({ headers: { authorization: "Bearer not-a-valid-token" }, secrets: [] }),
    };
    const s = session({ strategy });
    const error = await s.request({ method: "GET", path: STATUS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).details).toMatchObject({ status: 401, code: "AUTH_INVALID_TOKEN" });
    expect((error as Error).message).toBe("OAuth access token is invalid");
    expect(emulator.requestsTo(STATUS)).toHaveLength(1);
  });
});

describe("Session transport", () => {
  it("stops retrying when the call's budget runs out and says what kept failing", async () => {
    emulator.failNext(1000, 503);
    const s = session({ timeoutMs: 1_200 });
    const started = Date.now();
    const error = (await s
      .request({ method: "GET", path: STATUS })
      .catch((e: unknown) => e)) as UpstreamError;
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.details.status).toBe(503);
    expect(emulator.requestsTo(STATUS).length).toBeGreaterThan(1);
  });

  it("cancels through the caller's abort signal", async () => {
    emulator.failNext(1, 503, { retryAfterSeconds: 3 });
    const s = session();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await s
      .request({ method: "GET", path: STATUS }, { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CancelledError);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("times out a request that never gets an answer", async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const s = session({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 300 });
      const error = (await s
        .request({ method: "PUT", path: STATUS })
        .catch((e: unknown) => e)) as UpstreamError;
      expect(error).toBeInstanceOf(UpstreamError);
      expect(error.message).toBe("no answer within 300 ms");
      expect(error.details.hint).toContain("INFRA_MCP_TIMEOUT_MS");
    } finally {
      silent.close();
    }
  });

  it("stops reading an endless answer at the size limit, while it streams", async () => {
    const { createServer: createHttpServer } = await import("node:http");
    let closed = false;
    const endless = createHttpServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const timer = setInterval(() => res.write(chunk), 1);
      res.on("close", () => {
        closed = true;
        clearInterval(timer);
      });
    });
    await new Promise<void>((resolve) => endless.listen(0, "127.0.0.1", resolve));
    try {
      const port = (endless.address() as AddressInfo).port;
      const s = session({ baseUrl: `http://127.0.0.1:${port}`, maxResponseBytes: 1024 * 1024 });
      const error = (await s
        .request({ method: "GET", path: STATUS })
        .catch((e: unknown) => e)) as UpstreamError;
      expect(error).toBeInstanceOf(UpstreamError);
      expect(error.message).toContain("larger than INFRA_MCP_MAX_RESPONSE_BYTES (1048576 bytes)");
      await expect.poll(() => closed).toBe(true);
    } finally {
      endless.closeAllConnections();
      endless.close();
    }
  });

  it("says the port speaks plain HTTP when https:// points at it, instead of blaming the certificate", async () => {
    const s = session({ baseUrl: emulator.url.replace("http://", "https://") });
    const error = (await s
      .request({ method: "GET", path: STATUS })
      .catch((e: unknown) => e)) as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.details.hint).toContain("speaks plain HTTP");
    expect(error.details.hint).not.toContain("CA_FILE");
  });

  it("explains an unreachable upstream", async () => {
    await emulator.stop();
    const s = session({ timeoutMs: 2_000 });
    const error = (await s
      .request({ method: "PUT", path: STATUS })
      .catch((e: unknown) => e)) as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toContain("could not reach the upstream");
    expect(error.details.hint).toContain("Check the service URL");
    await emulator.start();
  });

  it("refuses a non-GET in read-only mode without sending it, but allows declared read-only POSTs", async () => {
    const s = session({
      readOnly: true,
      profile: { ...netprofilerProfile, isReadOnlyPost: (p) => p.endsWith("/list") },
    });
    await expect(s.request({ method: "PUT", path: STATUS })).rejects.toThrow(/Read-only mode/);
    await expect(s.request({ method: "POST", path: "/x/list" })).rejects.toThrow(/404|not found/);
    expect(emulator.requests.map((r) => r.method)).toEqual(["POST"]);
  });
});

describe("Session TLS", () => {
  const cert = readFileSync(new URL("./fixtures/tls/cert.pem", import.meta.url), "utf8");
  const key = readFileSync(new URL("./fixtures/tls/key.pem", import.meta.url), "utf8");
  let secure: NetprofilerEmulator;

  beforeEach(async () => {
    secure = new NetprofilerEmulator();
    await secure.start(0, "127.0.0.1", { key, cert });
  });
  afterEach(async () => {
    await secure.stop();
  });

  const tlsSession = (tls: TlsConfig) => session({ baseUrl: secure.url, tls });

  it("verifies certificates by default and says how to accept a self-signed one", async () => {
    const error = (await tlsSession({ insecure: false })
      .request({ method: "GET", path: STATUS })
      .catch((e: unknown) => e)) as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.details.hint).toContain("NETPROFILER_CA_FILE");
    expect(error.details.hint).toContain("NETPROFILER_TLS_INSECURE=true");
    expect(secure.requests).toHaveLength(0);
    expect(logs.some((line) => line.includes("retry"))).toBe(false);
  });

  it("accepts the appliance with an extra CA", async () => {
    await expect(
      tlsSession({ insecure: false, ca: cert }).request({ method: "GET", path: STATUS }),
    ).resolves.toMatchObject({ state: "SYNC_SUCCEEDED" });
    expect(secure.requests[0]?.headers.authorization).toMatch(/^Basic /);
  });

  it("accepts any certificate when insecure", async () => {
    await expect(
      tlsSession({ insecure: true }).request({ method: "GET", path: STATUS }),
    ).resolves.toMatchObject({
      enabled: true,
    });
  });
});
