import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SQUONK_SEED } from "../src/platforms/squonk/emulator/index.js";
import { type Emulators, type Harness, startHarness, textOf } from "./helpers.js";

/**
 * Every tool that declares an outputSchema, driven through the MCP client with answers the platform's
 * documentation allows but the seeded data does not show: each declared field left out, set to null, and,
 * where the documentation does not settle its type, given a scalar of another type. Each result's
 * structuredContent must validate against the tool's own listed outputSchema with the SDK's validator, as a
 * validating client (the official SDKs are ones) checks it. A tool with an outputSchema and no case below,
 * or a declared field the case does not place, fails the test.
 */

/** Where a declared output field comes from. */
type Source =
  /** Built by the tool (a summary, an echo of the arguments, a flag it sets): nothing upstream to vary. */
  | "tool"
  | {
      /** Its place in the upstream answer (key path; [] is the answer itself). */
      from: readonly string[];
      /** The documentation shows its type: no retyped variant. */
      typed?: boolean;
      /** The documentation promises it, so a tool may refuse an answer without it (with an error). */
      required?: boolean;
    };

interface Case {
  /** The tool's arguments; a function gets the call's number (0 for the unchanged answer). */
  args?: Record<string, unknown> | ((call: number) => Record<string, unknown>);
  /** The upstream answer its fields come from; a path function gets the call's number, as `args` does. */
  answer?: { emulator: keyof Emulators; path: string | ((call: number) => string); method?: string };
  /** Every declared field, by its dotted path in the outputSchema. */
  fields: Record<string, Source>;
}

const DCI = "/api/dci/v3";
const OVC = "/restmachine/cloudapi";
const DM = "/data-manager-api";
const AS = "/account-server-api";
const AWS = "/api/npm.aws_config/1.0";
const LIST = { items: "tool", total: "tool" } as const satisfies Record<string, Source>;
/** A list answer that is the list itself (OpenvCloud, NetProfiler): the items are the answer. */
const BARE_LIST = { items: { from: [], required: true }, total: "tool" } as const satisfies Record<
  string,
  Source
>;
/** A list wrapped under `key` beside a count the tool does not read (the DM's `{count, <key>}`). */
const dmList = (key: string): Record<string, Source> => ({
  items: { from: [key], required: true },
  total: "tool",
});
const { projects, instances } = SQUONK_SEED;
const launch = {
  project_id: projects.kinase,
  name: "schema check",
  collection: "rdkit",
  job: "max-min-picker",
  version: "1.1.0",
  variables: { inputFile: "data/raw/candidates.sdf", count: 5 },
};
const deletable = [
  instances.nopCompleted,
  instances.pickerCompleted,
  instances.pickerFailed,
  instances.eventsRunning,
];

const CASES: Record<string, Case> = {
  infra_status: { args: { check: true }, fields: { services: "tool", read_only: "tool", confirm: "tool" } },
  infra_list_operations: { args: { service: "dci" }, fields: LIST },
  infra_api_get: { args: { service: "dci", path: `${DCI}/server/1` }, fields: {} },
  infra_api_call: { args: { service: "dci", method: "GET", path: `${DCI}/server/2` }, fields: {} },
  ssmcm_list_s3_buckets: {
    answer: { emulator: "ssmcm", path: "/api/v1.0/aws/s3" },
    fields: { items: { from: ["data"], required: true }, total: { from: ["recordsFiltered"] } },
  },
  dci_list_servers: {
    answer: { emulator: "dci", path: `${DCI}/server` },
    fields: { items: { from: ["list"], required: true }, total: { from: ["size"] } },
  },
  dci_get_server: {
    args: { server_id: 3 },
    answer: { emulator: "dci", path: `${DCI}/server/3` },
    fields: {
      id: { from: ["id"], typed: true },
      name: { from: ["name"] },
      state: { from: ["state"], typed: true },
      power_status: { from: ["power_status"] },
      operation: { from: ["operation"], typed: true },
      "operation.status": { from: ["operation", "status"], typed: true },
    },
  },
  dci_power_server: {
    args: { server_id: 1, action: "on" },
    answer: { emulator: "dci", path: `${DCI}/server/1/power_on`, method: "POST" },
    fields: { ok: "tool", server_id: "tool", action: "tool", task: { from: ["task"] }, summary: "tool" },
  },
  dci_update_setting: {
    args: { name: "operation_change_boot_order", value: "true" },
    fields: { ok: "tool", name: "tool", value: "tool", summary: "tool" },
  },
  dci_list_users: {
    answer: { emulator: "dci", path: `${DCI}/user` },
    fields: { items: { from: ["list"], required: true }, total: { from: ["size"] } },
  },
  dci_create_login_key: {
    args: { email: "alice@example.com" },
    answer: { emulator: "dci", path: "/api/auth/v4/user/alice@example.com/key", method: "POST" },
    fields: {
      id: { from: ["id"] },
      key: { from: ["key"], typed: true, required: true },
      login_link: { from: ["key"], typed: true, required: true },
      expires_in_seconds: "tool",
      summary: "tool",
    },
  },
  dci_set_session_ttl: { args: { minutes: 60 }, fields: { ok: "tool", minutes: "tool", summary: "tool" } },
  squonk_list_projects: { answer: { emulator: "squonk", path: `${DM}/project` }, fields: dmList("projects") },
  squonk_list_project_files: {
    args: { project_id: projects.kinase },
    answer: { emulator: "squonk", path: `${DM}/file` },
    fields: dmList("files"),
  },
  squonk_list_jobs: { answer: { emulator: "squonk", path: `${DM}/job` }, fields: dmList("jobs") },
  squonk_start_job_instance: {
    args: launch,
    answer: { emulator: "squonk", path: `${DM}/instance`, method: "POST" },
    fields: {
      instance_id: { from: ["instance_id"], typed: true, required: true },
      task_id: { from: ["task_id"], typed: true, required: true },
    },
  },
  squonk_list_instances: {
    answer: { emulator: "squonk", path: `${DM}/instance` },
    fields: dmList("instances"),
  },
  squonk_wait_for_instance: {
    args: { instance_id: instances.referenceCompleted, timeout_seconds: 5 },
    fields: { finished: "tool", succeeded: "tool", summary: "tool" },
  },
  squonk_delete_instance: {
    args: (call) => ({ instance_id: deletable[call] }),
    answer: { emulator: "squonk", path: (call) => `${DM}/instance/${deletable[call]}`, method: "DELETE" },
    fields: { ok: "tool", task_id: { from: ["task_id"] } },
  },
  squonk_delete_project_instances: {
    args: { project_id: projects.docking },
    fields: { deleted: "tool", failed: "tool", outcomes: "tool" },
  },
  squonk_list_tasks: { answer: { emulator: "squonk", path: `${DM}/task` }, fields: dmList("tasks") },
  squonk_list_products: {
    answer: { emulator: "squonk", path: `${AS}/product` },
    fields: { items: { from: ["products"], required: true }, total: { from: ["count"] } },
  },
  squonk_list_units: {
    answer: { emulator: "squonk", path: `${AS}/unit` },
    fields: { items: { from: ["units"], required: true }, total: { from: ["count"] } },
  },
  ovc_list_locations: { answer: { emulator: "ovc", path: `${OVC}/locations/list` }, fields: BARE_LIST },
  ovc_get_portal_url: {
    answer: { emulator: "ovc", path: `${OVC}/locations/getUrl` },
    fields: { url: { from: [], typed: true, required: true } },
  },
  ovc_list_accounts: { answer: { emulator: "ovc", path: `${OVC}/accounts/list` }, fields: BARE_LIST },
  ovc_list_cloudspaces: { answer: { emulator: "ovc", path: `${OVC}/cloudspaces/list` }, fields: BARE_LIST },
  ovc_list_machines: {
    args: { cloudspace_id: 101 },
    answer: { emulator: "ovc", path: `${OVC}/machines/list` },
    fields: BARE_LIST,
  },
  ovc_list_images: { answer: { emulator: "ovc", path: `${OVC}/images/list` }, fields: BARE_LIST },
  ovc_list_sizes: {
    args: { location: "be-gen-1" },
    answer: { emulator: "ovc", path: `${OVC}/sizes/list` },
    fields: BARE_LIST,
  },
  ovc_get_task: { fields: { task_guid: "tool", status: "tool", error: "tool" } },
  netprofiler_get_aws_status: {
    answer: { emulator: "netprofiler", path: `${AWS}/status` },
    fields: {
      enabled: { from: ["enabled"], typed: true },
      state: { from: ["state"], typed: true },
      last_sync_ts: { from: ["last_sync_ts"], typed: true },
      last_success_ts: { from: ["last_success_ts"], typed: true },
      error_id: { from: ["error_id"], typed: true },
      error_text: { from: ["error_text"], typed: true },
    },
  },
  netprofiler_list_aws_accounts: {
    answer: { emulator: "netprofiler", path: `${AWS}/auth_codes` },
    fields: BARE_LIST,
  },
  netprofiler_put_aws_accounts: {
    args: {
      accounts: [{ acc_id: "schema-check", access_key: "AKIASCHEMACHECK00001", secret_key: "s-0123456789" }],
    },
    fields: { ok: "tool", summary: "tool", acc_ids: "tool" },
  },
  netprofiler_delete_aws_accounts: {
    args: { acc_ids: ["schema-check"] },
    fields: { ok: "tool", summary: "tool", acc_ids: "tool" },
  },
  netprofiler_sync_aws_accounts: {
    answer: { emulator: "netprofiler", path: `${AWS}/status` },
    fields: {
      ok: "tool",
      summary: "tool",
      finished: "tool",
      status: { from: [], typed: true, required: true },
    },
  },
  netprofiler_set_aws_sync: { args: { status: "ENABLED" }, fields: { ok: "tool", summary: "tool" } },
};

/** The dotted paths of every field an output schema declares, nested objects' fields included. */
function declaredFields(schema: Record<string, unknown>, prefix = ""): string[] {
  const branches = [schema, ...((schema.anyOf as Record<string, unknown>[] | undefined) ?? [])];
  const fields: string[] = [];
  for (const branch of branches) {
    const properties = branch.properties as Record<string, Record<string, unknown>> | undefined;
    for (const [name, property] of Object.entries(properties ?? {})) {
      fields.push(`${prefix}${name}`, ...declaredFields(property, `${prefix}${name}.`));
    }
  }
  return fields;
}

type Variant = "left out" | "null" | "of another type";

/** The edit that gives a field one variant, and whether the answer had the field at all. */
function editor(
  from: readonly string[],
  variant: Variant,
): { edit: (body: unknown) => unknown; found: () => boolean } {
  let found = false;
  const changed = (value: unknown) =>
    variant === "null" ? null : typeof value === "string" ? 42 : typeof value === "number" ? "42" : 1;
  const edit = (body: unknown): unknown => {
    if (from.length === 0) {
      found = true;
      return changed(body);
    }
    const copy = structuredClone(body);
    let parent = copy as Record<string, unknown> | null;
    for (const key of from.slice(0, -1)) parent = (parent?.[key] as Record<string, unknown> | null) ?? null;
    const key = from.at(-1) as string;
    if (parent === null || typeof parent !== "object" || !(key in parent)) return copy;
    found = true;
    if (variant === "left out") delete parent[key];
    else parent[key] = changed(parent[key]);
    return copy;
  };
  return { edit, found: () => found };
}

let harness: Harness;
let listed: Tool[];
const validator = new AjvJsonSchemaValidator();

beforeAll(async () => {
  harness = await startHarness({ env: { INFRA_MCP_CONFIRM: "off", INFRA_MCP_TIMEOUT_MS: "10000" } });
  harness.dci.operationDurationMs = 0;
  harness.netprofiler.syncDurationMs = 0;
  // The SDK client keeps the listed output schemas and checks every result against them, as well.
  listed = (await harness.client.listTools()).tools;
});
afterAll(async () => {
  await harness?.close();
});

/**
 * Calls a tool and says what is wrong with its result, if anything: the SDK client refused it, or its
 * structuredContent does not conform to the listed outputSchema.
 */
async function callChecked(
  tool: Tool,
  args: Record<string, unknown>,
  what: string,
): Promise<{ result?: CallToolResult; problem?: string }> {
  let result: CallToolResult;
  try {
    result = await harness.call(tool.name, args);
  } catch (error) {
    return { problem: `${what}: the SDK client refused the result: ${(error as Error).message}` };
  }
  if (result.structuredContent === undefined) return { result };
  const check = validator.getValidator(tool.outputSchema as Record<string, unknown>)(
    result.structuredContent,
  );
  if (check.valid) return { result };
  return { result, problem: `${what}: ${check.errorMessage} in ${JSON.stringify(result.structuredContent)}` };
}

describe("output schemas against what the platforms may answer", () => {
  it("has a case for every tool with an output schema, placing every field it declares", () => {
    const withSchema = listed.filter((tool) => tool.outputSchema !== undefined);
    expect(withSchema.length).toBeGreaterThan(30);
    expect(Object.keys(CASES).sort()).toEqual(withSchema.map((tool) => tool.name).sort());
    for (const tool of withSchema) {
      const declared = declaredFields(tool.outputSchema as Record<string, unknown>);
      expect(Object.keys(CASES[tool.name]?.fields ?? {}).sort(), tool.name).toEqual(
        [...new Set(declared)].sort(),
      );
    }
  });

  it("validates every result against the listed schema: the answer as seeded, and each field left out, null or retyped", async () => {
    const ovcTask = await harness.call("ovc_create_cloudspace", {
      account_id: 2,
      location: "nl-ams-1",
      name: "schema-check",
      access: "sandbox-admin",
      wait: false,
    });
    const { task_guid } = ovcTask.structuredContent as { task_guid: string };
    CASES.ovc_get_task = { ...CASES.ovc_get_task, args: { task_guid } } as Case;
    let variants = 0;
    // Every mismatch, so that one run names them all.
    const problems: string[] = [];
    for (const tool of listed.filter((candidate) => candidate.outputSchema !== undefined)) {
      const { args = {}, answer, fields } = CASES[tool.name] as Case;
      let call = 0;
      const argsFor = () => (typeof args === "function" ? args(call++) : args);
      const seeded = await callChecked(tool, argsFor(), `${tool.name} as seeded`);
      if (seeded.problem !== undefined) problems.push(seeded.problem);
      expect(seeded.result?.isError, `${tool.name} as seeded`).toBeFalsy();
      expect(seeded.result?.structuredContent, tool.name).toBeDefined();
      for (const [field, source] of Object.entries(fields)) {
        if (source === "tool" || answer === undefined) continue;
        const kinds: Variant[] = source.from.length > 0 ? ["left out", "null"] : ["null"];
        if (!source.typed) kinds.push("of another type");
        for (const variant of kinds) {
          const what = `${tool.name} with ${field} ${variant}`;
          const emulator = harness[answer.emulator];
          const { edit, found } = editor(source.from, variant);
          const before = emulator.requests.filter((request) => request.reshaped).length;
          const options = answer.method === undefined ? {} : { method: answer.method };
          const path = typeof answer.path === "function" ? answer.path(call) : answer.path;
          emulator.reshapeNext(1, path, edit, options);
          const { result, problem } = await callChecked(tool, argsFor(), what);
          emulator.clearFaults();
          // The edit reached the answer, and the answer had the field to edit: the case is not a no-op.
          expect(emulator.requests.filter((request) => request.reshaped).length, what).toBe(before + 1);
          expect(found(), `${what}: the upstream answer has no ${source.from.join(".")}`).toBe(true);
          variants += 1;
          if (problem !== undefined) {
            problems.push(problem);
          } else if (result?.isError && !source.required) {
            problems.push(`${what}: refused a good answer: ${textOf(result)}`);
          } else if (result?.isError && !/expected|without/.test(textOf(result))) {
            // A promised field missing is a broken answer: an error saying what came instead is right.
            problems.push(`${what}: not an error saying what came instead: ${textOf(result)}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    expect(variants).toBeGreaterThan(40);
  });
});
