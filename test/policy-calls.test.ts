import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { serveHttp } from "../src/http.js";
import { SQUONK_SEED } from "../src/platforms/squonk/emulator/index.js";
import { createRuntime, reloadPolicy } from "../src/server.js";
import { DESTRUCTIVE, defineInfraTool } from "../src/tools/define.js";
import { prepareTools } from "../src/tools/index.js";
import { invokeTool } from "../src/tools/invoke.js";
import {
  type Harness,
  type HarnessOptions,
  loadConfig,
  PLATFORMS,
  policyFile,
  scratchDir,
  startEmulators,
  startHarness,
  textOf,
} from "./helpers.js";
import { PROTECT_CORE_SERVERS } from "./policies.js";

const DCI = "/api/dci/v3";
const AWS = "/api/npm.aws_config/1.0";
const DM = "/data-manager-api";

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

async function withPolicy(rules: unknown[], options: HarnessOptions = {}): Promise<Harness> {
  const harness = await startHarness({
    ...options,
    env: { INFRA_MCP_POLICY: policyFile(rules), ...options.env },
  });
  harnesses.push(harness);
  return harness;
}

/** An elicitation-capable client that counts what it is asked, and accepts. */
function elicitingClient(asked: string[]): HarnessOptions {
  return {
    capabilities: { capabilities: { elicitation: { form: {} } } },
    prepareClient: (client) =>
      client.setRequestHandler(ElicitRequestSchema, async (request) => {
        asked.push(request.params.message);
        return { action: "accept", content: { confirm: true } };
      }),
  };
}

const writesTo = (h: Harness, prefix: string) =>
  h.netprofiler.requestsTo(prefix).filter((r) => r.method !== "GET");

describe("deny: refused whichever tool would send the request, and nothing reaches the upstream", () => {
  it("infra_api_call to a protected path is refused, naming the rule's id and reason", async () => {
    const h = await withPolicy([PROTECT_CORE_SERVERS]);
    const result = await h.call("infra_api_call", {
      service: "dci",
      method: "POST",
      path: `${DCI}/server/1/power_off`,
      body: {},
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain(
      `Refused by the operator's policy, rule "protect-core-servers" (servers 1 and 2 run the core switches): ` +
        `infra_api_call would send dci POST ${DCI}/server/1/power_off. Nothing was sent.`,
    );
    // Not even a login: the refusal came before the session was asked for anything.
    expect(h.dci.requests).toEqual([]);
  });

  it("holds however the path is spelt: dot segments, escapes, encoded slashes", async () => {
    const h = await withPolicy([PROTECT_CORE_SERVERS], { env: { INFRA_MCP_CONFIRM: "off" } });
    for (const path of [
      `${DCI}/server/2/%2e%2e/1/power_off`,
      `${DCI}/server/%31/power_off`,
      `${DCI}/server/1%2Fpower_off`,
      `${DCI}/server/1\\power_off`,
    ]) {
      const result = await h.call("infra_api_call", { service: "dci", method: "POST", path, body: {} });
      expect(result.isError, path).toBe(true);
      expect(textOf(result), path).toContain('rule "protect-core-servers"');
    }
    expect(h.dci.requests).toEqual([]);
  });

  it("dci_power_server on a protected server is refused by the same rule, and nothing reaches DCImanager", async () => {
    const h = await withPolicy([PROTECT_CORE_SERVERS]);
    const result = await h.call("dci_power_server", { server_id: 1, action: "reset" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain(
      `rule "protect-core-servers" (servers 1 and 2 run the core switches): dci_power_server would send ` +
        `dci POST ${DCI}/server/1/power_reset. Nothing was sent.`,
    );
    expect(h.dci.requests).toEqual([]);
  });

  it("a platform tool's refusal is decided before confirmation: no elicitation, no token", async () => {
    const asked: string[] = [];
    const h = await withPolicy([PROTECT_CORE_SERVERS], elicitingClient(asked));
    const refused = await h.call("dci_power_server", { server_id: 2, action: "off" });
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toBeUndefined();
    expect(asked).toEqual([]);
    expect(h.dci.requests).toEqual([]);
    // Another server is asked about as usual, and acts once the user accepts.
    const allowed = await h.call("dci_power_server", { server_id: 3, action: "on" });
    expect(allowed.isError).toBeFalsy();
    expect(asked).toHaveLength(1);
    expect(h.dci.requestsTo(`${DCI}/server/`).map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST ${DCI}/server/3/power_on`,
    ]);
  });

  it("a bulk tool whose every deletion the policy refuses is refused before anyone is asked", async () => {
    const asked: string[] = [];
    const h = await withPolicy(
      [{ id: "no-instance-deletes", effect: "deny", services: ["squonk_dm"], methods: ["DELETE"] }],
      elicitingClient(asked),
    );
    const result = await h.call("squonk_delete_project_instances", {
      project_id: SQUONK_SEED.projects.kinase,
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('rule "no-instance-deletes"');
    expect(asked).toEqual([]);
    expect(h.squonk.requestsTo(`${DM}/instance`)).toEqual([]);
  });

  it("lets through what the rule does not name: another server, another method", async () => {
    const h = await withPolicy([PROTECT_CORE_SERVERS], { env: { INFRA_MCP_CONFIRM: "off" } });
    const other = await h.call("infra_api_call", {
      service: "dci",
      method: "POST",
      path: `${DCI}/server/3/power_on`,
      body: {},
    });
    expect(other.isError).toBeFalsy();
    const read = await h.call("infra_api_get", { service: "dci", path: `${DCI}/server/1` });
    expect(read.isError).toBeFalsy();
    expect(h.dci.requestsTo(`${DCI}/server`).map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST ${DCI}/server/3/power_on`,
      `GET ${DCI}/server/1`,
    ]);
  });

  it("is decided before confirmation: no elicitation is asked and no token issued", async () => {
    const asked: string[] = [];
    const h = await withPolicy([PROTECT_CORE_SERVERS], elicitingClient(asked));
    const result = await h.call("infra_api_call", {
      service: "dci",
      method: "POST",
      path: `${DCI}/server/2/power_reset`,
      body: {},
    });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toBeUndefined();
    expect(asked).toEqual([]);
    expect(h.dci.requests).toEqual([]);
  });

  it("a bulk tool's requests that the policy refuses are reported one by one; the others go ahead", async () => {
    const { projects, instances } = SQUONK_SEED;
    const h = await withPolicy(
      [
        {
          id: "keep-the-picker-run",
          effect: "deny",
          methods: ["DELETE"],
          paths: [`/instance/${instances.pickerCompleted}`],
          reason: "the paper cites it",
        },
      ],
      { env: { INFRA_MCP_CONFIRM: "off" } },
    );
    const result = await h.call("squonk_delete_project_instances", { project_id: projects.kinase });
    expect(result.isError).toBeFalsy();
    const { outcomes, deleted, failed } = result.structuredContent as {
      outcomes: { instance_id: string; ok: boolean; error?: string; denied_by?: string }[];
      deleted: number;
      failed: number;
    };
    const refused = outcomes.filter((o) => !o.ok);
    expect(refused.map((o) => o.instance_id)).toEqual([instances.pickerCompleted]);
    expect(refused[0]?.error).toContain(`rule "keep-the-picker-run" (the paper cites it)`);
    expect(refused[0]?.error).toContain(
      `squonk_dm DELETE /instance/${instances.pickerCompleted} was not sent`,
    );
    expect(refused[0]?.denied_by).toBe("keep-the-picker-run");
    expect(failed).toBe(1);
    const sent = h.squonk.requestsTo(`${DM}/instance/`).filter((r) => r.method === "DELETE");
    expect(sent).toHaveLength(deleted);
    expect(sent.map((r) => r.path)).not.toContain(`${DM}/instance/${instances.pickerCompleted}`);
  });

  it("a tool that cannot say what it sends is stopped in the session, at the request, and the trail says so", async () => {
    const file = join(scratchDir(), "audit.jsonl");
    const h = await withPolicy([PROTECT_CORE_SERVERS], {
      env: { INFRA_MCP_CONFIRM: "off", INFRA_MCP_AUDIT_FILE: file },
    });
    const undeclared = defineInfraTool({
      name: "infra_test_power_all",
      title: "Power every server",
      description: "Sends what only its handler knows.",
      input: {},
      annotations: { ...DESTRUCTIVE, openWorld: true },
      async handler(_args, { sessions }) {
        for (const id of [3, 1]) {
          await sessions
            .get("dci")
            ?.request({ method: "POST", path: `${DCI}/server/${id}/power_off`, json: {} });
        }
        return { ok: true };
      },
    });
    const [prepared] = prepareTools(h.config, [undeclared], [], h.runtime.policy);
    const result = await invokeTool(prepared!, {}, h.runtime, {
      principal: "local",
      signal: new AbortController().signal,
      progress: async () => undefined,
    });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toContain(
      `rule "protect-core-servers" (servers 1 and 2 run the core switches): dci POST ${DCI}/server/1/power_off was not sent`,
    );
    expect(h.dci.requestsTo(`${DCI}/server/`).map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST ${DCI}/server/3/power_off`,
    ]);
    const last = JSON.parse(readFileSync(file, "utf8").trim().split("\n").at(-1) ?? "{}");
    expect(last).toMatchObject({
      tool: "infra_test_power_all",
      decision: "denied",
      rule: "protect-core-servers",
      upstream: [{ method: "POST", path: `${DCI}/server/3/power_off`, status: 200 }],
      denied: [{ method: "POST", path: `${DCI}/server/1/power_off`, rule: "protect-core-servers" }],
      outcome: "error",
    });
  });

  it("a rule by tool name refuses the tool, whatever it would send", async () => {
    const h = await withPolicy([
      { id: "no-np-deletes", effect: "deny", tools: ["netprofiler_delete_*"], reason: "change control" },
    ]);
    const result = await h.call("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain(
      `rule "no-np-deletes" (change control): netprofiler_delete_aws_accounts may not run here. Nothing was sent.`,
    );
    expect(h.netprofiler.requests).toEqual([]);
  });
});

describe("allow and confirm: the operator decides what asks first", () => {
  it("allow: a destructive tool acts without asking", async () => {
    const h = await withPolicy([
      { id: "np-deletes-are-routine", effect: "allow", tools: ["netprofiler_delete_aws_accounts"] },
    ]);
    const result = await h.call("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ ok: true, acc_ids: ["staging"] });
    expect(writesTo(h, `${AWS}/auth_codes`).map((r) => [r.method, r.json])).toEqual([
      ["DELETE", [{ acc_id: "staging" }]],
    ]);
    // It cannot need confirmation any more: its listing no longer offers the token.
    const { tools } = await h.client.listTools();
    const listed = tools.find((t) => t.name === "netprofiler_delete_aws_accounts");
    expect(Object.keys(listed?.inputSchema.properties ?? {})).not.toContain("confirmation_token");
  });

  it("confirm: a tool the defaults let act asks first, and its listing takes confirmation_token", async () => {
    const h = await withPolicy([
      { id: "settings-need-a-human", effect: "confirm", tools: ["dci_update_setting"] },
    ]);
    const { tools } = await h.client.listTools();
    const listed = tools.find((t) => t.name === "dci_update_setting");
    expect(Object.keys(listed?.inputSchema.properties ?? {})).toContain("confirmation_token");
    const args = { name: "ipmi_proxy_enabled", value: "false" };
    const first = await h.call("dci_update_setting", args);
    const asked = first.structuredContent as { confirmation_required: boolean; confirmation_token: string };
    expect(asked.confirmation_required).toBe(true);
    expect(h.dci.setting("ipmi_proxy_enabled")).toBe("true");
    const done = await h.call("dci_update_setting", {
      ...args,
      confirmation_token: asked.confirmation_token,
    });
    expect(done.isError).toBeFalsy();
    expect(h.dci.requestsTo(`${DCI}/setting/`).map((r) => [r.method, r.path, r.json])).toEqual([
      ["POST", `${DCI}/setting/ipmi_proxy_enabled`, { value: "false" }],
    ]);
    expect(h.dci.setting("ipmi_proxy_enabled")).toBe("false");
  });

  it("without a policy the same tool acts at once and takes no token (the annotations decide)", async () => {
    const h = await startHarness();
    harnesses.push(h);
    const { tools } = await h.client.listTools();
    const listed = tools.find((t) => t.name === "dci_update_setting");
    expect(Object.keys(listed?.inputSchema.properties ?? {})).not.toContain("confirmation_token");
    const result = await h.call("dci_update_setting", { name: "ipmi_proxy_enabled", value: "false" });
    expect(result.structuredContent).toMatchObject({ ok: true });
  });
});

describe("each matcher", () => {
  it("annotations: a rule on mutating tools leaves destructive and read-only ones alone", async () => {
    const h = await withPolicy([{ id: "no-changes", effect: "deny", annotations: ["mutating"] }], {
      env: { INFRA_MCP_CONFIRM: "off" },
    });
    expect((await h.call("netprofiler_set_aws_sync", { status: "DISABLED" })).isError).toBe(true);
    expect((await h.call("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] })).isError).toBeFalsy();
    expect((await h.call("netprofiler_get_aws_status")).isError).toBeFalsy();
    expect(writesTo(h, AWS).map((r) => `${r.method} ${r.path}`)).toEqual([`DELETE ${AWS}/auth_codes`]);
  });

  it("annotations: infra_api_call with GET is a read; with another method it is destructive", async () => {
    const h = await withPolicy([{ id: "no-destruction", effect: "deny", annotations: ["destructive"] }]);
    expect(
      (await h.call("infra_api_call", { service: "netprofiler", method: "GET", path: `${AWS}/status` }))
        .isError,
    ).toBeFalsy();
    const post = await h.call("infra_api_call", {
      service: "netprofiler",
      method: "POST",
      path: `${AWS}/sync`,
    });
    expect(textOf(post)).toContain('rule "no-destruction"');
    expect(writesTo(h, AWS)).toEqual([]);
  });

  it("services: every request to the API is refused, reads included, by any tool", async () => {
    const h = await withPolicy([{ id: "np-is-off-limits", effect: "deny", services: ["netprofiler"] }]);
    const generic = await h.call("infra_api_get", { service: "netprofiler", path: `${AWS}/status` });
    expect(textOf(generic)).toContain('rule "np-is-off-limits"');
    const own = await h.call("netprofiler_get_aws_status");
    expect(own.isError).toBe(true);
    expect(textOf(own)).toContain(`rule "np-is-off-limits"`);
    expect(textOf(own)).toContain(`netprofiler GET ${AWS}/status`);
    expect(h.netprofiler.requests).toEqual([]);
    // Another API is not touched by the rule.
    expect((await h.call("infra_api_get", { service: "dci", path: `${DCI}/server` })).isError).toBeFalsy();
  });

  it("methods: DELETE is refused, other methods go", async () => {
    const h = await withPolicy([{ id: "no-deletes", effect: "deny", methods: ["delete"] }], {
      env: { INFRA_MCP_CONFIRM: "off" },
    });
    const del = await h.call("infra_api_call", {
      service: "netprofiler",
      method: "DELETE",
      path: `${AWS}/auth_codes`,
      body: [{ acc_id: "staging" }],
    });
    expect(textOf(del)).toContain('rule "no-deletes"');
    const put = await h.call("infra_api_call", {
      service: "netprofiler",
      method: "PUT",
      path: `${AWS}/sync/status`,
      body: { status: "DISABLED" },
    });
    expect(put.isError).toBeFalsy();
    expect(writesTo(h, AWS).map((r) => `${r.method} ${r.path}`)).toEqual([`PUT ${AWS}/sync/status`]);
  });

  it("principals: a rule for the bearer-token holder over --http does not touch the local user", async () => {
    const rules = [
      {
        id: "remote-reads-only",
        effect: "deny",
        principals: ["http"],
        annotations: ["destructive", "mutating"],
      },
    ];
    const local = await withPolicy(rules, { env: { INFRA_MCP_CONFIRM: "off" } });
    expect((await local.call("netprofiler_set_aws_sync", { status: "DISABLED" })).isError).toBeFalsy();

    const upstreams = await startEmulators();
    const token = "http-bearer-token-for-policy-tests-0123";
    const config = loadConfig({
      ...upstreams.env,
      INFRA_MCP_HTTP_TOKEN: token,
      INFRA_MCP_CONFIRM: "off",
      INFRA_MCP_LOG_LEVEL: "error",
      INFRA_MCP_POLICY: policyFile(rules),
    });
    const serving = await serveHttp(
      createRuntime(config, PLATFORMS, { writeLog: () => undefined }),
      { host: "127.0.0.1", port: 0 },
      token,
    );
    const client = new Client({ name: "remote", version: "1" });
    try {
      await client.connect(
        new StreamableHTTPClientTransport(new URL(serving.url), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      const remote = await client.callTool({
        name: "netprofiler_set_aws_sync",
        arguments: { status: "ENABLED" },
      });
      expect(remote.isError).toBe(true);
      expect(textOf(remote as Parameters<typeof textOf>[0])).toContain('rule "remote-reads-only"');
      const read = await client.callTool({ name: "netprofiler_get_aws_status", arguments: {} });
      expect(read.isError).toBeFalsy();
      expect(upstreams.emulators.netprofiler.requestsTo(AWS).map((r) => `${r.method} ${r.path}`)).toEqual([
        `GET ${AWS}/status`,
      ]);
    } finally {
      await client.close();
      await serving.close();
      await upstreams.stop();
    }
  });
});

describe("read-only mode stays absolute", () => {
  it("a rule that allows everything lists no write and sends none", async () => {
    const h = await withPolicy([{ id: "anything-goes", effect: "allow" }], {
      env: { INFRA_MCP_READ_ONLY: "true" },
    });
    const { tools } = await h.client.listTools();
    expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
    const call = await h.client
      .callTool({
        name: "infra_api_call",
        arguments: { service: "dci", method: "POST", path: `${DCI}/server/1/power_off` },
      })
      .catch((error: Error) => error);
    expect(String(call)).toContain("Unknown tool infra_api_call");
    expect(h.dci.requests).toEqual([]);
  });
});

describe("reloading the policy (the runtime's side of SIGHUP)", () => {
  it("a good file applies to the next call and updates the tool list, telling the client", async () => {
    const changes: number[] = [];
    const h = await withPolicy([], {
      prepareClient: (client) =>
        client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
          changes.push(Date.now());
        }),
    });
    const path = h.config.policy?.path as string;
    const before = await h.call("dci_update_setting", { name: "ipmi_proxy_enabled", value: "false" });
    expect(before.structuredContent).toMatchObject({ ok: true });

    writeFileSync(
      path,
      JSON.stringify({
        rules: [{ id: "settings-need-a-human", effect: "confirm", tools: ["dci_update_setting"] }],
      }),
    );
    expect(reloadPolicy(h.runtime)).toEqual({ ok: true, path, rules: 1, listChanged: true });
    await expect.poll(() => changes.length).toBe(1);
    const { tools } = await h.client.listTools();
    expect(
      Object.keys(tools.find((t) => t.name === "dci_update_setting")?.inputSchema.properties ?? {}),
    ).toContain("confirmation_token");
    const after = await h.call("dci_update_setting", { name: "ipmi_proxy_enabled", value: "true" });
    expect(after.structuredContent).toMatchObject({ confirmation_required: true });
    expect(h.dci.setting("ipmi_proxy_enabled")).toBe("false");
  });

  it("a bad file changes nothing: the policy in force stays, and the reload says why", async () => {
    const h = await withPolicy([{ id: "no-np-deletes", effect: "deny", tools: ["netprofiler_delete_*"] }]);
    const path = h.config.policy?.path as string;
    writeFileSync(path, JSON.stringify({ rules: [{ id: "typo", efect: "allow" }] }));
    const reload = reloadPolicy(h.runtime);
    expect(reload).toMatchObject({ ok: false, path });
    expect(JSON.stringify(reload)).toContain('rule \\"typo\\" (rules[0]), field \\"efect\\"');
    const result = await h.call("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] });
    expect(textOf(result)).toContain('rule "no-np-deletes"');
  });
});
