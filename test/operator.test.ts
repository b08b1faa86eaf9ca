import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { builtCli, finished, spawnCli } from "./built.js";
import { configProblems, policyFile, scratchDir, startEmulators, textOf } from "./helpers.js";
import { TOOLS_MD_EXAMPLE } from "./policies.js";

const DCI = "/api/dci/v3";

describe("infra-mcp policy check", () => {
  it("prints the rules as understood, the tools each names, and what looks like a mistake (exit 0)", async () => {
    const path = policyFile([
      ...TOOLS_MD_EXAMPLE,
      { id: "typo", effect: "deny", tools: ["ovc_delet_*"], services: ["dcii"] },
      { id: "unreachable", effect: "allow", tools: ["ovc_delete_*"] },
    ]);
    const { code, stdout } = await finished(spawnCli(["policy", "check", path]));
    expect(stdout).toContain(`${path}: 6 rules.`);
    expect(stdout).toContain(
      "1. no-ovc-deletes: deny when tool is ovc_delete_* (reason: deletions go through change control)",
    );
    expect(stdout).toContain("tools it names: ovc_delete_cloudspace, ovc_delete_machine");
    expect(stdout).toContain('rule "typo": tools pattern "ovc_delet_*" matches no tool of this build');
    expect(stdout).toContain('rule "typo": services pattern "dcii" matches no API (ssmcm, dci, squonk_dm');
    expect(stdout).toContain('rule "unreachable" is never reached: rule "no-ovc-deletes" before it');
    expect(code).toBe(0);
  });

  it("refuses a bad file naming each rule and field (exit 2)", async () => {
    const path = join(scratchDir(), "bad.json");
    writeFileSync(path, JSON.stringify({ rules: [{ id: "x", efect: "deny" }, { effect: "allow" }] }));
    const { code, stderr } = await finished(spawnCli(["policy", "check", path]));
    expect(stderr).toContain(`${path} is not a valid policy`);
    expect(stderr).toContain(
      'rule "x" (rules[0]), field "effect": missing: it must be one of allow, confirm, deny',
    );
    expect(stderr).toContain('rule "x" (rules[0]), field "efect": not a field of a rule');
    expect(stderr).toContain('rules[1] (a rule without an id), field "id": missing');
    expect(code).toBe(2);
  });
});

describe("a bad policy at start-up", () => {
  it("is a configuration error: exit 2, naming INFRA_MCP_POLICY, the rule and the field", async () => {
    const path = join(scratchDir(), "policy.json");
    writeFileSync(path, JSON.stringify({ rules: [{ id: "a", effect: "block" }] }));
    const { code, stderr, stdout } = await finished(spawnCli(["--sandbox"], { INFRA_MCP_POLICY: path }));
    expect(stderr).toContain(
      `INFRA_MCP_POLICY: ${path}: rule "a" (rules[0]), field "effect": it must be one of allow, confirm, deny`,
    );
    expect(stdout).toBe("");
    expect(code).toBe(2);
  });

  it("reads as problems in the configuration, with INFRA_MCP_AUDIT checked beside it", () => {
    expect(configProblems({ INFRA_MCP_POLICY: join(scratchDir(), "missing.json") })).toEqual([
      expect.stringMatching(/^INFRA_MCP_POLICY: .*missing\.json: the file cannot be read \(ENOENT\)/),
    ]);
    expect(configProblems({ INFRA_MCP_AUDIT: "all" })).toEqual([
      "INFRA_MCP_AUDIT: set, but INFRA_MCP_AUDIT_FILE (where the trail is written) is not (INFRA_MCP_AUDIT_FILE=/var/log/infra-mcp/audit.jsonl)",
    ]);
    expect(configProblems({ INFRA_MCP_AUDIT_FILE: "/tmp/a.jsonl", INFRA_MCP_AUDIT: "some" })).toEqual([
      'INFRA_MCP_AUDIT: "some" is not one of changes, all (INFRA_MCP_AUDIT=changes)',
    ]);
  });
});

describe("infra-mcp policy explain", () => {
  it("says which rule decides a call and sends nothing", async () => {
    const upstreams = await startEmulators();
    try {
      const path = policyFile(TOOLS_MD_EXAMPLE);
      const explain = (tool: string, args: unknown, ...extra: string[]) =>
        finished(
          spawnCli(["policy", "explain", "--tool", tool, "--args", JSON.stringify(args), ...extra], {
            ...upstreams.env,
            INFRA_MCP_POLICY: path,
          }),
        );
      const denied = await explain("infra_api_call", {
        service: "dci",
        method: "POST",
        path: `${DCI}/server/2/power_reset`,
      });
      expect(denied.stdout).toContain(
        `dci POST ${DCI}/server/2/power_reset: rule "protect-core-servers" (deny)`,
      );
      expect(denied.stdout).toContain(
        'Decision: refused before anyone is asked, by rule "protect-core-servers"',
      );
      expect(denied.code).toBe(0);

      const confirmed = await explain("dci_update_setting", { name: "x", value: "1" });
      expect(confirmed.stdout).toContain(
        'Decision: asks for confirmation first, by rule "settings-need-a-human"',
      );
      const allowed = await explain("netprofiler_sync_aws_accounts", {});
      expect(allowed.stdout).toContain('Decision: acts without asking, by rule "syncs-are-routine"');
      const byDefault = await explain("netprofiler_delete_aws_accounts", { acc_ids: ["a"] });
      expect(byDefault.stdout).toContain("Without a matching rule: it asks for confirmation");
      expect(byDefault.stdout).toContain("Decision: asks for confirmation first, by the default");
      const remote = await explain("netprofiler_get_aws_status", {}, "--principal", "http");
      expect(remote.stdout).toContain("called by http: a read-only call");

      const unknown = await explain("no_such_tool", {});
      expect(unknown.stderr).toContain("there is no tool no_such_tool");
      expect(unknown.code).toBe(2);
      const invalid = await explain("dci_power_server", { server_id: "one" });
      expect(invalid.stderr).toContain("--args do not fit dci_power_server");
      expect(invalid.code).toBe(2);

      for (const emulator of Object.values(upstreams.emulators)) expect(emulator.requests).toEqual([]);
    } finally {
      await upstreams.stop();
    }
  });
});

describe("SIGHUP on the built server", () => {
  it("reloads a good file (the tool list changes, clients are told) and keeps the policy in force after a bad one", async () => {
    const path = policyFile([]);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [builtCli(), "--sandbox"],
      env: { PATH: process.env.PATH ?? "", INFRA_MCP_POLICY: path },
      stderr: "pipe",
    });
    let stderr = "";
    transport.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const client = new Client({ name: "sighup-test", version: "1" });
    let listChanged = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      listChanged += 1;
    });
    await client.connect(transport);
    try {
      expect(client.getServerCapabilities()?.tools).toEqual({ listChanged: true });
      const setting = { name: "ipmi_proxy_enabled", value: "false" };
      const before = await client.callTool({ name: "dci_update_setting", arguments: setting });
      expect(before.structuredContent).toMatchObject({ ok: true });

      writeFileSync(
        path,
        JSON.stringify({
          rules: [{ id: "settings-need-a-human", effect: "confirm", tools: ["dci_update_setting"] }],
        }),
      );
      process.kill(transport.pid as number, "SIGHUP");
      await expect
        .poll(() => stderr, { timeout: 10_000 })
        .toContain(`policy reloaded from ${path}: 1 rule(s) in force`);
      await expect.poll(() => listChanged, { timeout: 10_000 }).toBe(1);
      const { tools } = await client.listTools();
      const listed = tools.find((tool) => tool.name === "dci_update_setting");
      expect(Object.keys(listed?.inputSchema.properties ?? {})).toContain("confirmation_token");
      const after = await client.callTool({ name: "dci_update_setting", arguments: setting });
      expect(after.structuredContent).toMatchObject({ confirmation_required: true });

      writeFileSync(path, "{ not json");
      process.kill(transport.pid as number, "SIGHUP");
      await expect
        .poll(() => stderr, { timeout: 10_000 })
        .toContain("policy reload failed, so the policy in force stays as it was");
      expect(stderr).toContain(`${path}:\n  - the file is not JSON`);
      const still = await client.callTool({ name: "dci_update_setting", arguments: setting });
      expect(still.structuredContent).toMatchObject({ confirmation_required: true });
      expect(textOf(still as Parameters<typeof textOf>[0])).toContain("confirmation_token");
      expect(listChanged).toBe(1);
    } finally {
      await client.close();
    }
  });
});
