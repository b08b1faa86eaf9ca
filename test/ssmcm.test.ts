import { afterEach, describe, expect, it, vi } from "vitest";
import { SSMCM_SANDBOX } from "../src/platforms/ssmcm/emulator/index.js";
import type { RecordedRequest } from "../src/sandbox/emulator.js";
import { type Harness, startHarness, textOf } from "./helpers.js";

const API = "/api/v1.0";
const LOGIN = `${API}/auth/token`;
let harness: Harness | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await harness?.close();
  harness = undefined;
});

/** Requests the tools made (logins excluded). */
function apiRequests(h: Harness): RecordedRequest[] {
  return h.ssmcm.requests.filter((r) => r.path !== LOGIN);
}

function last(h: Harness): RecordedRequest {
  return apiRequests(h).at(-1)!;
}

function liveToken(h: Harness): string {
  return h.ssmcm.issuedTokens().at(-1)!;
}

type BucketList = { items: Record<string, unknown>[]; total?: number; offset?: number; next_offset?: number };

describe("ssmcm_list_s3_buckets over a real MCP client", () => {
  it("logs in with the API key and asks for 10 buckets from the start, reporting the upstream's total", async () => {
    harness = await startHarness();
    const result = await harness.call("ssmcm_list_s3_buckets");
    expect(result.isError).toBeFalsy();
    const data = result.structuredContent as BucketList;
    expect(data.items).toHaveLength(10);
    expect(data.items[0]).toMatchObject({ name: expect.any(String), region: expect.any(String) });
    expect(data).toMatchObject({ total: 25, next_offset: 10 });

    const logins = harness.ssmcm.requestsTo(LOGIN);
    expect(logins).toHaveLength(1);
    expect(logins[0]).toMatchObject({ method: "POST", json: { key: SSMCM_SANDBOX.apiKey } });
    expect(last(harness)).toMatchObject({
      method: "GET",
      path: `${API}/aws/s3`,
      query: { length: "10", start: "0" },
    });
    expect(last(harness).headers.authorization).toBe(`Bearer ${liveToken(harness)}`);
  });

  it("sends offset as start and search upstream, and keeps only the fields asked for", async () => {
    harness = await startHarness();
    const result = await harness.call("ssmcm_list_s3_buckets", {
      limit: 3,
      offset: 2,
      search: "eu-west-1",
      fields: ["name", "region"],
    });
    expect(last(harness).query).toEqual({ length: "3", start: "2", search: "eu-west-1" });
    const data = result.structuredContent as BucketList;
    expect(data.items).toHaveLength(3);
    for (const item of data.items) {
      expect(Object.keys(item)).toEqual(["name", "region"]);
      expect(item.region).toBe("eu-west-1");
    }
    // 13 buckets match; the total counts the matches, not every bucket.
    expect(data).toMatchObject({ total: 13, offset: 2, next_offset: 5 });
  });

  it("leaves the total out when the answer carries none", async () => {
    harness = await startHarness();
    harness.ssmcm.listShape = "plain";
    const result = await harness.call("ssmcm_list_s3_buckets", { limit: 4 });
    const data = result.structuredContent as BucketList;
    expect(data.items).toHaveLength(4);
    expect(data.total).toBeUndefined();
  });

  it("never shows the session's token in a result", async () => {
    harness = await startHarness();
    const result = await harness.call("infra_api_get", { service: "ssmcm", path: `${API}/aws/s3` });
    expect(result.isError).toBeFalsy();
    expect(JSON.stringify(result)).not.toContain(liveToken(harness));
    expect(JSON.stringify(result)).not.toContain(SSMCM_SANDBOX.apiKey);
  });
});

describe("ssmcm session", () => {
  for (const signal of ["http401", "body401"] as const) {
    it(`logs in again once and retries when the token has expired (${signal})`, async () => {
      harness = await startHarness();
      harness.ssmcm.expirySignal = signal;
      await harness.call("ssmcm_list_s3_buckets", { limit: 1 });
      const first = liveToken(harness);
      harness.ssmcm.expireCredentials();
      const result = await harness.call("ssmcm_list_s3_buckets", { limit: 1 });
      expect(result.isError).toBeFalsy();
      expect((result.structuredContent as BucketList).items).toHaveLength(1);
      expect(harness.ssmcm.refusals).toBe(1);
      expect(harness.ssmcm.logins).toBe(2);
      // The refused request, the login, the same request again with the new token.
      const tail = harness.ssmcm.requests.slice(-3);
      expect(tail.map((r) => `${r.method} ${r.path}`)).toEqual([
        `GET ${API}/aws/s3`,
        `POST ${LOGIN}`,
        `GET ${API}/aws/s3`,
      ]);
      expect(tail[0]?.headers.authorization).toBe(`Bearer ${first}`);
      expect(tail[2]?.headers.authorization).toBe(`Bearer ${liveToken(harness)}`);
      expect(liveToken(harness)).not.toBe(first);
    });
  }

  it("renews the token before its exp instead of waiting to be refused (fake clock)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    harness = await startHarness();
    harness.ssmcm.tokenLifetimeSeconds = 600;
    await harness.call("ssmcm_list_s3_buckets", { limit: 1 });
    vi.setSystemTime(Date.now() + 590_000);
    const result = await harness.call("ssmcm_list_s3_buckets", { limit: 1 });
    expect(result.isError).toBeFalsy();
    expect(harness.ssmcm.logins).toBe(2);
    expect(harness.ssmcm.refusals).toBe(0);
  });

  for (const errorStatus of ["200", "http"] as const) {
    it(`reports an error in the envelope with its code and message (HTTP status: ${errorStatus})`, async () => {
      harness = await startHarness();
      harness.ssmcm.errorStatus = errorStatus;
      const result = await harness.call("infra_api_get", { service: "ssmcm", path: `${API}/aws/nothing` });
      expect(result.isError).toBe(true);
      const status = errorStatus === "200" ? 200 : 404;
      expect(textOf(result)).toContain(
        `ssmcm GET ${API}/aws/nothing -> ${status} (error 404): GET ${API}/aws/nothing: not found.`,
      );
      expect(textOf(result)).toContain("infra_list_operations");
    });
  }

  it("names SSMCM_API_KEY when the key is refused", async () => {
    harness = await startHarness({ env: { SSMCM_API_KEY: "ssmcm-revoked-key-000000000000" } });
    const result = await harness.call("ssmcm_list_s3_buckets");
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain(
      `ssmcm login failed: POST ${LOGIN} -> 200 (error 401): invalid API key.`,
    );
    expect(textOf(result)).toContain("Check SSMCM_API_KEY");
    expect(apiRequests(harness)).toHaveLength(0);
  });

  it("reports a non-envelope answer (a proxy's page) as an error, not as data", async () => {
    harness = await startHarness();
    harness.ssmcm.garbleNext(1, { methods: ["GET"] });
    const result = await harness.call("ssmcm_list_s3_buckets");
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("Sign in to the corporate proxy");
  });
});

describe("the generic tools for ssmcm", () => {
  it("unwrap the envelope: infra_api_get returns data", async () => {
    harness = await startHarness();
    const result = await harness.call("infra_api_get", {
      service: "ssmcm",
      path: `${API}/accounts/210987654321`,
    });
    expect(result.isError).toBeFalsy();
    const data = (result.structuredContent as { data: Record<string, unknown> }).data;
    expect(data).not.toHaveProperty("code");
    expect(data).toMatchObject({ name: "meikai-prod" });
  });

  it("send a confirmed write through infra_api_call once", async () => {
    harness = await startHarness();
    const args = { service: "ssmcm", method: "POST", path: `${API}/accounts/210987654321/update` };
    const plan = await harness.call("infra_api_call", args);
    const token = (plan.structuredContent as { confirmation_token: string }).confirmation_token;
    expect(harness.ssmcm.requestsTo(`${API}/accounts`)).toHaveLength(0);
    const done = await harness.call("infra_api_call", { ...args, confirmation_token: token });
    expect(done.isError).toBeFalsy();
    const writes = harness.ssmcm.requestsTo(`${API}/accounts`).filter((r) => r.method === "POST");
    expect(writes).toHaveLength(1);
    expect(writes[0]?.headers.authorization).toBe(`Bearer ${liveToken(harness)}`);
  });

  for (const swaggerPath of ["/swagger/doc.json", "/swagger/v1/swagger.json"] as const) {
    it(`infra_list_operations reads the instance's Swagger at ${swaggerPath}`, async () => {
      harness = await startHarness();
      harness.ssmcm.swaggerPath = swaggerPath;
      const result = await harness.call("infra_list_operations", { service: "ssmcm", filter: "s3" });
      expect(result.isError).toBeFalsy();
      const data = result.structuredContent as { items: { method: string; path: string }[]; source: string };
      expect(data.source).toBe(`the instance's Swagger document at ${swaggerPath}`);
      // Full paths, whatever the document's flavour (basePath or servers).
      expect(data.items).toContainEqual(expect.objectContaining({ method: "GET", path: `${API}/aws/s3` }));
      expect(harness.ssmcm.requestsTo(swaggerPath)).toHaveLength(1);
    });
  }

  it("infra_list_operations falls back to the built-in catalogue and says so", async () => {
    harness = await startHarness();
    harness.ssmcm.swaggerPath = null;
    const result = await harness.call("infra_list_operations", { service: "ssmcm" });
    const data = result.structuredContent as { items: { path: string }[]; source: string };
    expect(data.source).toMatch(/^built-in catalogue/);
    expect(data.items.map((item) => item.path)).toContain(`${API}/aws/s3`);
    expect(harness.ssmcm.requestsTo("/swagger/").map((r) => r.path)).toEqual([
      "/swagger/doc.json",
      "/swagger/v1/swagger.json",
    ]);
  });
});
