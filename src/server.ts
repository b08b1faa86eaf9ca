import { createRequire } from "node:module";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  ElicitResultSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
import type { Session } from "./auth/session.js";
import { type Config, configSecrets } from "./config.js";
import { createLogger, type Logger, type LogSink } from "./log.js";
import { ConfirmationStore } from "./safety/confirm.js";
import { Redactor } from "./safety/redact.js";
import { createSessions } from "./services/index.js";
import { type PreparedTool, prepareTools } from "./tools/index.js";
import { type CallEnvironment, type InvokeDeps, invokeTool } from "./tools/invoke.js";

export const VERSION: string = (createRequire(import.meta.url)("../package.json") as { version: string })
  .version;

/** Long-lived state shared by every MCP connection: sessions, confirmations, the prepared tool list. */
export interface Runtime extends InvokeDeps {
  tools: PreparedTool[];
  /** Connected servers add a sink here to forward (already scrubbed) log lines as MCP notifications. */
  logSinks: Set<LogSink>;
}

export interface RuntimeOptions {
  logger?: Logger;
  /** Where log lines go (default stderr); tests capture them to prove nothing secret is logged. */
  writeLog?: (line: string) => void;
  /** Pre-built sessions (tests inject emulator-backed ones); default: from the configuration. */
  sessions?: Map<string, Session>;
}

export function createRuntime(config: Config, options: RuntimeOptions = {}): Runtime {
  const redactor = new Redactor(configSecrets(config));
  const logSinks = new Set<LogSink>();
  const logger = options.logger ?? createLogger(config.logLevel, redactor, logSinks, options.writeLog);
  const sessions = options.sessions ?? createSessions(config, redactor, logger);
  return {
    config,
    redactor,
    logger,
    sessions,
    confirmations: new ConfirmationStore(config.confirmKey !== undefined ? { key: config.confirmKey } : {}),
    tools: prepareTools(config),
    logSinks,
  };
}

const INSTRUCTIONS =
  "Operates infrastructure platforms. Start with infra_status to see which services are enabled. " +
  "Destructive tools ask for confirmation first; list tools take limit, offset and fields.";

/**
 * An MCP server with the enabled tools. No I/O happens here; the caller connects a transport. Uses the
 * low-level Server rather than McpServer so that `tools/list` is built once per configuration (not per
 * request) and validation errors become tool errors in our own words.
 */
export function createServer(runtime: Runtime): Server {
  const server = new Server(
    { name: "infra-mcp", title: "infra-mcp", version: VERSION },
    { capabilities: { tools: {}, logging: {} }, instructions: INSTRUCTIONS },
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

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const tool = byName.get(request.params.name);
    if (tool === undefined) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown tool ${request.params.name}; tools/list shows the ${byName.size} tools this server has.`,
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
    return invokeTool(tool, request.params.arguments, runtime, call);
  });

  return server;
}
