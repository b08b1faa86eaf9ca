import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SQUONK_SANDBOX, SQUONK_SEED } from "../src/platforms/squonk/emulator/index.js";
import { REDACTED } from "../src/safety/redact.js";
import type { RecordedRequest } from "../src/sandbox/emulator.js";
import {
  configProblems,
  type Harness,
  type HarnessOptions,
  loadConfig,
  startHarness,
  textOf,
} from "./helpers.js";

const DM = "/data-manager-api";
const AS = "/account-server-api";
const TOKEN = `/auth/realms/${SQUONK_SANDBOX.realm}/protocol/openid-connect/token`;
const { projects, instances, tasks, jobs } = SQUONK_SEED;
const NOP = { collection: "im-test", job: "nop", version: "1.0.0" };

let harness: Harness | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await harness?.close();
  harness = undefined;
});

async function start(options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

const tokenRequests = (h: Harness) => h.squonk.requestsTo(TOKEN);
const dmRequests = (h: Harness) => h.squonk.requestsTo(`${DM}/`);
const lastDmRequest = (h: Harness) => dmRequests(h).at(-1)!;
const grants = (h: Harness) => tokenRequests(h).map((r) => r.form?.grant_type);

function claims(request: RecordedRequest): Record<string, unknown> {
  const token = request.headers.authorization?.replace(/^Bearer /, "") ?? "";
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
}

function advance(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

/** Every token the emulator issued is a canary: none may reach a result or a log line. */
function expectNoTokens(h: Harness, ...texts: string[]): void {
  const everything = [...texts, ...h.logs].join("\n");
  for (const token of h.squonk.issuedTokens()) expect(everything).not.toContain(token);
  expect(everything).not.toContain(SQUONK_SANDBOX.password);
}

describe("squonk Keycloak login", () => {
  it("sends the password grant form-encoded, every value URL-encoded, to the configured Keycloak", async () => {
    const h = await start();
    const result = await h.call("squonk_list_projects");
    expect(result.isError).toBeFalsy();
    const [login] = tokenRequests(h);
    expect(login?.method).toBe("POST");
    expect(login?.contentType).toContain("application/x-www-form-urlencoded");
    // The sandbox password holds + & % = / and a space: each must arrive encoded, or Keycloak reads
    // another password (the public Python client's bug).
    expect(login?.body).toContain("password=sq%2Buo%26nk%252%3D%2F+sandbox");
    expect(login?.form).toEqual({
      client_id: SQUONK_SANDBOX.dmClientId,
      grant_type: "password",
      username: SQUONK_SANDBOX.username,
      password: SQUONK_SANDBOX.password,
    });
    expect(claims(lastDmRequest(h))).toMatchObject({ azp: SQUONK_SANDBOX.dmClientId });
    expect(h.squonk.passwordGrants).toBe(1);
  });

  it("logs each API in with its own Keycloak client, and infra_status shows both sessions", async () => {
    const h = await start();
    await h.call("squonk_list_projects");
    await h.call("squonk_list_units");
    expect(tokenRequests(h).map((r) => r.form?.client_id)).toEqual([
      SQUONK_SANDBOX.dmClientId,
      SQUONK_SANDBOX.asClientId,
    ]);
    const [asCall] = h.squonk.requestsTo(`${AS}/unit`);
    expect(claims(asCall!)).toMatchObject({ azp: SQUONK_SANDBOX.asClientId });
    const status = await h.call("infra_status");
    const services = (status.structuredContent as { services: Record<string, unknown>[] }).services;
    for (const api of ["squonk_dm", "squonk_as"]) {
      expect(services.find((s) => s.service === api)).toMatchObject({
        authenticated: true,
        expires_in_seconds: 300,
        logins: 1,
      });
    }
  });

  it("renews with the refresh_token grant before the access token runs out, with no password grant", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const h = await start();
    await h.call("squonk_list_projects");
    const [, firstRefresh] = h.squonk.issuedTokens();
    // expires_in is 300 s: the session renews a tenth of the lifetime early.
    advance(275_000);
    const result = await h.call("squonk_list_projects");
    expect(result.isError).toBeFalsy();
    expect(grants(h)).toEqual(["password", "refresh_token"]);
    expect(tokenRequests(h)[1]?.form).toEqual({
      client_id: SQUONK_SANDBOX.dmClientId,
      grant_type: "refresh_token",
      refresh_token: firstRefresh,
    });
    expect(h.squonk.passwordGrants).toBe(1);
    expect(h.squonk.refreshGrants).toBe(1);
    // Renewed before the DM could refuse anything, and the new token is the one sent.
    expect(h.squonk.refusals).toBe(0);
    expect(lastDmRequest(h).headers.authorization).toBe(`Bearer ${h.squonk.issuedTokens()[2]}`);
  });

  it("falls back to the password grant when Keycloak refuses the refresh", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const h = await start();
    await h.call("squonk_list_projects");
    h.squonk.revokeRefreshTokens();
    advance(290_000);
    const result = await h.call("squonk_list_projects");
    expect(result.isError).toBeFalsy();
    expect(grants(h)).toEqual(["password", "refresh_token", "password"]);
    expect(h.squonk.passwordGrants).toBe(2);
    expect(h.squonk.refreshGrants).toBe(0);
  });

  it("goes straight to the password grant once the refresh token has run out (refresh_expires_in)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const h = await start();
    h.squonk.refreshTokenLifetimeSeconds = 120;
    await h.call("squonk_list_projects");
    advance(290_000);
    await h.call("squonk_list_projects");
    expect(grants(h)).toEqual(["password", "password"]);
  });

  it("answers a 401 from the DM with one renewal and one retry, and no more", async () => {
    const h = await start();
    await h.call("squonk_get_project", { project_id: projects.kinase });
    h.squonk.expireCredentials();
    const renewed = await h.call("squonk_get_project", { project_id: projects.kinase });
    expect(renewed.isError).toBeFalsy();
    const sent = dmRequests(h).filter((r) => r.path === `${DM}/project/${projects.kinase}`);
    expect(sent).toHaveLength(3);
    expect(h.squonk.refusals).toBe(1);
    // The refresh token expired with everything else, so the renewal fell back to the password.
    expect(grants(h)).toEqual(["password", "refresh_token", "password"]);

    h.squonk.failNext(2, 401, { methods: ["GET"] });
    const refused = await h.call("squonk_get_project", { project_id: projects.kinase });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain(`squonk_dm GET /project/${projects.kinase} -> 401`);
    expect(textOf(refused)).toContain("SQUONK2_KEYCLOAK_DM_CLIENT_ID");
    expect(dmRequests(h).filter((r) => r.path === `${DM}/project/${projects.kinase}`)).toHaveLength(5);
  });

  it("shares one token request among 20 concurrent calls after the token expired", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const h = await start();
    await h.call("squonk_list_projects");
    advance(301_000);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => h.call("squonk_get_project", { project_id: projects.kinase })),
    );
    expect(results.every((r) => !r.isError)).toBe(true);
    expect(grants(h)).toEqual(["password", "refresh_token"]);
    expect(h.squonk.refusals).toBe(0);
  });

  it("keeps every issued access and refresh token out of results and logs", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const h = await start();
    const texts: string[] = [];
    texts.push(textOf(await h.call("squonk_list_projects")));
    advance(290_000);
    texts.push(textOf(await h.call("squonk_list_instances", { project_id: projects.kinase })));
    texts.push(textOf(await h.call("squonk_list_products")));
    h.squonk.expireCredentials();
    texts.push(textOf(await h.call("infra_status", { check: true })));
    expect(h.squonk.issuedTokens().length).toBeGreaterThanOrEqual(6);
    expectNoTokens(h, ...texts);
    // Registered for scrubbing as they arrive, refresh tokens included, wherever they might turn up.
    for (const token of h.squonk.issuedTokens())
      expect(h.runtime.redactor.scrub(`x ${token} y`)).toBe(`x ${REDACTED} y`);
  });
});

describe("squonk Keycloak refusals, in our words", () => {
  it("names SQUONK2_USERNAME and SQUONK2_PASSWORD for a wrong password", async () => {
    const h = await start({ env: { SQUONK2_PASSWORD: "not-the-password" } });
    const result = await h.call("squonk_list_projects");
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toContain(
      `squonk_dm login failed: POST ${TOKEN.slice("/auth".length)} -> 401 (error invalid_grant)`,
    );
    expect(text).toContain("Invalid user credentials");
    expect(text).toContain("Check SQUONK2_USERNAME and SQUONK2_PASSWORD");
    expect(text).not.toContain("not-the-password");
    expect(dmRequests(h)).toHaveLength(0);
  });

  it("names the API's client id variable for a client Keycloak does not know", async () => {
    const h = await start({ env: { SQUONK2_KEYCLOAK_AS_CLIENT_ID: "account-server-typo" } });
    const result = await h.call("squonk_list_products");
    expect(textOf(result)).toContain("(error invalid_client)");
    expect(textOf(result)).toContain(
      `Keycloak does not know client "account-server-typo" in realm "${SQUONK_SANDBOX.realm}": check SQUONK2_KEYCLOAK_AS_CLIENT_ID.`,
    );
  });

  it("names SQUONK2_KEYCLOAK_CLIENT_SECRET for a confidential client's missing or wrong secret, and sends a right one", async () => {
    const h = await start();
    h.squonk.confidentialClients = true;
    const missing = await h.call("squonk_list_projects");
    expect(textOf(missing)).toContain("is confidential: set SQUONK2_KEYCLOAK_CLIENT_SECRET");
    await h.close();

    const wrong = await start({ env: { SQUONK2_KEYCLOAK_CLIENT_SECRET: "wrong-secret-value" } });
    wrong.squonk.confidentialClients = true;
    const refused = await wrong.call("squonk_list_projects");
    expect(textOf(refused)).toContain("(error unauthorized_client)");
    expect(textOf(refused)).toContain("refused the secret");
    expect(textOf(refused)).toContain("check SQUONK2_KEYCLOAK_CLIENT_SECRET");
    expect(textOf(refused)).not.toContain("wrong-secret-value");
    await wrong.close();

    const right = await start({ env: { SQUONK2_KEYCLOAK_CLIENT_SECRET: SQUONK_SANDBOX.clientSecret } });
    right.squonk.confidentialClients = true;
    expect((await right.call("squonk_list_projects")).isError).toBeFalsy();
    expect(tokenRequests(right)[0]?.form?.client_secret).toBe(SQUONK_SANDBOX.clientSecret);
  });

  it("names SQUONK2_KEYCLOAK_REALM for a realm Keycloak does not have", async () => {
    const h = await start({ env: { SQUONK2_KEYCLOAK_REALM: "squonk-typo" } });
    const result = await h.call("squonk_list_projects");
    expect(textOf(result)).toContain("-> 404");
    expect(textOf(result)).toContain('Check SQUONK2_KEYCLOAK_REALM: Keycloak has no realm "squonk-typo"');
  });
});

describe("squonk DM reads", () => {
  it("lists projects from {count, projects}, passing project_name upstream", async () => {
    const h = await start();
    const all = await h.call("squonk_list_projects", { fields: ["project_id", "name"] });
    expect(all.structuredContent).toEqual({
      items: [
        { project_id: projects.kinase, name: "Kinase fragment screen" },
        { project_id: projects.docking, name: "PLpro docking campaign" },
        { project_id: projects.reference, name: "Shared reference sets" },
      ],
    });
    const one = await h.call("squonk_list_projects", { project_name: "PLpro docking campaign" });
    expect((one.structuredContent as { items: unknown[] }).items).toHaveLength(1);
    expect(lastDmRequest(h)).toMatchObject({
      method: "GET",
      path: `${DM}/project`,
      query: { project_name: "PLpro docking campaign" },
    });
  });

  it("gets a project, and says which tool finds ids when it is unknown or malformed", async () => {
    const h = await start();
    const found = await h.call("squonk_get_project", { project_id: projects.docking });
    expect(found.structuredContent).toMatchObject({ project_id: projects.docking, private: true });
    const unknown = "project-00000000-0000-4000-8000-000000000000";
    const missing = await h.call("squonk_get_project", { project_id: unknown });
    expect(textOf(missing)).toBe(
      `squonk_dm GET /project/${unknown} -> 404: Project ${unknown} does not exist. Check the id with squonk_list_projects.`,
    );
    const before = dmRequests(h).length;
    const malformed = await h.call("squonk_get_project", { project_id: "../instance" });
    expect(textOf(malformed)).toContain("project_id: a project id such as project-");
    expect(dmRequests(h)).toHaveLength(before);
  });

  it("lists files at a path with its sub-directories, from / by default", async () => {
    const h = await start();
    const root = await h.call("squonk_list_project_files", { project_id: projects.kinase });
    expect(lastDmRequest(h)).toMatchObject({
      method: "GET",
      path: `${DM}/file`,
      query: { project_id: projects.kinase, path: "/" },
    });
    expect(root.structuredContent).toMatchObject({ path: "/", paths: ["data", "results"] });
    const data = await h.call("squonk_list_project_files", {
      project_id: projects.kinase,
      path: "/data",
      fields: ["file_name"],
    });
    expect(data.structuredContent).toEqual({
      items: [
        { file_name: "fragments-2024-11.sdf" },
        { file_name: "hits.smi" },
        { file_name: "kinase-panel.csv" },
      ],
      path: "/data",
      paths: ["raw"],
    });
    const bad = await h.call("squonk_list_project_files", { project_id: projects.kinase, path: "data" });
    expect(bad.isError).toBe(true);
  });

  it("gets a job by id or by collection + job + version, and refuses ambiguous or incomplete input unsent", async () => {
    const h = await start();
    const byId = await h.call("squonk_get_job", { job_id: jobs.nop });
    expect(byId.structuredContent).toMatchObject(NOP);
    expect(lastDmRequest(h)).toMatchObject({ method: "GET", path: `${DM}/job/${jobs.nop}` });
    const byVersion = await h.call("squonk_get_job", NOP);
    expect(byVersion.structuredContent).toMatchObject({ id: jobs.nop });
    expect(lastDmRequest(h)).toMatchObject({ path: `${DM}/job/get-by-version`, query: NOP });
    const sent = dmRequests(h).length;
    const both = await h.call("squonk_get_job", { job_id: 1, collection: "im-test" });
    expect(textOf(both)).toContain("not both (got job_id and collection)");
    const partial = await h.call("squonk_get_job", { collection: "im-test", job: "nop" });
    expect(textOf(partial)).toContain("version missing");
    const none = await h.call("squonk_get_job", {});
    expect(textOf(none)).toContain("needs job_id, or collection + job + version");
    expect(dmRequests(h)).toHaveLength(sent);
  });

  it("lists jobs, instances and tasks from their {count, ...} wrappers, with the filters upstream", async () => {
    const h = await start();
    const jobsList = await h.call("squonk_list_jobs", { limit: 2 });
    expect(jobsList.structuredContent).toMatchObject({ total: 6, next_offset: 2 });
    const listed = await h.call("squonk_list_instances", { project_id: projects.docking, fields: ["id"] });
    expect(listed.structuredContent).toEqual({ items: [{ id: instances.nopFailed }] });
    expect(lastDmRequest(h)).toMatchObject({
      path: `${DM}/instance`,
      query: { project_id: projects.docking },
    });
    const running = await h.call("squonk_list_tasks", { exclude_done: true, fields: ["id"] });
    expect(running.structuredContent).toEqual({ items: [{ id: tasks.eventsRunning }] });
    expect(lastDmRequest(h)).toMatchObject({ path: `${DM}/task`, query: { exclude_done: "true" } });
  });

  it("pages a task's events with event_prior_ordinal and event_limit, and says how to get the next page", async () => {
    const h = await start();
    const first = await h.call("squonk_get_task", { task_id: tasks.nopCompleted, event_limit: 2 });
    expect(lastDmRequest(h)).toMatchObject({
      path: `${DM}/task/${tasks.nopCompleted}`,
      query: { event_limit: "2", event_prior_ordinal: "0" },
    });
    const page = first.structuredContent as {
      events: { ordinal: number }[];
      next_event_prior_ordinal: number;
    };
    expect(page.events.map((e) => e.ordinal)).toEqual([1, 2]);
    expect(page.next_event_prior_ordinal).toBe(2);
    expect(textOf(first)).toContain("call again with event_prior_ordinal=2");
    const rest = await h.call("squonk_get_task", { task_id: tasks.nopCompleted, event_prior_ordinal: 2 });
    const last = rest.structuredContent as { done: boolean; events: { ordinal: number }[] };
    expect(last.events[0]?.ordinal).toBe(3);
    expect(last.done).toBe(true);
    expect(last).not.toHaveProperty("next_event_prior_ordinal");
  });
});

describe("squonk jobs: start, dry run, wait", () => {
  const launch = {
    project_id: projects.kinase,
    name: "Pick 5 & check",
    collection: "rdkit",
    job: "max-min-picker",
    version: "1.1.0",
    variables: { inputFile: "data/raw/candidates.sdf", count: 5 },
  };

  it("starts a job with a form body (specification as a JSON string inside it), never JSON", async () => {
    const h = await start();
    const result = await h.call("squonk_start_job_instance", { ...launch, debug: true });
    expect(result.isError).toBeFalsy();
    const { instance_id, task_id } = result.structuredContent as { instance_id: string; task_id: string };
    expect(instance_id).toMatch(/^instance-/);
    expect(task_id).toMatch(/^task-/);
    const request = lastDmRequest(h);
    expect(request).toMatchObject({ method: "POST", path: `${DM}/instance` });
    expect(request.contentType).toBe("application/x-www-form-urlencoded;charset=UTF-8");
    expect(request.json).toBeUndefined();
    expect(() => JSON.parse(request.body)).toThrow();
    expect(request.form).toEqual({
      application_id: "datamanagerjobs.squonk.it",
      as_name: "Pick 5 & check",
      project_id: projects.kinase,
      specification: JSON.stringify({
        collection: "rdkit",
        job: "max-min-picker",
        version: "1.1.0",
        variables: { inputFile: "data/raw/candidates.sdf", count: 5 },
      }),
      debug: "true",
    });
    const instance = await h.call("squonk_get_instance", { instance_id });
    expect(instance.structuredContent).toMatchObject({ name: "Pick 5 & check", phase: "PENDING" });
  });

  it("says which tools find the project and the job when a launch names an unknown project", async () => {
    const h = await start();
    const unknown = "project-00000000-0000-4000-8000-000000000000";
    const result = await h.call("squonk_start_job_instance", { ...launch, project_id: unknown });
    expect(textOf(result)).toBe(
      `squonk_dm POST /instance -> 404: Project ${unknown} does not exist. Check project_id with squonk_list_projects, and the job with squonk_list_jobs.`,
    );
  });

  it("refuses a launch without collection, job or version, or with variables that are not an object, unsent", async () => {
    const h = await start();
    const cases: [Record<string, unknown>, string][] = [
      [{ ...launch, collection: "" }, "collection must not be empty"],
      [{ ...launch, version: undefined }, "version"],
      [{ ...launch, variables: '{"count": 5}' }, "variables: must be an object of variable values"],
      [{ ...launch, variables: [5] }, "variables: must be an object"],
    ];
    for (const [args, message] of cases) {
      for (const tool of ["squonk_start_job_instance", "squonk_dry_run_job_instance"]) {
        const result = await h.call(tool, args);
        expect(result.isError, tool).toBe(true);
        expect(textOf(result)).toContain(message);
      }
    }
    expect(dmRequests(h)).toHaveLength(0);
  });

  it("dry-runs with the same form to /instance/dry-run, even in read-only mode, creating nothing", async () => {
    const h = await start({ env: { INFRA_MCP_READ_ONLY: "true" } });
    const { tools } = await h.client.listTools();
    expect(tools.map((t) => t.name)).not.toContain("squonk_start_job_instance");
    const result = await h.call("squonk_dry_run_job_instance", launch);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ command: expect.stringContaining("-c 5 ") });
    expect(lastDmRequest(h)).toMatchObject({ method: "POST", path: `${DM}/instance/dry-run` });
    expect(lastDmRequest(h).form?.specification).toBe(
      JSON.stringify({
        collection: "rdkit",
        job: "max-min-picker",
        version: "1.1.0",
        variables: launch.variables,
      }),
    );
    const after = await h.call("squonk_list_instances", { project_id: projects.kinase });
    expect((after.structuredContent as { items: unknown[] }).items).toHaveLength(4);
  });

  it("starts a job and waits for it, sending progress with the phase until COMPLETED", async () => {
    const h = await start();
    h.squonk.pendingMs = 600;
    h.squonk.runningMs = 1_000;
    const started = await h.call("squonk_start_job_instance", {
      project_id: projects.kinase,
      name: "Smoke",
      ...NOP,
    });
    const { instance_id } = started.structuredContent as { instance_id: string };
    const progress: { progress: number; message?: string }[] = [];
    const result = await h.client.callTool(
      { name: "squonk_wait_for_instance", arguments: { instance_id } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    );
    expect(result.structuredContent).toMatchObject({
      finished: true,
      succeeded: true,
      phase: "COMPLETED",
      instance: { phase: "COMPLETED", stopped: expect.any(String) },
    });
    const polls = dmRequests(h).filter((r) => r.path === `${DM}/instance/${instance_id}`);
    expect(polls.length).toBe(progress.length);
    const phases = progress.map((p) => /: (\w+) \(/.exec(p.message ?? "")?.[1]);
    expect(phases[0]).toBe("PENDING");
    expect(phases).toContain("RUNNING");
    expect(phases.at(-1)).toBe("COMPLETED");
    expect(progress[0]?.message).toMatch(/^Smoke: PENDING \(run time /);
  });

  it("reports a FAILED job as finished but not succeeded, naming the task with its log", async () => {
    const h = await start();
    const result = await h.call("squonk_wait_for_instance", { instance_id: instances.pickerFailed });
    expect(result.structuredContent).toMatchObject({ finished: true, succeeded: false, phase: "FAILED" });
    expect((result.structuredContent as { summary: string }).summary).toContain(
      `squonk_get_task with task_id ${tasks.pickerFailed}`,
    );
  });

  it("returns the current state, not an error, when timeout_seconds runs out", async () => {
    const h = await start();
    const startedAt = Date.now();
    const result = await h.call("squonk_wait_for_instance", {
      instance_id: instances.eventsRunning,
      timeout_seconds: 1,
    });
    const elapsed = Date.now() - startedAt;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ finished: false, phase: "RUNNING" });
    expect(textOf(result)).toContain("call squonk_wait_for_instance again");
    // The wait ends when the next poll would overrun the budget: at most one interval early.
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(elapsed).toBeLessThan(3_000);
  });

  it("waits longer than INFRA_MCP_TIMEOUT_MS when timeout_seconds says so", async () => {
    const h = await start({ env: { INFRA_MCP_TIMEOUT_MS: "500" } });
    h.squonk.pendingMs = 200;
    h.squonk.runningMs = 1_200;
    const started = await h.call("squonk_start_job_instance", {
      project_id: projects.kinase,
      name: "Long",
      ...NOP,
    });
    const { instance_id } = started.structuredContent as { instance_id: string };
    const result = await h.call("squonk_wait_for_instance", { instance_id, timeout_seconds: 10 });
    expect(result.structuredContent).toMatchObject({ finished: true, phase: "COMPLETED" });
  });

  it("stops polling when the client cancels the wait", async () => {
    const h = await start();
    const controller = new AbortController();
    const polls = () =>
      dmRequests(h).filter((r) => r.path === `${DM}/instance/${instances.eventsRunning}`).length;
    const waiting = h.client.callTool(
      { name: "squonk_wait_for_instance", arguments: { instance_id: instances.eventsRunning } },
      undefined,
      {
        signal: controller.signal,
        onprogress: (p) => {
          if (p.progress === 2) controller.abort("the user changed their mind");
        },
      },
    );
    await expect(waiting).rejects.toThrow();
    expect(polls()).toBe(2);
    // The pause before the third poll (375 ms) ends at once, not when it runs out, and the handler fails
    // with it: once it has, nothing is left to poll, so the count is final.
    await vi.waitFor(
      () => expect(h.logs.join("\n")).toMatch(/squonk_wait_for_instance failed: Cancelled while waiting/),
      { timeout: 300, interval: 10 },
    );
    expect(polls()).toBe(2);
  });
});

describe("squonk deletions", () => {
  const kinaseOwn = [
    instances.nopCompleted,
    instances.pickerCompleted,
    instances.pickerFailed,
    instances.eventsRunning,
  ];
  const deletes = (h: Harness) => dmRequests(h).filter((r) => r.method === "DELETE");

  it("previews the named set of instances, then deletes each once confirmed, going on past a failure", async () => {
    const h = await start();
    const first = await h.call("squonk_delete_project_instances", { project_id: projects.kinase });
    const plan = first.structuredContent as { preview: string; confirmation_token: string };
    expect(plan.preview).toContain(`the 4 instance(s) of project ${projects.kinase}`);
    for (const id of kinaseOwn) expect(plan.preview).toContain(id);
    expect(plan.preview).toContain('"Diverse subset (50)", rdkit max-min-picker 1.0.0');
    expect(deletes(h)).toHaveLength(0);

    // The first DELETE fails upstream: the others still go ahead.
    h.squonk.failNext(1, 500, { methods: ["DELETE"] });
    const done = await h.call("squonk_delete_project_instances", {
      project_id: projects.kinase,
      confirmation_token: plan.confirmation_token,
    });
    expect(deletes(h).map((r) => r.path)).toEqual(kinaseOwn.map((id) => `${DM}/instance/${id}`));
    const result = done.structuredContent as {
      deleted: number;
      failed: number;
      outcomes: Record<string, unknown>[];
    };
    expect(result).toMatchObject({ project_id: projects.kinase, deleted: 3, failed: 1 });
    expect(result.outcomes[0]).toMatchObject({ instance_id: instances.nopCompleted, ok: false });
    expect(result.outcomes[0]?.error).toContain(
      `squonk_dm DELETE /instance/${instances.nopCompleted} -> 500`,
    );
    expect(result.outcomes.slice(1).every((o) => o.ok === true)).toBe(true);
    const left = await h.call("squonk_list_instances", { project_id: projects.kinase, fields: ["id"] });
    expect(left.structuredContent).toEqual({ items: [{ id: instances.nopCompleted }] });
  });

  it("reports another owner's instance as that instance's failure", async () => {
    const h = await start({ env: { INFRA_MCP_CONFIRM: "off" } });
    const result = await h.call("squonk_delete_project_instances", { project_id: projects.reference });
    expect(result.structuredContent).toMatchObject({
      deleted: 0,
      failed: 1,
      outcomes: [{ instance_id: instances.referenceCompleted, ok: false }],
    });
    expect(JSON.stringify(result.structuredContent)).toContain("-> 403: Only the instance owner (mkowalski)");
  });

  it("refuses a confirmation whose set of instances changed since it was shown, deleting nothing", async () => {
    const h = await start();
    const first = await h.call("squonk_delete_project_instances", { project_id: projects.docking });
    const { confirmation_token } = first.structuredContent as { confirmation_token: string };
    await h.call("squonk_start_job_instance", { project_id: projects.docking, name: "Late arrival", ...NOP });
    const result = await h.call("squonk_delete_project_instances", {
      project_id: projects.docking,
      confirmation_token,
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("has changed since it was confirmed; nothing was done");
    expect(textOf(result)).toContain("the 2 instance(s)");
    expect(deletes(h)).toHaveLength(0);
  });

  it("deletes only what the user was shown, when an instance starts while they decide", async () => {
    let late: string | undefined;
    const h = await start({
      capabilities: { capabilities: { elicitation: { form: {} } } },
      prepareClient: (client) =>
        client.setRequestHandler(ElicitRequestSchema, async () => {
          const started = await harness!.call("squonk_start_job_instance", {
            project_id: projects.docking,
            name: "Started meanwhile",
            ...NOP,
          });
          late = (started.structuredContent as { instance_id: string }).instance_id;
          return { action: "accept", content: { confirm: true } };
        }),
    });
    const result = await h.call("squonk_delete_project_instances", { project_id: projects.docking });
    expect(result.structuredContent).toMatchObject({
      deleted: 1,
      failed: 0,
      outcomes: [{ instance_id: instances.nopFailed, ok: true }],
    });
    const left = await h.call("squonk_list_instances", { project_id: projects.docking, fields: ["id"] });
    expect(left.structuredContent).toEqual({ items: [{ id: late }] });
  });

  it("names the instance in the preview of a single deletion, and refuses an unknown id before asking", async () => {
    const h = await start();
    const plan = await h.call("squonk_delete_instance", { instance_id: instances.pickerCompleted });
    const { preview, confirmation_token } = plan.structuredContent as {
      preview: string;
      confirmation_token: string;
    };
    expect(preview).toBe(
      `DELETE /instance/${instances.pickerCompleted}: delete instance ${instances.pickerCompleted} ("Diverse subset (50)", rdkit max-min-picker 1.0.0); a running job is stopped`,
    );
    const done = await h.call("squonk_delete_instance", {
      instance_id: instances.pickerCompleted,
      confirmation_token,
    });
    expect(done.structuredContent).toMatchObject({ ok: true, task_id: expect.stringMatching(/^task-/) });
    expect(deletes(h).map((r) => r.path)).toEqual([`${DM}/instance/${instances.pickerCompleted}`]);

    const unknown = await h.call("squonk_delete_instance", { instance_id: instances.pickerCompleted });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toContain("-> 404");
    expect(textOf(unknown)).toContain("Check the id with squonk_list_instances.");
  });
});

describe("squonk Account Server", () => {
  it("lists products and units under whatever key the AS wraps them in, or bare", async () => {
    const h = await start();
    const products = await h.call("squonk_list_products", { fields: ["product_id"] });
    expect((products.structuredContent as { items: unknown[] }).items).toHaveLength(4);
    expect(h.squonk.requestsTo(`${AS}/product`).at(-1)).toMatchObject({ method: "GET" });
    for (const key of ["data", "items", null]) {
      h.squonk.asListKey = key;
      const units = await h.call("squonk_list_units", { fields: ["name"] });
      expect(units.structuredContent, String(key)).toEqual({
        items: [{ name: "Medicinal Chemistry" }, { name: "Computational Chemistry" }],
      });
    }
  });

  it("is not offered without SQUONK2_ASAPI_URL, while the DM tools are", async () => {
    const h = await start({ env: { SQUONK2_ASAPI_URL: "", SQUONK2_KEYCLOAK_AS_CLIENT_ID: "" } });
    const names = (await h.client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("squonk_list_projects");
    expect(names).not.toContain("squonk_list_products");
    expect(names).not.toContain("squonk_list_units");
    expect([...h.runtime.sessions.keys()]).not.toContain("squonk_as");
  });
});

describe("squonk through the generic tools", () => {
  it("sends infra_api_call bodies to the DM as form fields, objects as JSON strings", async () => {
    const h = await start({ env: { INFRA_MCP_CONFIRM: "off" } });
    const result = await h.call("infra_api_call", {
      service: "squonk_dm",
      method: "POST",
      path: "/instance/dry-run",
      body: {
        application_id: "datamanagerjobs.squonk.it",
        as_name: "Generic",
        project_id: projects.kinase,
        specification: NOP,
      },
    });
    expect(result.isError).toBeFalsy();
    expect(lastDmRequest(h).contentType).toContain("application/x-www-form-urlencoded");
    expect(lastDmRequest(h).form?.specification).toBe(JSON.stringify(NOP));
    const list = await h.call("infra_api_call", {
      service: "squonk_dm",
      method: "POST",
      path: "/x",
      body: [1],
    });
    expect(textOf(list)).toContain("The Squonk DM takes form fields");
  });

  it("lists the documented DM and AS operations", async () => {
    const h = await start();
    const dm = await h.call("infra_list_operations", { service: "squonk_dm", filter: "instance" });
    expect(JSON.stringify(dm.structuredContent)).toContain("/instance/dry-run");
    const as = await h.call("infra_list_operations", { service: "squonk_as", filter: "unit" });
    expect(JSON.stringify(as.structuredContent)).toContain("/organisation/{org_id}/unit");
  });
});

describe("squonk configuration", () => {
  const full = {
    SQUONK2_DMAPI_URL: "https://squonk.example.com/data-manager-api",
    SQUONK2_KEYCLOAK_URL: "https://squonk.example.com/auth",
    SQUONK2_KEYCLOAK_REALM: "squonk",
    SQUONK2_KEYCLOAK_DM_CLIENT_ID: "data-manager-api",
    SQUONK2_USERNAME: "jane",
    SQUONK2_PASSWORD: "pw+&%=/ x",
  };

  it("reads the DM alone, or with the Account Server and its own client, and marks the password secret", () => {
    const config = loadConfig(full);
    expect(config.platforms.get("squonk")?.settings).toEqual({
      dmUrl: full.SQUONK2_DMAPI_URL,
      keycloakUrl: full.SQUONK2_KEYCLOAK_URL,
      realm: "squonk",
      dmClientId: "data-manager-api",
      username: "jane",
      password: "pw+&%=/ x",
    });
    expect(config.credentials).toContain("pw+&%=/ x");
    const withAs = loadConfig({
      ...full,
      SQUONK2_ASAPI_URL: "https://squonk.example.com/account-server-api/",
      SQUONK2_KEYCLOAK_AS_CLIENT_ID: "account-server-api",
      SQUONK2_KEYCLOAK_CLIENT_SECRET: "client-secret-1",
    });
    expect(withAs.platforms.get("squonk")?.settings).toMatchObject({
      as: { url: "https://squonk.example.com/account-server-api", clientId: "account-server-api" },
      clientSecret: "client-secret-1",
    });
    expect(withAs.credentials).toContain("client-secret-1");
  });

  it("lists every missing piece with an example", () => {
    expect(configProblems({ SQUONK2_DMAPI_URL: full.SQUONK2_DMAPI_URL })).toEqual([
      "SQUONK2_KEYCLOAK_URL: missing: Squonk2 logs in through its Keycloak (SQUONK2_KEYCLOAK_URL=https://squonk.example.com/auth)",
      "SQUONK2_KEYCLOAK_REALM: missing: the Keycloak realm of Squonk2's users (SQUONK2_KEYCLOAK_REALM=squonk)",
      "SQUONK2_KEYCLOAK_DM_CLIENT_ID: missing: the Data Manager's Keycloak client (SQUONK2_KEYCLOAK_DM_CLIENT_ID=data-manager-api)",
      "SQUONK2_USERNAME: missing: the Squonk2 (Keycloak) user to log in as (SQUONK2_USERNAME=jane)",
      "SQUONK2_PASSWORD: missing: that user's Keycloak password (SQUONK2_PASSWORD=<password>)",
    ]);
    expect(configProblems({ SQUONK2_USERNAME: "jane" })).toEqual([
      "SQUONK2_DMAPI_URL: missing, but SQUONK2_USERNAME is set (SQUONK2_DMAPI_URL=https://squonk.example.com/data-manager-api)",
    ]);
  });

  it("names the real variable for one carried over from the Python client's environments file", () => {
    const config = loadConfig({
      ...full,
      SQUONK2_KEYCLOAK_HOSTNAME: "squonk.example.com",
      SQUONK2_USER: "j",
    });
    expect(config.warnings).toEqual([
      "SQUONK2_KEYCLOAK_HOSTNAME is not a variable infra-mcp reads; did you mean SQUONK2_KEYCLOAK_URL?",
      "SQUONK2_USER is not a variable infra-mcp reads; did you mean SQUONK2_USERNAME?",
    ]);
  });

  it("needs SQUONK2_KEYCLOAK_AS_CLIENT_ID with SQUONK2_ASAPI_URL, and the other way round", () => {
    expect(
      configProblems({ ...full, SQUONK2_ASAPI_URL: "https://squonk.example.com/account-server-api" }),
    ).toEqual([
      "SQUONK2_KEYCLOAK_AS_CLIENT_ID: missing: the Account Server (SQUONK2_ASAPI_URL is set) has its own Keycloak client (SQUONK2_KEYCLOAK_AS_CLIENT_ID=account-server-api)",
    ]);
    expect(configProblems({ ...full, SQUONK2_KEYCLOAK_AS_CLIENT_ID: "account-server-api" })).toEqual([
      "SQUONK2_ASAPI_URL: missing: SQUONK2_KEYCLOAK_AS_CLIENT_ID is set, but not the Account Server it is for (SQUONK2_ASAPI_URL=https://squonk.example.com/account-server-api)",
    ]);
    expect(configProblems({ ...full, SQUONK2_KEYCLOAK_URL: "squonk.example.com/auth" })).toEqual([
      'SQUONK2_KEYCLOAK_URL: "squonk.example.com/auth" is not an http(s) URL (SQUONK2_KEYCLOAK_URL=https://squonk.example.com/auth)',
    ]);
  });
});
