import { createRequire } from "node:module";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { ElicitResultSchema, ErrorCode, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import { z } from "zod";
import type { Session } from "./auth/session.js";
import { enabledApis, openSessions } from "./auth/sessions.js";
import { type Config, configSecrets } from "./config.js";
import { createLogger, type Logger, type LogSink } from "./log.js";
import type { Platform } from "./platform.js";
import { ConfirmationStore, LocalSpentTokens, type SpentTokens } from "./safety/confirm.js";
import { Redactor } from "./safety/redact.js";
import { RedisSpentTokens } from "./safety/redis-spent-tokens.js";
import { type PreparedTool, prepareTools, toolsOf } from "./tools/index.js";
import { type CallEnvironment, type InvokeDeps, invokeTool } from "./tools/invoke.js";

export const VERSION: string = (createRequire(import.meta.url)("../package.json") as { version: string })
  .version;

/** Long-lived state shared by every MCP connection: sessions, confirmations, the prepared tool list. */
export interface Runtime extends InvokeDeps {
  /** The platforms this server knows (the registry, as the composition root handed it in). */
  platforms: readonly Platform[];
  tools: PreparedTool[];
  /** Connected servers add a sink here to forward (already scrubbed) log lines as MCP notifications. */
  logSinks: Set<LogSink>;
  /** Where spent confirmation tokens are kept: this process, or the Redis that replicas share. */
  spentTokens: SpentTokens;
}

export interface RuntimeOptions {
  logger?: Logger;
  /** Where log lines go (default stderr); tests capture them to prove nothing secret is logged. */
  writeLog?: (line: string) => void;
  /** Pre-built sessions (tests inject emulator-backed ones); default: from the configuration. */
  sessions?: Map<string, Session>;
}

/** The long-lived state of a server for these platforms (the registry) under this configuration. */
export function createRuntime(
  config: Config,
  platforms: readonly Platform[],
  options: RuntimeOptions = {},
): Runtime {
  const redactor = new Redactor(configSecrets(config));
  const logSinks = new Set<LogSink>();
  const logger = options.logger ?? createLogger(config.logLevel, redactor, logSinks, options.writeLog);
  const sessions = options.sessions ?? openSessions(config, platforms, redactor, logger);
  const spentTokens: SpentTokens =
    config.redisUrl !== undefined
      ? new RedisSpentTokens(config.redisUrl, { logger })
      : new LocalSpentTokens();
  const confirmations = new ConfirmationStore({
    spent: spentTokens,
    ...(config.confirmKey !== undefined ? { key: config.confirmKey } : {}),
  });
  return {
    config,
    redactor,
    logger,
    sessions,
    confirmations,
    platforms,
    tools: prepareTools(config, toolsOf(platforms), enabledApis(config, platforms)),
    logSinks,
    spentTokens,
  };
}

/** tools/call as the protocol frames it, with `arguments` left for the call path to check. */
const LooseCallToolRequestSchema = z.object({
  method: z.literal("tools/call"),
  params: z.looseObject({
    name: z.string(),
    arguments: z.unknown().optional(),
    _meta: z.looseObject({ progressToken: z.union([z.string(), z.number()]).optional() }).optional(),
  }),
});

/**
 * An error the protocol layer sends as it is. An McpError would not do: its message already carries the
 * "MCP error -32602:" prefix, which clients add again.
 */
function protocolError(code: number, message: string): Error {
  return Object.assign(new Error(message), { code });
}

const INSTRUCTIONS =
  "Operates infrastructure platforms. Start with infra_status to see which services are enabled. " +
  "Destructive tools ask for confirmation first; list tools take limit, offset and fields.";

/**
 * One JSON Schema validator for every Server. Left to itself, each Server builds its own Ajv instance:
 * `--http` builds a Server per POST, and that Ajv was an eighth of a replica's CPU per call.
 */
const SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();

/**
 * An MCP server with the enabled tools. No I/O happens here; the caller connects a transport. Uses the
 * low-level Server rather than McpServer so that `tools/list` is built once per configuration (not per
 * request) and validation errors become tool errors in our own words.
 */
export function createServer(runtime: Runtime): Server {
  const server = new Server(
    { name: "infra-mcp", title: "infra-mcp", version: VERSION },
    {
      capabilities: { tools: {}, logging: {} },
      instructions: INSTRUCTIONS,
      jsonSchemaValidator: SCHEMA_VALIDATOR,
    },
  );
  // Log lines reach the client too (at the level it set with logging/setLevel); they are scrubbed first.
  const forward: LogSink = (level, message) => {
    void server
      .sendLoggingMessage({ level: level === "warn" ? "warning" : level, logger: "infra-mcp", data: message })
      .catch(() => undefined);
  };
  server.oninitialized = () => runtime.logSinks.add(forward);
  server.onclose = () => runtime.logSinks.delete(forward);
  const byName = new Map(runtime.tools.map((tool) => [tool.definition.name, tool]));
  const listing = { tools: runtime.tools.map((tool) => tool.listing) };

  server.setRequestHandler(ListToolsRequestSchema, () => listing);

  // Registered below the Server's own tools/call wrapper, whose schema check would answer arguments that
  // are not an object with a raw zod dump (-32603): the check is ours, in our words (-32602).
  const registerBelowServer = Object.getPrototypeOf(Server.prototype)
    .setRequestHandler as Server["setRequestHandler"];
  registerBelowServer.call(server, LooseCallToolRequestSchema, async (request, extra) => {
    const tool = byName.get(request.params.name);
    if (tool === undefined) {
      throw protocolError(
        ErrorCode.InvalidParams,
        `Unknown tool ${request.params.name}; tools/list shows the ${byName.size} tools this server has.`,
      );
    }
    const args = request.params.arguments;
    if (args !== undefined && (args === null || typeof args !== "object" || Array.isArray(args))) {
      throw protocolError(
        ErrorCode.InvalidParams,
        `The arguments of ${tool.definition.name} must be an object of named parameters (tools/list shows them), ` +
          `not ${Array.isArray(args) ? "an array" : args === null ? "null" : `a ${typeof args}`}. Nothing was sent upstream.`,
      );
    }
    const progressToken = request.params._meta?.progressToken;
    const call: CallEnvironment = {
      signal: extra.signal,
      progress: async (progress, total, message) => {
        if (progressToken === undefined) return;
        await extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken, progress, total, message },
        });
      },
    };
    if (server.getClientCapabilities()?.elicitation !== undefined) {
      call.elicit = async (message) => {
        const answer = await extra.sendRequest(
          {
            method: "elicitation/create",
            params: {
              mode: "form",
              message,
              requestedSchema: {
                type: "object",
                properties: {
                  confirm: { type: "boolean", title: "Proceed", description: "Carry out this action" },
                },
                required: ["confirm"],
              },
            },
          },
          ElicitResultSchema,
        );
        if (answer.action !== "accept") return answer.action;
        return answer.content?.confirm === true ? "accept" : "decline";
      };
    }
    return invokeTool(tool, args, runtime, call);
  });

  return server;
}
