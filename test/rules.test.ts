import { afterAll, describe, expect, it } from "vitest";
import type { Emulator } from "../src/sandbox/emulator.js";
import { type Harness, PLATFORMS, startEmulators, startHarness } from "./helpers.js";

/**
 * Rules that hold for every platform live once in the session; they are tested here once per platform,
 * through the registry and a real MCP client, against each platform's own emulator.
 */

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
type Fault = 429 | 500 | 502 | 503 | 504 | "network error";
const FAULTS: readonly Fault[] = [429, 500, 502, 503, 504, "network error"];
/** A path no platform serves: what matters is how often the request is sent, not what it does. */
const PROBE = "/infra-mcp-rule-probe";

const harnesses: Harness[] = [];
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
  await Promise.all(stops.map((stop) => stop()));
});

/**
 * How many times a request may reach the upstream when its first answer is `fault`: a read is repeated
 * after any transient failure; a write only when the answer proves nothing was done (429, or the
 * platform's own "nothing done" status), never after a 5xx or a network error whose outcome is unknown.
 */
function expectedSends(method: string, fault: Fault, nothingDone: readonly number[]): number {
  if (method === "GET") return fault === 500 ? 1 : 2;
  if (fault === 429 || (typeof fault === "number" && nothingDone.includes(fault))) return 2;
  return 1;
}

function inject(emulator: Emulator, method: string, fault: Fault): void {
  if (fault === "network error") emulator.dropNext(1, { methods: [method] });
  // The platform acts, then a gateway answers with the fault: repeating the write would act twice.
  else emulator.failNext(1, fault, { methods: [method], afterActing: fault !== 429 && fault !== 503 });
}

describe.concurrent("the retry rule, for every platform, method and status", () => {
  for (const platform of PLATFORMS) {
    it(`${platform.name}: reads are repeated after transient failures, writes only when nothing was done`, async () => {
      const harness = await startHarness({
        env: { INFRA_MCP_CONFIRM: "off", INFRA_MCP_TIMEOUT_MS: "10000" },
      });
      harnesses.push(harness);
      const emulator = (harness as unknown as Record<string, Emulator>)[platform.name]!;
      // Log every API in first, so that only the probes reach the emulator below.
      await harness.call("infra_status", { check: true });
      const seen: string[] = [];
      const wanted: string[] = [];
      for (const api of platform.apiIds) {
        const session = harness.runtime.sessions.get(api)!;
        const basePath = new URL(session.baseUrl).pathname.replace(/\/$/, "");
        const nothingDone = session.profile.nothingDoneStatuses ?? [];
        for (const method of METHODS) {
          for (const fault of FAULTS) {
            const before = emulator.requests.length;
            inject(emulator, method, fault);
            await harness.call("infra_api_call", {
              service: api,
              method,
              path: PROBE,
              ...(method === "GET" ? {} : { body: {} }),
            });
            emulator.clearFaults();
            const sends = emulator.requests
              .slice(before)
              .filter((r) => r.method === method && r.path === `${basePath}${PROBE}`).length;
            seen.push(`${api} ${method} after ${fault}: sent ${sends}`);
            wanted.push(`${api} ${method} after ${fault}: sent ${expectedSends(method, fault, nothingDone)}`);
          }
        }
      }
      expect(seen).toEqual(wanted);
    });
  }
});

describe.concurrent("transient outages, for every platform", () => {
  for (const platform of PLATFORMS) {
    it(`${platform.name}: a 1.5 s outage never fails a read while the budget remains`, async () => {
      const harness = await startHarness({ env: { INFRA_MCP_TIMEOUT_MS: "30000" } });
      harnesses.push(harness);
      const emulator = (harness as unknown as Record<string, Emulator>)[platform.name]!;
      await harness.call("infra_status", { check: true });
      emulator.failFor(1_500, 503);
      // Each status check reads every API of the platform once, concurrently.
      const checks = await Promise.all(
        Array.from({ length: 8 }, () => harness.call("infra_status", { check: true })),
      );
      const failed = checks.flatMap((result) =>
        (
          result.structuredContent as {
            services: { service: string; check: { ok: boolean; error?: string } }[];
          }
        ).services
          .filter((s) => platform.apiIds.includes(s.service) && !s.check.ok)
          .map((s) => `${s.service}: ${s.check.error}`),
      );
      expect(failed).toEqual([]);
    });
  }
});

describe.concurrent("the base path, for every platform", () => {
  const escapes = [
    "/%2e%2e/x",
    "/.%2e/x",
    "/%2e./x",
    "/%2E%2E/x",
    "/.\t./x",
    "/.\n./x",
    "/.\r./x",
    "/a\\..\\..\\x",
  ];
  for (const platform of PLATFORMS) {
    it(`${platform.name}: no request leaves the API's base path, however the path spells ..`, async () => {
      // Every URL of the platform sits behind a gateway prefix, as a deployment may put it.
      const upstreams = await startEmulators();
      const upstream = (upstreams.emulators as unknown as Record<string, Emulator>)[platform.name]!;
      const env: Record<string, string> = {};
      for (const [name, value] of Object.entries(upstream.sandboxEnv())) {
        if (name.endsWith("_URL")) env[name] = `${value}/gateway`;
      }
      const harness = await startHarness({
        emulators: upstreams.emulators,
        env: { ...env, INFRA_MCP_CONFIRM: "off" },
      });
      harnesses.push(harness);
      stops.push(upstreams.stop);
      const refused: string[] = [];
      for (const api of platform.apiIds) {
        for (const path of escapes) {
          for (const tool of ["infra_api_get", "infra_api_call"]) {
            const args =
              tool === "infra_api_get" ? { service: api, path } : { service: api, method: "DELETE", path };
            const result = await harness.call(tool, args);
            if (result.isError) refused.push(`${tool} ${api} ${JSON.stringify(path)}`);
          }
        }
      }
      expect(refused).toHaveLength(platform.apiIds.length * escapes.length * 2);
      expect(upstream.requests.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    });
  }
});

describe.concurrent("the size of an answer, for every platform", () => {
  for (const platform of PLATFORMS) {
    it(`${platform.name}: an answer over INFRA_MCP_MAX_RESPONSE_BYTES is cut off with advice, and the server goes on`, async () => {
      const harness = await startHarness({ env: { INFRA_MCP_MAX_RESPONSE_BYTES: "100000" } });
      harnesses.push(harness);
      const emulator = (harness as unknown as Record<string, Emulator>)[platform.name]!;
      await harness.call("infra_status", { check: true });
      for (const api of platform.apiIds) {
        emulator.garbleNext(1, { body: `[${'"x",'.repeat(250_000)}"x"]`, contentType: "application/json" });
        const status = await harness.call("infra_status", { check: true });
        const check = (
          status.structuredContent as {
            services: { service: string; check: { ok: boolean; error?: string } }[];
          }
        ).services.find((s) => s.service === api)?.check;
        expect(check?.ok, api).toBe(false);
        expect(check?.error, api).toContain("larger than INFRA_MCP_MAX_RESPONSE_BYTES (100000 bytes)");
        expect(check?.error, api).toMatch(/limit|fields|filter/);
      }
      const after = await harness.call("infra_status", { check: true });
      const services = (
        after.structuredContent as { services: { service: string; check: { ok: boolean } }[] }
      ).services;
      for (const api of platform.apiIds)
        expect(services.find((s) => s.service === api)?.check.ok, api).toBe(true);
    });
  }
});
