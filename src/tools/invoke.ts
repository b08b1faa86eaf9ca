import type { Session } from "../auth/session.js";
import type { Config } from "../config.js";
import { clip, DeadlineExceeded, describeError } from "../errors.js";
import type { Logger } from "../log.js";
import type { ConfirmationStore } from "../safety/confirm.js";
import type { Redactor } from "../safety/redact.js";
import { isTraceparent } from "../trace-context.js";
import { type AnyContext, describeInvalidArguments, type ListPage, shapeList } from "./define.js";
import type { PreparedTool } from "./index.js";

/** A `tools/call` result, in the protocol's shape (kept SDK-free here). */
export interface ToolResult {
  [key: string]: unknown;
  content: { type: "text"; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  /**
   * Set instead of a final answer when the client must answer first: a 2026-07-28 client is asked for its
   * user's confirmation with an input request, and calls again carrying the answer and `requestState`.
   */
  inputRequired?: { message: string; requestState: string };
}

/** Everything a call needs from the server around it. */
export interface InvokeDeps {
  config: Config;
  sessions: ReadonlyMap<string, Session>;
  redactor: Redactor;
  logger: Logger;
  confirmations: ConfirmationStore;
}

/** What one MCP request provides. */
export interface CallEnvironment {
  signal: AbortSignal;
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** Asks the user through elicitation, when the client supports it. */
  elicit?: (message: string) => Promise<"accept" | "decline" | "cancel">;
  /** The client as it names itself (its `initialize`, or a 2026-07-28 request's own metadata). */
  client?: { name: string; version: string };
  /** W3C trace context the client sent with the call; passed upstream once it is checked. */
  traceparent?: string;
  /**
   * A 2026-07-28 client that declared elicitation: confirmation is an input request it answers by calling
   * again. On that retry, `answer` is the user's and `requestState` what the server issued.
   */
  inputRequest?: { answer?: "accept" | "decline" | "cancel"; requestState?: string };
}

/**
 * The path of one call: validate, apply policy (confirmation), run the handler, shape the result.
 * Every failure becomes an `isError` result; nothing here throws to the transport.
 */
export async function invokeTool(
  tool: PreparedTool,
  rawArgs: unknown,
  deps: InvokeDeps,
  call: CallEnvironment,
): Promise<ToolResult> {
  const { definition } = tool;
  const parsed = tool.input.safeParse(rawArgs ?? {});
  if (!parsed.success) {
    return errorResult(
      deps.redactor,
      describeInvalidArguments(definition.name, parsed.error, tool.input),
      deps.config.maxOutputChars,
    );
  }
  const { confirmation_token: token, ...args } = parsed.data as Record<string, unknown>;
  // One budget for the whole call: every request it makes, and every wait, fits inside it. One signal
  // carries both ends of the call (the client's cancellation, the deadline) to every request it makes.
  const budgetMs = definition.budgetMs?.(args, deps.config) ?? deps.config.timeoutMs;
  const lifetime = callLifetime(call.signal, budgetMs);
  const traceparent = validTraceparent(call.traceparent, deps.logger);
  const scope = {
    signal: lifetime.signal,
    deadline: Date.now() + budgetMs,
    ...(traceparent !== undefined ? { traceparent } : {}),
  };
  const ctx: AnyContext = {
    config: deps.config,
    redactor: deps.redactor,
    signal: scope.signal,
    deadline: scope.deadline,
    progress: call.progress,
    log: deps.logger,
  };
  // Sessions are lent already bound to the call, so no tool passes its signal or deadline by hand: a
  // platform tool gets its own API's, an infra tool (which names no API) every enabled one.
  if (definition.api !== undefined) {
    const session = deps.sessions.get(definition.api);
    if (session !== undefined) ctx.session = session.bind(scope);
  } else {
    ctx.sessions = new Map([...deps.sessions].map(([api, session]) => [api, session.bind(scope)]));
  }

  const started = performance.now();
  try {
    // Inside the try: a pre-check or a preview may read upstream, and its refusal (an unknown id) is the
    // call's answer. A call that only reads needs no confirmation, whatever the tool can do with other
    // arguments.
    await definition.precheck?.(args, ctx);
    if (tool.confirm && definition.readsOnly?.(args) !== true) {
      const gate = await confirm(tool, args, token as string | undefined, ctx, deps, call);
      if (gate !== undefined) return gate;
    }
    const data = await definition.handler(args, ctx);
    if (deps.logger.enabled("debug")) {
      const by = call.client === undefined ? "" : ` for ${call.client.name} ${call.client.version}`;
      deps.logger.debug(`${definition.name} ok in ${Math.round(performance.now() - started)} ms${by}`);
    }
    return shapeResult(tool, args, data, deps);
  } catch (error) {
    const text = describeError(error, (part) => deps.redactor.scrub(part));
    deps.logger.info(`${definition.name} failed: ${text}`);
    return errorResult(deps.redactor, text, deps.config.maxOutputChars);
  } finally {
    lifetime.end();
  }
}

/** The client's trace context if it is W3C's `traceparent`; a malformed one is dropped, never sent. */
function validTraceparent(value: string | undefined, logger: Logger): string | undefined {
  if (value === undefined) return undefined;
  if (isTraceparent(value)) return value;
  logger.debug(`traceparent dropped: ${JSON.stringify(value.slice(0, 80))} is not W3C trace context`);
  return undefined;
}

/**
 * A signal that aborts when the client cancels the call or when its budget runs out (with DeadlineExceeded
 * as the reason): one controller, one timer and one listener per call, shared by every request it makes.
 */
function callLifetime(clientSignal: AbortSignal, budgetMs: number): { signal: AbortSignal; end(): void } {
  const controller = new AbortController();
  const onCancel = () => controller.abort(clientSignal.reason);
  const timer = setTimeout(() => controller.abort(new DeadlineExceeded()), budgetMs);
  if (clientSignal.aborted) onCancel();
  else clientSignal.addEventListener("abort", onCancel, { once: true });
  return {
    signal: controller.signal,
    end: () => {
      clearTimeout(timer);
      clientSignal.removeEventListener("abort", onCancel);
    },
  };
}

async function confirm(
  tool: PreparedTool,
  args: Record<string, unknown>,
  token: string | undefined,
  ctx: AnyContext,
  deps: InvokeDeps,
  call: CallEnvironment,
): Promise<ToolResult | undefined> {
  const name = tool.definition.name;
  const preview = deps.redactor.scrub(
    (await tool.definition.preview?.(args, ctx)) ??
      `${tool.definition.title} with ${JSON.stringify(deps.redactor.value(args))}`,
  );
  if (token !== undefined) {
    const redemption = await deps.confirmations.redeem(token, name, args, preview);
    return redemption.ok
      ? undefined
      : errorResult(deps.redactor, redemption.reason, deps.config.maxOutputChars);
  }
  if (call.inputRequest) return confirmByInputRequest(tool, args, preview, call.inputRequest, deps);
  if (call.elicit) {
    try {
      const answer = await call.elicit(`${tool.definition.title}: ${preview}. Proceed?`);
      if (answer === "accept") return undefined;
      const word = answer === "decline" ? "declined" : "cancelled";
      return errorResult(deps.redactor, `The user ${word}; nothing was done.`, deps.config.maxOutputChars);
    } catch (error) {
      // A client that announced elicitation but could not show the form: ask through a token instead.
      deps.logger.warn(
        `${name}: elicitation failed (${(error as Error).message}); returning a confirmation token`,
      );
    }
  }
  const issued = deps.confirmations.issue(name, args, preview);
  const structured = {
    confirmation_required: true,
    preview,
    confirmation_token: issued.token,
    expires_in_seconds: issued.expiresInSeconds,
  };
  const instruction =
    `Nothing was done yet. Show the user this preview and ask them to confirm: ${preview}. ` +
    `If they agree, call ${name} again with the same arguments plus confirmation_token.`;
  return {
    structuredContent: structured,
    // The JSON alone first, so the text parses as the structuredContent it repeats (TOOLS.md section 4).
    content: [
      { type: "text", text: JSON.stringify(structured) },
      { type: "text", text: instruction },
    ],
  };
}

/**
 * Confirmation as a 2026-07-28 input request. The first call asks, with a signed one-time token as the
 * request's state; the client asks its user and calls again with the answer and that state, which is
 * redeemed as a confirmation_token is: any replica verifies it, the shared store spends it once, and a
 * forged, spent, expired or other-arguments state is refused, saying which. A refusal by the user sends
 * nothing.
 */
async function confirmByInputRequest(
  tool: PreparedTool,
  args: Record<string, unknown>,
  preview: string,
  round: NonNullable<CallEnvironment["inputRequest"]>,
  deps: InvokeDeps,
): Promise<ToolResult | undefined> {
  const { name, title } = tool.definition;
  const maxChars = deps.config.maxOutputChars;
  if (round.answer === undefined) {
    const message = `${title}: ${preview}. Proceed?`;
    const { token } = deps.confirmations.issue(name, args, preview);
    return { content: [{ type: "text", text: message }], inputRequired: { message, requestState: token } };
  }
  if (round.answer !== "accept") {
    const word = round.answer === "decline" ? "declined" : "cancelled";
    return errorResult(deps.redactor, `The user ${word}; nothing was done.`, maxChars);
  }
  if (round.requestState === undefined) {
    return errorResult(
      deps.redactor,
      `The confirmation of ${name} came back without the requestState this server asked with; nothing was ` +
        "done. Call the tool again to be asked again.",
      maxChars,
    );
  }
  const redemption = await deps.confirmations.redeem(round.requestState, name, args, preview, "requestState");
  return redemption.ok ? undefined : errorResult(deps.redactor, redemption.reason, maxChars);
}

function shapeResult(
  tool: PreparedTool,
  args: Record<string, unknown>,
  data: unknown,
  deps: InvokeDeps,
): ToolResult {
  const { definition } = tool;
  const reveal = definition.reveal ? new Set(definition.reveal) : undefined;
  const maxChars = deps.config.maxOutputChars;
  let structured: Record<string, unknown>;
  if (definition.list) {
    structured = shapeList(data as ListPage, args, {
      defaultLimit: definition.list.defaultLimit,
      maxChars,
      redactor: deps.redactor,
      reveal,
    });
  } else {
    const value = deps.redactor.value(data, reveal);
    structured =
      value !== null && typeof value === "object" && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : { data: value };
  }
  const text = JSON.stringify(structured);
  if (text.length <= maxChars) return { structuredContent: structured, content: [{ type: "text", text }] };
  if (!definition.annotations.readOnly && definition.readsOnly?.(args) !== true) {
    // The write happened: saying otherwise would make a model repeat it. Say it succeeded, show the start.
    const shortened = {
      ok: true,
      truncated: true,
      note:
        `${definition.name} succeeded. Its answer was ${text.length} characters, over the ${maxChars}-character ` +
        "output budget (INFRA_MCP_MAX_OUTPUT_CHARS), so only its start is shown; read the result back with a " +
        "get or list tool if you need it. Do not repeat the call.",
      excerpt: text.slice(0, Math.max(0, maxChars - 600)),
    };
    return { structuredContent: shortened, content: [{ type: "text", text: JSON.stringify(shortened) }] };
  }
  // Suggest what this tool offers: its own parameters (list tools fit their items and never get here).
  const parameters = Object.keys(definition.input);
  const narrow =
    parameters.length > 0
      ? `narrow it with its parameters (${parameters.join(", ")})`
      : "this tool takes no parameters to narrow it; use a list tool with fields=[...] instead";
  return errorResult(
    deps.redactor,
    `${definition.name} produced ${text.length} characters, over the ${maxChars}-character output budget ` +
      `(INFRA_MCP_MAX_OUTPUT_CHARS). Ask for less: ${narrow}, or raise the budget.`,
    maxChars,
  );
}

/** An error for the model, scrubbed, then shortened to the output budget. */
function errorResult(redactor: Redactor, text: string, maxChars: number): ToolResult {
  return { isError: true, content: [{ type: "text", text: clip(redactor.scrub(text), maxChars - 40) }] };
}
