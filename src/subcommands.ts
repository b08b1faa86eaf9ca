import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config.js";
import type { Platform } from "./platform.js";
import { verifyTrail } from "./safety/audit.js";
import {
  compileName,
  describeRule,
  loadPolicyFile,
  type PolicyRule,
  type RequestFacts,
  type Verdict,
} from "./safety/policy.js";
import { denialMessage } from "./safety/watch.js";
import { createRuntime } from "./server.js";
import { toolsOf } from "./tools/index.js";
import { decideCall } from "./tools/invoke.js";

/**
 * The operator's commands beside serving: `policy check PATH`, `policy explain --tool NAME --args JSON` and
 * `audit verify PATH`. None of them starts a server or sends anything upstream.
 */

export interface OperatorContext {
  /** The platforms of this build (the registry), for their tools and APIs. */
  platforms: readonly Platform[];
  /**
   * The environment a server would start with (the process's own over the .env file's, or over the file
   * `--dotenv` names), for `policy explain`.
   */
  environment(dotenv: string | undefined): Promise<Record<string, string | undefined>>;
  out(text: string): void;
  err(text: string): void;
}

/** Exit statuses: 0 done; 1 a trail that does not verify; 2 a bad file or command line (TOOLS.md 1). */
const OK = 0;
const BAD_TRAIL = 1;
const BAD_INPUT = 2;

export const OPERATOR_USAGE = `Operator commands (nothing is served or sent upstream):
  infra-mcp policy check PATH                  validate a policy file and print its rules as understood
  infra-mcp policy explain --tool NAME --args JSON [--principal local|http] [--policy PATH] [--dotenv PATH]
                                               which rule (or the default) decides that call, and why
  infra-mcp audit verify PATH                  check an audit trail: every line parses and the chain
                                               holds (exit 0), else name the first bad line (exit 1)
`;

/** Runs an operator command; undefined when `argv` is not one (the server's own options). */
export async function runOperatorCommand(
  argv: string[],
  context: OperatorContext,
): Promise<number | undefined> {
  const [group, action, ...rest] = argv;
  if (group !== "policy" && group !== "audit") return undefined;
  try {
    if (group === "policy" && action === "check")
      return checkPolicy(single(rest, "policy check PATH"), context);
    if (group === "policy" && action === "explain") return await explain(rest, context);
    if (group === "audit" && action === "verify") return verify(single(rest, "audit verify PATH"), context);
  } catch (error) {
    context.err(`infra-mcp: ${(error as Error).message}\n\n${OPERATOR_USAGE}`);
    return BAD_INPUT;
  }
  context.err(`infra-mcp: unknown command "${argv.slice(0, 2).join(" ")}".\n\n${OPERATOR_USAGE}`);
  return BAD_INPUT;
}

function single(args: string[], usage: string): string {
  if (args.length !== 1 || args[0] === undefined || args[0].startsWith("--")) {
    throw new Error(`expected ${usage}`);
  }
  return args[0];
}

// --------------------------------------------------------------------------------------- policy check

function checkPolicy(path: string, context: OperatorContext): number {
  const tools = toolsOf(context.platforms);
  const apiIds = context.platforms.flatMap((platform) => platform.apiIds);
  const loaded = loadPolicyFile(path);
  if (!loaded.ok) {
    context.err(
      `infra-mcp: ${path} is not a valid policy:\n${loaded.problems.map((p) => `  - ${p}`).join("\n")}\n`,
    );
    return BAD_INPUT;
  }
  const { rules } = loaded.policy;
  const lines = [
    `${path}: ${rules.length} rule${rules.length === 1 ? "" : "s"}. For each call, and each request it would send, ` +
      "the first rule that matches decides; with none, INFRA_MCP_CONFIRM and the tools' annotations decide. " +
      "Read-only mode stays absolute.",
  ];
  const warnings: string[] = [];
  rules.forEach((rule, index) => {
    lines.push(`  ${index + 1}. ${describeRule(rule)}`);
    if (rule.tools) {
      const matched = tools.filter((tool) => rule.tools?.some((p) => compileName(p).test(tool.name)));
      lines.push(`       tools it names: ${matched.map((tool) => tool.name).join(", ") || "none"}`);
      for (const pattern of rule.tools) {
        if (!tools.some((tool) => compileName(pattern).test(tool.name)))
          warnings.push(`rule "${rule.id}": tools pattern "${pattern}" matches no tool of this build`);
      }
    }
    for (const pattern of rule.services ?? []) {
      if (!apiIds.some((api) => compileName(pattern).test(api)))
        warnings.push(
          `rule "${rule.id}": services pattern "${pattern}" matches no API (${apiIds.join(", ")})`,
        );
    }
    const shadow = rules.slice(0, index).find((earlier) => covers(earlier, rule));
    if (shadow !== undefined)
      warnings.push(
        `rule "${rule.id}" is never reached: rule "${shadow.id}" before it matches everything it does`,
      );
  });
  if (warnings.length > 0) lines.push("Warnings:", ...warnings.map((warning) => `  - ${warning}`));
  context.out(`${lines.join("\n")}\n`);
  return OK;
}

/** Whether `earlier` surely matches every call and request `later` matches: it has no matcher `later` lacks, and the same lists where both have one. */
function covers(earlier: PolicyRule, later: PolicyRule): boolean {
  const keys = ["tools", "annotations", "services", "methods", "paths", "principals"] as const;
  return keys.every((key) => {
    const mine = earlier[key] as readonly string[] | undefined;
    const theirs = later[key] as readonly string[] | undefined;
    if (mine === undefined) return true;
    return theirs?.every((value) => mine.includes(value)) === true;
  });
}

// ------------------------------------------------------------------------------------- policy explain

async function explain(args: string[], context: OperatorContext): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      tool: { type: "string" },
      args: { type: "string" },
      principal: { type: "string" },
      policy: { type: "string" },
      dotenv: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.tool === undefined) throw new Error("policy explain needs --tool NAME");
  let callArgs: unknown = {};
  if (values.args !== undefined) {
    try {
      callArgs = JSON.parse(values.args);
    } catch (error) {
      throw new Error(`--args is not JSON: ${(error as Error).message}`);
    }
  }
  const env = {
    ...(await context.environment(values.dotenv)),
    ...(values.policy !== undefined ? { INFRA_MCP_POLICY: values.policy } : {}),
  };
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(context.platforms, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      context.err(`${error.message}\n`);
      return BAD_INPUT;
    }
    throw error;
  }
  const runtime = createRuntime(config, context.platforms, { writeLog: (line) => context.err(line) });
  const principal = values.principal ?? "local";
  const name = values.tool;
  const tool = runtime.catalog.byName.get(name);
  if (tool === undefined) {
    const known = toolsOf(context.platforms).find((t) => t.name === name);
    if (known === undefined) {
      context.err(`infra-mcp: there is no tool ${name}.\n`);
      return BAD_INPUT;
    }
    const why =
      config.readOnly && !known.annotations.readOnly
        ? "read-only mode lists only read-only tools"
        : `its toolset (${known.toolset}) is not enabled here`;
    context.out(
      `${name} is not served under this configuration (${why}): a call would be refused as an unknown tool.\n`,
    );
    return OK;
  }
  const parsed = tool.input.safeParse(callArgs);
  if (!parsed.success) {
    context.err(
      `infra-mcp: --args do not fit ${name}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "arguments"}: ${i.message}`).join("; ")}\n`,
    );
    return BAD_INPUT;
  }
  const { confirmation_token: _token, ...callArgsParsed } = parsed.data as Record<string, unknown>;
  const decided = decideCall(tool, callArgsParsed, runtime, principal, true);
  const { facts, fallback, planned, verdict } = decided;
  const policy = runtime.policy;
  const lines = [
    `${name} ${JSON.stringify(callArgsParsed)}, called by ${principal}: a ${facts.class.replace("_", "-")} call.`,
    `Policy: ${config.policy === undefined ? "none (INFRA_MCP_POLICY is not set)" : `${config.policy.path}, ${policy.rules.length} rule(s)`}.`,
    `Without a matching rule: ${fallback === "confirm" ? "it asks for confirmation" : "it acts without asking"} (INFRA_MCP_CONFIRM=${config.confirm}; the call is ${facts.class.replace("_", "-")}).`,
  ];
  if (planned === undefined) {
    lines.push(
      "Requests: not known before it runs (they depend on what the upstream answers); each is checked as it is " +
        `sent, and decided by ${describePossibilities(policy.possible(facts, {}, fallback))}.`,
    );
  } else if (planned.length === 0) {
    lines.push("Requests: none.");
  } else {
    lines.push("Requests it would send, and what decides each:");
    for (const request of planned) {
      lines.push(
        `  ${describeRequest(request)}: ${describePossibilities(policy.possible(facts, request, fallback))}`,
      );
    }
  }
  lines.push(`Decision: ${describeVerdict(verdict, name, config.readOnly)}`);
  context.out(`${lines.join("\n")}\n`);
  return OK;
}

function describeRequest(request: RequestFacts): string {
  return `${request.service ?? "?"} ${request.method ?? "?"} ${request.path ?? "(a path read from the upstream first)"}`;
}

function describeVerdict(
  verdict: Verdict & { request?: RequestFacts },
  tool: string,
  readOnly: boolean,
): string {
  const by = verdict.rule === undefined ? "by the default" : `by rule "${verdict.rule.id}"`;
  if (verdict.effect === "deny") {
    const request = verdict.request;
    return `refused before anyone is asked, ${by}. ${denialMessage(verdict, tool, request && { api: request.service ?? "?", method: request.method ?? "?", path: request.path }, true)}`;
  }
  const action =
    verdict.effect === "confirm"
      ? `asks for confirmation first, ${by}; then each request is checked again as it is sent`
      : `acts without asking, ${by}; each request is checked again as it is sent`;
  return readOnly ? `${action}. Read-only mode: only reads are sent, whatever a rule says.` : `${action}.`;
}

function describePossibilities(verdicts: Verdict[]): string {
  const named = verdicts.map((v) =>
    v.rule === undefined ? `the default (${v.effect})` : `rule "${v.rule.id}" (${v.effect})`,
  );
  return named.length === 1
    ? (named[0] as string)
    : `${named.slice(0, -1).join(", or ")}, else ${named.at(-1)}, depending on the path`;
}

// -------------------------------------------------------------------------------------- audit verify

function verify(path: string, context: OperatorContext): number {
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (error) {
    context.err(`infra-mcp: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? error}).\n`);
    return BAD_TRAIL;
  }
  const report = verifyTrail(content);
  const lines: string[] = [];
  const first = report.problems[0];
  const last =
    report.last === undefined
      ? ""
      : ` Last record: line ${report.last.line}, seq ${report.last.seq}, hash ${report.last.hash}.`;
  if (first === undefined) {
    lines.push(`${path}: ${report.records} record(s); every line parses and the chain holds.${last}`);
  } else {
    lines.push(`${path}: does not verify. First bad line: line ${first.line}: ${first.problem}`);
    for (const problem of report.problems.slice(1)) lines.push(`  line ${problem.line}: ${problem.problem}`);
    lines.push(`${report.records} line(s) are records.${last}`);
  }
  for (const note of report.notes) lines.push(`Note: ${note}`);
  context.out(`${lines.join("\n")}\n`);
  return first === undefined ? OK : BAD_TRAIL;
}
