import type { Client as ModernClient } from "@modelcontextprotocol/client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isTraceparent } from "../src/trace-context.js";
import {
  type Harness,
  MODERN,
  type ModernHarness,
  startHarness,
  startModernHarness,
  textOf,
} from "./helpers.js";

/**
 * What a 2026-07-28 client (the SDK's v2 client, pinned to that revision) gets from the server, beside what a
 * 2025-era client gets from the same server: the same tools in the same order, the same upstream requests,
 * and confirmation as an input request instead of a server-to-client elicitation.
 */

const AWS = "/api/npm.aws_config/1.0";
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
let modern: ModernHarness | undefined;
let legacy: Harness | undefined;

afterEach(async () => {
  await modern?.close();
  await legacy?.close();
  modern = undefined;
  legacy = undefined;
  vi.useRealTimers();
});

const deletes = (h: ModernHarness) =>
  h.netprofiler.requests.filter((r) => r.method === "DELETE" && r.path === `${AWS}/auth_codes`);

/** A client that answers every confirmation form with `answer`, noting each message it was shown. */
function answering(answer: "accept" | "decline" | "cancel", asked: string[]) {
  return (client: ModernClient) =>
    client.setRequestHandler("elicitation/create", async (request) => {
      asked.push(request.params.message);
      return answer === "accept" ? { action: "accept", content: { confirm: true } } : { action: answer };
    });
}

/** One tools/call in manual multi-round-trip mode: an input request comes back as it is, not answered. */
function rawCall(client: ModernClient, params: Record<string, unknown>) {
  return client.request(
    { method: "tools/call", params: params as never },
    { allowInputRequired: true },
  ) as Promise<Record<string, unknown>>;
}

describe("a 2026-07-28 client", () => {
  it("connects through server/discover, with no initialize, and lists the 2025-era client's tools in the same order, with a cache lifetime", async () => {
    modern = await startModernHarness();
    legacy = await startHarness();
    expect(modern.client.getProtocolEra()).toBe("modern");
    expect(modern.client.getNegotiatedProtocolVersion()).toBe(MODERN);
    expect(modern.client.getDiscoverResult()).toMatchObject({
      supportedVersions: [MODERN],
      capabilities: { tools: {} },
      ttlMs: 300_000,
    });
    expect(modern.client.getServerVersion()).toMatchObject({ name: "infra-mcp" });
    expect(modern.client.getInstructions()).toContain("infra_status");
    const listing = await modern.client.request({ method: "tools/list", params: {} });
    const again = await modern.client.request({ method: "tools/list", params: {} });
    const names = listing.tools.map((tool) => tool.name);
    expect(names).toEqual((await legacy.client.listTools()).tools.map((tool) => tool.name));
    expect(again.tools.map((tool) => tool.name)).toEqual(names);
    // The list follows from the configuration alone: the same for every caller until a restart.
    expect(listing).toMatchObject({ ttlMs: 300_000, cacheScope: "public" });
    // A 2025-era client gets the list as before: no cache fields.
    expect(await legacy.client.listTools()).not.toHaveProperty("ttlMs");
  });

  it("reads through the same upstream request as a 2025-era client, and the same result", async () => {
    modern = await startModernHarness();
    const result = await modern.call("dci_get_server", { server_id: 3 });
    expect(result.structuredContent).toMatchObject({ id: 3, name: "db-01" });
    expect(JSON.parse(textOf(result))).toEqual(result.structuredContent);
    const reads = modern.dci.requests.filter((r) => r.path.startsWith("/api/dci/v3/server"));
    expect(reads.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /api/dci/v3/server/3"]);
  });

  it("names itself to the call path from its request's metadata, as a 2025-era client does through initialize", async () => {
    modern = await startModernHarness();
    legacy = await startHarness();
    await modern.call("dci_get_server", { server_id: 3 });
    await legacy.call("dci_get_server", { server_id: 3 });
    expect(modern.logs.join("")).toMatch(/dci_get_server ok in \d+ ms for modern-test-client 2\.0\.0/);
    expect(legacy.logs.join("")).toMatch(/dci_get_server ok in \d+ ms for test-client 1\.0\.0/);
  });

  it("waits with progress notifications, and its cancellation stops the polling", async () => {
    modern = await startModernHarness();
    modern.netprofiler.syncDurationMs = 600;
    const progress: { message?: string }[] = [];
    const done = await modern.client.callTool(
      { name: "netprofiler_sync_aws_accounts", arguments: {} },
      { onprogress: (p) => progress.push(p) },
    );
    expect(done.structuredContent).toMatchObject({ finished: true, status: { state: "SYNC_SUCCEEDED" } });
    const polls = modern.netprofiler.requests.filter((r) => r.path === `${AWS}/status`);
    expect(polls.length).toBeGreaterThan(1);
    // One per poll; the last may be lost by the client, which drops a notification it dispatches after the
    // response (modelcontextprotocol/typescript-sdk#2580).
    expect(progress.length).toBeGreaterThanOrEqual(polls.length - 1);
    expect(progress.length).toBeLessThanOrEqual(polls.length);
    expect(progress[0]?.message).toBe("AWS sync: SYNC_INITIALIZING");

    modern.netprofiler.syncDurationMs = 60_000;
    const controller = new AbortController();
    const before = polls.length;
    const call = modern.client.callTool(
      { name: "netprofiler_sync_aws_accounts", arguments: {} },
      { signal: controller.signal },
    );
    const h = modern;
    await expect
      .poll(() => h.netprofiler.requests.filter((r) => r.path === `${AWS}/status`).length)
      .toBeGreaterThan(before);
    controller.abort();
    await expect(call).rejects.toThrow(/abort/i);
    await expect.poll(() => h.logs.join("")).toContain("Cancelled while waiting");
    const stopped = h.netprofiler.requests.filter((r) => r.path === `${AWS}/status`).length;
    // Another call's whole round trip, after the wait ended: the cancelled one sent nothing more meanwhile.
    await h.call("netprofiler_get_aws_status");
    expect(h.netprofiler.requests.filter((r) => r.path === `${AWS}/status`)).toHaveLength(stopped + 1);
  });

  it("gets log notifications for its call when it asks with a log level, and none when it does not", async () => {
    const received: string[] = [];
    modern = await startModernHarness({
      prepareClient: (client) =>
        client.setNotificationHandler("notifications/message", (n) => {
          received.push(`${n.params.level} ${String(n.params.data)}`);
        }),
    });
    await modern.call("infra_api_get", { service: "netprofiler", path: "/nope" });
    expect(received).toEqual([]);
    await modern.call(
      "infra_api_get",
      { service: "netprofiler", path: "/nope" },
      { "io.modelcontextprotocol/logLevel": "info" },
    );
    // The failure's line, related to the call, arrives before its result; debug lines stay below the level.
    expect(received.find((line) => line.startsWith("info infra_api_get failed"))).toContain("404");
    expect(received.filter((line) => line.startsWith("debug"))).toEqual([]);
    // stderr has every line regardless.
    expect(modern.logs.filter((line) => line.includes("infra_api_get failed"))).toHaveLength(2);
  });
});

describe("a 2026-07-28 client's trace context", () => {
  it("reaches every upstream request of the call as the traceparent header", async () => {
    modern = await startModernHarness();
    modern.netprofiler.syncDurationMs = 300;
    await modern.call("netprofiler_sync_aws_accounts", {}, { traceparent: TRACEPARENT });
    const call = modern.netprofiler.requests.filter((r) => r.path.startsWith(AWS));
    expect(call.map((r) => r.method)).toEqual(expect.arrayContaining(["POST", "GET"]));
    for (const request of call) expect(request.headers.traceparent).toBe(TRACEPARENT);
    // Another call without one sends none: the header belongs to the call, not to the session.
    await modern.call("netprofiler_get_aws_status");
    expect(modern.netprofiler.requests.at(-1)?.headers.traceparent).toBeUndefined();
  });

  it("reaches the upstream through an infra tool too, whose sessions are lent to the call as a platform tool's is", async () => {
    modern = await startModernHarness();
    const read = await modern.call(
      "infra_api_get",
      { service: "netprofiler", path: `${AWS}/status` },
      { traceparent: TRACEPARENT },
    );
    expect(read.isError).toBeFalsy();
    const [request] = modern.netprofiler.requests.filter((r) => r.path === `${AWS}/status`);
    expect(request?.method).toBe("GET");
    expect(request?.headers.traceparent).toBe(TRACEPARENT);
  });

  it("is dropped, not sent, when it is not W3C trace context", async () => {
    modern = await startModernHarness();
    for (const bad of [
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
      "not-a-trace",
      `${TRACEPARENT}\r\nx-evil: 1`,
    ]) {
      await modern.call("netprofiler_get_aws_status", {}, { traceparent: bad });
      expect(modern.netprofiler.requests.at(-1)?.headers.traceparent, bad).toBeUndefined();
    }
    expect(modern.logs.join("")).toContain("traceparent dropped");
  });

  it("is not taken from a 2025-era client's metadata: that generation is served as before", async () => {
    legacy = await startHarness();
    await legacy.client.callTool({
      name: "netprofiler_get_aws_status",
      arguments: {},
      _meta: { traceparent: TRACEPARENT },
    });
    expect(legacy.netprofiler.requests.at(-1)?.headers.traceparent).toBeUndefined();
  });

  it("follows W3C's traceparent format", () => {
    expect(isTraceparent(TRACEPARENT)).toBe(true);
    // A later version may add fields after its four; version 00 may not.
    expect(isTraceparent(`01-${TRACEPARENT.slice(3)}-extra`)).toBe(true);
    for (const bad of [
      `${TRACEPARENT}-extra`,
      `ff-${TRACEPARENT.slice(3)}`,
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
      TRACEPARENT.toUpperCase(),
      `01-${TRACEPARENT.slice(3)}-a b`,
      `01-${TRACEPARENT.slice(3)}-${"a".repeat(600)}`,
    ]) {
      expect(isTraceparent(bad), bad).toBe(false);
    }
  });
});

describe("confirmation for a 2026-07-28 client that declared elicitation: an input request", () => {
  it("shows the preview; accepted, the call acts once", async () => {
    const asked: string[] = [];
    modern = await startModernHarness({
      capabilities: { elicitation: { form: {} } },
      prepareClient: answering("accept", asked),
    });
    const result = await modern.call("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ ok: true, acc_ids: ["staging"] });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain("delete AWS account(s) staging");
    expect(deletes(modern)).toHaveLength(1);
    expect(modern.netprofiler.accountIds()).not.toContain("staging");
  });

  for (const answer of ["decline", "cancel"] as const) {
    it(`sends nothing when the user answers ${answer}`, async () => {
      const asked: string[] = [];
      modern = await startModernHarness({
        capabilities: { elicitation: { form: {} } },
        prepareClient: answering(answer, asked),
      });
      const result = await modern.call("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toBe(
        `The user ${answer === "decline" ? "declined" : "cancelled"}; nothing was done.`,
      );
      expect(asked).toHaveLength(1);
      expect(deletes(modern)).toHaveLength(0);
      expect(modern.netprofiler.accountIds()).toContain("staging");
    });
  }

  it("asks with a form and, as requestState, the signed one-time token that the token path would return", async () => {
    modern = await startModernHarness({ capabilities: { elicitation: {} } });
    const first = await rawCall(modern.client, {
      name: "netprofiler_delete_aws_accounts",
      arguments: { acc_ids: ["staging"] },
    });
    expect(first).toMatchObject({
      resultType: "input_required",
      inputRequests: {
        confirm: {
          method: "elicitation/create",
          params: { mode: "form", requestedSchema: { required: ["confirm"] } },
        },
      },
    });
    // The same kind of token: a confirmation_token redeems it, which proves the two paths share one store.
    const token = first.requestState as string;
    const viaToken = await modern.call("netprofiler_delete_aws_accounts", {
      acc_ids: ["staging"],
      confirmation_token: token,
    });
    expect(viaToken.structuredContent).toMatchObject({ ok: true });
    expect(deletes(modern)).toHaveLength(1);
  });

  describe("refuses a retry whose state is not the one issued for this call, saying which, and sends nothing", () => {
    const args = { acc_ids: ["staging"] };
    const accepted = { confirm: { action: "accept", content: { confirm: true } } };
    async function firstRound(h: ModernHarness, callArgs = args): Promise<string> {
      const first = await rawCall(h.client, { name: "netprofiler_delete_aws_accounts", arguments: callArgs });
      return first.requestState as string;
    }
    async function retry(h: ModernHarness, requestState: string | undefined, callArgs = args) {
      return rawCall(h.client, {
        name: "netprofiler_delete_aws_accounts",
        arguments: callArgs,
        inputResponses: accepted,
        ...(requestState !== undefined ? { requestState } : {}),
      });
    }

    it("forged", async () => {
      modern = await startModernHarness({ capabilities: { elicitation: { form: {} } } });
      const state = await firstRound(modern);
      const forged = `${state.slice(0, -2)}${state.endsWith("AA") ? "BB" : "AA"}`;
      const refused = await retry(modern, forged);
      expect(refused).toMatchObject({ isError: true });
      expect(JSON.stringify(refused)).toContain(
        "The requestState was not issued by this server (or was altered)",
      );
      expect(deletes(modern)).toHaveLength(0);
    });

    it("reused", async () => {
      modern = await startModernHarness({ capabilities: { elicitation: { form: {} } } });
      const state = await firstRound(modern);
      expect(await retry(modern, state)).toMatchObject({ structuredContent: { ok: true } });
      const again = await retry(modern, state);
      expect(again).toMatchObject({ isError: true });
      expect(JSON.stringify(again)).toContain("This confirmation (its requestState) was already used");
      expect(deletes(modern)).toHaveLength(1);
    });

    it("expired", async () => {
      vi.useFakeTimers({ toFake: ["Date"] });
      modern = await startModernHarness({ capabilities: { elicitation: { form: {} } } });
      const state = await firstRound(modern);
      vi.setSystemTime(Date.now() + 5 * 60_000 + 1);
      const late = await retry(modern, state);
      expect(late).toMatchObject({ isError: true });
      expect(JSON.stringify(late)).toContain("The confirmation has expired");
      expect(deletes(modern)).toHaveLength(0);
    });

    it("for other arguments, and it stays good for its own", async () => {
      modern = await startModernHarness({ capabilities: { elicitation: { form: {} } } });
      const state = await firstRound(modern);
      const other = await retry(modern, state, { acc_ids: ["prod-eu"] });
      expect(other).toMatchObject({ isError: true });
      expect(JSON.stringify(other)).toContain(
        "The requestState was issued for netprofiler_delete_aws_accounts with other arguments",
      );
      expect(deletes(modern)).toHaveLength(0);
      expect(await retry(modern, state)).toMatchObject({ structuredContent: { ok: true } });
      expect(modern.netprofiler.accountIds()).toEqual(["prod-eu", "prod-us"]);
    });

    it("missing", async () => {
      modern = await startModernHarness({ capabilities: { elicitation: { form: {} } } });
      const refused = await retry(modern, undefined);
      expect(refused).toMatchObject({ isError: true });
      expect(JSON.stringify(refused)).toContain("came back without the requestState this server asked with");
      expect(deletes(modern)).toHaveLength(0);
    });
  });

  it("keeps the token path of TOOLS.md section 4 for a 2026-07-28 client without elicitation", async () => {
    modern = await startModernHarness();
    const first = await modern.call("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] });
    expect(first.structuredContent).toMatchObject({ confirmation_required: true, expires_in_seconds: 300 });
    expect(deletes(modern)).toHaveLength(0);
    const token = (first.structuredContent as { confirmation_token: string }).confirmation_token;
    const done = await modern.call("netprofiler_delete_aws_accounts", {
      acc_ids: ["staging"],
      confirmation_token: token,
    });
    expect(done.structuredContent).toMatchObject({ ok: true });
    expect(deletes(modern)).toHaveLength(1);
  });
});
