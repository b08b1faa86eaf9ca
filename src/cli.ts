#!/usr/bin/env node
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, type ConfigProblem, formatProblems, loadConfig } from "./config.js";
// The composition root: the one core module that imports the registry, and hands it to the rest.
import { PLATFORMS } from "./platforms/index.js";
import { drainOnSignals, reviewReplicaSettings } from "./replicas.js";
// The sandbox (emulators, node:http) and dotenv load only when used: start-up is paid by every session.
import type { Sandbox } from "./sandbox/index.js";
import { attachAuditTrail, createRuntime, type Runtime, reloadPolicy, VERSION } from "./server.js";
import { StdioTransport, serveConnection } from "./stdio.js";
import { OPERATOR_USAGE, runOperatorCommand } from "./subcommands.js";

const USAGE = `infra-mcp ${VERSION}: one MCP server for ${PLATFORMS.map((p) => p.title).join(", ")}.

Usage: infra-mcp [options]          serve MCP over stdio
       infra-mcp --http [HOST:]PORT  serve Streamable HTTP at /mcp (stateless; needs INFRA_MCP_HTTP_TOKEN)

Options:
  --sandbox            start the built-in emulators and point every service at them
  --dotenv PATH        read variables from PATH (default: .env in the working directory, if present);
                       --env-file PATH is the same, but Node itself reads that one too and stops at a
                       missing file before infra-mcp can say so
  --toolsets LIST      comma list of ${PLATFORMS.map((p) => p.name).join(",")}, or all
  --read-only          list only read-only tools; send no mutating request
  --help, --version

Environment (see README.md): INFRA_MCP_TOOLSETS, INFRA_MCP_READ_ONLY, INFRA_MCP_CONFIRM,
INFRA_MCP_TIMEOUT_MS, INFRA_MCP_MAX_OUTPUT_CHARS, INFRA_MCP_LOG_LEVEL, INFRA_MCP_SECRET_<NAME>;
operator policy and audit trail: INFRA_MCP_POLICY (SIGHUP reloads it), INFRA_MCP_AUDIT_FILE, INFRA_MCP_AUDIT=all;
--http replicas: INFRA_MCP_HTTP_TOKEN, INFRA_MCP_CONFIRM_KEY, INFRA_MCP_REDIS_URL, INFRA_MCP_SHUTDOWN_TIMEOUT_MS;
per service (enabled when its URL is set):
${PLATFORMS.map((p) => `  ${p.name}: ${p.usage}`).join("\n")}
TLS per service: <P>_CA_FILE=path (an extra CA), <P>_TLS_INSECURE=true, with <P> one of ${PLATFORMS.map((p) => p.prefix).join(", ")}.

${OPERATOR_USAGE}`;

/** Exit status for a bad configuration or command line (TOOLS.md section 1). */
const BAD_CONFIG = 2;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(BAD_CONFIG);
}

async function readEnvFile(path: string | undefined, option: string): Promise<Record<string, string>> {
  const file = path ?? ".env";
  if (!existsSync(file)) {
    if (path !== undefined)
      fail(
        `infra-mcp: ${option} ${path}: no such file. Give the path of a .env file, or leave the option out.`,
      );
    return {};
  }
  try {
    // Parsed, not loaded with config(): dotenv's loader can print to stdout, which belongs to JSON-RPC.
    const { parse } = await import("dotenv");
    return parse(readFileSync(file, "utf8"));
  } catch (error) {
    fail(`infra-mcp: cannot read ${file}: ${(error as Error).message}`);
  }
}

/** The environment a server starts with: the process's own over the .env file's (as users expect of dotenv). */
async function environment(
  path: string | undefined,
  option: string,
): Promise<Record<string, string | undefined>> {
  return { ...(await readEnvFile(path, option)), ...process.env };
}

async function main(): Promise<void> {
  // `policy check|explain` and `audit verify` are commands for a person: they answer on stdout, as
  // --help does, and no protocol is spoken in their process.
  const operator = await runOperatorCommand(process.argv.slice(2), {
    platforms: PLATFORMS,
    environment: (dotenv) => environment(dotenv, "--dotenv"),
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
  if (operator !== undefined) process.exit(operator);
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions();
  } catch (error) {
    fail(`infra-mcp: ${(error as Error).message}\n\n${USAGE}`);
  }
  const { values } = parsed;
  // Asked-for output goes to stdout, as command-line tools do; no protocol is spoken in these two cases.
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }

  const env = await environment(
    values.dotenv ?? values["env-file"],
    values.dotenv !== undefined ? "--dotenv" : "--env-file",
  );
  let sandbox: Sandbox | undefined;
  if (values.sandbox) {
    const { sandboxPrefixes, startSandbox } = await import("./sandbox/index.js");
    sandbox = await startSandbox(PLATFORMS);
    const prefixes = sandboxPrefixes(PLATFORMS);
    for (const name of Object.keys(env)) {
      if (prefixes.some((prefix) => name.startsWith(prefix))) delete env[name];
    }
    Object.assign(env, sandbox.env);
  }

  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(PLATFORMS, env, { toolsets: values.toolsets, readOnly: values["read-only"] });
  } catch (error) {
    await sandbox?.stop();
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }

  const runtime = createRuntime(config, PLATFORMS);
  for (const warning of config.warnings) runtime.logger.warn(warning);
  try {
    // Not log lines: what is wrong with the trail's end is for the operator, whatever the log level.
    for (const note of await attachAuditTrail(runtime))
      process.stderr.write(`infra-mcp: audit trail: ${note}\n`);
  } catch (error) {
    await sandbox?.stop();
    fail(
      formatProblems([
        {
          variable: "INFRA_MCP_AUDIT_FILE",
          problem: `cannot open ${config.audit?.path} for appending (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
          example:
            "INFRA_MCP_AUDIT_FILE=/var/log/infra-mcp/audit.jsonl (a file this user may create and append to)",
        },
      ]),
    );
  }
  reloadOnHangup(runtime);
  process.on("uncaughtException", (error) =>
    runtime.logger.error(`uncaught: ${error.stack ?? error.message}`),
  );
  process.on("unhandledRejection", (reason) =>
    runtime.logger.error(`unhandled rejection: ${String(reason)}`),
  );
  // Replicas: what cannot work across them is refused or explained, and a shared Redis must answer.
  const replicas = await reviewReplicaSettings(runtime, env, { http: values.http !== undefined });
  for (const warning of replicas.warnings) runtime.logger.warn(warning);
  if (replicas.problems.length > 0) {
    await runtime.spentTokens.close();
    await sandbox?.stop();
    fail(formatProblems(replicas.problems));
  }

  const services = [...runtime.sessions.keys()];
  if (services.length === 0) {
    runtime.logger.warn("no service is configured: only infra_* tools are available. See infra-mcp --help.");
  }

  if (values.http !== undefined) {
    const { parseListen, serveHttp } = await import("./http.js");
    const listen = parseListen(values.http);
    const problems: ConfigProblem[] = [];
    if (listen === undefined) {
      problems.push({
        variable: "--http",
        problem: `"${values.http}" is not [HOST:]PORT`,
        example: "--http 127.0.0.1:8080",
      });
    }
    if (config.httpToken === undefined) {
      problems.push({
        variable: "INFRA_MCP_HTTP_TOKEN",
        problem: "missing: --http clients must present it as a bearer token",
        example: "INFRA_MCP_HTTP_TOKEN=$(openssl rand -hex 32)",
      });
    }
    if (listen === undefined || config.httpToken === undefined) {
      await sandbox?.stop();
      fail(formatProblems(problems));
    }
    const serving = await serveHttp(runtime, listen, config.httpToken).catch(async (error: Error) => {
      await sandbox?.stop();
      fail(`infra-mcp: cannot listen on ${values.http}: ${error.message}`);
    });
    // Not a log line: the address is what the operator needs to connect, whatever the log level.
    process.stderr.write(
      `infra-mcp ${VERSION} serving ${runtime.catalog.tools.length} tools at ${serving.url}\n`,
    );
    drainOnSignals(serving, runtime, async () => {
      await runtime.audit?.close();
      await sandbox?.stop();
    });
    return;
  }

  const transport = new StdioTransport({ warn: (message) => runtime.logger.warn(message) });
  let serving: { close(): Promise<void> } | undefined;
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await serving?.close().catch(() => undefined);
    await runtime.audit?.close().catch(() => undefined);
    await sandbox?.stop();
    process.exit(0);
  };
  process.stdin.on("end", shutdown);
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);

  serving = serveConnection(runtime, transport);
  runtime.logger.info(
    `infra-mcp ${VERSION} serving ${runtime.catalog.tools.length} tools over stdio` +
      `${sandbox ? " against the sandbox" : ""}; services: ${services.join(", ") || "none"}`,
  );
}

/**
 * SIGHUP reads the policy file again (TOOLS.md section 6). The outcome goes to stderr whatever the log
 * level: the operator who sent the signal is waiting for it. Without a policy file SIGHUP keeps its usual
 * meaning (the terminal went away: stop).
 */
function reloadOnHangup(runtime: Runtime): void {
  if (runtime.config.policy === undefined) return;
  process.on("SIGHUP", () => {
    const reload = reloadPolicy(runtime);
    if (reload === undefined) return;
    process.stderr.write(
      reload.ok
        ? `infra-mcp: policy reloaded from ${reload.path}: ${reload.rules} rule(s) in force` +
            `${reload.listChanged ? "; which tools take a confirmation changed, and connected clients were told" : ""}.\n`
        : `infra-mcp: policy reload failed, so the policy in force stays as it was. ${reload.path}:\n` +
            `${reload.problems.map((problem) => `  - ${problem}`).join("\n")}\n`,
    );
  });
}

function parseOptions() {
  return parseArgs({
    options: {
      sandbox: { type: "boolean" },
      http: { type: "string" },
      dotenv: { type: "string" },
      "env-file": { type: "string" },
      toolsets: { type: "string" },
      "read-only": { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
    strict: true,
    allowPositionals: false,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`infra-mcp: ${(error as Error).message ?? String(error)}\n`);
  process.exit(1);
});
