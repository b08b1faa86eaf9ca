import { afterEach, describe, expect, it, vi } from "vitest";
import { DCI_SANDBOX, DciEmulator } from "../src/platforms/dci/emulator/index.js";
import type { RecordedRequest } from "../src/sandbox/emulator.js";
import { type Harness, startHarness, textOf } from "./helpers.js";

const DCI = "/api/dci/v3";
const AUTH = "/api/auth/v4";
let harness: Harness | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await harness?.close();
  harness = undefined;
});

/** Requests to the platform proper (logins excluded). */
function apiRequests(h: Harness): RecordedRequest[] {
  return h.dci.requests.filter((r) => r.path.startsWith(DCI) || r.path.startsWith(`${AUTH}/user`));
}

function last<T>(list: T[]): T {
  return list[list.length - 1] as T;
}

function logins(h: Harness): RecordedRequest[] {
  return h.dci.requestsTo(`${AUTH}/public/`);
}

/** The three credential headers the vendor page asks for, all carrying the live session token. */
function expectSessionHeaders(request: RecordedRequest, token: string): void {
  expect(request.headers["x-xsrf-token"]).toBe(token);
  expect(request.headers.cookie).toBe(`ses6=${token}`);
  expect(request.headers["isp-box-instance"]).toBe("true");
}

/** The token the emulator issued last (the session's live one). */
function liveToken(h: Harness): string {
  return last(h.dci.issuedTokens());
}

describe("dci tools over a real MCP client (email and password)", () => {
  it("lists servers with where, orderby, limit, offset and fields passed upstream", async () => {
    harness = await startHarness();
    const result = await harness.call("dci_list_servers", {
      where: "location_id EQ 2",
      orderby: "name asc",
      limit: 2,
      offset: 1,
      fields: ["id", "name"],
    });
    expect(result.isError).toBeFalsy();
    // Location 2 holds backup-01, k8s-node-01, k8s-node-02, spare-03, web-03; by name, skip 1, take 2.
    expect(result.structuredContent).toEqual({
      items: [
        { id: 5, name: "k8s-node-01" },
        { id: 6, name: "k8s-node-02" },
      ],
      total: 5,
      offset: 1,
      next_offset: 3,
    });

    const [login] = logins(harness);
    expect(login).toMatchObject({
      method: "POST",
      path: `${AUTH}/public/token`,
      json: { email: DCI_SANDBOX.email, password: DCI_SANDBOX.password },
    });
    expect(login?.headers["isp-box-instance"]).toBe("true");

    const request = last(apiRequests(harness));
    expect(request).toMatchObject({
      method: "GET",
      path: `${DCI}/server`,
      query: { where: "location_id EQ 2", orderby: "name asc", limit: "1,2" },
      body: "",
    });
    expectSessionHeaders(request, liveToken(harness));
  });

  it("asks for 50 servers from offset 0 by default and reports the upstream's size", async () => {
    harness = await startHarness();
    const result = await harness.call("dci_list_servers");
    const data = result.structuredContent as { items: { id: number }[]; total?: number };
    expect(last(apiRequests(harness)).query).toEqual({ limit: "0,50" });
    expect(data.items.map((server) => server.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // Everything is shown, so a total would only repeat the count.
    expect(data.total).toBeUndefined();
    const page = await harness.call("dci_list_servers", { limit: 5 });
    expect(page.structuredContent).toMatchObject({ total: 12, next_offset: 5 });
  });

  it("passes a where with quotes, %, +, &, = and # through intact", async () => {
    harness = await startHarness();
    const where =
      "domain CP '%.dc1.example.net' AND NOT name CP 'a+b&c=d#e %' AND (is_new EQ false OR id EQ 11)";
    const result = await harness.call("dci_list_servers", { where, fields: ["name"] });
    expect(result.isError).toBeFalsy();
    const request = last(apiRequests(harness));
    // The emulator decodes the query string as any server would; it must give back exactly the input.
    expect(request.query.where).toBe(where);
    expect(result.structuredContent).toEqual({
      items: [{ name: "web-01" }, { name: "web-02" }, { name: "db-01" }, { name: "spare-02" }],
    });
  });

  it("turns an unparsable where into an error with the upstream's code and message, not an empty list", async () => {
    harness = await startHarness();
    const result = await harness.call("dci_list_servers", { where: "name EQ" });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toContain("dci GET /api/dci/v3/server -> 400 (error 2002)");
    expect(text).toContain("Invalid where: Expected a value");
    expect(text).toContain("Fix the filter");
    expect(text).not.toContain("items");
  });

  it("gets one server, and names the tool that finds ids when the id is unknown", async () => {
    harness = await startHarness();
    const result = await harness.call("dci_get_server", { server_id: 3 });
    expect(result.structuredContent).toMatchObject({
      id: 3,
      name: "db-01",
      power_status: "on",
      os_template: { name: "Debian 12" },
      operation: { status: "complete" },
    });
    expect(last(apiRequests(harness))).toMatchObject({ method: "GET", path: `${DCI}/server/3` });
    expectSessionHeaders(last(apiRequests(harness)), liveToken(harness));

    const missing = await harness.call("dci_get_server", { server_id: 99 });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toBe(
      "dci GET /api/dci/v3/server/99 -> 404 (error 2001): Server 99 not found. Check the id with dci_list_servers.",
    );
  });

  it("lists what a client needs of a server as dci_get_server's output schema, all optional, and its results conform", async () => {
    harness = await startHarness();
    const { tools } = await harness.client.listTools();
    const schema = tools.find((tool) => tool.name === "dci_get_server")?.outputSchema;
    // Each may be absent or null; name and power_status, not in the vendor's sample, any scalar.
    const types = (...names: string[]) => ({ anyOf: names.map((type) => ({ type })) });
    const scalar = types("string", "number", "boolean", "null");
    expect(schema?.properties).toEqual({
      id: types("number", "string", "null"),
      name: scalar,
      state: types("string", "null"),
      power_status: scalar,
      operation: {
        anyOf: [{ type: "object", properties: { status: types("string", "null") } }, { type: "null" }],
      },
    });
    // A get may come back shortened to the output budget: nothing can be required of it.
    expect(schema?.required).toBeUndefined();
    // The SDK client checks structuredContent against the listed schema (it throws on a mismatch): a spare
    // server, with no owner, address or OS, must pass as well as one in use.
    for (const server_id of [3, 10]) {
      const result = await harness.call("dci_get_server", { server_id });
      expect(result.isError, `server ${server_id}`).toBeFalsy();
      expect(result.structuredContent).toMatchObject({ id: server_id, operation: { status: "complete" } });
    }
  });

  it("powers a server off only after confirmation, with POST {} to power_off", async () => {
    harness = await startHarness();
    harness.dci.operationDurationMs = 0;
    const first = await harness.call("dci_power_server", { server_id: 1, action: "off" });
    expect(first.isError).toBeFalsy();
    const plan = first.structuredContent as {
      confirmation_required: boolean;
      preview: string;
      confirmation_token: string;
    };
    expect(plan.confirmation_required).toBe(true);
    expect(plan.preview).toContain(`${DCI}/server/1/power_off`);
    expect(apiRequests(harness)).toHaveLength(0);
    expect(harness.dci.server(1)?.power_status).toBe("on");

    const done = await harness.call("dci_power_server", {
      server_id: 1,
      action: "off",
      confirmation_token: plan.confirmation_token,
    });
    expect(done.isError).toBeFalsy();
    expect(done.structuredContent).toMatchObject({ ok: true, server_id: 1, action: "off", task: 5000 });
    const request = last(apiRequests(harness));
    expect(request).toMatchObject({ method: "POST", path: `${DCI}/server/1/power_off`, json: {} });
    expect(request.contentType).toContain("application/json");
    expectSessionHeaders(request, liveToken(harness));
    expect(harness.dci.server(1)).toMatchObject({
      power_status: "off",
      operation: { id: 5000, status: "complete" },
    });
  });

  it.each([
    ["on", "power_on", 6, "on"],
    ["reset", "power_reset", 2, "on"],
  ] as const)("maps action %s to %s", async (action, call, id, after) => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off" } });
    harness.dci.operationDurationMs = 0;
    const result = await harness.call("dci_power_server", { server_id: id, action });
    expect(result.isError).toBeFalsy();
    expect(last(apiRequests(harness))).toMatchObject({
      method: "POST",
      path: `${DCI}/server/${id}/${call}`,
      json: {},
    });
    expect(harness.dci.server(id)?.power_status).toBe(after);
    expect(harness.dci.server(id)?.operation).toMatchObject({ name: call, status: "complete" });
  });

  it("updates a setting with {value}", async () => {
    harness = await startHarness();
    const result = await harness.call("dci_update_setting", {
      name: "operation_change_boot_order",
      value: "false",
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({
      ok: true,
      name: "operation_change_boot_order",
      value: "false",
    });
    const request = last(apiRequests(harness));
    expect(request).toMatchObject({
      method: "POST",
      path: `${DCI}/setting/operation_change_boot_order`,
      json: { value: "false" },
    });
    expectSessionHeaders(request, liveToken(harness));
    expect(harness.dci.setting("operation_change_boot_order")).toBe("false");
  });

  it("accepts a setting value as a string, number or boolean and sends the string the platform wants", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off" } });
    for (const [value, sent] of [
      [false, "false"],
      [300, "300"],
      ["true", "true"],
    ] as const) {
      const result = await harness.call("dci_update_setting", { name: "server_power_off_timeout", value });
      expect(result.isError, String(value)).toBeFalsy();
      expect(last(apiRequests(harness)).json).toEqual({ value: sent });
    }
    const operations = await harness.call("infra_list_operations", { service: "dci", filter: "GET setting" });
    expect(operations.structuredContent).toMatchObject({
      items: [expect.objectContaining({ method: "GET", path: `${DCI}/setting` })],
    });
  });

  it("refuses a setting name that is not one path segment, sending nothing", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off" } });
    for (const name of ["..", ".", "a/b", "a\\b", "a%2fb", "a\tb", ""]) {
      const result = await harness.call("dci_update_setting", { name, value: "x" });
      expect(result.isError, name).toBe(true);
      expect(textOf(result), name).toContain("Invalid arguments for dci_update_setting: name:");
    }
    expect(apiRequests(harness)).toHaveLength(0);
  });

  it("lists users with where and limit upstream, and no passwords", async () => {
    harness = await startHarness();
    const result = await harness.call("dci_list_users", { where: "email CP '%@example.com'", limit: 5 });
    expect(result.isError).toBeFalsy();
    const data = result.structuredContent as { items: Record<string, unknown>[]; total?: number };
    expect(data.items.map((user) => user.email)).toEqual(["alice@example.com", "bob@example.com"]);
    expect(data.items[0]).toMatchObject({ id: 2, roles: "[@user]", server_count: 3 });
    expect(data.total).toBeUndefined();
    expect(textOf(result)).not.toContain(DCI_SANDBOX.password);
    expect(last(apiRequests(harness))).toMatchObject({
      method: "GET",
      path: `${DCI}/user`,
      query: { where: "email CP '%@example.com'", limit: "0,5" },
    });
  });

  it("creates a login key after confirmation, returns it unredacted with its link, and the key lets its user in", async () => {
    harness = await startHarness();
    // Minting a credential is confirmed under the default policy, like a destructive action.
    const plan = await harness.call("dci_create_login_key", { email: "alice@example.com" });
    expect(plan.structuredContent).toMatchObject({ confirmation_required: true });
    expect(apiRequests(harness)).toHaveLength(0);
    const token = (plan.structuredContent as { confirmation_token: string }).confirmation_token;
    const result = await harness.call("dci_create_login_key", {
      email: "alice@example.com",
      confirmation_token: token,
    });
    expect(result.isError).toBeFalsy();
    const data = result.structuredContent as { id: string; key: string; login_link: string };
    expect(data.key).toMatch(/^\d+-[0-9a-f-]{36}$/);
    expect(data.id).toBe(data.key.split("-")[0]);
    expect(data.login_link).toBe(`${harness.dci.url}/auth/key-v4/${data.key}`);
    expect(textOf(result)).toContain(data.key);
    const request = last(apiRequests(harness));
    expect(request).toMatchObject({ method: "POST", path: `${AUTH}/user/alice@example.com/key`, json: {} });
    expectSessionHeaders(request, liveToken(harness));

    // The key works once, through the prefix-less path as the 3P scripts use it.
    const exchange = await fetch(`${harness.dci.url}/auth/v4/public/key`, {
      method: "POST",
      headers: { "content-type": "application/json", "isp-box-instance": "true" },
      body: JSON.stringify({ key: data.key }),
    });
    expect(exchange.status).toBe(200);
    expect(await exchange.json()).toMatchObject({ confirmed: true, id: "2" });
  });

  it("sets token_ttl as a string and the session adopts the new idle limit", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    harness = await startHarness();
    const result = await harness.call("dci_set_session_ttl", { minutes: 5 });
    expect(result.isError).toBeFalsy();
    expect(last(apiRequests(harness).concat(harness.dci.requestsTo(`${AUTH}/setting`)))).toMatchObject({
      method: "POST",
      path: `${AUTH}/setting/token_ttl`,
      json: { value: "5" },
    });
    expect(harness.dci.setting("token_ttl")).toBe("5");
    expect(harness.dci.logins).toBe(1);

    // Six idle minutes: the platform has deleted the token. A session still on 60 minutes would send it
    // and be refused with 3001; one that adopted 5 minutes logs in first.
    vi.setSystemTime(Date.now() + 6 * 60_000);
    const after = await harness.call("dci_get_server", { server_id: 1 });
    expect(after.isError).toBeFalsy();
    expect(harness.dci.refusals).toBe(0);
    expect(harness.dci.logins).toBe(2);
  });
});

describe("dci sessions and resilience", () => {
  it("accepts a 201 login answer", async () => {
    const dci = new DciEmulator();
    dci.loginStatus = 201;
    await dci.start();
    try {
      harness = await startHarness({ emulators: { dci } });
      const result = await harness.call("dci_get_server", { server_id: 2 });
      expect(result.isError).toBeFalsy();
      expect(dci.logins).toBe(1);
    } finally {
      await harness?.close();
      harness = undefined;
      await dci.stop();
    }
  });

  it("reports a refused password as a login failure with the upstream's code and a next step", async () => {
    harness = await startHarness({ env: { DCI_PASSWORD: "wrong-password-123" } });
    const result = await harness.call("dci_list_servers");
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      "dci login failed: POST /api/auth/v4/public/token -> 401 (error 3002): Invalid email or password. Check DCI_EMAIL and DCI_PASSWORD (the DCImanager user's email and password).",
    );
    expect(apiRequests(harness)).toHaveLength(0);
  });

  it("repeats a POST through a 503 storm (the platform was suspended) until it succeeds", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off", INFRA_MCP_TIMEOUT_MS: "20000" } });
    harness.dci.operationDurationMs = 0;
    await harness.call("dci_get_server", { server_id: 7 });
    harness.dci.suspend(3);
    const result = await harness.call("dci_power_server", { server_id: 7, action: "off" });
    expect(result.isError).toBeFalsy();
    const attempts = harness.dci.requestsTo(`${DCI}/server/7/power_off`);
    expect(attempts.map((attempt) => attempt.faulted)).toEqual([true, true, true, false]);
    for (const attempt of attempts) expect(attempt.json).toEqual({});
    expect(harness.dci.server(7)?.power_status).toBe("off");
    // Nothing but the power call was sent: no re-login, no other request in between.
    expect(harness.dci.requests).toHaveLength(2 + 4);
  });

  it("gives up on a platform that stays suspended within the time budget, saying so", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off", INFRA_MCP_TIMEOUT_MS: "1500" } });
    await harness.call("dci_get_server", { server_id: 7 });
    harness.dci.suspend(1_000_000);
    const started = performance.now();
    const result = await harness.call("dci_power_server", { server_id: 7, action: "off" });
    const elapsed = performance.now() - started;
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/^dci POST \/api\/dci\/v3\/server\/7\/power_off -> 503 after \d+ retr(y|ies): /);
    expect(text).toContain("stayed suspended (503)");
    expect(text).toContain("nothing was done");
    expect(elapsed).toBeLessThan(4000);
    const attempts = harness.dci.requestsTo(`${DCI}/server/7/power_off`);
    expect(attempts.length).toBeGreaterThan(1);
    expect(attempts.every((attempt) => attempt.faulted)).toBe(true);
    expect(harness.dci.server(7)?.power_status).toBe("on");
  });

  it("logs in again before the platform's 60-minute idle limit instead of being refused", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    harness = await startHarness();
    await harness.call("dci_get_server", { server_id: 1 });
    vi.setSystemTime(Date.now() + 30 * 60_000);
    await harness.call("dci_get_server", { server_id: 1 });
    expect(harness.dci.logins).toBe(1);

    vi.setSystemTime(Date.now() + 61 * 60_000);
    const result = await harness.call("dci_get_server", { server_id: 1 });
    expect(result.isError).toBeFalsy();
    expect(harness.dci.logins).toBe(2);
    expect(harness.dci.refusals).toBe(0);
    // The stale token was not sent again: the request after the quiet hour carries the new one.
    const [first, second] = harness.dci.issuedTokens() as [string, string];
    const gets = apiRequests(harness);
    expectSessionHeaders(gets[1] as RecordedRequest, first);
    expectSessionHeaders(gets[2] as RecordedRequest, second);
    expect(harness.dci.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST ${AUTH}/public/token`,
      `GET ${DCI}/server/1`,
      `GET ${DCI}/server/1`,
      `POST ${AUTH}/public/token`,
      `GET ${DCI}/server/1`,
    ]);
  });

  it.each([401, 403, 200])(
    "answers error 3001 on HTTP %i with exactly one re-login and a retry",
    async (status) => {
      harness = await startHarness();
      harness.dci.unauthorizedStatus = status;
      await harness.call("dci_get_server", { server_id: 1 });
      const oldToken = liveToken(harness);
      harness.dci.expireTokens();
      const result = await harness.call("dci_get_server", { server_id: 2 });
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({ id: 2, name: "web-02" });
      expect(harness.dci.refusals).toBe(1);
      expect(harness.dci.logins).toBe(2);
      const tail = harness.dci.requests.slice(-3);
      expect(tail.map((r) => `${r.method} ${r.path}`)).toEqual([
        `GET ${DCI}/server/2`,
        `POST ${AUTH}/public/token`,
        `GET ${DCI}/server/2`,
      ]);
      expect(tail[0]?.headers["x-xsrf-token"]).toBe(oldToken);
      expectSessionHeaders(tail[2] as RecordedRequest, liveToken(harness));
      expect(liveToken(harness)).not.toBe(oldToken);
      // Neither token reached the conversation or the logs.
      const seen = `${textOf(result)}${harness.logs.join("")}`;
      for (const token of harness.dci.issuedTokens()) expect(seen).not.toContain(token);
      expect(harness.logs.join("")).toContain("credentials expired upstream; logging in again");
    },
  );
});

describe("dci with a long-lived token", () => {
  function tokenEnv(token: string): Record<string, string> {
    return { DCI_EMAIL: "", DCI_PASSWORD: "", DCI_TOKEN: token };
  }

  it("sends the token without logging in, and keeps it through idle hours", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const dci = new DciEmulator();
    await dci.start();
    const token = dci.issueLongLivedToken();
    try {
      harness = await startHarness({ emulators: { dci }, env: tokenEnv(token) });
      expect((await harness.call("dci_get_server", { server_id: 1 })).isError).toBeFalsy();
      vi.setSystemTime(Date.now() + 3 * 60 * 60_000);
      const later = await harness.call("dci_get_server", { server_id: 1 });
      expect(later.isError).toBeFalsy();
      expect(logins(harness)).toHaveLength(0);
      for (const request of dci.requests) expectSessionHeaders(request, token);
    } finally {
      await harness?.close();
      harness = undefined;
      await dci.stop();
    }
  });

  it("reports a refused token once per call, never looping, and says to replace DCI_TOKEN", async () => {
    const dci = new DciEmulator();
    await dci.start();
    const token = dci.issueLongLivedToken();
    try {
      harness = await startHarness({ emulators: { dci }, env: tokenEnv(token) });
      await harness.call("dci_get_server", { server_id: 1 });
      dci.revokeToken(token);
      const before = dci.requests.length;
      const result = await harness.call("dci_get_server", { server_id: 1 });
      expect(result.isError).toBe(true);
      const text = textOf(result);
      expect(text).toContain("dci GET /api/dci/v3/server/1 -> 401 (error 3001): Unauthorized.");
      expect(text).toContain("replace DCI_TOKEN");
      expect(text).not.toContain(token);
      expect(dci.requests.length - before).toBe(1);
      expect(logins(harness)).toHaveLength(0);

      const again = await harness.call("dci_get_server", { server_id: 1 });
      expect(again.isError).toBe(true);
      expect(dci.requests.length - before).toBe(2);
    } finally {
      await harness?.close();
      harness = undefined;
      await dci.stop();
    }
  });
});

describe("dci with a one-time login key", () => {
  function keyEnv(key: string): Record<string, string> {
    return { DCI_EMAIL: "", DCI_PASSWORD: "", DCI_LOGIN_KEY: key };
  }

  it("exchanges the key once for a session, then says plainly that new credentials are needed", async () => {
    const dci = new DciEmulator();
    await dci.start();
    const key = dci.createLoginKey(DCI_SANDBOX.email) as string;
    try {
      harness = await startHarness({ emulators: { dci }, env: keyEnv(key) });
      const first = await harness.call("dci_get_server", { server_id: 4 });
      expect(first.isError).toBeFalsy();
      const exchanges = () => dci.requestsTo(`${AUTH}/public/key`);
      expect(exchanges()).toHaveLength(1);
      expect(exchanges()[0]).toMatchObject({ method: "POST", json: { key } });
      expect(exchanges()[0]?.headers["isp-box-instance"]).toBe("true");
      expectSessionHeaders(last(apiRequests(harness)), liveToken(harness));

      // The session ends (the platform dropped the token): the refusal says what to do.
      dci.expireTokens();
      const ended = await harness.call("dci_get_server", { server_id: 4 });
      expect(ended.isError).toBe(true);
      expect(textOf(ended)).toContain("(error 3001)");
      expect(textOf(ended)).toContain("login key works once");
      expect(textOf(ended)).toContain("set DCI_LOGIN_KEY");

      // Later calls fail as a login failure without sending the spent key again.
      const later = await harness.call("dci_get_server", { server_id: 4 });
      expect(later.isError).toBe(true);
      expect(textOf(later)).toContain("dci login failed: POST /api/auth/v4/public/key");
      expect(textOf(later)).toContain(
        "already exchanged for a session, which has ended; it was not sent again",
      );
      expect(textOf(later)).toContain("DCI_EMAIL + DCI_PASSWORD");
      expect(textOf(later)).not.toContain(key);
      expect(exchanges()).toHaveLength(1);
    } finally {
      await harness?.close();
      harness = undefined;
      await dci.stop();
    }
  });

  it("refuses a key that was already used elsewhere, and does not send it again", async () => {
    const dci = new DciEmulator();
    await dci.start();
    const key = dci.createLoginKey("bob@example.com") as string;
    await fetch(`${dci.url}/api/auth/v4/public/key`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key }),
    });
    try {
      harness = await startHarness({ emulators: { dci }, env: keyEnv(key) });
      const result = await harness.call("dci_list_servers");
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain(
        "dci login failed: POST /api/auth/v4/public/key -> 401 (error 3003): Invalid or expired key.",
      );
      const again = await harness.call("dci_list_servers");
      expect(textOf(again)).toContain("was refused");
      expect(dci.requestsTo(`${AUTH}/public/key`)).toHaveLength(2); // ours once, plus the earlier use
    } finally {
      await harness?.close();
      harness = undefined;
      await dci.stop();
    }
  });
});

describe("dci in read-only mode", () => {
  it("lists only the read tools and sends no mutating request", async () => {
    harness = await startHarness({ env: { INFRA_MCP_READ_ONLY: "true" } });
    const { tools } = await harness.client.listTools();
    const names = tools.map((tool) => tool.name).filter((name) => name.startsWith("dci_"));
    expect(names).toEqual(["dci_list_servers", "dci_get_server", "dci_list_users"]);
    await expect(harness.call("dci_power_server", { server_id: 1, action: "off" })).rejects.toThrow(
      /Unknown tool dci_power_server/,
    );

    const session = harness.runtime.sessions.get("dci")!;
    await expect(
      session.request({ method: "POST", path: `${DCI}/server/1/power_off`, json: {} }),
    ).rejects.toThrow(/Read-only mode: dci POST \/api\/dci\/v3\/server\/1\/power_off was not sent/);
    expect(harness.dci.requests).toHaveLength(0);
    expect((await harness.call("dci_list_servers", { limit: 1 })).isError).toBeFalsy();
  });
});

describe("dci in the generic tools", () => {
  it("lists the documented operations and checks the session in infra_status", async () => {
    harness = await startHarness();
    const operations = await harness.call("infra_list_operations", { service: "dci", filter: "power" });
    const items = (operations.structuredContent as { items: { method: string; path: string }[] }).items;
    expect(items.map((op) => `${op.method} ${op.path}`)).toEqual([
      `POST ${DCI}/server/{id}/power_on`,
      `POST ${DCI}/server/{id}/power_off`,
      `POST ${DCI}/server/{id}/power_reset`,
    ]);
    const status = await harness.call("infra_status", { check: true });
    const services = (status.structuredContent as { services: Record<string, unknown>[] }).services;
    expect(services.find((s) => s.service === "dci")).toMatchObject({
      auth: "email and password",
      authenticated: true,
      check: { ok: true },
    });
    // The probe asks who the session is: an authenticated read any user may make, under /auth/v4.
    const probe = last(harness.dci.requestsTo("/auth/v4/whoami"));
    expect(probe).toMatchObject({ method: "GET", path: "/auth/v4/whoami", query: {}, body: "" });
    expectSessionHeaders(probe, liveToken(harness));
  });
});

describe("the DCImanager emulator's own rules", () => {
  it("takes the token from x-xsrf-token or the ses6 cookie, under /api/auth and /auth, without isp-box-instance; whoami", async () => {
    const dci = new DciEmulator();
    await dci.start();
    try {
      const login = await fetch(`${dci.url}/auth/v4/public/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: DCI_SANDBOX.email, password: DCI_SANDBOX.password }),
      });
      const { token } = (await login.json()) as { token: string };
      expect(token).toMatch(/^\d+-[0-9a-f-]{36}$/);
      const byHeader = await fetch(`${dci.url}${DCI}/server/1`, { headers: { "x-xsrf-token": token } });
      const byCookie = await fetch(`${dci.url}${DCI}/server/1`, { headers: { cookie: `ses6=${token}` } });
      const without = await fetch(`${dci.url}${DCI}/server/1`);
      expect([byHeader.status, byCookie.status, without.status]).toEqual([200, 200, 401]);
      expect(await without.json()).toEqual({ error: { code: 3001, msg: "Unauthorized", value: {} } });
      // whoami answers the session's own user as the user list shows it (without its server count), under
      // both prefixes; a guest gets 3001.
      const users = await fetch(`${dci.url}${DCI}/user`, { headers: { "x-xsrf-token": token } });
      const { server_count: _count, ...admin } = ((await users.json()) as { list: Record<string, unknown>[] })
        .list[0] as Record<string, unknown>;
      expect(admin.email).toBe(DCI_SANDBOX.email);
      for (const prefix of ["/auth/v4", AUTH]) {
        const me = await fetch(`${dci.url}${prefix}/whoami`, { headers: { "x-xsrf-token": token } });
        expect(me.status, prefix).toBe(200);
        expect(await me.json()).toEqual(admin);
      }
      const guest = await fetch(`${dci.url}/auth/v4/whoami`);
      expect(guest.status).toBe(401);
      expect(((await guest.json()) as { error: { code: number } }).error.code).toBe(3001);
      const posted = await fetch(`${dci.url}/auth/v4/whoami`, {
        method: "POST",
        headers: { "x-xsrf-token": token },
      });
      expect(posted.status).toBe(405);
    } finally {
      await dci.stop();
    }
  });
});
