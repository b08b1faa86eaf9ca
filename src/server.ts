import { createRequire } from "node:module";
import {
  type CallToolResult,
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  type ClientCapabilities,
  type ElicitRequestFormParams,
  type Implementation,
  type InputRequiredResult,
  inputRequired,
  inputResponse,
  type JSONRPCRequest,
  type ListToolsResult,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  ProtocolErrorCode,
  type RequestId,
  type Result,
  Server,
  type ServerContext,
  type Tool,
} from "@modelcontextprotocol/server";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/server/validators/ajv";
import type { Session } from "./auth/session.js";
import { enabledApis, openSessions } from "./auth/sessions.js";
import { type Config, configSecrets } from "./config.js";
import { createLogger, type Logger, type LogSink, logWithin } from "./log.js";
import type { Platform } from "./platform.js";
import { AuditTrail } from "./safety/audit.js";
import { ConfirmationStore, LocalSpentTokens, type SpentTokens } from "./safety/confirm.js";
import { loadPolicyFile, Policy } from "./safety/policy.js";
import { Redactor } from "./safety/redact.js";
import { RedisSpentTokens } from "./safety/redis-spent-tokens.js";
import { type PreparedTool, prepareTools, toolsOf } from "./tools/index.js";
import { type CallEnvironment, type InvokeDeps, invokeTool } from "./tools/invoke.js";

export const VERSION: string = (createRequire(import.meta.url)("../package.json") as { version: string })
  .version;

/** The tools as served under one configuration and policy, built once and replaced whole on a reload. */
export interface ToolCatalog {
  tools: readonly PreparedTool[];
  byName: ReadonlyMap<string, PreparedTool>;
  /** The `tools/list` answer: the tools' own definitions as JSON (src/tools/index.ts), in the protocol's shape. */
  listing: ListToolsResult;
}

/** The tools these platforms serve under this configuration and policy. */
function catalogFor(config: Config, platforms: readonly Platform[], policy: Policy): ToolCatalog {
  const tools = prepareTools(config, toolsOf(platforms), enabledApis(config, platforms), policy);
  return {
    tools,
    byName: new Map(tools.map((tool) => [tool.definition.name, tool])),
    listing: { tools: tools.map((tool) => tool.listing as Tool) },
  };
}

/**
 * Long-lived state shared by every MCP connection: sessions, confirmations, the operator's policy, the audit
 * trail and the prepared tools.
 */
export interface Runtime extends InvokeDeps {
  /** The platforms this server knows (the registry, as the composition root handed it in). */
  platforms: readonly Platform[];
  catalog: ToolCatalog;
  /** Connected servers, told when the tool list changes (a policy reload that changes what confirms). */
  toolListeners: Set<() => void>;
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
  const policy = config.policy?.policy ?? new Policy();
  return {
    config,
    redactor,
    logger,
    sessions,
    confirmations,
    platforms,
    policy,
    catalog: catalogFor(config, platforms, policy),
    toolListeners: new Set(),
    logSinks,
    spentTokens,
  };
}

/**
 * Opens the audit trail the configuration names (INFRA_MCP_AUDIT_FILE), continuing a file an earlier run
 * left, and attaches it to the runtime. Every record is scrubbed by the runtime's redactor. Returns what
 * the operator should know about the file's end (a torn last line); throws when it cannot be opened.
 */
export async function attachAuditTrail(runtime: Runtime): Promise<string[]> {
  const settings = runtime.config.audit;
  if (settings === undefined) return [];
  const { trail, notes } = await AuditTrail.open(settings.path, {
    scrub: (entry) => runtime.redactor.value(entry) as typeof entry,
    warn: (message) => runtime.logger.warn(message),
  });
  runtime.audit = trail;
  return notes;
}

export type PolicyReload =
  | { ok: true; path: string; rules: number; listChanged: boolean }
  | { ok: false; path: string; problems: string[] };

/**
 * Reads the policy file again (SIGHUP). A good file replaces the policy for every call from now on (a call
 * under way keeps the rules it started with) and, when it changes which tools may confirm, the tool list,
 * which connected clients are told of. A bad one changes nothing: the policy in force stays.
 */
export function reloadPolicy(runtime: Runtime): PolicyReload | undefined {
  const path = runtime.config.policy?.path;
  if (path === undefined) return undefined;
  const loaded = loadPolicyFile(path);
  if (!loaded.ok) return { ok: false, path, problems: loaded.problems };
  const before = JSON.stringify(runtime.catalog.listing);
  const catalog = catalogFor(runtime.config, runtime.platforms, loaded.policy);
  runtime.policy = loaded.policy;
  const listChanged = JSON.stringify(catalog.listing) !== before;
  if (listChanged) {
    runtime.catalog = catalog;
    for (const listener of runtime.toolListeners) listener();
  }
  return { ok: true, path, rules: loaded.policy.rules.length, listChanged };
}

/**
 * An error the protocol layer sends as it is. A ProtocolError would not do: its message already carries the
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
 * How long a 2026-07-28 client may keep the discover answer, and the tool list while it follows from the
 * configuration alone (which changes only with a restart); both are the same for every caller of this server.
 */
const LISTING_CACHE = { ttlMs: 5 * 60_000, cacheScope: "public" } as const;

/**
 * The tool list's hint with a policy file: SIGHUP may change it at any moment (which tools take a
 * confirmation_token), and only a client holding a subscriptions/listen stream hears of that. Which ones do
 * cannot be known here (over HTTP the stream and the list are separate requests, maybe to separate
 * replicas), so none may take the list as fresh: one that did could be missing a parameter its next call
 * needs. Still public: a reload changes it for every caller alike.
 */
const RELOADABLE_LISTING_CACHE = { ttlMs: 0, cacheScope: "public" } as const;

/** The form a confirmation shows, for elicitation (2025 era) and input requests (2026-07-28) alike. */
const CONFIRM_FORM: ElicitRequestFormParams["requestedSchema"] = {
  type: "object",
  properties: { confirm: { type: "boolean", title: "Proceed", description: "Carry out this action" } },
  required: ["confirm"],
};

/** MCP's name for each of our log levels. */
const MCP_LOG_LEVEL = { error: "error", warn: "warning", info: "info", debug: "debug" } as const;

export interface ServerOptions {
  /**
   * Who calls through this server, as its front knows them: `local` on stdio (the default), `http` for
   * the bearer-token holder. The seam for authenticated identities: a front that verifies OAuth tokens
   * names the token's subject here.
   */
  principal?: string;
  /** Holds this server while it has calls in flight (a replica cuts them when it stops). */
  answering?: Set<InfraServer>;
  /**
   * The generation of the long-lived connection this server serves (stdio), which is told when a policy
   * reload changes the tool list: a 2025-era one from its `initialize` on, a 2026-07-28 one from the start
   * (its entry delivers the notification on the client's subscriptions/listen streams). Unset for a server
   * that answers one HTTP request: that front hears of reloads once, for all its listeners.
   */
  connection?: "legacy" | "modern";
}

/**
 * The low-level Server with the enabled tools. It checks a tools/call's framing itself, before the SDK's own
 * request check, whose answer to arguments that are not an object is a raw zod dump: the check is ours, in
 * our words (-32602). It finds tools in the runtime's catalog at each call, so that a long-lived connection
 * serves what a policy reload made of the list. It also knows the calls it is answering, so that a replica
 * shutting down can answer each with an error instead of leaving its client to wait.
 */
export class InfraServer extends Server {
  readonly #callsInFlight = new Set<RequestId>();
  readonly #runtime: Runtime;
  readonly #answering: Set<InfraServer> | undefined;
  /** Who calls through this server (ServerOptions.principal). */
  readonly principal: string;

  constructor(runtime: Runtime, options: ServerOptions = {}) {
    const reloadable = runtime.config.policy !== undefined;
    super(
      { name: "infra-mcp", title: "infra-mcp", version: VERSION },
      {
        // A policy file can be reloaded (SIGHUP), and a reload can change which tools take a confirmation.
        capabilities: { tools: reloadable ? { listChanged: true } : {}, logging: {} },
        instructions: INSTRUCTIONS,
        jsonSchemaValidator: SCHEMA_VALIDATOR,
        cacheHints: {
          "tools/list": reloadable ? RELOADABLE_LISTING_CACHE : LISTING_CACHE,
          "server/discover": LISTING_CACHE,
        },
      },
    );
    this.#runtime = runtime;
    this.#answering = options.answering;
    this.principal = options.principal ?? "local";
  }

  protected override _wrapHandler(
    method: string,
    handler: (request: JSONRPCRequest, ctx: ServerContext) => Promise<Result>,
  ): (request: JSONRPCRequest, ctx: ServerContext) => Promise<Result> {
    const wrapped = super._wrapHandler(method, handler);
    if (method !== "tools/call") return wrapped;
    return async (request, ctx) => {
      this.#checkFraming(request.params);
      this.#callsInFlight.add(ctx.mcpReq.id);
      this.#answering?.add(this);
      try {
        return await wrapped(request, ctx);
      } finally {
        this.#callsInFlight.delete(ctx.mcpReq.id);
        if (this.#callsInFlight.size === 0) this.#answering?.delete(this);
      }
    };
  }

  /** The tool a tools/call names, or a protocol error naming what is wrong with the request. */
  tool(name: string): PreparedTool {
    const { byName } = this.#runtime.catalog;
    const tool = byName.get(name);
    if (tool !== undefined) return tool;
    throw protocolError(
      ProtocolErrorCode.InvalidParams,
      `Unknown tool ${name}; tools/list shows the ${byName.size} tools this server has.`,
    );
  }

  #checkFraming(params: JSONRPCRequest["params"]): void {
    const name = typeof params?.name === "string" ? params.name : "";
    const tool = this.tool(name);
    const args = params?.arguments;
    if (args !== undefined && (args === null || typeof args !== "object" || Array.isArray(args))) {
      throw protocolError(
        ProtocolErrorCode.InvalidParams,
        `The arguments of ${tool.definition.name} must be an object of named parameters (tools/list shows them), ` +
          `not ${Array.isArray(args) ? "an array" : args === null ? "null" : `a ${typeof args}`}. Nothing was sent upstream.`,
      );
    }
  }

  /** Answers every call still in flight with an error carrying `message` (a replica cutting its calls). */
  async cutCallsInFlight(message: string): Promise<void> {
    for (const id of this.#callsInFlight) {
      await this.transport
        ?.send(
          { jsonrpc: "2.0", id, error: { code: ProtocolErrorCode.InternalError, message } },
          { relatedRequestId: id },
        )
        .catch(() => undefined); // already answered, or the client is gone
    }
  }
}

/**
 * An MCP server with the enabled tools, for either protocol generation: the serving entry (stdio, HTTP)
 * decides which one a connection or request speaks. No I/O happens here; the caller connects a transport.
 * The low-level Server rather than the SDK's McpServer, so that `tools/list` is built once per
 * configuration and policy (not per request) and validation errors become tool errors in our own words.
 */
export function createServer(runtime: Runtime, options: ServerOptions = {}): InfraServer {
  const server = new InfraServer(runtime, options);
  // 2025-era connections get every log line (at the level they set with logging/setLevel), scrubbed first.
  const forward: LogSink = (level, message) => {
    void server
      .sendLoggingMessage({ level: MCP_LOG_LEVEL[level], logger: "infra-mcp", data: message })
      .catch(() => undefined);
  };
  const listChanged = () => {
    void server.sendToolListChanged().catch(() => undefined);
  };
  if (options.connection === "modern") runtime.toolListeners.add(listChanged);
  server.oninitialized = () => {
    runtime.logSinks.add(forward);
    if (options.connection === "legacy") runtime.toolListeners.add(listChanged);
  };
  server.onclose = () => {
    runtime.logSinks.delete(forward);
    runtime.toolListeners.delete(listChanged);
  };
  // Read at each request: a policy reload replaces the catalog, listing included.
  server.setRequestHandler("tools/list", () => runtime.catalog.listing);
  server.setRequestHandler("tools/call", async (request, ctx) => {
    const tool = server.tool(request.params.name);
    const call = callEnvironment(server, ctx);
    const args = request.params.arguments;
    const result = await withLogNotifications(ctx, () => invokeTool(tool, args, runtime, call));
    return result.inputRequired === undefined
      ? (result as CallToolResult)
      : askForInput(result.inputRequired);
  });
  return server;
}

/** What the call path needs from one tools/call, whichever protocol generation carried it. */
function callEnvironment(server: InfraServer, ctx: ServerContext): CallEnvironment {
  // The SDK has checked a 2026-07-28 request's envelope against the revision's schema before any handler
  // runs (a malformed one is answered -32602); its type names no keys, so they are read by their names.
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const modern = envelope?.[PROTOCOL_VERSION_META_KEY] !== undefined;
  const progressToken = ctx.mcpReq._meta?.progressToken;
  const call: CallEnvironment = {
    principal: server.principal,
    signal: ctx.mcpReq.signal,
    progress: async (progress, total, message) => {
      if (progressToken === undefined) return;
      await ctx.mcpReq.notify({
        method: "notifications/progress",
        params: { progressToken, progress, total, message },
      });
    },
  };
  const client = modern
    ? (envelope?.[CLIENT_INFO_META_KEY] as Implementation | undefined)
    : server.getClientVersion();
  if (client !== undefined) call.client = { name: client.name, version: client.version };
  if (!modern) {
    if (server.getClientCapabilities()?.elicitation !== undefined) call.elicit = elicitation(ctx);
    return call;
  }
  const traceparent = ctx.mcpReq._meta?.traceparent;
  if (typeof traceparent === "string") call.traceparent = traceparent;
  const capabilities = envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
  if (asksInForms(capabilities)) {
    const state = ctx.mcpReq.requestState<unknown>();
    call.inputRequest = {
      answer: confirmationAnswer(ctx.mcpReq.inputResponses),
      ...(typeof state === "string" ? { requestState: state } : {}),
    };
  }
  return call;
}

/**
 * Whether a 2026-07-28 client can show a confirmation form: it declared form elicitation, or elicitation
 * with no mode at all, which means forms (the 2025 meaning, kept by the revision).
 */
function asksInForms(capabilities: ClientCapabilities | undefined): boolean {
  const elicitation = capabilities?.elicitation as Record<string, unknown> | undefined;
  if (elicitation === undefined) return false;
  return elicitation.form !== undefined || elicitation.url === undefined;
}

/** The user's answer to the confirmation form, as the retried call carries it (none on the first call). */
function confirmationAnswer(
  responses: Record<string, unknown> | undefined,
): "accept" | "decline" | "cancel" | undefined {
  const view = inputResponse(responses, "confirm");
  if (view.kind !== "elicit") return undefined;
  if (view.action !== "accept") return view.action;
  return view.content?.confirm === true ? "accept" : "decline";
}

/** The input request a 2026-07-28 client gets instead of a server-to-client elicitation. */
function askForInput(asked: { message: string; requestState: string }): InputRequiredResult {
  return inputRequired({
    inputRequests: {
      confirm: inputRequired.elicit({ mode: "form", message: asked.message, requestedSchema: CONFIRM_FORM }),
    },
    requestState: asked.requestState,
  });
}

/** Elicitation as 2025-era clients get it: a request from the server, answered before the call goes on. */
function elicitation(ctx: ServerContext): NonNullable<CallEnvironment["elicit"]> {
  return async (message) => {
    const answer = await ctx.mcpReq.send({
      method: "elicitation/create",
      params: { mode: "form", message, requestedSchema: CONFIRM_FORM },
    });
    if (answer.action !== "accept") return answer.action;
    return answer.content?.confirm === true ? "accept" : "decline";
  };
}

/**
 * 2026-07-28 requests carry their own log level (no session holds one): the lines a call logs go to its
 * client as log notifications, related to the call, when it asked for them. Without a level, none are sent.
 */
function withLogNotifications<T>(ctx: ServerContext, work: () => Promise<T>): Promise<T> {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  if (envelope?.[LOG_LEVEL_META_KEY] === undefined) return work();
  return logWithin((level, message) => {
    void ctx.mcpReq.log(MCP_LOG_LEVEL[level], message, "infra-mcp").catch(() => undefined);
  }, work);
}
