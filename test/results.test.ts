import { afterEach, describe, expect, it } from "vitest";
import { SQUONK_SEED } from "../src/platforms/squonk/emulator/index.js";
import { defineInfraTool, READ_ONLY } from "../src/tools/define.js";
import { prepareTools } from "../src/tools/index.js";
import { invokeTool } from "../src/tools/invoke.js";
import { type Harness, startHarness, textOf } from "./helpers.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function seed(h: Harness, count: number) {
  h.netprofiler.seedAccounts(
    Array.from({ length: count }, (_, i) => ({
      acc_id: `acct-${String(i).padStart(4, "0")}`,
      access_key: `AKIA${String(i).padStart(16, "0")}`,
      secret_key: `secret-${i}-abcdefghij`,
    })),
  );
}

describe("result shaping", () => {
  it("cuts a list between whole items at the output budget and says how to get the rest", async () => {
    harness = await startHarness({ env: { INFRA_MCP_MAX_OUTPUT_CHARS: "2000" } });
    seed(harness, 300);
    const first = await harness.call("netprofiler_list_aws_accounts");
    const text = textOf(first);
    expect(text.length).toBeLessThanOrEqual(2000);
    const page = JSON.parse(text) as {
      items: { acc_id: string }[];
      total: number;
      truncated: boolean;
      next_offset: number;
      note: string;
    };
    expect(page).toEqual(first.structuredContent);
    expect(page.total).toBe(303);
    expect(page.truncated).toBe(true);
    expect(page.items.length).toBeGreaterThan(10);
    expect(page.next_offset).toBe(page.items.length);
    expect(page.note).toContain(`offset=${page.next_offset}`);
    for (const item of page.items) expect(Object.keys(item).sort()).toEqual(["acc_id", "access_key"]);

    const second = await harness.call("netprofiler_list_aws_accounts", {
      offset: page.next_offset,
      fields: ["acc_id"],
    });
    const next = second.structuredContent as { items: { acc_id: string }[]; offset: number };
    expect(next.offset).toBe(page.next_offset);
    expect(next.items[0]?.acc_id).not.toBe(page.items[0]?.acc_id);
    // Fewer keys per item: more items fit in the same budget.
    expect(next.items.length).toBeGreaterThan(page.items.length);
  });

  it("says an item is too large by itself instead of sending the caller back to the same offset", async () => {
    harness = await startHarness({ env: { INFRA_MCP_MAX_OUTPUT_CHARS: "600" } });
    harness.netprofiler.seedAccounts([
      { acc_id: "a-small", access_key: "AKIASMALL", secret_key: "s-1234567" },
      { acc_id: `b-${"huge".repeat(200)}`, access_key: "AKIAHUGE", secret_key: "s-1234567" },
    ]);
    const result = await harness.call("netprofiler_list_aws_accounts", { offset: 4 });
    const page = result.structuredContent as {
      items: unknown[];
      next_offset?: number;
      note: string;
      truncated: boolean;
    };
    expect(page.items).toEqual([]);
    expect(page.truncated).toBe(true);
    expect(page.next_offset).toBeUndefined();
    expect(page.note).toContain("The item at offset 4 alone is larger than the 600-character output budget");
    expect(page.note).toContain("fields=[...]");
  });

  it("returns compact JSON text identical to structuredContent", async () => {
    harness = await startHarness();
    const result = await harness.call("netprofiler_list_aws_accounts", { limit: 2 });
    expect(textOf(result)).toBe(JSON.stringify(result.structuredContent));
    expect(textOf(result)).not.toContain("\n");
    expect(result.structuredContent).toMatchObject({ total: 3, next_offset: 2 });
  });

  it("refuses a non-list result over the budget with advice, instead of cutting JSON", async () => {
    harness = await startHarness({ env: { INFRA_MCP_MAX_OUTPUT_CHARS: "500" } });
    seed(harness, 50);
    const result = await harness.call("infra_api_get", {
      service: "netprofiler",
      path: "/api/npm.aws_config/1.0/auth_codes",
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^infra_api_get produced \d+ characters, over the 500-character output budget/,
    );
    // It suggests what this tool offers (its parameters), not fields, which it does not have.
    expect(textOf(result)).toContain("narrow it with its parameters (service, path, query)");
  });

  it("keeps an error within the output budget, however long the path or the upstream's message", async () => {
    harness = await startHarness({ env: { INFRA_MCP_MAX_OUTPUT_CHARS: "1000" } });
    await harness.call("netprofiler_get_aws_status");
    harness.netprofiler.garbleNext(1, { status: 400, body: "e".repeat(200_000), contentType: "text/plain" });
    const longMessage = await harness.call("netprofiler_get_aws_status");
    expect(longMessage.isError).toBe(true);
    expect(textOf(longMessage).length).toBeLessThanOrEqual(1000);
    const longPath = await harness.call("infra_api_get", {
      service: "netprofiler",
      path: `/api/npm.aws_config/1.0/${"p".repeat(12_000)}`,
    });
    expect(longPath.isError).toBe(true);
    expect(textOf(longPath).length).toBeLessThanOrEqual(1000);
    expect(textOf(longPath)).toContain("netprofiler GET /api/npm.aws_config/1.0/ppp");
  });

  it("says a write succeeded even when its answer is over the output budget, with a shortened echo", async () => {
    harness = await startHarness({ env: { INFRA_MCP_MAX_OUTPUT_CHARS: "800", INFRA_MCP_CONFIRM: "off" } });
    await harness.call("netprofiler_get_aws_status");
    harness.netprofiler.garbleNext(1, {
      body: JSON.stringify({ accepted: Array.from({ length: 200 }, (_, i) => ({ id: i, note: "stored" })) }),
      contentType: "application/json",
      methods: ["POST"],
    });
    const result = await harness.call("infra_api_call", {
      service: "netprofiler",
      method: "POST",
      path: "/api/npm.aws_config/1.0/sync",
    });
    expect(result.isError).toBeFalsy();
    expect(textOf(result).length).toBeLessThanOrEqual(800);
    expect(result.structuredContent).toMatchObject({ ok: true, truncated: true });
    expect(String((result.structuredContent as { note: string }).note)).toContain("succeeded");
    expect(String((result.structuredContent as { excerpt: string }).excerpt)).toContain(
      '{"accepted":[{"id":0',
    );
  });

  it("turns a bug in a handler into an internal-error result, and keeps serving", async () => {
    harness = await startHarness();
    const buggy = defineInfraTool({
      name: "infra_buggy",
      title: "A tool with a bug",
      description: "Throws a TypeError, as a handler with a bug would.",
      input: {},
      annotations: { ...READ_ONLY, openWorld: false },
      async handler() {
        return (undefined as unknown as { field: string }).field;
      },
    });
    const [tool] = prepareTools(harness.config, [buggy], []);
    const result = await invokeTool(tool!, {}, harness.runtime, {
      principal: "local",
      signal: new AbortController().signal,
      progress: async () => undefined,
    });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(
      /^Internal error: Cannot read properties of undefined .*The server is still running/,
    );
    const after = await harness.call("infra_status");
    expect(after.isError).toBeFalsy();
  });

  it("reports an answer that is not the API's (a proxy's HTML page) and keeps serving", async () => {
    harness = await startHarness();
    await harness.call("netprofiler_get_aws_status");
    harness.netprofiler.garbleNext(1);
    const list = await harness.call("netprofiler_list_aws_accounts");
    expect(list.isError).toBe(true);
    expect(textOf(list)).toMatch(
      /^netprofiler GET \/api\/npm\.aws_config\/1\.0\/auth_codes -> 200: expected a JSON array, got <html>.*not at a proxy or login page\.$/,
    );
    harness.netprofiler.garbleNext(1, { body: '{"state": "SYNC_SUC', contentType: "application/json" });
    const status = await harness.call("netprofiler_get_aws_status");
    expect(textOf(status)).toContain('expected the status object, got {"state": "SYNC_SUC');
    await harness.call("dci_get_server", { server_id: 1 });
    harness.dci.garbleNext(1, { body: '{"unexpected": true}', contentType: "application/json" });
    const servers = await harness.call("dci_list_servers");
    expect(textOf(servers)).toContain("expected {list, size}");
    // Nothing stuck: the next calls work.
    expect((await harness.call("netprofiler_list_aws_accounts")).isError).toBeFalsy();
    expect((await harness.call("dci_list_servers")).isError).toBeFalsy();
  });

  it("reports an answer that does not match the tool's schema as the upstream's, naming API, method and path", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off" } });
    const { projects, instances } = SQUONK_SEED;
    const cases = [
      {
        emulator: harness.ssmcm,
        body: { code: 200, message: "OK", data: { buckets: "none" } },
        call: ["ssmcm_list_s3_buckets", {}],
        text: 'ssmcm GET /api/v1.0/aws/s3 -> 200: expected a bucket list, got {"buckets":"none"}.',
      },
      {
        emulator: harness.squonk,
        body: { count: 1, project: [] },
        call: ["squonk_list_projects", {}],
        text: 'squonk_dm GET /project -> 200: expected {count, projects}, got {"count":1,"project":[]}.',
      },
      {
        emulator: harness.squonk,
        body: { name: "run", phase: 3 },
        call: ["squonk_get_instance", { instance_id: instances.pickerCompleted }],
        text: `squonk_dm GET /instance/${instances.pickerCompleted} -> 200: expected an instance, got {"name":"run","phase":3}.`,
      },
      {
        emulator: harness.squonk,
        body: { instance_id: "instance-1" },
        call: [
          "squonk_start_job_instance",
          { project_id: projects.kinase, name: "x", collection: "im-test", job: "nop", version: "1.0.0" },
        ],
        text: 'squonk_dm POST /instance -> 200: expected {instance_id, task_id}, got {"instance_id":"instance-1"}.',
        write: true,
      },
      {
        emulator: harness.dci,
        body: { id: "4" },
        call: ["dci_create_login_key", { email: "alice@example.com" }],
        text: 'dci POST /api/auth/v4/user/alice@example.com/key -> 200: expected {id, key}, got {"id":"4"}.',
        write: true,
      },
      {
        emulator: harness.netprofiler,
        body: { state: 5 },
        call: ["netprofiler_get_aws_status", {}],
        text: 'netprofiler GET /api/npm.aws_config/1.0/status -> 200: expected the status object, got {"state":5}.',
      },
    ] as const;
    for (const { emulator, body, call, text, ...kind } of cases) {
      const [tool, args] = call;
      await harness.call(tool, args); // logged in, so the garbled answer goes to the tool's own request
      emulator.garbleNext(1, { body: JSON.stringify(body), contentType: "application/json" });
      const before = emulator.requests.length;
      const result = await harness.call(tool, args);
      expect(result.isError, tool).toBe(true);
      // A write whose answer cannot be read may still have been carried out: repeating it could act twice.
      const next =
        "write" in kind
          ? "The request was sent and may have taken effect: read the state back before repeating it. " +
            "Check too that the service URL points at the appliance itself, not at a proxy or login page."
          : "Check that the service URL points at the appliance itself, not at a proxy or login page.";
      expect(textOf(result), tool).toBe(`${text} ${next}`);
      expect(
        emulator.requests.slice(before).map((r) => r.faulted),
        tool,
      ).toEqual([true]);
    }
  });

  it("gives a next step for statuses any platform means the same by (405, 429)", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off", INFRA_MCP_TIMEOUT_MS: "1500" } });
    const wrongMethod = await harness.call("infra_api_call", {
      service: "netprofiler",
      method: "POST",
      path: "/api/npm.aws_config/1.0/status",
    });
    expect(textOf(wrongMethod)).toBe(
      "netprofiler POST /api/npm.aws_config/1.0/status -> 405 (error HTTP_INVALID_METHOD): Requested method is not " +
        "available for this resource. The upstream does not offer this method here; see infra_list_operations.",
    );
    // A 429 refuses the write, so it is sent again, until the call's budget is spent.
    harness.netprofiler.failNext(100, 429, { methods: ["PUT"] });
    const limited = await harness.call("netprofiler_set_aws_sync", { status: "ENABLED" });
    expect(textOf(limited)).toMatch(
      /-> 429 \(error TOO_MANY_REQUESTS\) after \d+ retries: Too many requests\. The upstream is rate-limiting/,
    );
  });

  it("lists operations from the built-in catalogue, filtered", async () => {
    // One platform left unconfigured, to show that only enabled APIs are offered.
    harness = await startHarness({
      env: { OVC_URL: "", OVC_IYO_URL: "", OVC_IYO_CLIENT_ID: "", OVC_IYO_CLIENT_SECRET: "" },
    });
    const result = await harness.call("infra_list_operations", {
      service: "netprofiler",
      filter: "auth_codes",
    });
    const items = (result.structuredContent as { items: { method: string }[] }).items;
    expect(items.map((op) => op.method)).toEqual(["GET", "PUT", "DELETE"]);
    const disabled = await harness.call("infra_list_operations", { service: "ovc" });
    expect(disabled.isError).toBe(true);
    // Only enabled APIs are offered (and accepted) as `service`.
    expect(textOf(disabled)).toMatch(
      /^Invalid arguments for infra_list_operations: service: .*"dci".*"netprofiler"/,
    );
  });

  it("reads through infra_api_call with method GET without asking for confirmation", async () => {
    harness = await startHarness();
    const result = await harness.call("infra_api_call", {
      service: "netprofiler",
      method: "GET",
      path: "/api/npm.aws_config/1.0/status",
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ data: { state: "SYNC_SUCCEEDED" } });
  });

  it("sends any request through infra_api_call after confirmation, with the session's credentials", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off" } });
    const result = await harness.call("infra_api_call", {
      service: "netprofiler",
      method: "PUT",
      path: "/api/npm.aws_config/1.0/sync/status",
      body: { status: "DISABLED" },
    });
    expect(result.isError).toBeFalsy();
    const request = harness.netprofiler.requests.at(-1)!;
    expect(request).toMatchObject({
      method: "PUT",
      path: "/api/npm.aws_config/1.0/sync/status",
      json: { status: "DISABLED" },
    });
    expect(request.headers.authorization).toMatch(/^Bearer /);
    const traversal = await harness.call("infra_api_get", {
      service: "netprofiler",
      path: "/api/../../etc/passwd",
    });
    expect(traversal.isError).toBe(true);
    expect(textOf(traversal)).toContain("must not contain '..' segments");
  });
});
