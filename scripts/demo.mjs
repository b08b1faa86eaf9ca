#!/usr/bin/env node
// The quick-start demo: runs the built server against its built-in sandbox over stdio, driven by the
// real MCP SDK client, and prints a readable transcript of what an assistant would see.
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const width = 110;

function show(value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > width * 3 ? `${text.slice(0, width * 3)}…` : text;
}

const transport = new StdioClientTransport({
  command: process.execPath,
  args: [cli, "--sandbox"],
  env: { PATH: process.env.PATH ?? "", INFRA_MCP_LOG_LEVEL: "warn" },
  stderr: "inherit",
});
const client = new Client({ name: "infra-mcp-demo", version: "1.0.0" });
let failures = 0;

async function call(name, args = {}, note = "") {
  console.log(`\n${bold(`> ${name}`)} ${JSON.stringify(args)}${note ? `   # ${note}` : ""}`);
  const result = await client.callTool({ name, arguments: args }, undefined, {
    onprogress: ({ progress, message }) => console.log(`  … progress ${progress}: ${message ?? ""}`),
  });
  const text = result.content?.map((part) => part.text).join("\n") ?? "";
  console.log(`${result.isError ? "  ERROR " : "  "}${show(text)}`);
  return result;
}

/** A destructive call as a client without elicitation makes it: a preview and a token, then the same call with it. */
async function callConfirmed(name, args) {
  const plan = await call(name, args, "destructive: the server asks first");
  const token = plan.structuredContent?.confirmation_token;
  expect(typeof token === "string", `no confirmation token from ${name}`);
  const done = await call(
    name,
    { ...args, confirmation_token: token },
    "the user agreed: same arguments plus the token",
  );
  expect(!done.isError, `confirmed ${name} failed`);
  return done;
}

function expect(condition, message) {
  if (!condition) {
    failures += 1;
    console.log(`  !! unexpected: ${message}`);
  }
}

try {
  await client.connect(transport);
  const info = client.getServerVersion();
  console.log(
    bold(`Connected to ${info.name} ${info.version} (the sandbox: every platform emulated on 127.0.0.1)`),
  );
  const { tools } = await client.listTools();
  console.log(`\n${bold(`tools/list: ${tools.length} tools`)}`);
  for (const tool of tools) {
    const marks = tool.annotations?.readOnlyHint ? "RO" : tool.annotations?.destructiveHint ? "D " : "M ";
    console.log(`  ${marks} ${tool.name.padEnd(34)} ${tool.title}`);
  }

  const status = await call("infra_status", { check: true }, "which services, logged in?");
  expect(!status.isError, "infra_status failed");

  console.log(`\n${bold("## SSMCM multicloud inventory")}`);
  const buckets = await call(
    "ssmcm_list_s3_buckets",
    { search: "eu-west-1", limit: 5, fields: ["name", "account_name", "size_bytes", "public"] },
    "search and paging run upstream (length/start); total counts the matches",
  );
  expect(!buckets.isError && buckets.structuredContent?.items?.length === 5, "no S3 buckets listed");
  const operations = await call(
    "infra_list_operations",
    { service: "ssmcm", filter: "GET azure" },
    "read from the instance's own Swagger document",
  );
  expect(operations.structuredContent?.source?.includes("Swagger"), "the Swagger document was not read");

  console.log(`\n${bold("## DCImanager 6 bare-metal servers")}`);
  const servers = await call(
    "dci_list_servers",
    {
      where: "location_id EQ 2 AND power_status EQ 'on'",
      orderby: "name asc",
      fields: ["id", "name", "power_status"],
    },
    "the filter runs upstream, in DCImanager's own where syntax",
  );
  const running = servers.structuredContent?.items ?? [];
  expect(!servers.isError && running.length > 0, "no running servers in location 2");
  const target = running[0]?.id;
  const server = await call("dci_get_server", { server_id: target });
  expect(server.structuredContent?.power_status === "on", "the server is not powered on");
  await callConfirmed("dci_power_server", { server_id: target, action: "off" });
  const setting = await call("dci_update_setting", { name: "operation_change_boot_order", value: "false" });
  expect(!setting.isError, "setting update failed");
  const badFilter = await call(
    "dci_list_servers",
    { where: "name EQ" },
    "a filter the platform cannot parse: its own error, not an empty list",
  );
  expect(badFilter.isError, "a bad filter was not an error");

  console.log(`\n${bold("## Squonk2 Data Manager and Account Server")}`);
  const projects = await call(
    "squonk_list_projects",
    { fields: ["project_id", "name"] },
    "logs in at Keycloak (password grant, form-encoded), then asks the DM",
  );
  const project = projects.structuredContent?.items?.[0]?.project_id;
  expect(typeof project === "string", "no Squonk2 project listed");
  const spec = { collection: "im-test", job: "event-test", version: "1.0.0", variables: { eventCount: 4 } };
  const started = await call(
    "squonk_start_job_instance",
    { project_id: project, name: "Demo run", ...spec },
    "a form body, the specification a JSON string inside it",
  );
  const instance = started.structuredContent?.instance_id;
  expect(typeof instance === "string", "the job did not start");
  const waited = await call(
    "squonk_wait_for_instance",
    { instance_id: instance, timeout_seconds: 60 },
    "polls the instance, reporting its phase as progress",
  );
  expect(waited.structuredContent?.succeeded === true, "the job did not complete");
  const events = await call(
    "squonk_get_task",
    { task_id: started.structuredContent?.task_id, event_limit: 3 },
    "the job's log, a page at a time",
  );
  expect(events.structuredContent?.next_event_prior_ordinal === 3, "no next page of events");
  await call("squonk_list_units", { fields: ["unit_id", "name"] }, "the Account Server, with its own client");

  console.log(`\n${bold("## OpenvCloud private cloud")}`);
  const locations = await call("ovc_list_locations", { fields: ["locationCode", "gid", "name"] });
  expect(locations.structuredContent?.items?.length === 2, "no OpenvCloud locations");
  const space = await call(
    "ovc_create_cloudspace",
    { account_id: 1, location: "be-gen-1", name: "demo-space", access: "sandbox-admin" },
    "an _async task: system/task/get is polled, with a progress notification per poll",
  );
  const spaceId = space.structuredContent?.cloudspace_id;
  expect(
    space.structuredContent?.status === "succeeded" && typeof spaceId === "number",
    "cloudspace not created",
  );
  const deploying = await call("ovc_get_cloudspace", { cloudspace_id: spaceId }, "it goes on deploying");
  expect(!deploying.isError, "the new cloudspace cannot be read");
  const vm = await call(
    "ovc_create_machine",
    { cloudspace_id: spaceId, name: "demo-vm", image_id: 1, size_id: 1, disk_size_gb: 10, wait: false },
    "wait: false hands back the task at once",
  );
  const taskGuid = vm.structuredContent?.task_guid;
  expect(vm.structuredContent?.status === "running", "the machine's task is not running");
  const task = await call("ovc_get_task", { task_guid: taskGuid });
  expect(["running", "succeeded"].includes(task.structuredContent?.status), "the task cannot be read");
  await callConfirmed("ovc_machine_action", { machine_id: 1001, action: "stop" });
  const occupied = await call(
    "ovc_list_machines",
    { cloudspace_id: 999 },
    "an unknown id: the platform's words, and which tool finds ids",
  );
  expect(occupied.isError, "an unknown cloudspace was not an error");

  console.log(`\n${bold("## NetProfiler AWS integration")}`);
  await call("netprofiler_get_aws_status");
  await call("netprofiler_list_aws_accounts", { fields: ["acc_id"] });
  const put = await call(
    "netprofiler_put_aws_accounts",
    { accounts: [{ acc_id: "research", access_key: "AKIAIOSFODNN7RESRCH1", secret_key_ref: "SANDBOX_AWS" }] },
    "the secret comes from INFRA_MCP_SECRET_SANDBOX_AWS, never from the chat",
  );
  expect(!put.isError, "put failed");
  await call("netprofiler_sync_aws_accounts", {}, "waits for the sync to end, reporting progress");

  await callConfirmed("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] });
  const list = await call("netprofiler_list_aws_accounts", {});
  expect(!list.structuredContent?.items?.some((a) => a.acc_id === "staging"), "staging still listed");

  const bad = await call(
    "infra_api_get",
    { service: "netprofiler", path: "/api/npm.aws_config/1.0/nothing" },
    "an upstream error, as the model reads it",
  );
  expect(bad.isError, "404 was not an error");

  await call("infra_status", {}, "sessions after the tour");
  console.log(
    `\n${failures === 0 ? bold("Demo finished: every step behaved as expected.") : bold(`Demo finished with ${failures} unexpected result(s).`)}`,
  );
} catch (error) {
  failures += 1;
  console.error(`demo failed: ${error?.stack ?? error}`);
} finally {
  await client.close().catch(() => undefined);
}
process.exit(failures === 0 ? 0 : 1);
