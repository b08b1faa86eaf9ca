import { afterEach, describe, expect, it, vi } from "vitest";
import { NETPROFILER_SANDBOX } from "../src/platforms/netprofiler/emulator.js";
import { type Harness, startHarness, textOf } from "./helpers.js";

const AWS = "/api/npm.aws_config/1.0";
let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** The requests the tools made (logins excluded). */
function apiRequests(h: Harness) {
  return h.netprofiler.requests.filter((r) => r.path.startsWith(AWS));
}

function lastApiRequest(h: Harness) {
  const requests = apiRequests(h);
  return requests[requests.length - 1]!;
}

describe("netprofiler tools over a real MCP client (OAuth access code)", () => {
  it("gets the AWS status with a bearer token obtained through the access-code grant", async () => {
    harness = await startHarness();
    const result = await harness.call("netprofiler_get_aws_status");
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ enabled: true, state: "SYNC_SUCCEEDED", error_id: 0 });
    expect(JSON.parse(textOf(result))).toEqual(result.structuredContent);

    const [login] = harness.netprofiler.requestsTo("/api/common/1.0/oauth/token");
    expect(login?.method).toBe("POST");
    expect(login?.contentType).toContain("application/x-www-form-urlencoded");
    expect(login?.form?.grant_type).toBe("access_code");
    const [header, code, signature] = (login?.form?.assertion ?? "").split(".");
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({ alg: "none" });
    expect(code).toBe(harness.netprofiler.accessCode);
    expect(signature).toBe("");
    expect(login?.form?.state).toMatch(/^[0-9a-f]{24}$/);

    const request = lastApiRequest(harness);
    expect(request).toMatchObject({ method: "GET", path: `${AWS}/status`, body: "" });
    expect(request.headers.authorization).toMatch(/^Bearer [0-9a-f]{48}$/);
    expect(request.headers.accept).toBe("application/json");
  });

  it("lists accounts with fields, limit and offset, never showing secrets", async () => {
    harness = await startHarness();
    const all = await harness.call("netprofiler_list_aws_accounts");
    expect(all.structuredContent).toEqual({
      items: [
        { access_key: "AKIAIOSFODNN7PRODEU1", acc_id: "prod-eu" },
        { access_key: "AKIAIOSFODNN7PRODUS1", acc_id: "prod-us" },
        { access_key: "AKIAIOSFODNN7STAGING", acc_id: "staging" },
      ],
    });
    const page = await harness.call("netprofiler_list_aws_accounts", {
      fields: ["acc_id"],
      limit: 1,
      offset: 1,
    });
    expect(page.structuredContent).toEqual({
      items: [{ acc_id: "prod-us" }],
      total: 3,
      offset: 1,
      next_offset: 2,
    });
    expect(lastApiRequest(harness)).toMatchObject({ method: "GET", path: `${AWS}/auth_codes` });
    expect(textOf(all)).not.toContain("secret");
  });

  it("puts accounts with a literal secret and with secret_key_ref, sending one JSON array", async () => {
    harness = await startHarness({ env: { INFRA_MCP_SECRET_AWS_LAB: "lab-secret-from-env-0001" } });
    const result = await harness.call("netprofiler_put_aws_accounts", {
      accounts: [
        { acc_id: "lab", access_key: "AKIALAB0000000000001", secret_key_ref: "AWS_LAB" },
        { acc_id: "prod-eu", access_key: "AKIAIOSFODNN7PRODEU2", secret_key: "rotated-secret-value-01" },
      ],
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ ok: true, acc_ids: ["lab", "prod-eu"] });
    const request = lastApiRequest(harness);
    expect(request.method).toBe("PUT");
    expect(request.path).toBe(`${AWS}/auth_codes`);
    expect(request.contentType).toContain("application/json");
    expect(request.json).toEqual([
      { acc_id: "lab", access_key: "AKIALAB0000000000001", secret_key: "lab-secret-from-env-0001" },
      { acc_id: "prod-eu", access_key: "AKIAIOSFODNN7PRODEU2", secret_key: "rotated-secret-value-01" },
    ]);
    expect(harness.netprofiler.secretOf("lab")).toBe("lab-secret-from-env-0001");
    // The secret never comes back into the conversation.
    expect(textOf(result)).not.toContain("lab-secret-from-env-0001");
  });

  it("refuses an unknown secret_key_ref without sending anything, and reads no other variable", async () => {
    harness = await startHarness({ env: { INFRA_MCP_SECRET_KNOWN: "known-secret-000001" } });
    process.env.NOT_A_SECRET_VARIABLE = "must-not-be-readable";
    try {
      for (const ref of ["MISSING", "NOT_A_SECRET_VARIABLE"]) {
        const result = await harness.call("netprofiler_put_aws_accounts", {
          accounts: [{ acc_id: "x", access_key: "AKIAX", secret_key_ref: ref }],
        });
        expect(result.isError).toBe(true);
        expect(textOf(result)).toContain(`INFRA_MCP_SECRET_${ref} is not set`);
        expect(textOf(result)).toContain("Known names: KNOWN");
        expect(textOf(result)).not.toContain("must-not-be-readable");
      }
      expect(apiRequests(harness)).toHaveLength(0);
    } finally {
      delete process.env.NOT_A_SECRET_VARIABLE;
    }
  });

  it("syncs with wait=false (POST without a body) and the status moves to SYNC_INITIALIZING", async () => {
    harness = await startHarness();
    harness.netprofiler.syncDurationMs = 60_000;
    const result = await harness.call("netprofiler_sync_aws_accounts", { wait: false });
    expect(result.structuredContent).toMatchObject({ ok: true });
    const request = lastApiRequest(harness);
    expect(request).toMatchObject({ method: "POST", path: `${AWS}/sync`, body: "" });
    const status = await harness.call("netprofiler_get_aws_status");
    expect(status.structuredContent).toMatchObject({ state: "SYNC_INITIALIZING" });
  });

  it("waits for the sync by default, polling the status and sending progress", async () => {
    harness = await startHarness();
    harness.netprofiler.syncDurationMs = 600;
    const progress: { progress: number; message?: string }[] = [];
    const result = await harness.client.callTool(
      { name: "netprofiler_sync_aws_accounts", arguments: {} },
      undefined,
      { onprogress: (p) => progress.push(p) },
    );
    expect(result.structuredContent).toMatchObject({
      ok: true,
      finished: true,
      status: { state: "SYNC_SUCCEEDED" },
      summary: "Sync ended in state SYNC_SUCCEEDED.",
    });
    const methods = apiRequests(harness).map((r) => `${r.method} ${r.path}`);
    expect(methods[0]).toBe(`POST ${AWS}/sync`);
    expect(methods.slice(1).every((m) => m === `GET ${AWS}/status`)).toBe(true);
    expect(methods.length).toBeGreaterThanOrEqual(3);
    expect(progress.length).toBe(methods.length - 1);
    expect(progress[0]?.message).toBe("AWS sync: SYNC_INITIALIZING");
    expect(progress.at(-1)?.message).toBe("AWS sync: SYNC_SUCCEEDED");
  });

  it("returns the current state when the sync outlasts the wait", async () => {
    harness = await startHarness({ env: { INFRA_MCP_TIMEOUT_MS: "700" } });
    harness.netprofiler.syncDurationMs = 60_000;
    const result = await harness.call("netprofiler_sync_aws_accounts");
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({
      finished: false,
      status: { state: "SYNC_INITIALIZING" },
    });
  });

  it("shares the call's time budget between the sync request and the wait that follows", async () => {
    harness = await startHarness({ env: { INFRA_MCP_TIMEOUT_MS: "1000" } });
    await harness.call("netprofiler_get_aws_status");
    harness.netprofiler.syncDurationMs = 60_000;
    // A slow appliance: the sync request alone takes most of the budget.
    harness.netprofiler.delayNext(1, 900, { methods: ["POST"] });
    const started = Date.now();
    const result = await harness.call("netprofiler_sync_aws_accounts");
    const elapsed = Date.now() - started;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ finished: false });
    // 1000 ms for the whole call, not 1000 ms for each request it makes.
    expect(elapsed).toBeLessThan(1_300);
  });

  it("reports a requested sync as running when the budget ends during a status read, never as a failure", async () => {
    harness = await startHarness({ env: { INFRA_MCP_TIMEOUT_MS: "1000" } });
    await harness.call("netprofiler_get_aws_status");
    harness.netprofiler.syncDurationMs = 60_000;
    // The sync starts; every status read then takes longer than the call has left.
    harness.netprofiler.delayNext(1, 600, { methods: ["POST"] });
    harness.netprofiler.delayNext(5, 2_000, { methods: ["GET"] });
    const result = await harness.call("netprofiler_sync_aws_accounts");
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({
      ok: true,
      finished: false,
      status: { state: "SYNC_INITIALIZING" },
    });
  });

  it("sets the sync status with a JSON body", async () => {
    harness = await startHarness();
    const result = await harness.call("netprofiler_set_aws_sync", { status: "DISABLED" });
    expect(result.structuredContent).toMatchObject({ ok: true, summary: "AWS sync is now DISABLED." });
    expect(lastApiRequest(harness)).toMatchObject({
      method: "PUT",
      path: `${AWS}/sync/status`,
      json: { status: "DISABLED" },
    });
    expect(lastApiRequest(harness).contentType).toContain("application/json");
    const status = await harness.call("netprofiler_get_aws_status");
    expect(status.structuredContent).toMatchObject({ enabled: false, state: "SYNC_DISABLED" });
  });

  it("deletes accounts after confirmation with DELETE and a JSON array body", async () => {
    harness = await startHarness();
    const args = { acc_ids: ["staging", "prod-us"] };
    const first = await harness.call("netprofiler_delete_aws_accounts", args);
    const token = (first.structuredContent as { confirmation_token: string }).confirmation_token;
    expect(apiRequests(harness)).toHaveLength(0);
    const result = await harness.call("netprofiler_delete_aws_accounts", {
      ...args,
      confirmation_token: token,
    });
    expect(result.structuredContent).toMatchObject({ ok: true, acc_ids: ["staging", "prod-us"] });
    const request = lastApiRequest(harness);
    expect(request).toMatchObject({ method: "DELETE", path: `${AWS}/auth_codes` });
    expect(request.contentType).toContain("application/json");
    expect(request.json).toEqual([{ acc_id: "staging" }, { acc_id: "prod-us" }]);
    expect(harness.netprofiler.accountIds()).toEqual(["prod-eu"]);
  });
});

describe("netprofiler login modes", () => {
  it("logs in with a session cookie and sends Cookie: SESSID=...", async () => {
    harness = await startHarness({
      env: {
        NETPROFILER_ACCESS_CODE: "",
        NETPROFILER_USERNAME: NETPROFILER_SANDBOX.username,
        NETPROFILER_PASSWORD: NETPROFILER_SANDBOX.password,
      },
    });
    const result = await harness.call("netprofiler_get_aws_status");
    expect(result.isError).toBeFalsy();
    const [login] = harness.netprofiler.requestsTo("/api/common/1.0/login");
    expect(login).toMatchObject({
      method: "POST",
      json: { username: NETPROFILER_SANDBOX.username, password: NETPROFILER_SANDBOX.password },
    });
    expect(login?.contentType).toContain("application/json");
    const request = lastApiRequest(harness);
    expect(request.headers.cookie).toMatch(/^SESSID=[0-9a-f]{64}$/);
    expect(request.headers.authorization).toBeUndefined();
  });

  it("uses Basic with NETPROFILER_AUTH=basic and makes no login request", async () => {
    harness = await startHarness({
      env: {
        NETPROFILER_ACCESS_CODE: "",
        NETPROFILER_AUTH: "basic",
        NETPROFILER_USERNAME: NETPROFILER_SANDBOX.username,
        NETPROFILER_PASSWORD: NETPROFILER_SANDBOX.password,
      },
    });
    await harness.call("netprofiler_list_aws_accounts");
    const expected = Buffer.from(`${NETPROFILER_SANDBOX.username}:${NETPROFILER_SANDBOX.password}`).toString(
      "base64",
    );
    expect(lastApiRequest(harness).headers.authorization).toBe(`Basic ${expected}`);
    expect(harness.netprofiler.requestsTo("/api/common/1.0/")).toHaveLength(0);
  });

  it("reports a wrong password as a login failure with the upstream id and what to fix", async () => {
    harness = await startHarness({
      env: {
        NETPROFILER_ACCESS_CODE: "",
        NETPROFILER_USERNAME: "admin",
        NETPROFILER_PASSWORD: "wrong-password-123",
      },
    });
    const result = await harness.call("netprofiler_get_aws_status");
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      "netprofiler login failed: POST /api/common/1.0/login -> 401 (error AUTH_INVALID_CREDENTIALS): " +
        "Invalid username and/or password. Check NETPROFILER_USERNAME and NETPROFILER_PASSWORD.",
    );
    expect(apiRequests(harness)).toHaveLength(0);
  });

  it("reports an invalid access code with AUTH_INVALID_CODE and how to get a new one", async () => {
    harness = await startHarness({ env: { NETPROFILER_ACCESS_CODE: "eyJub3QiOiJ2YWxpZCJ9" } });
    const result = await harness.call("netprofiler_get_aws_status");
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("POST /api/common/1.0/oauth/token -> 401 (error AUTH_INVALID_CODE)");
    expect(textOf(result)).toContain("NETPROFILER_ACCESS_CODE");
  });
});

describe("netprofiler session behaviour through the tools", () => {
  it("logs in again once when the token expires mid-session", async () => {
    harness = await startHarness();
    await harness.call("netprofiler_get_aws_status");
    expect(harness.netprofiler.logins).toBe(1);
    harness.netprofiler.expireCredentials();
    const result = await harness.call("netprofiler_list_aws_accounts");
    expect(result.isError).toBeFalsy();
    expect(harness.netprofiler.logins).toBe(2);
    const calls = apiRequests(harness).map((r) => r.path);
    // status, the refused list (AUTH_EXPIRED_TOKEN), the retried list.
    expect(calls).toEqual([`${AWS}/status`, `${AWS}/auth_codes`, `${AWS}/auth_codes`]);
  });

  it("shares one login among 20 concurrent calls after expiry", async () => {
    harness = await startHarness();
    await harness.call("netprofiler_get_aws_status");
    harness.netprofiler.expireCredentials();
    const h = harness;
    const results = await Promise.all(Array.from({ length: 20 }, () => h.call("netprofiler_get_aws_status")));
    expect(results.every((r) => !r.isError)).toBe(true);
    expect(harness.netprofiler.logins).toBe(2);
  });

  it("logs in before a known expiry instead of waiting to be refused", async () => {
    // Only Date is faked: the session and the emulator share one clock, and I/O runs for real.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const h = await startHarness();
      harness = h;
      h.netprofiler.tokenLifetimeSeconds = 100;
      await h.call("netprofiler_get_aws_status");
      vi.setSystemTime(Date.now() + 89_000);
      await h.call("netprofiler_get_aws_status");
      expect(h.netprofiler.logins).toBe(1);
      // Inside the refresh margin (a tenth of the life) but before the upstream would refuse.
      vi.setSystemTime(Date.now() + 2_000);
      await h.call("netprofiler_get_aws_status");
      expect(h.netprofiler.logins).toBe(2);
      // No request was refused: three calls, three upstream requests.
      expect(apiRequests(h)).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it("retries a GET after 503 and succeeds", async () => {
    harness = await startHarness();
    await harness.call("netprofiler_get_aws_status");
    harness.netprofiler.failNext(2, 503);
    const result = await harness.call("netprofiler_list_aws_accounts");
    expect(result.isError).toBeFalsy();
    const lists = apiRequests(harness).filter((r) => r.path === `${AWS}/auth_codes`);
    expect(lists.map((r) => r.faulted)).toEqual([true, true, false]);
  });

  for (const status of [429, 503]) {
    it(`honours Retry-After in seconds on ${status}`, async () => {
      harness = await startHarness();
      await harness.call("netprofiler_get_aws_status");
      harness.netprofiler.failNext(1, status, { retryAfterSeconds: 1 });
      const started = Date.now();
      const result = await harness.call("netprofiler_get_aws_status");
      expect(result.isError).toBeFalsy();
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(
        apiRequests(harness)
          .filter((r) => r.path === `${AWS}/status`)
          .map((r) => r.faulted),
      ).toEqual([false, true, false]);
    });
  }

  it("honours Retry-After given as an HTTP date", async () => {
    harness = await startHarness();
    await harness.call("netprofiler_get_aws_status");
    // HTTP dates have whole seconds: two seconds ahead is at least one second of waiting.
    harness.netprofiler.failNext(1, 503, { retryAfter: new Date(Date.now() + 2_000).toUTCString() });
    const started = Date.now();
    const result = await harness.call("netprofiler_get_aws_status");
    expect(result.isError).toBeFalsy();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("gives up at once when Retry-After exceeds the time the call has left", async () => {
    harness = await startHarness({ env: { INFRA_MCP_TIMEOUT_MS: "2000" } });
    await harness.call("netprofiler_get_aws_status");
    harness.netprofiler.failNext(1, 503, { retryAfterSeconds: 60 });
    const started = Date.now();
    const result = await harness.call("netprofiler_get_aws_status");
    expect(result.isError).toBe(true);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(textOf(result)).toContain("GET /api/npm.aws_config/1.0/status -> 503 (error SERVICE_UNAVAILABLE)");
  });

  it("stops the upstream work when the MCP client cancels the call", async () => {
    harness = await startHarness();
    await harness.call("netprofiler_get_aws_status");
    // The upstream asks for a 3 s pause before the retry; the client gives up after 100 ms.
    harness.netprofiler.failNext(1, 503, { retryAfterSeconds: 3, methods: ["GET"] });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await expect(
      harness.client.callTool({ name: "netprofiler_list_aws_accounts", arguments: {} }, undefined, {
        signal: controller.signal,
      }),
    ).rejects.toThrow(/abort/i);
    // notifications/cancelled reached the server: the session abandoned the wait instead of retrying.
    const h = harness;
    await expect.poll(() => h.logs.join(""), { timeout: 2_000 }).toContain("Cancelled: netprofiler GET");
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(apiRequests(h).filter((r) => r.path === `${AWS}/auth_codes`)).toHaveLength(1);
  });

  it("does not retry a PUT after 503: a write may have happened", async () => {
    harness = await startHarness();
    await harness.call("netprofiler_get_aws_status");
    harness.netprofiler.failNext(1, 503, { methods: ["PUT"] });
    const result = await harness.call("netprofiler_set_aws_sync", { status: "ENABLED" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("PUT /api/npm.aws_config/1.0/sync/status -> 503");
    expect(apiRequests(harness).filter((r) => r.method === "PUT")).toHaveLength(1);
  });

  it("turns a 404 envelope into an actionable error text", async () => {
    harness = await startHarness();
    const result = await harness.call("infra_api_get", { service: "netprofiler", path: `${AWS}/missing` });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      `netprofiler GET ${AWS}/missing -> 404 (error RESOURCE_NOT_FOUND): ${AWS}/missing not found. ` +
        "Check the path: the AWS integration resources are listed by infra_list_operations.",
    );
  });

  it("reads the XML error envelope", async () => {
    harness = await startHarness();
    await harness.call("netprofiler_get_aws_status");
    harness.netprofiler.garbleNext(1, {
      status: 404,
      body: '<?xml version="1.0"?><error error_id="RESOURCE_NOT_FOUND" error_text="/api/x not found"/>',
      contentType: "text/xml",
    });
    const result = await harness.call("netprofiler_get_aws_status");
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("-> 404 (error RESOURCE_NOT_FOUND): /api/x not found.");
  });

  it("stops polling when the client cancels the wait for a sync", async () => {
    harness = await startHarness();
    harness.netprofiler.syncDurationMs = 60_000;
    const controller = new AbortController();
    const call = harness.client.callTool(
      { name: "netprofiler_sync_aws_accounts", arguments: {} },
      undefined,
      {
        signal: controller.signal,
      },
    );
    await expect
      .poll(() => apiRequests(harness!).filter((r) => r.path === `${AWS}/status`).length)
      .toBeGreaterThan(0);
    controller.abort();
    await expect(call).rejects.toThrow(/abort/i);
    const h = harness;
    // The handler fails with the cancelled pause: once it has, nothing is left to poll, and the poll it
    // would have made next never comes (a poll already sent would have ended it as "abandoned" instead).
    await expect
      .poll(() => h.logs.join(""))
      .toContain("netprofiler_sync_aws_accounts failed: Cancelled while waiting");
    const polls = apiRequests(h).filter((r) => r.path === `${AWS}/status`).length;
    expect((await h.call("netprofiler_get_aws_status")).isError).toBeFalsy();
    expect(apiRequests(h).filter((r) => r.path === `${AWS}/status`)).toHaveLength(polls + 1);
  });

  it("turns a 404 envelope from a delete of an unknown account into an error text", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off" } });
    const result = await harness.call("netprofiler_delete_aws_accounts", { acc_ids: ["nope"] });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain(
      "DELETE /api/npm.aws_config/1.0/auth_codes -> 404 (error RESOURCE_NOT_FOUND): nope not found",
    );
  });

  it("reports a 401 that persists after one re-login, without looping", async () => {
    harness = await startHarness();
    await harness.call("netprofiler_get_aws_status");
    harness.netprofiler.failNext(5, 401, { methods: ["GET"] });
    const result = await harness.call("netprofiler_get_aws_status");
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      `netprofiler GET ${AWS}/status -> 401 (error AUTH_REQUIRED): The requested resource requires authentication. ` +
        "Check the NETPROFILER_* credentials.",
    );
    // One re-login and one retry, then the answer is reported: first call, refused call, its one retry.
    expect(harness.netprofiler.logins).toBe(2);
    expect(apiRequests(harness)).toHaveLength(3);
  });

  it("rejects invalid arguments with a message naming the parameter, sending nothing", async () => {
    harness = await startHarness();
    const bad = await harness.call("netprofiler_set_aws_sync", { status: "MAYBE" });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/^Invalid arguments for netprofiler_set_aws_sync: status: /);
    const unknown = await harness.call("netprofiler_get_aws_status", { verbose: true });
    expect(textOf(unknown)).toContain("unknown parameter(s) verbose");
    const both = await harness.call("netprofiler_put_aws_accounts", {
      accounts: [{ acc_id: "a", access_key: "b", secret_key: "c", secret_key_ref: "D" }],
    });
    expect(textOf(both)).toContain("give secret_key or secret_key_ref, not both");
    // An unknown key inside an item names the keys that item accepts, not the tool's parameters.
    const nested = await harness.call("netprofiler_put_aws_accounts", {
      accounts: [{ acc_id: "a", access_key: "b", secret: "c" }],
    });
    expect(textOf(nested)).toContain(
      "accounts.0: unknown parameter(s) secret; accepted: acc_id, access_key, secret_key, secret_key_ref",
    );
    expect(harness.netprofiler.requests).toHaveLength(0);
  });

  it("answers arguments that are not an object with invalid params, in our words", async () => {
    harness = await startHarness();
    const { CallToolResultSchema } = await import("@modelcontextprotocol/sdk/types.js");
    const error = await harness.client
      .request(
        { method: "tools/call", params: { name: "netprofiler_set_aws_sync", arguments: "ENABLED" as never } },
        CallToolResultSchema,
      )
      .catch((e: unknown) => e as { code: number; message: string });
    expect(error).toMatchObject({ code: -32602 });
    expect((error as { message: string }).message).toContain(
      "arguments of netprofiler_set_aws_sync must be an object of named parameters",
    );
    expect((error as { message: string }).message).not.toContain("expected");
    expect(harness.netprofiler.requests).toHaveLength(0);
  });
});
