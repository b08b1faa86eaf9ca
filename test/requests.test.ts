import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SQUONK_SEED } from "../src/platforms/squonk/emulator/index.js";
import type { AuditRecord } from "../src/safety/audit.js";
import { canonicalPath } from "../src/safety/policy.js";
import { INFRA_TOOLSET } from "../src/tools/define.js";
import { allTools, type Harness, scratchDir, startHarness } from "./helpers.js";

/**
 * A tool's declaration of the requests a call will send is what lets the operator's policy refuse a call
 * before anyone is asked to confirm it. Here every platform tool is called once against the emulators,
 * and each request its session actually sent (the audit trail lists them) must be one it declared.
 */

const { projects, instances, tasks } = SQUONK_SEED;
const NOP = { collection: "im-test", job: "nop", version: "1.0.0" };

/** One call per platform tool, with arguments the emulators' seed data answers. */
const CALLS: Record<string, Record<string, unknown>[]> = {
  ssmcm_list_s3_buckets: [{}, { search: "logs", limit: 5, offset: 5 }],

  dci_list_servers: [{ where: "id EQ 1" }],
  dci_get_server: [{ server_id: 1 }],
  dci_power_server: [{ server_id: 3, action: "on" }],
  dci_update_setting: [{ name: "ipmi_proxy_enabled", value: "false" }],
  dci_list_users: [{}],
  dci_create_login_key: [{ email: "admin@dci.example.com" }],
  dci_set_session_ttl: [{ minutes: 60 }],

  squonk_list_projects: [{}],
  squonk_get_project: [{ project_id: projects.kinase }],
  squonk_list_project_files: [{ project_id: projects.kinase, path: "/data" }],
  squonk_list_jobs: [{}],
  squonk_get_job: [{ job_id: 1 }, NOP],
  squonk_start_job_instance: [{ project_id: projects.docking, name: "declared", ...NOP }],
  squonk_dry_run_job_instance: [{ project_id: projects.docking, name: "declared", ...NOP }],
  squonk_list_instances: [{ project_id: projects.kinase }],
  squonk_get_instance: [{ instance_id: instances.nopCompleted }],
  squonk_wait_for_instance: [{ instance_id: instances.nopCompleted, timeout_seconds: 5 }],
  squonk_delete_instance: [{ instance_id: instances.pickerFailed }],
  squonk_delete_project_instances: [{ project_id: projects.docking }],
  squonk_get_task: [{ task_id: tasks.nopCompleted }],
  squonk_list_tasks: [{ exclude_done: true }],
  squonk_list_products: [{}],
  squonk_list_units: [{}],

  ovc_list_locations: [{}],
  ovc_get_portal_url: [{}],
  ovc_list_accounts: [{}],
  ovc_get_account: [{ account_id: 2 }],
  ovc_list_cloudspaces: [{ include_deleted: true }],
  ovc_get_cloudspace: [{ cloudspace_id: 101 }],
  ovc_create_cloudspace: [
    { account_id: 2, location: "nl-ams-1", name: "declared-1", access: "sandbox-admin", wait: false },
    { account_id: 2, location: "nl-ams-1", name: "declared-2", access: "sandbox-admin" },
  ],
  ovc_delete_cloudspace: [{ cloudspace_id: 103 }],
  ovc_list_machines: [{ cloudspace_id: 101 }],
  ovc_get_machine: [{ machine_id: 1003 }],
  ovc_create_machine: [
    { cloudspace_id: 101, name: "declared", image_id: 1, disk_size_gb: 20, size_id: 1, wait: false },
  ],
  ovc_machine_action: [{ machine_id: 1003, action: "stop", force: true }],
  ovc_delete_machine: [{ machine_id: 1004, permanently: true }],
  ovc_list_images: [{ account_id: 1 }],
  ovc_create_image: [
    {
      name: "declared",
      url: "https://images.example.com/d.qcow2",
      gid: 212,
      image_type: "Linux",
      boot_type: "uefi",
      account_id: 1,
      wait: false,
    },
  ],
  ovc_list_sizes: [{ location: "nl-ams-1" }],
  ovc_get_task: [{ task_guid: "00000000-0000-0000-0000-000000000000" }],

  netprofiler_get_aws_status: [{}],
  netprofiler_list_aws_accounts: [{}],
  netprofiler_put_aws_accounts: [{ accounts: [{ acc_id: "declared", access_key: "AKIADECLARED" }] }],
  netprofiler_delete_aws_accounts: [{ acc_ids: ["staging"] }],
  netprofiler_sync_aws_accounts: [{}, { wait: false }],
  netprofiler_set_aws_sync: [{ status: "DISABLED" }],
};

const platformTools = allTools.filter((tool) => tool.toolset !== INFRA_TOOLSET);

let harness: Harness;
let file: string;
beforeAll(async () => {
  file = join(scratchDir(), "audit.jsonl");
  harness = await startHarness({
    env: { INFRA_MCP_AUDIT_FILE: file, INFRA_MCP_AUDIT: "all", INFRA_MCP_CONFIRM: "off" },
  });
});
afterAll(async () => {
  await harness.close();
});

describe("what a tool declares it will send", () => {
  it("every platform tool declares its requests, and every one is called below", () => {
    expect(platformTools.filter((tool) => tool.requests === undefined).map((tool) => tool.name)).toEqual([]);
    expect(Object.keys(CALLS).sort()).toEqual(platformTools.map((tool) => tool.name).sort());
  });

  for (const tool of platformTools) {
    it(`${tool.name}: each request its session sent is one it declared`, async () => {
      for (const args of CALLS[tool.name] ?? []) {
        const prepared = harness.runtime.catalog.byName.get(tool.name);
        expect(prepared, tool.name).toBeDefined();
        const parsed = prepared?.input.parse(args) as Record<string, unknown>;
        const own = harness.runtime.sessions.get(tool.api ?? "");
        const declared =
          tool.requests?.(
            parsed,
            own ? { apis: harness.runtime.sessions, own } : { apis: harness.runtime.sessions },
          ) ?? [];
        await harness.call(tool.name, args);
        const records = readFileSync(file, "utf8")
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as AuditRecord);
        const record = records.filter((r) => r.tool === tool.name && r.outcome !== "started").at(-1);
        expect(
          record?.upstream.length,
          `${tool.name} sent nothing with ${JSON.stringify(args)}`,
        ).toBeGreaterThan(0);
        const undeclared = (record?.upstream ?? []).filter(
          (sent) =>
            !declared.some(
              (plan) =>
                plan.method === sent.method &&
                (plan.path === undefined || canonicalPath(plan.path) === canonicalPath(sent.path)),
            ),
        );
        expect(
          undeclared,
          `${tool.name} ${JSON.stringify(args)} declared ${JSON.stringify(declared)}`,
        ).toEqual([]);
        const apis = new Set(declared.map((plan) => plan.api ?? tool.api));
        for (const service of record?.services ?? []) expect(apis.has(service), service).toBe(true);
      }
    });
  }
});
