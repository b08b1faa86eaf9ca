import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { ConfirmationStore } from "../src/safety/confirm.js";
import { REDACTED, Redactor } from "../src/safety/redact.js";
import { DESTRUCTIVE, defineInfraTool } from "../src/tools/define.js";
import { prepareTools } from "../src/tools/index.js";
import { invokeTool } from "../src/tools/invoke.js";
import { type Harness, startHarness, textOf } from "./helpers.js";

const AWS = "/api/npm.aws_config/1.0";
let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  vi.useRealTimers();
});

function mutatingRequests(h: Harness) {
  return h.netprofiler.requests.filter((r) => r.path.startsWith(AWS) && r.method !== "GET");
}

describe("confirmation without elicitation: one-time tokens bound to the arguments", () => {
  it("sends nothing on the first call and returns a preview with a token", async () => {
    harness = await startHarness();
    const result = await harness.call("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] });
    expect(result.isError).toBeFalsy();
    const structured = result.structuredContent as Record<string, unknown>;
    expect(structured).toMatchObject({ confirmation_required: true, expires_in_seconds: 300 });
    expect(structured.preview).toContain("delete AWS account(s) staging");
    // The first text block is the structured result itself; the instruction to the model follows apart.
    const [json, instruction] = result.content as { type: string; text: string }[];
    expect(JSON.parse(json!.text)).toEqual(structured);
    expect(instruction?.text).toContain("call netprofiler_delete_aws_accounts again with the same arguments");
    expect(structured.confirmation_token).toMatch(/^[\w.-]{40,}$/);
    expect(mutatingRequests(harness)).toHaveLength(0);
    expect(harness.netprofiler.accountIds()).toContain("staging");
  });

  it("refuses a token used twice", async () => {
    harness = await startHarness();
    const args = { acc_ids: ["staging"] };
    const first = await harness.call("netprofiler_delete_aws_accounts", args);
    const token = (first.structuredContent as { confirmation_token: string }).confirmation_token;
    const ok = await harness.call("netprofiler_delete_aws_accounts", { ...args, confirmation_token: token });
    expect(ok.isError).toBeFalsy();
    const again = await harness.call("netprofiler_delete_aws_accounts", {
      ...args,
      confirmation_token: token,
    });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toContain("was already used");
    expect(mutatingRequests(harness)).toHaveLength(1);
  });

  it("refuses a token used with other arguments, saying so, and keeps it valid for the original call", async () => {
    harness = await startHarness();
    const first = await harness.call("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] });
    const token = (first.structuredContent as { confirmation_token: string }).confirmation_token;
    const other = await harness.call("netprofiler_delete_aws_accounts", {
      acc_ids: ["prod-eu"],
      confirmation_token: token,
    });
    expect(other.isError).toBe(true);
    expect(textOf(other)).toContain("issued for netprofiler_delete_aws_accounts with other arguments");
    expect(mutatingRequests(harness)).toHaveLength(0);
    const original = await harness.call("netprofiler_delete_aws_accounts", {
      acc_ids: ["staging"],
      confirmation_token: token,
    });
    expect(original.isError).toBeFalsy();
    expect(mutatingRequests(harness)).toHaveLength(1);
    expect(harness.netprofiler.accountIds()).toEqual(["prod-eu", "prod-us"]);
  });

  it("refuses a token from another tool", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "mutating" } });
    const first = await harness.call("netprofiler_set_aws_sync", { status: "DISABLED" });
    const token = (first.structuredContent as { confirmation_token: string }).confirmation_token;
    const misuse = await harness.call("netprofiler_sync_aws_accounts", { confirmation_token: token });
    expect(misuse.isError).toBe(true);
    expect(textOf(misuse)).toContain(
      "issued for netprofiler_set_aws_sync, not netprofiler_sync_aws_accounts",
    );
    expect(mutatingRequests(harness)).toHaveLength(0);
  });

  it("refuses an expired token", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    harness = await startHarness();
    const args = { acc_ids: ["staging"] };
    const first = await harness.call("netprofiler_delete_aws_accounts", args);
    const token = (first.structuredContent as { confirmation_token: string }).confirmation_token;
    vi.setSystemTime(Date.now() + 5 * 60_000 + 1);
    const late = await harness.call("netprofiler_delete_aws_accounts", {
      ...args,
      confirmation_token: token,
    });
    expect(late.isError).toBe(true);
    expect(textOf(late)).toContain("has expired");
    expect(mutatingRequests(harness)).toHaveLength(0);
  });

  it("binds tokens to canonical arguments (key order does not matter)", async () => {
    const store = new ConfirmationStore({ now: () => 0 });
    const { token } = store.issue("t", { a: 1, b: { c: 2, d: 3 } });
    expect(await store.redeem(token, "t", { b: { d: 3, c: 2 }, a: 1 })).toEqual({ ok: true });
  });

  it("refuses a token it did not issue, or one altered, saying so", async () => {
    const store = new ConfirmationStore();
    const { token } = store.issue("t", { a: 1 });
    const forged = `${token.slice(0, -2)}${token.endsWith("AA") ? "BB" : "AA"}`;
    for (const bad of [forged, "made-up-token", ""]) {
      const redemption = await store.redeem(bad, "t", { a: 1 });
      expect(redemption.ok, bad).toBe(false);
      expect((redemption as { reason: string }).reason, bad).toContain("was not issued by this server");
    }
  });

  it("holds nothing for a call that is never confirmed, whatever its arguments weigh", () => {
    const store = new ConfirmationStore();
    const heavy = { body: "x".repeat(1024 * 1024) };
    for (let i = 0; i < 300; i += 1) store.issue("infra_api_call", { ...heavy, i });
    expect(store.remembered()).toBe(0);
  });

  it("accepts a token another replica issued with the same key, and no other", async () => {
    const key = "shared-confirm-key-0123456789abcdef-0123";
    const issuer = new ConfirmationStore({ key });
    const { token } = issuer.issue("t", { a: 1 });
    expect(
      await new ConfirmationStore({ key: "another-key-0123456789abcdef" }).redeem(token, "t", { a: 1 }),
    ).toMatchObject({
      ok: false,
    });
    expect(await new ConfirmationStore({ key }).redeem(token, "t", { a: 1 })).toEqual({ ok: true });
  });

  it("asks for confirmation of mutating tools with INFRA_MCP_CONFIRM=mutating, and none with off", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "mutating" } });
    const gated = await harness.call("netprofiler_sync_aws_accounts");
    expect(gated.structuredContent).toMatchObject({ confirmation_required: true });
    expect(mutatingRequests(harness)).toHaveLength(0);
    await harness.close();

    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off" } });
    const direct = await harness.call("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] });
    expect(direct.structuredContent).toMatchObject({ ok: true });
    const { tools } = await harness.client.listTools();
    expect(tools.some((tool) => "confirmation_token" in (tool.inputSchema.properties ?? {}))).toBe(false);
  });
});

describe("rules between arguments", () => {
  it("refuse a call before confirmation is asked, by elicitation or by token; a call they accept is asked", async () => {
    harness = await startHarness();
    let handled = 0;
    const tool = defineInfraTool({
      name: "infra_test_resize",
      title: "Resize",
      description: "A destructive tool with a rule between its arguments.",
      input: { size: z.number().optional(), cpus: z.number().optional() },
      rules: ({ size, cpus }) =>
        (size === undefined) === (cpus === undefined)
          ? "infra_test_resize takes size or cpus, one of them. Nothing was sent."
          : undefined,
      annotations: { ...DESTRUCTIVE, openWorld: false },
      async handler() {
        handled += 1;
        return { ok: true };
      },
    });
    const [prepared] = prepareTools(harness.config, [tool], []);
    const asked: string[] = [];
    const call = {
      principal: "local",
      signal: new AbortController().signal,
      progress: async () => undefined,
      elicit: async (message: string) => {
        asked.push(message);
        return "accept" as const;
      },
    };
    for (const args of [{}, { size: 1, cpus: 2 }]) {
      for (const environment of [call, { ...call, elicit: undefined }]) {
        const refused = await invokeTool(prepared!, args, harness.runtime, environment);
        expect(refused).toEqual({
          isError: true,
          content: [
            {
              type: "text",
              text: "infra_test_resize takes size or cpus, one of them. Nothing was sent.",
            },
          ],
        });
      }
    }
    expect(asked).toEqual([]);
    expect(handled).toBe(0);
    const accepted = await invokeTool(prepared!, { size: 1 }, harness.runtime, call);
    expect(accepted.structuredContent).toEqual({ ok: true });
    expect(asked).toHaveLength(1);
    expect(handled).toBe(1);
  });
});

describe("the platforms' refusals of their arguments", () => {
  it("come before any confirmation is asked (rules between arguments, an unknown secret_key_ref), under INFRA_MCP_CONFIRM=mutating and the default", async () => {
    const cases = [
      {
        tool: "ovc_create_machine",
        args: {
          cloudspace_id: 101,
          name: "x1",
          image_id: 1,
          disk_size_gb: 20,
          size_id: 1,
          vcpus: 1,
          memory_mb: 512,
        },
        text: "ovc_create_machine needs size_id (see ovc_list_sizes), or vcpus and memory_mb, not both. Nothing was sent.",
      },
      {
        tool: "ovc_machine_action",
        args: { machine_id: 1002, action: "reboot", force: true },
        text: "force applies to action stop only. Nothing was sent.",
      },
      {
        tool: "ovc_list_sizes",
        args: { cloudspace_id: 101, location: "be-gen-1" },
        text: "ovc_list_sizes needs cloudspace_id or location (one of them). Nothing was sent.",
      },
      {
        tool: "netprofiler_put_aws_accounts",
        args: { accounts: [{ acc_id: "x", access_key: "AKIAX", secret_key_ref: "MISSING" }] },
        text:
          'secret_key_ref "MISSING": INFRA_MCP_SECRET_MISSING is not set in the server\'s environment. ' +
          "No INFRA_MCP_SECRET_* variables are set. Nothing was sent.",
      },
      {
        tool: "squonk_get_job",
        args: { job_id: 1, collection: "im-test" },
        text: "squonk_get_job takes job_id or collection + job + version, not both (got job_id and collection); nothing was sent.",
      },
    ];
    // Each way of asking: elicitation, and a confirmation token (an error result is not one).
    for (const [confirm, elicitation] of [
      ["mutating", true],
      ["mutating", false],
      ["destructive", true],
    ] as const) {
      const asked: string[] = [];
      harness = await startHarness({
        env: { INFRA_MCP_CONFIRM: confirm },
        ...(elicitation
          ? {
              capabilities: { capabilities: { elicitation: {} } },
              prepareClient: (client) =>
                client.setRequestHandler(ElicitRequestSchema, async (request) => {
                  asked.push(request.params.message);
                  return { action: "accept", content: { confirm: true } };
                }),
            }
          : {}),
      });
      const sent = () =>
        harness!.ovc.requests.length + harness!.squonk.requests.length + harness!.netprofiler.requests.length;
      const before = sent();
      for (const { tool, args, text } of cases) {
        const what = `${tool} (${confirm}, ${elicitation ? "elicitation" : "token"})`;
        const result = await harness.call(tool, args);
        expect(result.isError, what).toBe(true);
        expect(textOf(result), what).toBe(text);
      }
      expect(asked).toEqual([]);
      expect(sent()).toBe(before);
      await harness.close();
      harness = undefined;
    }
  });
});

describe("confirmation with elicitation", () => {
  function withElicitation(answer: {
    action: "accept" | "decline" | "cancel";
    content?: Record<string, unknown>;
  }) {
    const asked: string[] = [];
    return {
      asked,
      options: {
        capabilities: { capabilities: { elicitation: { form: {} } } },
        prepareClient: (client: Harness["client"]) => {
          client.setRequestHandler(ElicitRequestSchema, async (request) => {
            asked.push(request.params.message);
            return answer;
          });
        },
      },
    };
  }

  it("asks the user and acts in one call when they accept", async () => {
    const { asked, options } = withElicitation({ action: "accept", content: { confirm: true } });
    harness = await startHarness(options);
    const result = await harness.call("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] });
    expect(result.structuredContent).toMatchObject({ ok: true, acc_ids: ["staging"] });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain("delete AWS account(s) staging");
    expect(mutatingRequests(harness)).toHaveLength(1);
  });

  it.each([
    { action: "decline" as const, word: "declined" },
    { action: "cancel" as const, word: "cancelled" },
    { action: "accept" as const, content: { confirm: false }, word: "declined" },
  ])("sends nothing when the user answers $action $content", async ({ action, content, word }) => {
    const { options } = withElicitation(content ? { action, content } : { action });
    harness = await startHarness(options);
    const result = await harness.call("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(`The user ${word}; nothing was done.`);
    expect(mutatingRequests(harness)).toHaveLength(0);
  });
});

describe("confirmation when elicitation fails", () => {
  it("falls back to a confirmation token, sending nothing", async () => {
    harness = await startHarness({
      capabilities: { capabilities: { elicitation: { form: {} } } },
      prepareClient: (client) =>
        client.setRequestHandler(ElicitRequestSchema, async () => {
          throw new Error("this client cannot render forms");
        }),
    });
    const result = await harness.call("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ confirmation_required: true });
    expect(mutatingRequests(harness)).toHaveLength(0);
    expect(harness.logs.join("")).toContain("elicitation failed");
  });
});

describe("read-only mode", () => {
  it("lists only read-only tools and serves reads", async () => {
    harness = await startHarness({ env: { INFRA_MCP_READ_ONLY: "true" } });
    const { tools } = await harness.client.listTools();
    expect(tools.length).toBeGreaterThan(0);
    expect(tools.every((tool) => tool.annotations?.readOnlyHint === true)).toBe(true);
    const names = tools.map((tool) => tool.name);
    expect(names).toContain("netprofiler_list_aws_accounts");
    expect(names).not.toContain("netprofiler_delete_aws_accounts");
    expect(names).not.toContain("infra_api_call");
    const read = await harness.call("netprofiler_get_aws_status");
    expect(read.isError).toBeFalsy();
  });

  it("refuses a hidden mutating tool as unknown, and the session refuses any non-GET", async () => {
    harness = await startHarness({ env: { INFRA_MCP_READ_ONLY: "true" } });
    const unknown = (await harness.call("netprofiler_sync_aws_accounts").catch((e: unknown) => e)) as Error;
    // One protocol prefix, not two: the server's message is the reason alone.
    expect(unknown.message).toMatch(
      /^MCP error -32602: Unknown tool netprofiler_sync_aws_accounts; tools\/list/,
    );
    const session = harness.runtime.sessions.get("netprofiler")!;
    await expect(session.request({ method: "POST", path: `${AWS}/sync` })).rejects.toThrow(/Read-only mode/);
    await expect(session.request({ method: "DELETE", path: `${AWS}/auth_codes`, json: [] })).rejects.toThrow(
      /was not sent/,
    );
    expect(mutatingRequests(harness)).toHaveLength(0);
  });
});

describe("secrets never reach a result, an error or a log", () => {
  const CANARY = "canary-secret-7f3a9c2e";

  it("scrubs the access code, live tokens and INFRA_MCP_SECRET_* values everywhere", async () => {
    harness = await startHarness({ env: { INFRA_MCP_SECRET_CANARY: CANARY, INFRA_MCP_CONFIRM: "off" } });
    const h = harness;
    await h.call("netprofiler_get_aws_status");
    const [liveToken] = h.netprofiler.issuedTokens();
    const canaries = [CANARY, h.netprofiler.accessCode, liveToken!];
    const texts: string[] = [];
    const record = async (name: string, args: Record<string, unknown> = {}) => {
      const result = await h.call(name, args);
      texts.push(textOf(result), JSON.stringify(result.structuredContent ?? null));
      return result;
    };

    // An upstream error that echoes the path, with each canary in it.
    for (const canary of canaries) {
      const result = await record("infra_api_get", { service: "netprofiler", path: `${AWS}/${canary}` });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain(REDACTED);
    }
    // A stored value that comes back in a list, and a secret sent by reference.
    await record("netprofiler_put_aws_accounts", {
      accounts: [{ acc_id: `lab-${CANARY}`, access_key: "AKIALAB", secret_key_ref: "CANARY" }],
    });
    const list = await record("netprofiler_list_aws_accounts");
    expect(JSON.stringify(list.structuredContent)).toContain(`lab-${REDACTED}`);
    await record("infra_status", { check: true });
    // A refused login whose error could quote the credential.
    h.netprofiler.expireCredentials();
    await record("netprofiler_get_aws_status");

    const everything = [...texts, ...h.logs].join("\n");
    expect(h.logs.length).toBeGreaterThan(0);
    for (const canary of canaries) expect(everything).not.toContain(canary);
  });

  it("forwards scrubbed log lines to the client as MCP log notifications", async () => {
    const { LoggingMessageNotificationSchema } = await import("@modelcontextprotocol/sdk/types.js");
    const received: string[] = [];
    harness = await startHarness({
      env: { INFRA_MCP_SECRET_CANARY: CANARY },
      prepareClient: (client) =>
        client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
          received.push(`${n.params.level} ${String(n.params.data)}`);
        }),
    });
    await harness.client.setLoggingLevel("debug");
    await harness.call("infra_api_get", { service: "netprofiler", path: `${AWS}/${CANARY}` });
    // Notifications travel beside the result: wait until the failure's line has arrived.
    await expect
      .poll(() => received.find((line) => line.startsWith("info infra_api_get failed")))
      .toBeDefined();
    const failure = received.find((line) => line.startsWith("info infra_api_get failed"));
    expect(failure).toContain(`${AWS}/${REDACTED}`);
    expect(received.join("\n")).not.toContain(CANARY);
  });

  it("scrubs a password that an upstream echoes in a login error, JSON-escaped", async () => {
    const password = 'pa"ss\\word-with-quote';
    harness = await startHarness({
      env: {
        NETPROFILER_ACCESS_CODE: "",
        NETPROFILER_USERNAME: "admin",
        NETPROFILER_PASSWORD: password,
      },
    });
    // An appliance (or a proxy) that quotes the request in its answer.
    harness.netprofiler.garbleNext(1, {
      body: JSON.stringify({ echo: { username: "admin", password } }),
      contentType: "application/json",
    });
    const result = await harness.call("netprofiler_get_aws_status");
    expect(result.isError).toBe(true);
    const everything = [textOf(result), ...harness.logs].join("\n");
    expect(everything).toContain("login failed");
    expect(everything).not.toContain(JSON.stringify(password).slice(1, -1));
    expect(everything).not.toContain(password);
  });

  it("scrubs the access code when an upstream echoes it URL-encoded", async () => {
    const code = "code+with/slash=and spaces";
    harness = await startHarness({ env: { NETPROFILER_ACCESS_CODE: code } });
    harness.netprofiler.garbleNext(1, {
      status: 400,
      body: `bad request: grant_type=access_code&assertion=eyJhbGciOiJub25lIn0.${encodeURIComponent(code)}.&x=${new URLSearchParams({ c: code }).toString()}`,
      contentType: "text/plain",
    });
    const result = await harness.call("netprofiler_get_aws_status");
    expect(result.isError).toBe(true);
    const everything = [textOf(result), ...harness.logs].join("\n");
    expect(everything).toContain("assertion=eyJhbGciOiJub25lIn0.");
    expect(everything).not.toContain(encodeURIComponent(code));
    expect(everything).not.toContain(new URLSearchParams({ c: code }).toString().slice(2));
  });

  it("scrubs a secret at the end of a long error body before the body is shortened", async () => {
    harness = await startHarness({ env: { INFRA_MCP_SECRET_CANARY: CANARY } });
    await harness.call("netprofiler_get_aws_status");
    for (const filler of [280, 290, 295, 298]) {
      harness.netprofiler.garbleNext(1, {
        status: 500,
        body: `${"x".repeat(filler)} ${CANARY}`,
        contentType: "text/plain",
      });
      const result = await harness.call("netprofiler_get_aws_status");
      expect(result.isError).toBe(true);
      expect(textOf(result), String(filler)).not.toContain(CANARY.slice(0, 8));
    }
  });

  it("scrubs a live token used as an object key", async () => {
    harness = await startHarness();
    await harness.call("netprofiler_get_aws_status");
    const token = harness.netprofiler.issuedTokens()[0]!;
    harness.netprofiler.garbleNext(1, {
      body: JSON.stringify({ sessions: { [token]: { user: "admin" } } }),
      contentType: "application/json",
      methods: ["GET"],
    });
    const result = await harness.call("infra_api_get", { service: "netprofiler", path: `${AWS}/status` });
    expect(result.isError).toBeFalsy();
    expect(JSON.stringify(result)).not.toContain(token);
    expect(result.structuredContent).toEqual({ data: { sessions: { [REDACTED]: { user: "admin" } } } });
  });

  it("masks string fields whose names hold a secret, keeping booleans and the tool's own reveals", () => {
    const redactor = new Redactor();
    const names = [
      "ipmi_password",
      "root_password",
      "passwd",
      "api_key",
      "client_secret",
      "private_key",
      "auth_token",
      "credentials",
      "Password",
      "x-api-key",
    ];
    const masked = redactor.value(
      Object.fromEntries(names.map((name) => [name, `value-of-${name}`])),
    ) as Record<string, unknown>;
    for (const name of names) expect(masked[name], name).toBe(REDACTED);
    expect(redactor.value({ has_valid_callback_token: true, token_ttl: 60 })).toEqual({
      has_valid_callback_token: true,
      token_ttl: 60,
    });
    expect(redactor.value({ root_password: "s3cret" }, new Set(["root_password"]))).toEqual({
      root_password: "s3cret",
    });
  });

  it("masks secret fields in upstream data, except where the tool reveals them", () => {
    const redactor = new Redactor(["configured-password-1"]);
    const value = redactor.value({
      name: "x",
      password: "p4ss",
      nested: [{ token: "abc", access_token: "def", note: "uses configured-password-1" }],
      session_key: "",
      key: "visible",
    });
    expect(value).toEqual({
      name: "x",
      password: REDACTED,
      nested: [{ token: REDACTED, access_token: REDACTED, note: `uses ${REDACTED}` }],
      session_key: "",
      key: "visible",
    });
    expect(redactor.value({ token: "t0ken" }, new Set(["token"]))).toEqual({ token: "t0ken" });
  });
});
