import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Client as ModernClient,
  StreamableHTTPClientTransport as ModernHttpTransport,
} from "@modelcontextprotocol/client";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyHttpTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { type HttpServing, serveHttp } from "../src/http.js";
import { attachAuditTrail, createRuntime, reloadPolicy } from "../src/server.js";
import {
  auditRecords,
  loadConfig,
  type ModernHarness,
  type ModernHarnessOptions,
  PLATFORMS,
  pinnedModernClient,
  policyFile,
  scratchDir,
  startEmulators,
  startModernHarness,
  textOf,
} from "./helpers.js";
import { PROTECT_CORE_SERVERS } from "./policies.js";

/**
 * The operator's policy and the audit trail for a 2026-07-28 client (the SDK's v2 client, pinned to that
 * revision), beside what test/policy-calls.test.ts and test/audit.test.ts show for 2025-era clients: the
 * policy decides what confirms, an input request is a confirmation like any other in the trail, the
 * principal and the client are recorded as the front and the request name them, and a policy reload
 * reaches the connection.
 */

const AWS = "/api/npm.aws_config/1.0";
const DCI = "/api/dci/v3";
const DELETE_STAGING = { acc_ids: ["staging"] };
const SETTING = { name: "ipmi_proxy_enabled", value: "false" };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The pinned v2 client over stdio's entry, with a policy of `rules` and an audit trail; asked noted. */
async function modernWith(
  rules: unknown[],
  options: ModernHarnessOptions & { answer?: "accept" | "decline" } = {},
): Promise<ModernHarness & { trail: string; asked: string[] }> {
  const trail = join(scratchDir(), "audit.jsonl");
  const asked: string[] = [];
  const { answer } = options;
  const harness = await startModernHarness({
    ...options,
    env: { INFRA_MCP_POLICY: policyFile(rules), INFRA_MCP_AUDIT_FILE: trail, ...options.env },
    ...(answer
      ? {
          capabilities: { elicitation: { form: {} } },
          prepareClient: (client) =>
            client.setRequestHandler("elicitation/create", async (request) => {
              asked.push(request.params.message);
              return answer === "accept"
                ? { action: "accept", content: { confirm: true } }
                : { action: "decline" };
            }),
        }
      : {}),
  });
  cleanups.push(() => harness.close());
  return Object.assign(harness, { trail, asked });
}

/** One tools/call in manual multi-round-trip mode: an input request comes back as it is, not answered. */
function rawCall(client: ModernClient, params: Record<string, unknown>) {
  return client.request(
    { method: "tools/call", params: params as never },
    { allowInputRequired: true },
  ) as Promise<Record<string, unknown>>;
}

const deletions = (h: ModernHarness) =>
  h.netprofiler.requests.filter((r) => r.method === "DELETE" && r.path === `${AWS}/auth_codes`);

/** Each record's decision, how it was confirmed, and its outcome. */
const decisions = (file: string) =>
  auditRecords(file).map((r) => [r.decision, r.confirmation ?? "-", r.outcome]);

describe("confirmation through an input request, as the audit trail records it", () => {
  it("accepted: asked (nothing sent), then confirmed through elicitation, with the one deletion it sent", async () => {
    const h = await modernWith([], { answer: "accept" });
    const result = await h.call("netprofiler_delete_aws_accounts", DELETE_STAGING);
    expect(result.structuredContent).toMatchObject({ ok: true, acc_ids: ["staging"] });
    expect(h.asked).toHaveLength(1);
    expect(deletions(h)).toHaveLength(1);
    expect(decisions(h.trail)).toEqual([
      ["asked", "elicitation", "ok"],
      ["confirmed", "elicitation", "started"],
      ["confirmed", "elicitation", "ok"],
    ]);
    const [asked, , done] = auditRecords(h.trail);
    expect(asked?.upstream.filter((r) => r.method !== "GET")).toEqual([]);
    expect(done?.upstream.filter((r) => r.method !== "GET")).toEqual([
      { method: "DELETE", path: `${AWS}/auth_codes`, status: 204 },
    ]);
    // Who asked, as stdio's front and the request's own metadata name them.
    expect(done).toMatchObject({ principal: "local", client: "modern-test-client/2.0.0" });
  });

  it("declined: recorded as declined through elicitation, and nothing is sent", async () => {
    const h = await modernWith([], { answer: "decline" });
    const result = await h.call("netprofiler_delete_aws_accounts", DELETE_STAGING);
    expect(textOf(result)).toBe("The user declined; nothing was done.");
    expect(deletions(h)).toHaveLength(0);
    expect(decisions(h.trail)).toEqual([
      ["asked", "elicitation", "ok"],
      ["declined", "elicitation", "error"],
    ]);
  });

  it("a retry whose state is not the one issued: recorded as refused, and nothing is sent", async () => {
    const h = await modernWith([], { capabilities: { elicitation: { form: {} } } });
    const first = await rawCall(h.client, {
      name: "netprofiler_delete_aws_accounts",
      arguments: DELETE_STAGING,
    });
    expect(first).toMatchObject({ resultType: "input_required" });
    const state = first.requestState as string;
    const refused = await rawCall(h.client, {
      name: "netprofiler_delete_aws_accounts",
      arguments: DELETE_STAGING,
      inputResponses: { confirm: { action: "accept", content: { confirm: true } } },
      requestState: `${state.slice(0, -2)}${state.endsWith("AA") ? "BB" : "AA"}`,
    });
    expect(refused).toMatchObject({ isError: true });
    expect(deletions(h)).toHaveLength(0);
    expect(decisions(h.trail)).toEqual([
      ["asked", "elicitation", "ok"],
      ["refused", "elicitation", "error"],
    ]);
    expect(auditRecords(h.trail)[1]?.error).toContain("was not issued by this server (or was altered)");
  });
});

describe("the operator's policy decides what a 2026-07-28 client is asked to confirm", () => {
  it("confirm: a tool the defaults let act is asked about through an input request first", async () => {
    const h = await modernWith(
      [{ id: "settings-need-a-human", effect: "confirm", tools: ["dci_update_setting"] }],
      {
        answer: "accept",
      },
    );
    const result = await h.call("dci_update_setting", SETTING);
    expect(result.isError).toBeFalsy();
    expect(h.asked).toHaveLength(1);
    expect(h.dci.requestsTo(`${DCI}/setting/`).map((r) => [r.method, r.path, r.json])).toEqual([
      ["POST", `${DCI}/setting/ipmi_proxy_enabled`, { value: "false" }],
    ]);
    expect(auditRecords(h.trail).map((r) => [r.decision, r.rule])).toEqual([
      ["asked", "settings-need-a-human"],
      ["confirmed", "settings-need-a-human"],
      ["confirmed", "settings-need-a-human"],
    ]);
  });

  it("allow: a destructive tool acts without an input request", async () => {
    const h = await modernWith(
      [{ id: "np-deletes-are-routine", effect: "allow", tools: ["netprofiler_delete_aws_accounts"] }],
      { answer: "accept" },
    );
    const result = await h.call("netprofiler_delete_aws_accounts", DELETE_STAGING);
    expect(result.structuredContent).toMatchObject({ ok: true });
    expect(h.asked).toEqual([]);
    expect(deletions(h)).toHaveLength(1);
    expect(decisions(h.trail)).toEqual([
      ["allowed", "-", "started"],
      ["allowed", "-", "ok"],
    ]);
  });

  it("deny: decided before confirmation, so no input request is sent and nothing reaches the upstream", async () => {
    const h = await modernWith([PROTECT_CORE_SERVERS], { capabilities: { elicitation: { form: {} } } });
    const refused = await rawCall(h.client, {
      name: "dci_power_server",
      arguments: { server_id: 1, action: "reset" },
    });
    expect(refused).not.toHaveProperty("resultType", "input_required");
    expect(refused).not.toHaveProperty("requestState");
    expect(refused).toMatchObject({ isError: true });
    expect(JSON.stringify(refused)).toContain('rule \\"protect-core-servers\\"');
    expect(h.dci.requests).toEqual([]);
    expect(auditRecords(h.trail).map((r) => [r.decision, r.rule, r.upstream])).toEqual([
      ["denied", "protect-core-servers", []],
    ]);
    // Another server is asked about as usual: the same client gets its input request.
    const asking = await rawCall(h.client, {
      name: "dci_power_server",
      arguments: { server_id: 3, action: "on" },
    });
    expect(asking).toMatchObject({ resultType: "input_required" });
    expect(h.dci.requestsTo(`${DCI}/server/`).filter((r) => r.method === "POST")).toEqual([]);
  });
});

/** A replica over HTTP in this process, with a policy file and an audit trail, and its emulators. */
async function httpReplica(rules: unknown[]) {
  const upstreams = await startEmulators();
  const token = "policy-generations-http-token-0123456789";
  const trail = join(scratchDir(), "audit.jsonl");
  const policy = policyFile(rules);
  const config = loadConfig({
    ...upstreams.env,
    INFRA_MCP_HTTP_TOKEN: token,
    INFRA_MCP_LOG_LEVEL: "error",
    INFRA_MCP_POLICY: policy,
    INFRA_MCP_AUDIT_FILE: trail,
  });
  const runtime = createRuntime(config, PLATFORMS, { writeLog: () => undefined });
  await attachAuditTrail(runtime);
  const serving: HttpServing = await serveHttp(runtime, { host: "127.0.0.1", port: 0 }, token);
  cleanups.push(async () => {
    await serving.close();
    await runtime.audit?.close();
    await upstreams.stop();
  });
  const requestInit = { headers: { authorization: `Bearer ${token}` } };
  return {
    ...upstreams.emulators,
    runtime,
    serving,
    trail,
    policy,
    /** The pinned v2 client, connected over HTTP. */
    modern: async (name: string) => {
      const client = pinnedModernClient(name);
      await client.connect(new ModernHttpTransport(new URL(serving.url), { requestInit }));
      cleanups.push(() => client.close());
      return client;
    },
    /** The 1.x client, which opens with initialize. */
    legacy: async (name: string) => {
      const client = new LegacyClient({ name, version: "1" });
      await client.connect(new LegacyHttpTransport(new URL(serving.url), { requestInit }));
      cleanups.push(() => client.close());
      return client;
    },
  };
}

describe("who calls, as the policy matches and the trail records it, over HTTP", () => {
  it("the bearer-token holder is http in both generations, and a 2026-07-28 call names its client", async () => {
    const replica = await httpReplica([
      {
        id: "remote-no-sync-changes",
        effect: "deny",
        principals: ["http"],
        tools: ["netprofiler_set_aws_sync"],
      },
    ]);
    const modern = await replica.modern("remote-modern");
    const legacy = await replica.legacy("remote-legacy");
    const fromModern = (await modern.callTool({
      name: "netprofiler_set_aws_sync",
      arguments: { status: "DISABLED" },
    })) as CallToolResult;
    const fromLegacy = (await legacy.callTool({
      name: "netprofiler_set_aws_sync",
      arguments: { status: "DISABLED" },
    })) as CallToolResult;
    for (const refused of [fromModern, fromLegacy]) {
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain('rule "remote-no-sync-changes"');
    }
    expect(replica.netprofiler.requestsTo(AWS).filter((r) => r.method !== "GET")).toEqual([]);
    expect(auditRecords(replica.trail).map((r) => [r.principal, r.client, r.decision, r.rule])).toEqual([
      // The request's own metadata names the 2026-07-28 client; a 2025-era client named itself in an
      // initialize that a stateless replica answered with another server, so its call cannot say.
      ["http", "remote-modern/2", "denied", "remote-no-sync-changes"],
      ["http", "", "denied", "remote-no-sync-changes"],
    ]);
  });
});

describe("a policy reload, for a 2026-07-28 client", () => {
  const confirmSettings = [{ id: "settings-need-a-human", effect: "confirm", tools: ["dci_update_setting"] }];

  it("on stdio: a listening client is told, and its connection lists and serves the tools as reloaded", async () => {
    const h = await modernWith([]);
    const told: string[] = [];
    h.client.setNotificationHandler("notifications/tools/list_changed", (notification) => {
      told.push(notification.method);
    });
    const subscription = await h.client.listen({ toolsListChanged: true });
    cleanups.push(() => subscription.close());
    expect(subscription.honoredFilter).toEqual({ toolsListChanged: true });
    // The list can change at any SIGHUP now: no client may take it as fresh. The discover answer cannot.
    const before = await h.client.request({ method: "tools/list", params: {} });
    expect(before).toMatchObject({ ttlMs: 0, cacheScope: "public" });
    expect(h.client.getDiscoverResult()).toMatchObject({ ttlMs: 300_000 });
    expect((await h.call("dci_update_setting", SETTING)).structuredContent).toMatchObject({ ok: true });

    writeFileSync(h.runtime.config.policy?.path as string, JSON.stringify({ rules: confirmSettings }));
    expect(reloadPolicy(h.runtime)).toMatchObject({ ok: true, listChanged: true });
    await expect.poll(() => told).toEqual(["notifications/tools/list_changed"]);
    const { tools } = await h.client.request({ method: "tools/list", params: {} });
    const listed = tools.find((tool) => tool.name === "dci_update_setting");
    expect(Object.keys(listed?.inputSchema.properties ?? {})).toContain("confirmation_token");

    // The same connection serves the tool as reloaded: it asks, and takes the token it gave.
    const args = { name: "ipmi_proxy_enabled", value: "true" };
    const first = await h.call("dci_update_setting", args);
    const { confirmation_token } = first.structuredContent as { confirmation_token: string };
    expect(first.structuredContent).toMatchObject({ confirmation_required: true });
    const done = await h.call("dci_update_setting", { ...args, confirmation_token });
    expect(done.isError).toBeFalsy();
    expect(h.dci.requestsTo(`${DCI}/setting/`).map((r) => [r.method, r.json])).toEqual([
      ["POST", { value: "false" }],
      ["POST", { value: "true" }],
    ]);
  });

  it("over HTTP: a client listening on a replica is told; a drain does not wait for its stream, and ends it gracefully", async () => {
    const replica = await httpReplica([]);
    const client = await replica.modern("remote-listener");
    const told: string[] = [];
    client.setNotificationHandler("notifications/tools/list_changed", (notification) => {
      told.push(notification.method);
    });
    const subscription = await client.listen({ toolsListChanged: true });
    expect(subscription.honoredFilter).toEqual({ toolsListChanged: true });

    writeFileSync(replica.policy, JSON.stringify({ rules: confirmSettings }));
    expect(reloadPolicy(replica.runtime)).toMatchObject({ ok: true, listChanged: true });
    await expect.poll(() => told).toEqual(["notifications/tools/list_changed"]);
    const { tools } = await client.request({ method: "tools/list", params: {} });
    const listed = tools.find((tool) => tool.name === "dci_update_setting");
    expect(Object.keys(listed?.inputSchema.properties ?? {})).toContain("confirmation_token");

    // A listen stream is no call in flight: nothing is left to wait for or to cut.
    expect(await replica.serving.drain(1_000)).toEqual({ finished: 0, cut: 0 });
    expect(await subscription.closed).toBe("graceful");
  });
});
