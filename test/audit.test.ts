import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { SQUONK_SEED } from "../src/platforms/squonk/emulator/index.js";
import {
  type AuditEntry,
  type AuditRecord,
  AuditTrail,
  newCallId,
  verifyTrail,
} from "../src/safety/audit.js";
import { builtCli, finished, root, spawnCli } from "./built.js";
import {
  auditRecords,
  type Harness,
  type HarnessOptions,
  policyFile,
  scratchDir,
  startEmulators,
  startHarness,
  textOf,
} from "./helpers.js";

const AWS = "/api/npm.aws_config/1.0";
const DCI = "/api/dci/v3";

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

async function audited(
  options: HarnessOptions & { file?: string } = {},
): Promise<Harness & { file: string }> {
  const file = options.file ?? join(scratchDir(), "audit.jsonl");
  const harness = await startHarness({ ...options, env: { INFRA_MCP_AUDIT_FILE: file, ...options.env } });
  harnesses.push(harness);
  return Object.assign(harness, { file });
}

/** The digest TOOLS.md describes, computed here from scratch: SHA-256 of the JSON with sorted keys. */
function sha256OfArguments(args: Record<string, unknown>): string {
  const sorted = (value: unknown): unknown =>
    value === null || typeof value !== "object"
      ? value
      : Array.isArray(value)
        ? value.map(sorted)
        : Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
          );
  return createHash("sha256")
    .update(JSON.stringify(sorted(args)))
    .digest("hex");
}

describe("the record of every decision", () => {
  it("a change acted on without asking: a record before it acts, one after with what was sent", async () => {
    const h = await audited();
    const result = await h.call("netprofiler_set_aws_sync", { status: "DISABLED" });
    expect(result.isError).toBeFalsy();
    const [before, after] = auditRecords(h.file);
    const common = {
      seq: 1,
      principal: "local",
      client: "test-client/1.0.0",
      tool: "netprofiler_set_aws_sync",
      services: ["netprofiler"],
      args_sha256: sha256OfArguments({ status: "DISABLED" }),
      targets: {},
      decision: "allowed",
    };
    expect(before).toMatchObject({ ...common, upstream: [], outcome: "started", prev: "" });
    expect(after).toMatchObject({
      ...common,
      seq: 2,
      call: before?.call,
      // Logins are the session's own business: the record lists the tool's requests.
      upstream: [{ method: "PUT", path: `${AWS}/sync/status`, status: 204 }],
      outcome: "ok",
      prev: before?.hash,
    });
    expect(Object.keys(after ?? {})).toEqual([
      "time",
      "seq",
      "call",
      "principal",
      "client",
      "tool",
      "services",
      "args_sha256",
      "targets",
      "decision",
      "upstream",
      "outcome",
      "duration_ms",
      "prev",
      "hash",
    ]);
    expect(new Date(after?.time ?? "").toISOString()).toBe(after?.time);
    expect(after?.duration_ms).toBeGreaterThanOrEqual(0);
    // The upstream saw exactly what the record says was sent.
    expect(h.netprofiler.requestsTo(AWS).map((r) => `${r.method} ${r.path}`)).toEqual([
      `PUT ${AWS}/sync/status`,
    ]);
  });

  it("a confirmation asked with a token, then accepted: asked, then confirmed with the token", async () => {
    const h = await audited();
    const args = { acc_ids: ["staging"] };
    const first = await h.call("netprofiler_delete_aws_accounts", args);
    const { confirmation_token } = first.structuredContent as { confirmation_token: string };
    await h.call("netprofiler_delete_aws_accounts", { ...args, confirmation_token });
    const again = await h.call("netprofiler_delete_aws_accounts", { ...args, confirmation_token });
    expect(again.isError).toBe(true);
    const trail = auditRecords(h.file);
    expect(trail.map((r) => [r.decision, r.confirmation, r.outcome])).toEqual([
      ["asked", "token", "ok"],
      ["confirmed", "token", "started"],
      ["confirmed", "token", "ok"],
      ["refused", "token", "error"],
    ]);
    // The token is never written, and every record names the same arguments and target.
    for (const record of trail) {
      expect(record.args_sha256).toBe(sha256OfArguments(args));
      expect(record.targets).toEqual({ acc_ids: ["staging"] });
    }
    expect(readFileSync(h.file, "utf8")).not.toContain(confirmation_token);
    expect(trail[3]?.error).toContain("was already used");
    expect(trail[2]?.upstream).toEqual([{ method: "DELETE", path: `${AWS}/auth_codes`, status: 204 }]);
  });

  it("confirmed and declined through elicitation", async () => {
    for (const [answer, decision, outcome] of [
      ["accept", "confirmed", "ok"],
      ["decline", "declined", "error"],
    ] as const) {
      const h = await audited({
        capabilities: { capabilities: { elicitation: { form: {} } } },
        prepareClient: (client) =>
          client.setRequestHandler(ElicitRequestSchema, async () =>
            answer === "accept" ? { action: "accept", content: { confirm: true } } : { action: "decline" },
          ),
      });
      await h.call("netprofiler_delete_aws_accounts", { acc_ids: ["staging"] });
      const last = auditRecords(h.file).at(-1);
      expect(last).toMatchObject({ decision, confirmation: "elicitation", outcome });
    }
  });

  it("denied by a rule before the call ran, and requests refused in the session, each with the rule's id", async () => {
    const { projects, instances } = SQUONK_SEED;
    const h = await audited({
      env: {
        INFRA_MCP_CONFIRM: "off",
        INFRA_MCP_POLICY: policyFile([
          { id: "protect-core", effect: "deny", paths: [`${DCI}/server/1/*`], reason: "core switches" },
          { id: "np-is-off-limits", effect: "deny", services: ["netprofiler"] },
          { id: "keep-the-picker-run", effect: "deny", paths: [`/instance/${instances.pickerCompleted}`] },
        ]),
      },
    });
    await h.call("infra_api_call", {
      service: "dci",
      method: "POST",
      path: `${DCI}/server/1/power_off`,
      body: {},
    });
    await h.call("netprofiler_get_aws_status");
    await h.call("squonk_delete_project_instances", { project_id: projects.kinase });
    const [generic, platform, ...bulk] = auditRecords(h.file);
    expect(generic).toMatchObject({
      tool: "infra_api_call",
      services: ["dci"],
      targets: {},
      decision: "denied",
      rule: "protect-core",
      upstream: [],
      outcome: "error",
    });
    expect(generic?.error).toContain('rule "protect-core" (core switches)');
    // A read refused is recorded, as every refusal is, even without INFRA_MCP_AUDIT=all.
    expect(platform).toMatchObject({
      tool: "netprofiler_get_aws_status",
      services: ["netprofiler"],
      decision: "denied",
      rule: "np-is-off-limits",
      upstream: [],
    });
    // The bulk deletion acted on the rest: its closing record lists what was sent and what was kept back.
    const closing = bulk.at(-1);
    expect(closing).toMatchObject({
      tool: "squonk_delete_project_instances",
      targets: { project_id: projects.kinase },
      decision: "allowed",
      outcome: "ok",
      denied: [
        { method: "DELETE", path: `/instance/${instances.pickerCompleted}`, rule: "keep-the-picker-run" },
      ],
    });
    const sent = closing?.upstream.map((r) => `${r.method} ${r.path}`) ?? [];
    expect(sent[0]).toBe("GET /instance");
    expect(sent).not.toContain(`DELETE /instance/${instances.pickerCompleted}`);
    expect(sent.filter((r) => r.startsWith("DELETE")).length).toBeGreaterThan(0);
    expect(h.dci.requests).toEqual([]);
    expect(h.netprofiler.requests).toEqual([]);
  });

  it("reads are left out unless INFRA_MCP_AUDIT=all; infra_api_call is recorded even when it reads", async () => {
    const h = await audited();
    await h.call("netprofiler_get_aws_status");
    await h.call("infra_api_call", { service: "netprofiler", method: "GET", path: `${AWS}/status` });
    expect(auditRecords(h.file).map((r) => [r.tool, r.decision, r.outcome])).toEqual([
      ["infra_api_call", "allowed", "ok"],
    ]);
    const all = await audited({ env: { INFRA_MCP_AUDIT: "all" } });
    await all.call("netprofiler_get_aws_status");
    expect(auditRecords(all.file).map((r) => [r.tool, r.outcome, r.upstream])).toEqual([
      ["netprofiler_get_aws_status", "ok", [{ method: "GET", path: `${AWS}/status`, status: 200 }]],
    ]);
  });
});

describe("secrets never reach the trail", () => {
  it("canary credentials, secret arguments and a secret in a path are all scrubbed", async () => {
    const canaries = {
      secretVariable: "canary-secret-variable-7f3a9c",
      secretArgument: "canary-secret-argument-2b8e41",
      imagePassword: "canary-image-password-5d0c77",
      httpToken: "canary-http-bearer-token-9e4f1a0b",
    };
    const h = await audited({
      env: {
        INFRA_MCP_AUDIT: "all",
        INFRA_MCP_CONFIRM: "off",
        INFRA_MCP_SECRET_CANARY: canaries.secretVariable,
        INFRA_MCP_HTTP_TOKEN: canaries.httpToken,
      },
    });
    await h.call("netprofiler_put_aws_accounts", {
      accounts: [
        { acc_id: "a1", access_key: "AKIAAUDIT1", secret_key: canaries.secretArgument },
        { acc_id: "a2", access_key: "AKIAAUDIT2", secret_key_ref: "CANARY" },
      ],
    });
    await h.call("ovc_create_image", {
      name: "audited",
      url: "https://images.example.com/a.qcow2",
      gid: 212,
      image_type: "Linux",
      boot_type: "bios",
      username: "root",
      password: canaries.imagePassword,
      account_id: 1,
      wait: false,
    });
    // A known secret in a path and in a target: the scrubber runs over every field of the record.
    await h.call("infra_api_get", { service: "netprofiler", path: `${AWS}/${canaries.secretVariable}` });
    await h.call("netprofiler_delete_aws_accounts", { acc_ids: [canaries.secretVariable] });
    await h.call("infra_status", { check: true });

    const text = readFileSync(h.file, "utf8");
    const trail = auditRecords(h.file);
    expect(trail.length).toBeGreaterThanOrEqual(6);
    // Targets are the ids the arguments name, nested ones too; no other argument value is written.
    expect(trail.find((r) => r.tool === "netprofiler_put_aws_accounts")?.targets).toEqual({
      "accounts.acc_id": ["a1", "a2"],
    });
    expect(trail.find((r) => r.tool === "ovc_create_image")?.targets).toEqual({ account_id: 1 });
    expect(text).toContain("[redacted]");
    // The upstream did receive the secrets: the trail is the only place they must not be.
    expect(JSON.stringify(h.netprofiler.requests.map((r) => r.json))).toContain(canaries.secretVariable);
    expect(JSON.stringify(h.ovc.requests.map((r) => r.json))).toContain(canaries.imagePassword);
    for (const secret of [...Object.values(canaries), ...h.config.credentials, ...h.squonk.issuedTokens()]) {
      expect(text, secret).not.toContain(secret);
    }
    // Redacting changes no hash after the fact: the chain is over the scrubbed records.
    expect(verifyTrail(text).problems).toEqual([]);
  });
});

describe("the chain and audit verify", () => {
  async function trailOfFive(): Promise<string> {
    const h = await audited({ env: { INFRA_MCP_AUDIT: "all" } });
    await h.call("netprofiler_set_aws_sync", { status: "DISABLED" });
    await h.call("netprofiler_get_aws_status");
    await h.call("netprofiler_set_aws_sync", { status: "ENABLED" });
    expect(auditRecords(h.file)).toHaveLength(5);
    return h.file;
  }

  async function verifyWithCli(path: string) {
    return finished(spawnCli(["audit", "verify", path]));
  }

  it("accepts a real trail (exit 0) and names its last record", async () => {
    const file = await trailOfFive();
    const { code, stdout } = await verifyWithCli(file);
    expect(stdout).toContain("5 record(s); every line parses and the chain holds");
    expect(stdout).toContain(`hash ${auditRecords(file).at(-1)?.hash}`);
    expect(code).toBe(0);
  });

  it("rejects a copy with one line edited, one removed, or two swapped (exit 1, naming the first bad line)", async () => {
    const file = await trailOfFive();
    const lines = readFileSync(file, "utf8").split("\n").slice(0, -1);
    const dir = scratchDir();
    const edited = [...lines];
    edited[2] = (edited[2] as string).replace('"decision":"allowed"', '"decision":"denied"');
    const removed = lines.filter((_, index) => index !== 1);
    const swapped = [0, 2, 1, 3, 4].map((index) => lines[index] as string);
    const cases: [string, string[], string][] = [
      ["edited", edited, "line 3: its hash does not match its contents: the line was edited"],
      [
        "removed",
        removed,
        "line 2: prev does not name the hash of line 1 (seq 1): a line was removed, inserted or moved; seq is 3 where 2 comes next",
      ],
      [
        "swapped",
        swapped,
        "line 2: prev does not name the hash of line 1 (seq 1): a line was removed, inserted or moved; seq is 3 where 2 comes next",
      ],
    ];
    for (const [what, content, expected] of cases) {
      const copy = join(dir, `${what}.jsonl`);
      writeFileSync(copy, `${content.join("\n")}\n`);
      const { code, stdout } = await verifyWithCli(copy);
      expect(stdout, what).toContain(`does not verify. First bad line: ${expected}`);
      expect(code, what).toBe(1);
    }
  });

  it("continues a file an earlier run left, seq and chain included", async () => {
    const file = join(scratchDir(), "audit.jsonl");
    const first = await audited({ file });
    await first.call("netprofiler_set_aws_sync", { status: "DISABLED" });
    await first.close();
    harnesses.splice(harnesses.indexOf(first), 1);
    const second = await audited({ file });
    await second.call("netprofiler_set_aws_sync", { status: "ENABLED" });
    expect(auditRecords(file).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    const report = verifyTrail(readFileSync(file, "utf8"));
    expect(report.problems).toEqual([]);
    expect(report.records).toBe(4);
  });
});

describe("two processes on one file", () => {
  it("the second writer notices the first's records and continues their chain, saying so", async () => {
    const file = join(scratchDir(), "audit.jsonl");
    const warnings: string[] = [];
    const options = {
      scrub: (entry: AuditEntry) => entry,
      warn: (message: string) => warnings.push(message),
    };
    const { trail: first } = await AuditTrail.open(file, options);
    const { trail: second } = await AuditTrail.open(file, options);
    const entry = (tool: string): AuditEntry => ({
      call: newCallId(),
      principal: "local",
      client: "",
      tool,
      services: [],
      args_sha256: "",
      targets: {},
      decision: "allowed",
      upstream: [],
      outcome: "ok",
      duration_ms: 0,
    });
    await first.write(entry("a"));
    await second.write(entry("b"));
    await first.write(entry("c"));
    await Promise.all([first.close(), second.close()]);
    expect(auditRecords(file).map((r) => [r.seq, r.tool])).toEqual([
      [1, "a"],
      [2, "b"],
      [3, "c"],
    ]);
    expect(verifyTrail(readFileSync(file, "utf8")).problems).toEqual([]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(
      "changed under this process (another writer?): continuing its chain from seq 1",
    );
  });
});

describe("concurrent calls", () => {
  it("many calls at once: every line parses, seq has no gap, the chain holds", async () => {
    const h = await audited({ env: { INFRA_MCP_AUDIT: "all" } });
    const calls = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0
        ? h.call("netprofiler_get_aws_status")
        : h.call("netprofiler_set_aws_sync", { status: i % 2 === 0 ? "ENABLED" : "DISABLED" }),
    );
    const results = await Promise.all(calls);
    expect(results.filter((r) => r.isError)).toEqual([]);
    const text = readFileSync(h.file, "utf8");
    const lines = text.split("\n").slice(0, -1);
    // 20 reads (one record each), 40 changes (one before acting, one after).
    expect(lines).toHaveLength(20 + 40 * 2);
    const parsed = lines.map((line) => JSON.parse(line) as AuditRecord);
    expect(parsed.map((r) => r.seq)).toEqual(parsed.map((_, index) => index + 1));
    expect(verifyTrail(text)).toMatchObject({ records: 100, problems: [], notes: [] });
    // Each change's two records pair up by call id, the one before acting first.
    const byCall = new Map<string, string[]>();
    for (const record of parsed)
      byCall.set(record.call, [...(byCall.get(record.call) ?? []), record.outcome]);
    expect(
      [...byCall.values()].filter((outcomes) => outcomes.length === 2).every((o) => o[0] === "started"),
    ).toBe(true);
  });
});

describe("no record, no change", () => {
  it("a trail that cannot be written makes a change fail closed, nothing sent; a read answers with a warning", async () => {
    // Every write to /dev/full fails with ENOSPC, as a full disk does.
    const h = await audited({ file: "/dev/full", env: { INFRA_MCP_AUDIT: "all" } });
    const change = await h.call("netprofiler_set_aws_sync", { status: "DISABLED" });
    expect(change.isError).toBe(true);
    expect(textOf(change)).toContain(
      "Nothing was done: the audit trail /dev/full could not be written (ENOSPC)",
    );
    expect(textOf(change)).toContain("the operator requires a record of every change");
    expect(h.netprofiler.requestsTo(AWS).filter((r) => r.method !== "GET")).toEqual([]);
    const read = await h.call("netprofiler_get_aws_status");
    expect(read.isError).toBeFalsy();
    expect(read.structuredContent).toHaveProperty("state");
    expect(textOf(read)).toContain("Warning: the audit record of this call could not be written");
    expect(h.logs.join("")).toContain("could not be written (ENOSPC)");
  });

  it("a trail that cannot be opened at start-up is a configuration error (exit 2)", async () => {
    const { code, stderr } = await finished(
      spawnCli(["--sandbox"], { INFRA_MCP_AUDIT_FILE: join(scratchDir(), "no-such-dir", "audit.jsonl") }),
    );
    expect(stderr).toContain("INFRA_MCP_AUDIT_FILE: cannot open");
    expect(stderr).toContain("(ENOENT)");
    expect(code).toBe(2);
  });
});

describe("a kill in the middle of a write", () => {
  /** A process that writes records with the real trail, then is SIGKILLed halfway through writing one. */
  async function tornTrail(): Promise<{ file: string; written: number }> {
    builtCli();
    const file = join(scratchDir(), "audit.jsonl");
    const child = spawn(process.execPath, [join(root, "test/fixtures/torn-writer.mjs"), file, "3"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const halfway = new Promise<void>((resolve) => {
      child.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("halfway")) resolve();
      });
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_code, signal) => resolve(signal)),
    );
    await halfway;
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    return { file, written: 3 };
  }

  it("leaves the earlier records whole and a torn last line, which audit verify names", async () => {
    const { file } = await tornTrail();
    const text = readFileSync(file, "utf8");
    expect(text.endsWith("\n")).toBe(false);
    const report = verifyTrail(text);
    expect(report.records).toBe(3);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]?.line).toBe(4);
    expect(report.problems[0]?.problem).toMatch(
      /^torn: the last line is unfinished \(\d+ bytes, no newline\)/,
    );
    const { code, stdout } = await finished(spawnCli(["audit", "verify", file]));
    expect(stdout).toContain("First bad line: line 4: torn");
    expect(code).toBe(1);
  });

  it("the next run reports it at start-up and continues after it, losing no earlier record", async () => {
    const { file } = await tornTrail();
    const h = await audited({ file });
    expect(h.auditNotes.join("\n")).toMatch(
      /the last line \(\d+ bytes\) is torn: the process was stopped while writing it/,
    );
    await h.call("netprofiler_set_aws_sync", { status: "DISABLED" });
    const report = verifyTrail(readFileSync(file, "utf8"));
    expect(report.records).toBe(5);
    expect(report.problems.map((p) => p.line)).toEqual([4]);
    expect(report.problems[0]?.problem).toContain("not a record");
    expect(report.notes).toEqual([
      "line 5 continues the chain from line 3 across line(s) 4, which never joined it (a write cut short and skipped by the next run).",
    ]);
  });

  it("the built server says so on stderr when it starts", async () => {
    const { file } = await tornTrail();
    const child = spawnCli(["--sandbox"], { INFRA_MCP_AUDIT_FILE: file });
    const done = finished(child);
    child.stdin.end();
    const { stderr } = await done;
    expect(stderr).toMatch(/infra-mcp: audit trail: .*audit\.jsonl: the last line \(\d+ bytes\) is torn/);
  });
});

describe("a kill in the middle of a call", () => {
  it("leaves the record written before the change, which audit verify names as unfinished", async () => {
    const upstreams = await startEmulators();
    const file = join(scratchDir(), "audit.jsonl");
    // The change reaches the upstream and waits there: the server is killed while it does.
    upstreams.emulators.netprofiler.delayNext(1, 10_000, { methods: ["PUT"] });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [builtCli()],
      env: { PATH: process.env.PATH ?? "", ...upstreams.env, INFRA_MCP_AUDIT_FILE: file },
      stderr: "pipe",
    });
    const client = new Client({ name: "killed", version: "1" });
    try {
      await client.connect(transport);
      const call = client.callTool({ name: "netprofiler_set_aws_sync", arguments: { status: "DISABLED" } });
      call.catch(() => undefined);
      await expect
        .poll(() => upstreams.emulators.netprofiler.requestsTo(`${AWS}/sync/status`).length, {
          timeout: 10_000,
        })
        .toBe(1);
      process.kill(transport.pid as number, "SIGKILL");
      const [record] = auditRecords(file);
      expect(record).toMatchObject({ tool: "netprofiler_set_aws_sync", outcome: "started", seq: 1 });
      const { code, stdout } = await finished(spawnCli(["audit", "verify", file]));
      expect(stdout).toContain("1 record(s); every line parses and the chain holds");
      expect(stdout).toContain(
        `Note: call ${record?.call} (line 1) started a change and has no closing record: the server stopped before it finished`,
      );
      expect(code).toBe(0);
    } finally {
      await client.close().catch(() => undefined);
      await upstreams.stop();
    }
  });
});
