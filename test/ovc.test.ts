import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { jwtClaims } from "../src/auth/jwt.js";
import { OVC_SANDBOX, OvcEmulator } from "../src/platforms/ovc/emulator/index.js";
import { isReadMethodPath } from "../src/platforms/ovc/profile.js";
import type { RecordedRequest } from "../src/sandbox/emulator.js";
import { configProblems, type Harness, loadConfig, startHarness, textOf } from "./helpers.js";

const REST = "/restmachine";
const CLOUDAPI = `${REST}/cloudapi`;
const TASK_GET = `${REST}/system/task/get`;
const ACCESS_TOKEN = "/v1/oauth/access_token";
const REFRESH = "/v1/oauth/jwt/refresh";

let harness: Harness | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await harness?.close();
  harness = undefined;
});

/** No ItsYou.online client: the harness removes variables set to "". */
const NO_IYO = { OVC_IYO_URL: "", OVC_IYO_CLIENT_ID: "", OVC_IYO_CLIENT_SECRET: "" };
const PASSWORD_ENV = { ...NO_IYO, OVC_USERNAME: OVC_SANDBOX.username, OVC_PASSWORD: OVC_SANDBOX.password };

/** Calls of actor methods (ItsYou.online excluded). */
function calls(h: Harness, method?: string): RecordedRequest[] {
  return h.ovc.requestsTo(`${REST}/`).filter((r) => method === undefined || r.path === `${REST}/${method}`);
}

function last<T>(list: T[]): T {
  return list[list.length - 1] as T;
}

/** The JWT the emulator issued last (refresh tokens are issued before the JWT that carries them). */
function lastJwt(h: Harness): string {
  return last(h.ovc.issuedTokens().filter((token) => jwtClaims(token) !== undefined));
}

/** No token the emulator ever issued appears in these results or in the server's logs. */
function expectNoIssuedToken(h: Harness, ...results: CallToolResult[]): void {
  const seen = `${results.map(textOf).join("\n")}${JSON.stringify(results)}${h.logs.join("")}`;
  for (const token of h.ovc.issuedTokens()) expect(seen).not.toContain(token);
}

/** A tool call with progress notifications collected. */
async function callWithProgress(h: Harness, name: string, args: Record<string, unknown>) {
  const progress: { progress: number; message?: string }[] = [];
  const result = (await h.client.callTool({ name, arguments: args }, undefined, {
    onprogress: (p) => progress.push(p),
  })) as CallToolResult;
  return { result, progress };
}

describe("ovc transport over a real MCP client", () => {
  it("logs in at ItsYou.online with client credentials and POSTs the call with a bearer JWT and Accept: application/json", async () => {
    harness = await startHarness();
    const result = await harness.call("ovc_list_accounts", { fields: ["id", "name"] });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({
      items: [
        { id: 1, name: "Acme Corp" },
        { id: 2, name: "Globex Research" },
        { id: 3, name: "Initech Legacy" },
      ],
    });

    const [login] = harness.ovc.requestsTo(ACCESS_TOKEN);
    expect(login).toMatchObject({ method: "POST", query: {} });
    expect(login?.contentType).toContain("application/x-www-form-urlencoded");
    expect(login?.form).toEqual({
      grant_type: "client_credentials",
      client_id: OVC_SANDBOX.iyoClientId,
      client_secret: OVC_SANDBOX.iyoClientSecret,
      response_type: "id_token",
      scope: "offline_access",
    });
    expect(login?.headers.accept).toBe("application/json");

    const request = last(calls(harness));
    expect(request).toMatchObject({ method: "POST", path: `${CLOUDAPI}/accounts/list`, query: {}, json: {} });
    expect(request.headers.accept).toBe("application/json");
    expect(request.contentType).toContain("application/json");
    expect(request.headers.authorization).toBe(`bearer ${lastJwt(harness)}`);
    expect(jwtClaims(lastJwt(harness))?.scope).toEqual(["offline_access"]);
    expectNoIssuedToken(harness, result);
  });

  it("sends snake_case tool parameters as the platform's camelCase parameters in a JSON body", async () => {
    harness = await startHarness();
    await harness.call("ovc_list_cloudspaces", { include_deleted: true, fields: ["id"] });
    expect(last(calls(harness)).json).toEqual({ includedeleted: true });
    await harness.call("ovc_list_images", { account_id: 1, cloudspace_id: 101 });
    expect(last(calls(harness)).json).toEqual({ accountId: 1, cloudspaceId: 101 });
    await harness.call("ovc_list_sizes", { location: "nl-ams-1" });
    expect(last(calls(harness)).json).toEqual({ location: "nl-ams-1" });

    const created = await harness.call("ovc_create_cloudspace", {
      account_id: 2,
      location: "nl-ams-1",
      name: "analytics",
      access: "sandbox-admin",
      max_memory_gb: 64.5,
      max_vdisk_gb: 2048,
      max_cpus: 32,
      max_network_transfer_gb: 500,
      max_public_ips: 2,
      private_network: "10.40.0.0/24",
      type: "vgw",
      wait: false,
    });
    expect(created.isError).toBeFalsy();
    expect(calls(harness, "cloudapi/cloudspaces/create")[0]?.json).toEqual({
      _async: true,
      accountId: 2,
      location: "nl-ams-1",
      name: "analytics",
      access: "sandbox-admin",
      maxMemoryCapacity: 64.5,
      maxVDiskCapacity: 2048,
      maxCPUCapacity: 32,
      maxNetworkPeerTransfer: 500,
      maxNumPublicIP: 2,
      privatenetwork: "10.40.0.0/24",
      type: "vgw",
    });
    expect(harness.ovc.cloudspace(107)).toMatchObject({
      name: "analytics",
      type: "vgw",
      resourceLimits: { CU_M: 64.5, CU_D: 2048, CU_C: 32, CU_NP: 500, CU_I: 2 },
    });
  });

  it('creates a machine with description "" when none is given, and camelCase size and disk parameters', async () => {
    harness = await startHarness();
    const sized = await harness.call("ovc_create_machine", {
      cloudspace_id: 101,
      name: "worker-01",
      image_id: 1,
      disk_size_gb: 40,
      size_id: 2,
      data_disks_gb: [100, 200],
    });
    expect(sized.structuredContent).toMatchObject({ status: "succeeded", machine_id: 1009 });
    expect(calls(harness, "cloudapi/machines/create")[0]?.json).toEqual({
      _async: true,
      cloudspaceId: 101,
      name: "worker-01",
      description: "",
      imageId: 1,
      disksize: 40,
      sizeId: 2,
      datadisks: [100, 200],
    });
    // Optional upstream, and "" reads as absent there: the machine has no description.
    expect(harness.ovc.machine(1009)).toMatchObject({ name: "worker-01", description: null, vcpus: 2 });

    const custom = await harness.call("ovc_create_machine", {
      cloudspace_id: 101,
      name: "worker-02",
      description: "batch runner",
      image_id: 1,
      disk_size_gb: 20,
      vcpus: 2,
      memory_mb: 2048,
      wait: false,
    });
    expect(custom.structuredContent).toMatchObject({ status: "running" });
    expect(calls(harness, "cloudapi/machines/create")[1]?.json).toEqual({
      _async: true,
      cloudspaceId: 101,
      name: "worker-02",
      description: "batch runner",
      imageId: 1,
      disksize: 20,
      vcpus: 2,
      memory: 2048,
    });
  });

  it("refuses a machine with both or neither of size_id and vcpus + memory_mb, sending nothing", async () => {
    harness = await startHarness();
    const base = { cloudspace_id: 101, name: "x1", image_id: 1, disk_size_gb: 20 };
    for (const extra of [{}, { size_id: 1, vcpus: 1, memory_mb: 1024 }, { vcpus: 2 }]) {
      const result = await harness.call("ovc_create_machine", { ...base, ...extra });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toBe(
        "ovc_create_machine needs size_id (see ovc_list_sizes), or vcpus and memory_mb, not both. Nothing was sent.",
      );
    }
    expect(calls(harness)).toHaveLength(0);
  });

  it("reads raw JSON answers: a list, an object, a JSON string", async () => {
    harness = await startHarness();
    const machines = await harness.call("ovc_list_machines", {
      cloudspace_id: 101,
      fields: ["id", "name", "status"],
      limit: 2,
    });
    expect(machines.structuredContent).toEqual({
      items: [
        { id: 1001, name: "web-01", status: "RUNNING" },
        { id: 1002, name: "web-02", status: "RUNNING" },
      ],
      total: 3,
      next_offset: 2,
    });
    expect(last(calls(harness)).json).toEqual({ cloudspaceId: 101 });

    const url = await harness.call("ovc_get_portal_url");
    expect(url.structuredContent).toEqual({ url: harness.ovc.url });
    expect(last(calls(harness)).path).toBe(`${CLOUDAPI}/locations/getUrl`);

    const machine = await harness.call("ovc_get_machine", { machine_id: 1003 });
    const data = machine.structuredContent as {
      name: string;
      accounts: { login: string; password: string }[];
    };
    expect(data.name).toBe("db-01");
    // The machine's initial password is a secret: the model sees that there is one, not what it is.
    expect(data.accounts).toEqual([{ login: "cloudscalers", password: "[redacted]" }]);
    const cloudspace = await harness.call("ovc_get_cloudspace", { cloudspace_id: 103 });
    expect(cloudspace.structuredContent).toMatchObject({ id: 103, status: "DEPLOYED", type: "vgw" });
    // The cloudspace's router secret is masked by its name, as every field that holds a secret is.
    expect((cloudspace.structuredContent as { secret: string }).secret).toBe("[redacted]");
    const account = await harness.call("ovc_get_account", { account_id: 2 });
    expect(account.structuredContent).toMatchObject({ id: 2, resourceLimits: { CU_I: 4 } });
    expect(last(calls(harness)).json).toEqual({ accountId: 2 });
  });

  it("passes a bare number and true through infra_api_call as the data they are", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off" } });
    const created = await harness.call("infra_api_call", {
      service: "ovc",
      method: "POST",
      path: `${CLOUDAPI}/cloudspaces/create`,
      body: { accountId: 2, location: "nl-ams-1", name: "raw-space", access: "sandbox-admin" },
    });
    expect(created.structuredContent).toEqual({ data: 107 });
    const stopped = await harness.call("infra_api_call", {
      service: "ovc",
      method: "POST",
      path: `${CLOUDAPI}/machines/stop`,
      body: { machineId: 1002 },
    });
    expect(stopped.structuredContent).toEqual({ data: true });
    expect(last(calls(harness))).toMatchObject({ json: { machineId: 1002 } });
  });

  it("reports the platform's JSON-string errors with status, actor/method and a next step", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off" } });
    const unknown = await harness.call("ovc_get_cloudspace", { cloudspace_id: 999 });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toBe(
      "ovc POST /restmachine/cloudapi/cloudspaces/get -> 404: Could not find 999 of type cloudspace. " +
        "Check the id with ovc_list_cloudspaces; a deleted resource answers 404 too.",
    );
    // The id that names the missing resource, whatever the actor.
    const machines = await harness.call("ovc_list_machines", { cloudspace_id: 998 });
    expect(textOf(machines)).toContain(
      "-> 404: Could not find 998 of type cloudspace. Check the id with ovc_list_cloudspaces;",
    );
    // The image check before the create is skipped when images/list answers in another shape: the
    // platform's own refusal, from the task, then names every id the call carries.
    harness.ovc.reshapeNext(1, `${CLOUDAPI}/images/list`, () => ({ images: "unexpected" }));
    const noImage = await harness.call("ovc_create_machine", {
      cloudspace_id: 101,
      name: "x2",
      image_id: 77,
      disk_size_gb: 20,
      size_id: 1,
    });
    expect(calls(harness, "cloudapi/images/list").at(-1)?.reshaped).toBe(true);
    expect(textOf(noImage)).toBe(
      "ovc POST /restmachine/cloudapi/machines/create -> 404: the task failed: Could not find 77 of type image. " +
        "Check the ids with ovc_list_cloudspaces, ovc_list_images, ovc_list_sizes; a deleted resource answers 404 too.",
    );
    const noMethod = await harness.call("infra_api_get", {
      service: "ovc",
      path: `${CLOUDAPI}/machines/listAll`,
    });
    expect(textOf(noMethod)).toBe(
      "ovc POST /restmachine/cloudapi/machines/listAll -> 404: Could not find method, path was cloudapi/machines/listAll. " +
        "Check the actor and method: infra_list_operations lists what this instance offers.",
    );
    const occupied = await harness.call("ovc_delete_cloudspace", { cloudspace_id: 101 });
    expect(textOf(occupied)).toBe(
      "ovc POST /restmachine/cloudapi/cloudspaces/delete -> 409: Can not delete a CloudSpace that contains Virtual Machines. " +
        "Delete its machines first (ovc_list_machines, then ovc_delete_machine), then retry.",
    );
    const locked = await harness.call("ovc_machine_action", { machine_id: 1005, action: "start" });
    expect(textOf(locked)).toContain(
      "machines/start -> 409: Machine 1005 is locked. The resource is locked or busy",
    );
    const sizes = await harness.call("ovc_list_sizes", { cloudspace_id: 101, location: "be-gen-1" });
    expect(textOf(sizes)).toBe(
      "ovc_list_sizes needs cloudspace_id or location (one of them). Nothing was sent.",
    );
  });

  it("reports an unhandled exception's HTML page with its eco id, and a guest refusal in our words", async () => {
    harness = await startHarness();
    await harness.call("ovc_list_locations");
    harness.ovc.crashNext(1);
    const crashed = await harness.call("ovc_list_cloudspaces");
    expect(crashed.isError).toBe(true);
    expect(textOf(crashed)).toMatch(
      /^ovc POST \/restmachine\/cloudapi\/cloudspaces\/list -> 500: Your service request could not be fulfilled correctly, please contact support and mention "eco-212-[0-9a-f-]{36}"\. OpenvCloud failed internally: give its support the eco id/,
    );
    // A guest refusal is raw text: to the call and to its one retry after the JWT's renewal (a GET).
    harness.ovc.garbleNext(2, {
      methods: ["POST"],
      status: 401,
      body: "NO VALID AUTHORIZATION KEY GIVEN, use get param called key (check key probably auth error).",
      contentType: "text/plain",
    });
    const guest = await harness.call("ovc_list_accounts");
    expect(textOf(guest)).toBe(
      'ovc POST /restmachine/cloudapi/accounts/list -> 401: the call reached OpenvCloud without credentials ("NO VALID AUTHORIZATION KEY GIVEN"). ' +
        "OpenvCloud refused fresh credentials too: check the OVC_* credentials and that the user has access rights on this OpenvCloud.",
    );
  });

  it("treats a 200 that is not JSON (a proxy's page) as an error, not as data", async () => {
    harness = await startHarness();
    await harness.call("ovc_list_accounts");
    harness.ovc.garbleNext(1);
    const result = await harness.call("ovc_list_locations");
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      "ovc POST /restmachine/cloudapi/locations/list -> 200: answered text/html instead of JSON: Sign in to the corporate proxy. " +
        "That is not OpenvCloud's JSON: check that OVC_URL points at the OpenvCloud portal itself, not a proxy or login page.",
    );
  });

  it("repeats a read after 503 during an upgrade, but never a write", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off" } });
    await harness.call("ovc_list_locations");
    harness.ovc.failNext(1, 503);
    const list = await harness.call("ovc_list_machines", { cloudspace_id: 102 });
    expect(list.isError).toBeFalsy();
    expect(calls(harness, "cloudapi/machines/list")).toHaveLength(2);

    harness.ovc.failNext(1, 503);
    const start = await harness.call("ovc_machine_action", { machine_id: 1003, action: "start" });
    expect(textOf(start)).toBe(
      "ovc POST /restmachine/cloudapi/machines/start -> 503: Can not call API during upgrade. " +
        "OpenvCloud is unavailable (it refuses calls during an upgrade, or has run out of networks or IPs): try again later.",
    );
    expect(calls(harness, "cloudapi/machines/start")).toHaveLength(1);
  });

  it("declares exactly the list*/get* methods (task/get included) as reads", () => {
    const reads = [
      "/restmachine/cloudapi/machines/list",
      "/restmachine/cloudapi/machines/get",
      "/restmachine/cloudapi/locations/getUrl",
      "/restmachine/cloudapi/machines/getConsoleUrl",
      "/restmachine/system/task/get",
    ];
    const writes = [
      "/restmachine/cloudapi/machines/start",
      "/restmachine/cloudapi/cloudspaces/create",
      "/restmachine/system/task/kill",
      "/restmachine/system/docgenerator/prepareCatalog",
      "/restmachine/cloudapi/machines/listen",
      "/restmachine/cloudapi/machines/list/extra",
      "/restmachine/cloudapi/machines/getA%2F..%2Fstart",
      "/restmachine/cloudapi/machines/get.start",
      "/api/machines/list",
    ];
    expect(reads.filter(isReadMethodPath)).toEqual(reads);
    expect(writes.filter(isReadMethodPath)).toEqual([]);
  });
});

describe("ovc long operations (_async tasks)", () => {
  it("creates a cloudspace with _async and waits for its task, with a progress notification per poll", async () => {
    harness = await startHarness();
    harness.ovc.taskDurationMs = 800;
    const { result, progress } = await callWithProgress(harness, "ovc_create_cloudspace", {
      account_id: 1,
      location: "be-gen-1",
      name: "web-tier",
      access: "sandbox-admin",
    });
    expect(result.isError).toBeFalsy();
    const { task_guid, ...rest } = result.structuredContent as { task_guid: string };
    expect(task_guid).toMatch(/^[0-9a-f-]{36}$/);
    expect(rest).toEqual({
      status: "succeeded",
      cloudspace_id: 107,
      summary:
        "Cloudspace 107 created; it deploys in the background (VIRTUAL, DEPLOYING, DEPLOYED): check with ovc_get_cloudspace.",
    });
    const sent = calls(harness).map((r) => r.path);
    // First the checks (the location exists, the name is free), read side by side, then the create.
    expect(sent.slice(0, 2).sort()).toEqual([`${CLOUDAPI}/cloudspaces/list`, `${CLOUDAPI}/locations/list`]);
    expect(sent[2]).toBe(`${CLOUDAPI}/cloudspaces/create`);
    expect(sent.slice(3).every((path) => path === TASK_GET)).toBe(true);
    expect(sent.length).toBeGreaterThanOrEqual(5);
    for (const poll of calls(harness, "system/task/get")) expect(poll.json).toEqual({ taskguid: task_guid });
    expect(progress).toHaveLength(sent.length - 3);
    expect(progress[0]?.message).toBe('Creating cloudspace "web-tier": running');
    expect(progress.at(-1)?.message).toBe('Creating cloudspace "web-tier": succeeded');
    expect(harness.ovc.cloudspace(107)?.name).toBe("web-tier");
  });

  it("returns {task_guid, status: running} with wait: false, and ovc_get_task reads 202, then 200 [true, result]", async () => {
    harness = await startHarness();
    // Long enough that the two reads below certainly see it running, on a slow machine too.
    harness.ovc.taskDurationMs = 1_000;
    const started = await harness.call("ovc_create_cloudspace", {
      account_id: 2,
      location: "be-gen-1",
      name: "later",
      access: "sandbox-admin",
      wait: false,
    });
    const { task_guid } = started.structuredContent as { task_guid: string };
    expect(started.structuredContent).toEqual({
      task_guid,
      status: "running",
      summary: "Still running; check it with ovc_get_task (results are kept 10 minutes after it ends).",
    });
    expect(calls(harness, "system/task/get")).toHaveLength(0);

    const running = await harness.call("ovc_get_task", { task_guid });
    expect(running.structuredContent).toEqual({ task_guid, status: "running" });
    expect(last(calls(harness))).toMatchObject({
      method: "POST",
      path: TASK_GET,
      json: { taskguid: task_guid },
    });
    // The spec's docstring says 204 while running; the code says 202. Both read as running.
    harness.ovc.taskRunningStatus = 204;
    expect((await harness.call("ovc_get_task", { task_guid })).structuredContent).toEqual({
      task_guid,
      status: "running",
    });

    // The task's time is the emulator's clock: past its end, without waiting for it.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 1_050);
    const done = await harness.call("ovc_get_task", { task_guid });
    expect(done.structuredContent).toEqual({ task_guid, status: "succeeded", result: 107 });
  });

  it("reports a failed task as an error naming the method and the platform's reason", async () => {
    harness = await startHarness();
    harness.ovc.taskDurationMs = 200;
    // A public range: no check before the create knows the platform's CIDR rule, so its task refuses it.
    const args = {
      account_id: 1,
      location: "be-gen-1",
      name: "public-range",
      access: "sandbox-admin",
      private_network: "8.8.8.0/24",
    };
    const waited = await harness.call("ovc_create_cloudspace", args);
    expect(waited.isError).toBe(true);
    expect(textOf(waited)).toBe(
      "ovc POST /restmachine/cloudapi/cloudspaces/create -> 400: the task failed: Invalid private network 8.8.8.0/24, " +
        "expected a private range like 192.168.103.0/24. Fix the parameters as the message says; " +
        "infra_list_operations describes each method's parameters.",
    );

    const started = await harness.call("ovc_create_cloudspace", { ...args, wait: false });
    const { task_guid } = started.structuredContent as { task_guid: string };
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 250);
    const read = await harness.call("ovc_get_task", { task_guid });
    expect(read.isError).toBeFalsy();
    expect(read.structuredContent).toEqual({
      task_guid,
      status: "failed",
      error:
        "400 Bad Request: Invalid private network 8.8.8.0/24, expected a private range like 192.168.103.0/24",
    });
  });

  it("answers an unknown or expired task (404) with what to check instead", async () => {
    harness = await startHarness();
    harness.ovc.taskDurationMs = 0;
    const started = await harness.call("ovc_create_image", {
      name: "rocky-9",
      url: "https://images.example.com/rocky-9.qcow2",
      gid: 212,
      image_type: "Linux",
      boot_type: "uefi",
      account_id: 1,
      wait: false,
    });
    const { task_guid } = started.structuredContent as { task_guid: string };
    expect((await harness.call("ovc_get_task", { task_guid })).structuredContent).toMatchObject({
      status: "succeeded",
      result: 7,
    });
    // OpenvCloud keeps a result 600 s after the task ends.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 601_000);
    const expired = await harness.call("ovc_get_task", { task_guid });
    expect(expired.isError).toBe(true);
    expect(textOf(expired)).toBe(
      "ovc POST /restmachine/system/task/get -> 404: Task is not found. The task is unknown, or it ended over 10 minutes ago " +
        "and its result was dropped: check the resource itself (ovc_list_cloudspaces, ovc_list_machines, ovc_list_images).",
    );
  });

  it("returns the running task when the wait outlasts the call's time budget", async () => {
    harness = await startHarness({ env: { INFRA_MCP_TIMEOUT_MS: "900" } });
    await harness.call("ovc_list_locations");
    harness.ovc.taskDurationMs = 60_000;
    const begun = Date.now();
    const { result, progress } = await callWithProgress(harness, "ovc_create_image", {
      name: "big-image",
      url: "https://images.example.com/big.qcow2",
      gid: 711,
      image_type: "Windows",
      boot_type: "uefi",
      username: "Administrator",
      password: "image-admin-pass",
      account_id: 2,
      hot_resize: true,
    });
    expect(Date.now() - begun).toBeLessThan(1_500);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: "running" });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.message === 'Importing image "big-image": running')).toBe(true);
    expect(calls(harness, "cloudapi/images/create")[0]?.json).toEqual({
      _async: true,
      name: "big-image",
      url: "https://images.example.com/big.qcow2",
      gid: 711,
      imagetype: "Windows",
      boottype: "uefi",
      username: "Administrator",
      password: "image-admin-pass",
      accountId: 2,
      hotresize: true,
    });
  });

  it("stops polling when the MCP client cancels the wait", async () => {
    harness = await startHarness();
    harness.ovc.taskDurationMs = 60_000;
    const controller = new AbortController();
    const pending = harness.client.callTool(
      {
        name: "ovc_create_cloudspace",
        arguments: { account_id: 1, location: "be-gen-1", name: "cancelled", access: "sandbox-admin" },
      },
      undefined,
      { signal: controller.signal, onprogress: () => controller.abort() },
    );
    await expect(pending).rejects.toThrow(/abort/i);
    const h = harness;
    await expect
      .poll(() => h.logs.join(""), { timeout: 3_000 })
      .toContain("ovc_create_cloudspace failed: Cancelled");
    // The handler failed with the cancellation: nothing is left to poll, so the count is final, and the next
    // call adds exactly its own read.
    const polls = calls(h, "system/task/get").length;
    expect(polls).toBeLessThanOrEqual(2);
    const { task_guid } = (
      await h.call("ovc_create_cloudspace", {
        account_id: 1,
        location: "be-gen-1",
        name: "after-cancel",
        access: "sandbox-admin",
        wait: false,
      })
    ).structuredContent as { task_guid: string };
    await h.call("ovc_get_task", { task_guid });
    expect(calls(h, "system/task/get")).toHaveLength(polls + 1);
  });
});

const BROKER_IMPORT = `${REST}/cloudbroker/image/createImage`;
const rocky = {
  name: "rocky-9",
  url: "https://images.example.com/rocky-9.qcow2",
  gid: 711,
  image_type: "Linux",
  boot_type: "uefi",
  account_id: 2,
};
/** The import's parameters as both calls take them (camelCase; absent ones not sent). */
const rockyParams = {
  name: "rocky-9",
  url: "https://images.example.com/rocky-9.qcow2",
  gid: 711,
  imagetype: "Linux",
  boottype: "uefi",
  accountId: 2,
};
/** The admin ItsYou.online client swapped for the read-only user's. */
const AUDITOR_ENV = {
  OVC_IYO_CLIENT_ID: OVC_SANDBOX.readOnlyIyoClientId,
  OVC_IYO_CLIENT_SECRET: OVC_SANDBOX.readOnlyIyoClientSecret,
};

/** ovc_create_cloudspace in account 1 at be-gen-1 with the admin's access. */
function newCloudspace(h: Harness, name: string): Promise<CallToolResult> {
  return h.call("ovc_create_cloudspace", {
    account_id: 1,
    location: "be-gen-1",
    name,
    access: "sandbox-admin",
  });
}

describe("ovc image import on older portals (no cloudapi/images/create)", () => {
  it("imports with cloudbroker/image/createImage after the portal's 'Could not find method' 404, which it pays once per session", async () => {
    harness = await startHarness();
    harness.ovc.hasImagesCreate = false;
    harness.ovc.imageCreateMs = 0;
    const first = await harness.call("ovc_create_image", rocky);
    expect(first.isError).toBeFalsy();
    expect(first.structuredContent).toEqual({
      status: "accepted",
      summary:
        'The import of "rocky-9" was accepted (through cloudbroker/image/createImage: this portal has no ' +
        "cloudapi/images/create) and runs on in the background; the platform gives no id for it: " +
        "ovc_list_images with account_id 2 lists it once it is ready.",
    });
    expect(calls(harness).map((r) => r.path)).toEqual([
      `${CLOUDAPI}/locations/list`,
      `${CLOUDAPI}/images/create`,
      BROKER_IMPORT,
    ]);
    expect(calls(harness, "cloudapi/images/create")[0]?.json).toEqual({ ...rockyParams, _async: true });
    // The same parameters, without _async: a refusal comes back at once, not in a task that may never end.
    expect(last(calls(harness))).toMatchObject({ method: "POST", json: rockyParams });

    const second = await harness.call("ovc_create_image", { ...rocky, name: "rocky-9-minimal" });
    expect(second.structuredContent).toMatchObject({ status: "accepted" });
    expect(
      calls(harness)
        .slice(3)
        .map((r) => r.path),
    ).toEqual([`${CLOUDAPI}/locations/list`, BROKER_IMPORT]);
    expect(calls(harness, "cloudapi/images/create")).toHaveLength(1);
    expect(
      harness.logs.filter((line) => line.includes("this portal has no cloudapi/images/create")),
    ).toHaveLength(1);
    const images = await harness.call("ovc_list_images", { account_id: 2, fields: ["name"] });
    expect(images.structuredContent).toMatchObject({
      items: expect.arrayContaining([{ name: "rocky-9" }, { name: "rocky-9-minimal" }]),
    });
  });

  it("falls back on no other 404: a missing resource, or an unknown account inside the task", async () => {
    harness = await startHarness();
    harness.ovc.taskDurationMs = 0;
    harness.ovc.failNext(1, 404, { path: `${CLOUDAPI}/images/create` });
    const missing = await harness.call("ovc_create_image", rocky);
    expect(textOf(missing)).toBe(
      "ovc POST /restmachine/cloudapi/images/create -> 404: Could not find an accessible resource. " +
        "Check the id with ovc_list_accounts; a deleted resource answers 404 too.",
    );
    const account = await harness.call("ovc_create_image", { ...rocky, account_id: 99 });
    expect(textOf(account)).toBe(
      "ovc POST /restmachine/cloudapi/images/create -> 404: the task failed: Could not find 99 of type account. " +
        "Check the id with ovc_list_accounts; a deleted resource answers 404 too.",
    );
    expect(calls(harness, "cloudbroker/image/createImage")).toHaveLength(0);
    // Nothing marked the portal as old: the next import still asks images/create.
    const done = await harness.call("ovc_create_image", rocky);
    expect(done.structuredContent).toMatchObject({ status: "succeeded", image_id: 7 });
    expect(calls(harness, "cloudapi/images/create")).toHaveLength(3);
  });

  it("says the user is no administrator when the broker import answers 403, and what to do", async () => {
    harness = await startHarness({ env: AUDITOR_ENV });
    harness.ovc.hasImagesCreate = false;
    const refused = await harness.call("ovc_create_image", rocky);
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toBe(
      "ovc POST /restmachine/cloudbroker/image/createImage -> 403: User auditor@itsyouonline has no access. " +
        "If you would like to gain access please contact your adminstrator. This portal has no " +
        "cloudapi/images/create; its import, cloudbroker/image/createImage, is for OpenvCloud administrators, " +
        "and the configured user is not one. Ask an administrator to import the image, or configure an " +
        "administrator's OVC_* credentials.",
    );
    expect(harness.ovc.image(7)).toBeUndefined();
  });

  it("reports a task whose result is true as accepted, running on, without an id", async () => {
    harness = await startHarness();
    harness.ovc.imagesCreateAnswersTrue = true;
    harness.ovc.taskDurationMs = 0;
    const result = await harness.call("ovc_create_image", { ...rocky, account_id: undefined });
    const { task_guid, ...rest } = result.structuredContent as { task_guid: string };
    expect(task_guid).toMatch(/^[0-9a-f-]{36}$/);
    expect(rest).toEqual({
      status: "accepted",
      summary:
        'The import of "rocky-9" was accepted and runs on in the background; the platform gives no id for it: ' +
        "ovc_list_images lists it once it is ready.",
    });
    expect(calls(harness, "system/task/get").length).toBeGreaterThanOrEqual(1);
  });

  it("refuses both import calls in read-only mode, sending nothing", async () => {
    harness = await startHarness({ env: { INFRA_MCP_READ_ONLY: "true" } });
    const { tools } = await harness.client.listTools();
    expect(tools.map((tool) => tool.name)).not.toContain("ovc_create_image");
    await expect(harness.call("ovc_create_image", rocky)).rejects.toThrow(/Unknown tool ovc_create_image/);
    const session = harness.runtime.sessions.get("ovc")!;
    for (const path of [`${CLOUDAPI}/images/create`, BROKER_IMPORT]) {
      await expect(session.request({ method: "POST", path, json: rockyParams })).rejects.toThrow(
        `Read-only mode: ovc POST ${path} was not sent.`,
      );
    }
    expect(harness.ovc.requests).toHaveLength(0);
  });

  it("asks to confirm only the call it will make: images/create or the broker, once the portal is known", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "mutating" } });
    harness.ovc.hasImagesCreate = false;
    const base = harness.ovc.url;
    const asked = await harness.call("ovc_create_image", rocky);
    const { preview, confirmation_token } = asked.structuredContent as {
      preview: string;
      confirmation_token: string;
    };
    expect(preview).toBe(
      `POST ${base}/restmachine/cloudapi/images/create (on a portal without it, ${BROKER_IMPORT}): ` +
        'import image "rocky-9" (Linux, uefi) from https://images.example.com/rocky-9.qcow2 into account 2',
    );
    expect(calls(harness).map((r) => r.path)).toEqual([`${CLOUDAPI}/locations/list`]);
    const done = await harness.call("ovc_create_image", { ...rocky, confirmation_token });
    expect(done.structuredContent).toMatchObject({ status: "accepted" });

    const again = await harness.call("ovc_create_image", { ...rocky, name: "rocky-9-minimal" });
    const second = again.structuredContent as { preview: string; confirmation_token: string };
    expect(second.preview).toBe(
      `POST ${base}${BROKER_IMPORT}: import image "rocky-9-minimal" (Linux, uefi) from ` +
        "https://images.example.com/rocky-9.qcow2 into account 2",
    );
    const redeemed = await harness.call("ovc_create_image", {
      ...rocky,
      name: "rocky-9-minimal",
      confirmation_token: second.confirmation_token,
    });
    expect(redeemed.structuredContent).toMatchObject({ status: "accepted" });
    expect(calls(harness, "cloudapi/images/create")).toHaveLength(1);
    expect(calls(harness, "cloudbroker/image/createImage")).toHaveLength(2);
  });
});

describe("ovc task polls on portals before 2.5.6 and on the 2018 portal", () => {
  it("polls a fresh task again when its first poll answers 404", async () => {
    harness = await startHarness();
    harness.ovc.unknownTaskPolls = 1;
    harness.ovc.taskDurationMs = 0;
    const result = await newCloudspace(harness, "fresh-task");
    expect(result.structuredContent).toMatchObject({ status: "succeeded", cloudspace_id: 107 });
    // The 404, then the result: two polls.
    expect(calls(harness, "system/task/get")).toHaveLength(2);
  });

  it("ends the wait on a 404 once the task is no longer fresh (5 s)", async () => {
    harness = await startHarness({ env: { INFRA_MCP_TIMEOUT_MS: "20000" } });
    await harness.call("ovc_list_locations");
    harness.ovc.unknownTaskPolls = 1_000;
    harness.ovc.taskDurationMs = 60_000;
    vi.useFakeTimers({ toFake: ["Date"] });
    let polls = 0;
    const result = (await harness.client.callTool(
      {
        name: "ovc_create_cloudspace",
        arguments: { account_id: 1, location: "be-gen-1", name: "gone", access: "sandbox-admin" },
      },
      undefined,
      {
        // After the first poll (a 404, forgiven), the task is 6 s old.
        onprogress: () => {
          polls += 1;
          vi.setSystemTime(Date.now() + 6_000);
        },
      },
    )) as CallToolResult;
    expect(polls).toBe(1);
    expect(calls(harness, "system/task/get")).toHaveLength(2);
    expect(textOf(result)).toBe(
      "ovc POST /restmachine/system/task/get -> 404: Task is not found. The task is unknown, or it ended over 10 " +
        "minutes ago and its result was dropped: check the resource itself (ovc_list_cloudspaces, " +
        "ovc_list_machines, ovc_list_images).",
    );
  });

  it("ends a wait at its budget with how long the task ran, why it may never end, and where to look for the object", async () => {
    harness = await startHarness({ env: { INFRA_MCP_TIMEOUT_MS: "2000" } });
    await harness.call("ovc_list_locations");
    // The 2018 portal: a refused task never stores a result (the refusals here pass every check before it).
    harness.ovc.refusedTasksNeverEnd = true;
    harness.ovc.taskDurationMs = 0;
    const creates: [string, Record<string, unknown>, string][] = [
      [
        "ovc_create_cloudspace",
        {
          account_id: 1,
          location: "be-gen-1",
          name: "public",
          access: "sandbox-admin",
          private_network: "8.8.8.0/24",
        },
        'ovc_list_cloudspaces lists a cloudspace "public" in account 1',
      ],
      [
        "ovc_create_machine",
        { cloudspace_id: 101, name: "odd-disk", image_id: 1, size_id: 2, disk_size_gb: 33 },
        'ovc_list_machines with cloudspace_id 101 lists a machine "odd-disk"',
      ],
      [
        "ovc_create_image",
        { ...rocky, url: "ftp://images.example.com/rocky-9.qcow2" },
        'ovc_list_images with account_id 2 lists an image "rocky-9" once its import is done',
      ],
    ];
    for (const [tool, args, lookup] of creates) {
      const polls = calls(harness, "system/task/get").length;
      const result = await harness.call(tool, args);
      expect(result.isError, tool).toBeFalsy();
      const { task_guid, running_for_seconds, summary, ...rest } = result.structuredContent as {
        task_guid: string;
        running_for_seconds: number;
        summary: string;
      };
      expect(rest, tool).toEqual({ status: "running" });
      expect(task_guid).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number.isInteger(running_for_seconds)).toBe(true);
      expect(summary).toBe(
        `Still running after ${running_for_seconds} s, when the call's time budget (INFRA_MCP_TIMEOUT_MS) ended ` +
          "the wait; ovc_get_task follows it. Some OpenvCloud versions never finish a task the platform refused " +
          `(a name taken, no access, a bad location): if it stays running, see whether ${lookup}.`,
      );
      expect(calls(harness, "system/task/get").length, tool).toBeGreaterThan(polls);
    }
    // The platform refused each: nothing was created, and each task still reads as running.
    expect(harness.ovc.cloudspace(107)).toBeUndefined();
    expect(harness.ovc.machine(1009)).toBeUndefined();
    expect(harness.ovc.image(7)).toBeUndefined();
  });
});

describe("ovc checks before a create", () => {
  /** No create reached the platform, whatever was read. */
  function expectNoCreate(h: Harness): void {
    expect(calls(h).filter((r) => /\/create$/.test(r.path))).toEqual([]);
  }

  it("refuses a cloudspace whose name the account has (live or in the recycle bin), or an unknown location", async () => {
    harness = await startHarness();
    const base = { account_id: 1, location: "be-gen-1", access: "sandbox-admin" };
    const cases: [Record<string, unknown>, string][] = [
      [
        { name: "production" },
        'account 1 already has a cloudspace named "production" (id 101, DEPLOYED); names are unique in an account',
      ],
      [
        { name: "sandbox-old" },
        'account 1 already has a cloudspace named "sandbox-old" (id 104, in the recycle bin, which still holds its name)',
      ],
      [
        { name: "new-space", location: "xyz" },
        'no location has the code "xyz"; ovc_list_locations lists them (be-gen-1, nl-ams-1)',
      ],
    ];
    for (const [change, reason] of cases) {
      const result = await harness.call("ovc_create_cloudspace", { ...base, ...change });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain(`ovc_create_cloudspace: ${reason}`);
      expect(textOf(result)).toMatch(/\. Nothing was sent\.$/);
    }
    expect(last(calls(harness, "cloudapi/cloudspaces/list")).json).toEqual({ includedeleted: true });
    expectNoCreate(harness);
    // The same name in another account is free.
    const other = await harness.call("ovc_create_cloudspace", { ...base, account_id: 2, name: "production" });
    expect(other.structuredContent).toMatchObject({ status: "succeeded" });
  });

  it("refuses a machine the platform would refuse: name, image, boot disk, size, cloudspace", async () => {
    harness = await startHarness();
    const base = {
      cloudspace_id: 101,
      name: "app-01",
      image_id: 1,
      disk_size_gb: 20,
      vcpus: 2,
      memory_mb: 2048,
    };
    const cases: [Record<string, unknown>, string][] = [
      [
        { name: "web-01" },
        'cloudspace 101 already has a machine named "web-01" (id 1001); choose another name',
      ],
      [
        { image_id: 77 },
        "image 77 cannot be used in cloudspace 101: it is not among the ready images of account 1 there; " +
          "ovc_list_images with account_id 1 and cloudspace_id 101 lists them",
      ],
      // Image 6 is account 1's own; cloudspace 103 belongs to account 2.
      [{ cloudspace_id: 103, image_id: 6 }, "image 6 cannot be used in cloudspace 103"],
      [{ image_id: 4 }, "image 4 (Windows 2019 Standard) needs a boot disk of at least 40 GB, not 20"],
      [
        { cloudspace_id: 103, vcpus: undefined, memory_mb: undefined, size_id: 2 },
        "cloudspace 103 does not allow size 2; ovc_list_sizes with cloudspace_id 103 lists the sizes it allows (1, 3, 4, 5)",
      ],
      [{ cloudspace_id: 104 }, "cloudspace 104 is in the recycle bin (DELETED): restore it first"],
    ];
    for (const [change, reason] of cases) {
      const result = await harness.call("ovc_create_machine", { ...base, ...change });
      expect(result.isError, reason).toBe(true);
      expect(textOf(result)).toContain(`ovc_create_machine: ${reason}`);
    }
    // The images were asked for with both ids: the account's and the public ones, of that location.
    expect(last(calls(harness, "cloudapi/images/list")).json).toEqual({ accountId: 1, cloudspaceId: 101 });
    const unknown = await harness.call("ovc_create_machine", { ...base, cloudspace_id: 999 });
    expect(textOf(unknown)).toBe(
      "ovc POST /restmachine/cloudapi/cloudspaces/get -> 404: Could not find 999 of type cloudspace. " +
        "Check the id with ovc_list_cloudspaces; a deleted resource answers 404 too.",
    );
    expectNoCreate(harness);
  });

  it("refuses an image import into a grid id no location has", async () => {
    harness = await startHarness();
    const result = await harness.call("ovc_create_image", { ...rocky, gid: 999 });
    expect(textOf(result)).toBe(
      "ovc_create_image: no location has the grid id 999; ovc_list_locations lists them: 212 (be-gen-1), " +
        "711 (nl-ams-1). Nothing was sent.",
    );
    expect(calls(harness).map((r) => r.path)).toEqual([`${CLOUDAPI}/locations/list`]);
  });

  it("skips a check whose read fails for another reason than the call's ids, and sends the create", async () => {
    harness = await startHarness();
    harness.ovc.taskDurationMs = 0;
    await harness.call("ovc_list_accounts");
    // One of the two reads (they go side by side) meets an unhandled exception: a 500 eco page.
    harness.ovc.crashNext(1);
    const result = await newCloudspace(harness, "despite-500");
    expect(result.structuredContent).toMatchObject({ status: "succeeded", cloudspace_id: 107 });
    expect(calls(harness, "cloudapi/cloudspaces/create")).toHaveLength(1);
    expect(harness.logs.join("\n")).toMatch(/failed, so its check before the create was skipped/);
  });

  it("refuses before asking for confirmation, so no one confirms a create that is then refused", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "mutating" } });
    const refused = await harness.call("ovc_create_machine", {
      cloudspace_id: 101,
      name: "web-02",
      image_id: 1,
      disk_size_gb: 20,
      vcpus: 2,
      memory_mb: 2048,
    });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('cloudspace 101 already has a machine named "web-02" (id 1002)');
    expect(refused.structuredContent).toBeUndefined();
    const asked = await harness.call("ovc_create_machine", {
      cloudspace_id: 101,
      name: "web-04",
      image_id: 1,
      disk_size_gb: 20,
      vcpus: 2,
      memory_mb: 2048,
    });
    expect(asked.structuredContent).toMatchObject({ confirmation_required: true });
    expectNoCreate(harness);
  });
});

describe("ovc ways in and their renewal", () => {
  it("refreshes the JWT at ItsYou.online before its exp, with the old JWT, and sends the new one", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    harness = await startHarness();
    await harness.call("ovc_list_locations");
    const first = lastJwt(harness);
    const exp = jwtClaims(first)?.exp as number;
    vi.setSystemTime(exp * 1000 - 30_000);
    const result = await harness.call("ovc_list_accounts");
    expect(result.isError).toBeFalsy();
    expect(harness.ovc.logins).toBe(1);
    expect(harness.ovc.refreshes).toBe(1);
    const [refresh] = harness.ovc.requestsTo(REFRESH);
    expect(refresh).toMatchObject({ method: "GET", body: "" });
    expect(refresh?.headers.authorization).toBe(`bearer ${first}`);
    const renewed = lastJwt(harness);
    expect(renewed).not.toBe(first);
    expect(jwtClaims(renewed)?.exp).toBeGreaterThan(exp);
    // The old JWT was never sent to OpenvCloud again: the renewal came first.
    expect(last(calls(harness)).headers.authorization).toBe(`bearer ${renewed}`);
    expect(calls(harness).filter((r) => r.headers.authorization === `bearer ${first}`)).toHaveLength(1);
    expectNoIssuedToken(harness, result);
  });

  it("asks for a new JWT with client credentials when ItsYou.online refuses the refresh", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    harness = await startHarness();
    await harness.call("ovc_list_locations");
    harness.ovc.revokeRefreshTokens();
    vi.setSystemTime((jwtClaims(lastJwt(harness))?.exp as number) * 1000 - 30_000);
    const result = await harness.call("ovc_list_accounts");
    expect(result.isError).toBeFalsy();
    expect(harness.ovc.requestsTo(REFRESH)).toHaveLength(1);
    expect(harness.ovc.refreshes).toBe(0);
    expect(harness.ovc.requestsTo(ACCESS_TOKEN)).toHaveLength(2);
    expect(last(calls(harness)).headers.authorization).toBe(`bearer ${lastJwt(harness)}`);
  });

  it("renews a JWT that OpenvCloud refuses (401) once, and retries the call once", async () => {
    harness = await startHarness();
    await harness.call("ovc_list_locations");
    harness.ovc.expireCredentials();
    const result = await harness.call("ovc_list_cloudspaces", { fields: ["id"] });
    expect(result.isError).toBeFalsy();
    expect(harness.ovc.refreshes + harness.ovc.logins).toBe(2);
    expect(calls(harness, "cloudapi/cloudspaces/list")).toHaveLength(2);
    expect(harness.logs.join("")).toContain("ovc: credentials expired upstream; logging in again");
  });

  it("shares one renewal among 20 concurrent calls after the JWT expired", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    harness = await startHarness();
    await harness.call("ovc_list_locations");
    vi.setSystemTime((jwtClaims(lastJwt(harness))?.exp as number) * 1000 + 1_000);
    const h = harness;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => h.call("ovc_list_machines", { cloudspace_id: 101 + (i % 3) })),
    );
    expect(results.filter((r) => r.isError)).toEqual([]);
    expect(h.ovc.logins + h.ovc.refreshes).toBe(2);
    expect(h.ovc.requestsTo("/v1/oauth/")).toHaveLength(2);
  });

  it("logs in with username and password for a session key, sent as the authkey parameter", async () => {
    harness = await startHarness({ env: PASSWORD_ENV });
    const result = await harness.call("ovc_list_machines", { cloudspace_id: 103, fields: ["id"] });
    expect(result.structuredContent).toEqual({ items: [{ id: 1006 }, { id: 1007 }] });
    const [login, call] = calls(harness);
    expect(login).toMatchObject({
      method: "POST",
      path: `${CLOUDAPI}/users/authenticate`,
      query: {},
      json: { username: OVC_SANDBOX.username, password: OVC_SANDBOX.password },
    });
    expect(login?.headers.accept).toBe("application/json");
    const key = last(harness.ovc.issuedTokens());
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(call).toMatchObject({
      path: `${CLOUDAPI}/machines/list`,
      query: { authkey: key },
      json: { cloudspaceId: 103 },
    });
    expect(call?.headers.authorization).toBeUndefined();
    expect(harness.ovc.requestsTo("/v1/oauth/")).toHaveLength(0);
    const status = await harness.call("infra_status");
    expect((status.structuredContent as { services: Record<string, unknown>[] }).services).toContainEqual(
      expect.objectContaining({
        service: "ovc",
        auth: "username and password (session key)",
        authenticated: true,
      }),
    );
    expectNoIssuedToken(harness, result, status);
  });

  it("gets one new session key on 419 (key not valid or expired) and retries once", async () => {
    harness = await startHarness({ env: PASSWORD_ENV });
    await harness.call("ovc_list_accounts");
    const oldKey = last(harness.ovc.issuedTokens());
    harness.ovc.expireCredentials();
    const before = calls(harness).length;
    const result = await harness.call("ovc_get_machine", { machine_id: 1001 });
    expect(result.isError).toBeFalsy();
    const newKey = last(harness.ovc.issuedTokens());
    expect(newKey).not.toBe(oldKey);
    expect(
      calls(harness)
        .slice(before)
        .map(
          (r) => `${r.path} ${r.query.authkey === oldKey ? "old" : r.query.authkey === newKey ? "new" : "-"}`,
        ),
    ).toEqual([
      `${CLOUDAPI}/machines/get old`,
      `${CLOUDAPI}/users/authenticate -`,
      `${CLOUDAPI}/machines/get new`,
    ]);
    expect(harness.ovc.logins).toBe(2);
    expectNoIssuedToken(harness, result);
  });

  it("shares one login among 20 concurrent calls refused with 419", async () => {
    harness = await startHarness({ env: PASSWORD_ENV });
    await harness.call("ovc_list_accounts");
    harness.ovc.expireCredentials();
    const h = harness;
    const results = await Promise.all(Array.from({ length: 20 }, () => h.call("ovc_list_cloudspaces")));
    expect(results.filter((r) => r.isError)).toEqual([]);
    expect(h.ovc.logins).toBe(2);
    expect(calls(h, "cloudapi/users/authenticate")).toHaveLength(2);
  });

  it("names OVC_USERNAME and OVC_PASSWORD when the password is refused, without showing it", async () => {
    harness = await startHarness({ env: { ...PASSWORD_ENV, OVC_PASSWORD: "wrong-password-123" } });
    const result = await harness.call("ovc_list_accounts");
    expect(textOf(result)).toBe(
      "ovc login failed: POST /restmachine/cloudapi/users/authenticate -> 401: Unauthorized. " +
        "Check OVC_USERNAME and OVC_PASSWORD (a user of the OpenvCloud portal).",
    );
    expect(JSON.stringify(result)).not.toContain("wrong-password-123");
  });

  it("names the ItsYou.online variables when the client credentials are refused", async () => {
    harness = await startHarness({ env: { OVC_IYO_CLIENT_SECRET: "not-the-secret" } });
    const result = await harness.call("ovc_list_accounts");
    expect(textOf(result)).toBe(
      "ovc login failed: POST /v1/oauth/access_token -> 401: invalid client_id or client_secret. " +
        "Check OVC_IYO_CLIENT_ID and OVC_IYO_CLIENT_SECRET (an API key of the ItsYou.online user: Settings > API keys) and OVC_IYO_URL.",
    );
    expect(calls(harness)).toHaveLength(0);
  });
});

describe("ovc with a fixed OVC_JWT", () => {
  async function withFixedJwt(mint: (ovc: OvcEmulator) => string): Promise<{ h: Harness; jwt: string }> {
    const ovc = new OvcEmulator();
    await ovc.start();
    const jwt = mint(ovc);
    const h = await startHarness({ emulators: { ovc }, env: { ...NO_IYO, OVC_JWT: jwt } });
    // The harness stops only emulators it started itself.
    const close = h.close;
    h.close = async () => {
      await close();
      await ovc.stop();
    };
    return { h, jwt };
  }

  it("sends it as a bearer JWT without logging in, and reports a refusal plainly, never looping", async () => {
    const { h, jwt } = await withFixedJwt((ovc) => ovc.mintJwt());
    harness = h;
    const ok = await h.call("ovc_list_accounts");
    expect(ok.isError).toBeFalsy();
    expect(last(calls(h)).headers.authorization).toBe(`bearer ${jwt}`);
    h.ovc.expireCredentials();
    const before = calls(h).length;
    const refused = await h.call("ovc_list_accounts");
    expect(textOf(refused)).toBe(
      "ovc POST /restmachine/cloudapi/accounts/list -> 401: Access Denied You are not allowed to access this page. " +
        "Please log in with a user that has access. OpenvCloud refused OVC_JWT (expired, revoked, or not from the ItsYou.online it trusts): " +
        "get a new JWT from ItsYou.online and set OVC_JWT, or set OVC_IYO_CLIENT_ID + OVC_IYO_CLIENT_SECRET instead so the server renews JWTs itself; then restart.",
    );
    expect(calls(h).length - before).toBe(1);
    expect(h.ovc.requestsTo("/v1/oauth/")).toHaveLength(0);
    expectNoIssuedToken(h, ok, refused);
  });

  it("says that OVC_JWT is past its exp instead of sending it", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const { h } = await withFixedJwt((ovc) => ovc.mintJwt({ lifetimeSeconds: 600 }));
    harness = h;
    expect((await h.call("ovc_list_accounts")).isError).toBeFalsy();
    const sent = calls(h).length;
    vi.setSystemTime(Date.now() + 601_000);
    const expired = await h.call("ovc_list_accounts");
    expect(textOf(expired)).toMatch(
      /^ovc login failed: OVC_JWT expired at \d{4}-\d\d-\d\dT[\d:.]+Z, so it was not sent\. To go on, get a new JWT from ItsYou\.online and set OVC_JWT/,
    );
    expect(calls(h)).toHaveLength(sent);
    const status = await h.call("infra_status");
    expect(JSON.stringify(status.structuredContent)).toContain("OVC_JWT expired at");
  });
});

describe("ovc in read-only mode", () => {
  it("allows exactly the list*/get* POSTs and task/get: machines/list goes out, machines/start does not", async () => {
    harness = await startHarness({ env: { INFRA_MCP_READ_ONLY: "true" } });
    const { tools } = await harness.client.listTools();
    expect(tools.map((t) => t.name).filter((name) => name.startsWith("ovc_"))).toEqual([
      "ovc_list_locations",
      "ovc_get_portal_url",
      "ovc_list_accounts",
      "ovc_get_account",
      "ovc_list_cloudspaces",
      "ovc_get_cloudspace",
      "ovc_list_machines",
      "ovc_get_machine",
      "ovc_list_images",
      "ovc_list_sizes",
      "ovc_get_task",
    ]);
    const list = await harness.call("ovc_list_machines", { cloudspace_id: 101 });
    expect(list.isError).toBeFalsy();
    expect(last(calls(harness))).toMatchObject({ method: "POST", path: `${CLOUDAPI}/machines/list` });
    const task = await harness.call("ovc_get_task", { task_guid: "5c8f4e1a-0000-4000-8000-000000000000" });
    expect(textOf(task)).toContain("system/task/get -> 404: Task is not found");

    const session = harness.runtime.sessions.get("ovc")!;
    const before = harness.ovc.requests.length;
    await expect(
      session.request({ method: "POST", path: `${CLOUDAPI}/machines/start`, json: { machineId: 1003 } }),
    ).rejects.toThrow(/Read-only mode: ovc POST \/restmachine\/cloudapi\/machines\/start was not sent/);
    const generic = await harness.call("infra_api_get", {
      service: "ovc",
      path: `${CLOUDAPI}/machines/start`,
    });
    expect(textOf(generic)).toContain("infra_api_get reads OpenvCloud through its list*/get* methods only");
    expect(harness.ovc.requests.length).toBe(before);
    expect(harness.ovc.machine(1003)?.status).toBe("HALTED");
  });
});

describe("ovc in the generic tools", () => {
  it("infra_api_get POSTs to a list*/get* method with the query as its parameters", async () => {
    harness = await startHarness();
    const result = await harness.call("infra_api_get", {
      service: "ovc",
      path: `${CLOUDAPI}/sizes/list`,
      query: { location: "be-gen-1" },
    });
    expect((result.structuredContent as { data: unknown[] }).data).toHaveLength(5);
    expect(last(calls(harness))).toMatchObject({
      method: "POST",
      path: `${CLOUDAPI}/sizes/list`,
      query: {},
      json: { location: "be-gen-1" },
    });
    const refused = await harness.call("infra_api_get", {
      service: "ovc",
      path: `${CLOUDAPI}/machines/delete`,
    });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain(
      "Other methods may change something: use infra_api_call. Nothing was sent.",
    );
    expect(calls(harness, "cloudapi/machines/delete")).toHaveLength(0);
  });

  it("infra_list_operations reads the instance's catalogue, and falls back to the built-in one", async () => {
    harness = await startHarness();
    const live = await harness.call("infra_list_operations", { service: "ovc", filter: "machines create" });
    expect(live.structuredContent).toEqual({
      items: [
        { method: "POST", path: `${CLOUDAPI}/machines/create`, summary: "Create a machine in a cloud space" },
      ],
      source: "the instance's catalogue (/restmachine/system/docgenerator/prepareCatalog)",
    });
    expect(last(calls(harness))).toMatchObject({
      method: "POST",
      path: `${REST}/system/docgenerator/prepareCatalog`,
    });

    harness.ovc.crashNext(1);
    const builtIn = await harness.call("infra_list_operations", {
      service: "ovc",
      filter: "cloudspaces/create",
    });
    expect(builtIn.structuredContent).toMatchObject({
      items: [{ method: "POST", path: `${CLOUDAPI}/cloudspaces/create` }],
      source: "built-in catalogue of documented operations",
    });
  });

  it("infra_status checks the session with an authenticated read and shows the JWT's remaining life", async () => {
    harness = await startHarness();
    const status = await harness.call("infra_status", { check: true });
    const ovc = (status.structuredContent as { services: Record<string, unknown>[] }).services.find(
      (s) => s.service === "ovc",
    );
    expect(ovc).toMatchObject({
      base_url: harness.ovc.url,
      auth: "ItsYou.online client credentials (JWT)",
      authenticated: true,
      check: { ok: true },
      logins: 1,
    });
    expect(ovc?.expires_in_seconds).toBeGreaterThan(86_000);
    expect(last(calls(harness)).path).toBe(`${CLOUDAPI}/accounts/list`);
  });
});

describe("ovc with confirmation", () => {
  it("stops a machine with force only after confirmation, sending machines/stop {machineId, force}", async () => {
    harness = await startHarness();
    const args = { machine_id: 1001, action: "stop", force: true };
    const plan = await harness.call("ovc_machine_action", args);
    const token = (plan.structuredContent as { confirmation_token: string; preview: string })
      .confirmation_token;
    expect((plan.structuredContent as { preview: string }).preview).toBe(
      `POST ${harness.ovc.url}/restmachine/cloudapi/machines/stop: stop machine 1001 (forced)`,
    );
    expect(calls(harness)).toHaveLength(0);
    const done = await harness.call("ovc_machine_action", { ...args, confirmation_token: token });
    expect(done.structuredContent).toEqual({
      ok: true,
      summary: "Machine 1001 stopped. ovc_get_machine shows its status.",
    });
    expect(last(calls(harness))).toMatchObject({
      path: `${CLOUDAPI}/machines/stop`,
      json: { machineId: 1001, force: true },
    });
    expect(harness.ovc.machine(1001)?.status).toBe("HALTED");
  });

  it("maps every action to machines/<action>, and refuses force with any action but stop", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off" } });
    for (const action of ["pause", "resume", "reboot", "reset", "stop", "start"]) {
      const result = await harness.call("ovc_machine_action", { machine_id: 1002, action });
      expect(result.isError, action).toBeFalsy();
      expect(last(calls(harness))).toMatchObject({
        path: `${CLOUDAPI}/machines/${action}`,
        json: { machineId: 1002 },
      });
    }
    const forced = await harness.call("ovc_machine_action", {
      machine_id: 1002,
      action: "reboot",
      force: true,
    });
    expect(textOf(forced)).toBe("force applies to action stop only. Nothing was sent.");
    expect(calls(harness)).toHaveLength(6);
  });

  it("deletes an empty cloudspace and a machine, permanently or to the recycle bin", async () => {
    harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off" } });
    const space = await harness.call("ovc_delete_cloudspace", { cloudspace_id: 106, permanently: true });
    expect(space.structuredContent).toEqual({ ok: true, summary: "Cloudspace 106 destroyed." });
    expect(last(calls(harness)).json).toEqual({ cloudspaceId: 106, permanently: true });
    const machine = await harness.call("ovc_delete_machine", { machine_id: 1007 });
    expect(machine.structuredContent).toEqual({
      ok: true,
      summary: "Machine 1007 deleted (restorable from the recycle bin).",
    });
    expect(last(calls(harness)).json).toEqual({ machineId: 1007 });
    expect(harness.ovc.machine(1007)?.status).toBe("DELETED");
  });
});

describe("ovc configuration", () => {
  const URL = { OVC_URL: "https://ovc.example.com" };

  it("reads each of the three ways in, ItsYou.online defaulting to the public one", () => {
    const iyo = loadConfig({ ...URL, OVC_IYO_CLIENT_ID: "app", OVC_IYO_CLIENT_SECRET: "app-secret" });
    expect(iyo.platforms.get("ovc")?.settings).toEqual({
      url: "https://ovc.example.com",
      auth: { kind: "iyo", iyoUrl: "https://itsyou.online", clientId: "app", clientSecret: "app-secret" },
    });
    const own = loadConfig({
      ...URL,
      OVC_IYO_URL: "https://iyo.example.com/",
      OVC_IYO_CLIENT_ID: "app",
      OVC_IYO_CLIENT_SECRET: "app-secret",
    });
    expect(own.platforms.get("ovc")?.settings).toMatchObject({ auth: { iyoUrl: "https://iyo.example.com" } });
    const password = loadConfig({ ...URL, OVC_USERNAME: "bob", OVC_PASSWORD: "pw-123456" });
    expect(password.platforms.get("ovc")?.settings).toMatchObject({
      auth: { kind: "password", username: "bob", password: "pw-123456" },
    });
    const jwt = "eyJhbGciOiJFUzM4NCJ9.eyJleHAiOjF9.c2ln";
    expect(loadConfig({ ...URL, OVC_JWT: jwt }).platforms.get("ovc")?.settings).toMatchObject({
      auth: { kind: "jwt", jwt },
    });
    expect(loadConfig({ ...URL, OVC_JWT: jwt }).credentials).toContain(jwt);
  });

  it("reports no, several, partial or contradictory ways in, with an example", () => {
    const example =
      "OVC_IYO_CLIENT_ID=<ItsYou.online application id> with OVC_IYO_CLIENT_SECRET=<ItsYou.online application secret>, " +
      "or OVC_USERNAME=<portal user> with OVC_PASSWORD=<password>, or OVC_JWT=<JWT from ItsYou.online>";
    expect(configProblems(URL)).toEqual([
      `OVC_IYO_CLIENT_ID/OVC_USERNAME/OVC_JWT: no credentials: set exactly one way to log in (${example})`,
    ]);
    expect(configProblems({ ...URL, OVC_USERNAME: "bob", OVC_PASSWORD: "pw", OVC_JWT: "a.b.c" })).toEqual([
      `OVC_USERNAME, OVC_PASSWORD, OVC_JWT: more than one way to log in is set; keep one (${example})`,
    ]);
    expect(configProblems({ ...URL, OVC_IYO_CLIENT_ID: "app" })).toEqual([
      "OVC_IYO_CLIENT_SECRET: missing: ItsYou.online login needs OVC_IYO_CLIENT_ID and OVC_IYO_CLIENT_SECRET (OVC_IYO_CLIENT_SECRET=<ItsYou.online application secret>)",
    ]);
    expect(configProblems({ ...URL, OVC_PASSWORD: "pw" })).toEqual([
      "OVC_USERNAME: missing: password login needs OVC_USERNAME and OVC_PASSWORD (OVC_USERNAME=<portal user>)",
    ]);
    expect(
      configProblems({
        ...URL,
        OVC_IYO_URL: "https://iyo.example.com",
        OVC_USERNAME: "bob",
        OVC_PASSWORD: "pw",
      }),
    ).toEqual([
      `OVC_IYO_URL: only used with OVC_IYO_CLIENT_ID + OVC_IYO_CLIENT_SECRET; remove it (${example})`,
    ]);
    expect(configProblems({ ...URL, OVC_JWT: "not-a-jwt" })).toEqual([
      "OVC_JWT: not a JWT (header.payload.signature, base64url) (OVC_JWT=eyJhbGciOiJFUzM4NCIs...)",
    ]);
    expect(configProblems({ OVC_USERNAME: "bob", OVC_PASSWORD: "pw" })).toEqual([
      "OVC_URL: missing, but OVC_USERNAME, OVC_PASSWORD are set (OVC_URL=https://ovc.example.com)",
    ]);
  });
});
