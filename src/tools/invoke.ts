import type { Session } from "../auth/session.js";
import type { CallScope } from "../auth/types.js";
import type { Config } from "../config.js";
import { clip, DeadlineExceeded, describeError, PolicyDeniedError, ReadOnlyError } from "../errors.js";
import type { Logger } from "../log.js";
import { type AuditDecision, type AuditEntry, type AuditTrail, newCallId } from "../safety/audit.js";
import { argumentsDigest, type ConfirmationStore } from "../safety/confirm.js";
import type { CallFacts, CallVerdict, Policy, RequestFacts } from "../safety/policy.js";
import type { Redactor } from "../safety/redact.js";
import { CallWatch, denialMessage } from "../safety/watch.js";
import { isTraceparent } from "../trace-context.js";
import {
  type AnyContext,
  classOf,
  describeInvalidArguments,
  type ListPage,
  type PlannedRequest,
  shapeList,
  targetsOf,
} from "./define.js";
import { fallbackFor, type PreparedTool } from "./index.js";

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
  /** The operator's policy in force (empty without INFRA_MCP_POLICY); a reload replaces it. */
  policy: Policy;
  /** The audit trail, with INFRA_MCP_AUDIT_FILE. */
  audit?: AuditTrail;
}

/** What one MCP request provides. */
export interface CallEnvironment {
  signal: AbortSignal;
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** Asks the user through elicitation, when the client supports it. */
  elicit?: (message: string) => Promise<"accept" | "decline" | "cancel">;
  /**
   * Who calls, as the server's front knows them: `local` on stdio, `http` for the holder of the bearer
   * token. An authenticating front (OAuth) would name the authenticated identity here instead.
   */
  principal: string;
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

/** How long an error quoted in the audit trail may be. */
const AUDIT_ERROR_LIMIT = 500;

/**
 * The path of one call: validate, decide (read-only, the operator's policy, confirmation), record what is
 * about to change, run the handler, shape the result, record what happened. Every failure becomes an
 * `isError` result; nothing here throws to the transport.
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
  // Read now, before anything waits: a reload during the call does not change the rules it runs under.
  const { policy, audit } = deps;
  const started = performance.now();
  const decided = decideCall(tool, args, deps, call.principal);
  const { facts, fallback, verdict } = decided;
  // Without rules and without a trail there is nothing to watch: the session is left its plain path.
  const watch =
    policy.empty && audit === undefined ? undefined : new CallWatch(policy, facts, fallback, verdict.effect);
  const trail =
    audit === undefined ? undefined : recorder({ audit, tool, args, call, decided, watch, started, deps });
  /** The result, once its record (when there is a trail) is on disk. */
  const ended = async (decision: AuditDecision, result: ToolResult, details: Partial<AuditEntry> = {}) =>
    trail === undefined ? result : trail.ended(decision, result, details);

  if (verdict.effect === "deny") {
    const request = verdict.request;
    const text = denialMessage(
      verdict,
      definition.name,
      request && { api: request.service ?? "?", method: request.method ?? "?", path: request.path },
      true,
    );
    return ended(
      "denied",
      errorResult(deps.redactor, text, deps.config.maxOutputChars),
      verdict.rule ? { rule: verdict.rule.id } : {},
    );
  }

  // One budget for the whole call: every request it makes, and every wait, fits inside it. One signal
  // carries both ends of the call (the client's cancellation, the deadline) to every request it makes.
  const budgetMs = definition.budgetMs?.(args, deps.config) ?? deps.config.timeoutMs;
  const lifetime = callLifetime(call.signal, budgetMs);
  const deadline = Date.now() + budgetMs;
  // The watch rides in the scope every session is bound to, with the client's trace: each request the call
  // makes passes the one and carries the other.
  const scope: CallScope = { signal: lifetime.signal, deadline };
  const traceparent = validTraceparent(call.traceparent, deps.logger);
  if (traceparent !== undefined) scope.traceparent = traceparent;
  if (watch !== undefined) scope.guard = watch;
  const ctx: AnyContext = {
    config: deps.config,
    redactor: deps.redactor,
    signal: lifetime.signal,
    deadline,
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

  let decision: AuditDecision = "allowed";
  const details: Partial<AuditEntry> = verdict.rule ? { rule: verdict.rule.id } : {};
  try {
    // Inside the try: a pre-check or a preview may read upstream, and its refusal (an unknown id) is the
    // call's answer, before anyone is asked to confirm.
    await definition.precheck?.(args, ctx);
    if (verdict.effect === "confirm") {
      const confirmation = await confirm(tool, args, token as string | undefined, ctx, deps, call);
      details.confirmation = confirmation.via;
      if (!confirmation.proceed) return await ended(confirmation.decision, confirmation.result, details);
      decision = "confirmed";
    }
    // No record, no change: the trail must hold this call before anything is sent that changes something.
    if (trail !== undefined && facts.class !== "read_only") {
      const refusal = await trail.beforeActing(decision, details);
      if (refusal !== undefined) return refusal;
    }
    const data = await definition.handler(args, ctx);
    if (deps.logger.enabled("debug")) {
      const by = call.client === undefined ? "" : ` for ${call.client.name} ${call.client.version}`;
      deps.logger.debug(`${definition.name} ok in ${Math.round(performance.now() - started)} ms${by}`);
    }
    return await ended(decision, shapeResult(tool, args, data, deps), details);
  } catch (error) {
    const text = describeError(error, (part) => deps.redactor.scrub(part));
    deps.logger.info(`${definition.name} failed: ${text}`);
    const result = errorResult(deps.redactor, text, deps.config.maxOutputChars);
    // A refusal in the session (a request the policy or read-only mode kept back) is the call's decision.
    if (error instanceof PolicyDeniedError) {
      decision = "denied";
      if (error.rule !== undefined) details.rule = error.rule;
    } else if (error instanceof ReadOnlyError) {
      decision = "refused";
    }
    return await ended(decision, result, details);
  } finally {
    lifetime.end();
  }
}

/** What is decided about a call before it runs: its facts, its declared requests and the policy's verdict. */
export interface CallDecision {
  facts: CallFacts;
  /** What decides a request no rule matches. */
  fallback: "allow" | "confirm";
  /** The API a platform tool's requests go to. */
  ownApi: string | undefined;
  /** The requests it declared (undefined: it cannot say, or there is no rule they could matter to). */
  planned: RequestFacts[] | undefined;
  verdict: CallVerdict;
}

/**
 * Decides a call before it runs, as `tools/call` and `infra-mcp policy explain` both do: its class (a call
 * that only reads is a read, whatever the tool can do with other arguments: TOOLS.md section 4), what
 * decides when no rule matches, and the policy's verdict from the requests it declares. `declare`: ask
 * for the requests even without rules (to show them).
 */
export function decideCall(
  tool: PreparedTool,
  args: Record<string, unknown>,
  deps: Pick<InvokeDeps, "policy" | "sessions" | "config">,
  principal: string,
  declare = false,
): CallDecision {
  const { definition } = tool;
  const callClass = definition.readsOnly?.(args) === true ? "read_only" : classOf(definition.annotations);
  const facts: CallFacts = { tool: definition.name, class: callClass, principal };
  const fallback = fallbackFor(definition, callClass, deps.config);
  const ownApi = definition.api;
  // Without rules the declaration cannot change the verdict: the hot path does not build it.
  const planned = declare || !deps.policy.empty ? plannedRequests(tool, args, deps, ownApi) : undefined;
  return { facts, fallback, ownApi, planned, verdict: deps.policy.gate(facts, planned, fallback) };
}

/** The requests a call declares, as the policy matches them; undefined when the tool cannot say. */
function plannedRequests(
  tool: PreparedTool,
  args: Record<string, unknown>,
  deps: Pick<InvokeDeps, "sessions">,
  ownApi: string | undefined,
): RequestFacts[] | undefined {
  if (tool.definition.requests === undefined) return undefined;
  let declared: readonly PlannedRequest[] | undefined;
  try {
    const own = ownApi === undefined ? undefined : deps.sessions.get(ownApi);
    declared = tool.definition.requests(
      args,
      own === undefined ? { apis: deps.sessions } : { apis: deps.sessions, own },
    );
  } catch {
    // Arguments the tool will refuse itself (a path that is not a read): the handler says why.
    return undefined;
  }
  return declared?.map((request) => {
    const facts: RequestFacts = { method: request.method };
    const service = request.api ?? ownApi;
    if (service !== undefined) facts.service = service;
    if (request.path !== undefined) facts.path = request.path;
    return facts;
  });
}

/**
 * Writes a call's records: `beforeActing`, the record a change needs before anything is sent (no record, no
 * change: it answers with the refusal to act when the record could not be written), and `ended`, the record
 * of how the call ended, written before its result is returned (a result whose record could not be written
 * says so, and stands).
 */
function recorder({
  audit,
  tool,
  args,
  call,
  decided,
  watch,
  started,
  deps,
}: {
  audit: AuditTrail;
  tool: PreparedTool;
  args: Record<string, unknown>;
  call: CallEnvironment;
  decided: CallDecision;
  watch: CallWatch | undefined;
  started: number;
  deps: InvokeDeps;
}) {
  const { definition } = tool;
  const callId = newCallId();
  // The digest of the arguments with secret fields masked: it names the arguments for an auditor who holds
  // them, and cannot be used to test a guess of a password (a low-entropy one would fall to a dictionary).
  // Computed once, and only for a call that is recorded.
  let argsSha256: string | undefined;
  const digestOfArgs = () =>
    (argsSha256 ??= argumentsDigest(deps.redactor.value(args) as Record<string, unknown>).toString("hex"));
  const client = call.client === undefined ? "" : `${call.client.name}/${call.client.version}`;
  const changing = decided.facts.class !== "read_only";
  // Calls of tools that can change something are recorded, refusals and confirmations always, and reads
  // with INFRA_MCP_AUDIT=all (TOOLS.md section 6).
  const always = !definition.annotations.readOnly || deps.config.audit?.reads === true;

  const entry = (
    decision: AuditDecision,
    result: ToolResult | undefined,
    details: Partial<AuditEntry>,
  ): AuditEntry => {
    const services: string[] = decided.ownApi === undefined ? [] : [decided.ownApi];
    for (const api of [...(decided.planned ?? []).map((r) => r.service), ...(watch?.services ?? [])]) {
      if (api !== undefined && !services.includes(api)) services.push(api);
    }
    return {
      call: callId,
      principal: call.principal,
      client,
      tool: definition.name,
      services,
      args_sha256: digestOfArgs(),
      targets: targetsOf(args, tool.targets),
      decision,
      ...(details.rule !== undefined ? { rule: details.rule } : {}),
      ...(details.confirmation !== undefined ? { confirmation: details.confirmation } : {}),
      upstream: [...(watch?.upstream ?? [])],
      ...(watch !== undefined && watch.denied.length > 0 ? { denied: [...watch.denied] } : {}),
      outcome: result === undefined ? "started" : result.isError ? "error" : "ok",
      ...(result?.isError ? { error: clip(result.content[0]?.text ?? "", AUDIT_ERROR_LIMIT) } : {}),
      duration_ms: Math.round(performance.now() - started),
    };
  };

  return {
    async beforeActing(
      decision: AuditDecision,
      details: Partial<AuditEntry>,
    ): Promise<ToolResult | undefined> {
      try {
        await audit.write(entry(decision, undefined, details));
        return undefined;
      } catch (error) {
        const reason = (error as Error).message;
        deps.logger.error(
          `${definition.name}: not acting, as its audit record could not be written: ${reason}`,
        );
        return {
          isError: true,
          content: [
            {
              type: "text",
              text:
                `Nothing was done: ${reason}, and the operator requires a record of every change ` +
                `(INFRA_MCP_AUDIT_FILE), so ${definition.name} did not act. Ask the operator to fix the trail ` +
                "(disk space, permissions), then call again.",
            },
          ],
        };
      }
    },

    async ended(
      decision: AuditDecision,
      result: ToolResult,
      details: Partial<AuditEntry>,
    ): Promise<ToolResult> {
      if (!always && decision === "allowed") return result;
      try {
        await audit.write(entry(decision, result, details));
        return result;
      } catch (error) {
        const reason = (error as Error).message;
        const acted = changing && (decision === "allowed" || decision === "confirmed");
        const warning = acted
          ? `Warning: the audit record of how this call ended could not be written: ${reason}. The trail holds the record written before it acted (call ${callId}).`
          : `Warning: the audit record of this call could not be written: ${reason}. The answer above stands.`;
        deps.logger.error(`${definition.name}: ${warning}`);
        return { ...result, content: [...result.content, { type: "text", text: warning }] };
      }
    },
  };
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

/**
 * How asking went: the call proceeds, confirmed through elicitation or a token; or it ends here, with the
 * result to return and what the audit trail records (`asked`: a token was issued for the user to confirm,
 * or a 2026-07-28 client was sent an input request carrying one).
 */
type Confirmation =
  | { proceed: true; via: "elicitation" | "token" }
  | {
      proceed: false;
      via: "elicitation" | "token";
      decision: "asked" | "declined" | "refused";
      result: ToolResult;
    };

/**
 * Asks for confirmation (the policy decided it is needed): through elicitation when the client offers it (a
 * server-to-client request for 2025-era clients, an input request for 2026-07-28 ones), else with a one-time
 * token bound to the arguments and to the preview the user was shown.
 */
async function confirm(
  tool: PreparedTool,
  args: Record<string, unknown>,
  token: string | undefined,
  ctx: AnyContext,
  deps: InvokeDeps,
  call: CallEnvironment,
): Promise<Confirmation> {
  const name = tool.definition.name;
  const preview = deps.redactor.scrub(
    (await tool.definition.preview?.(args, ctx)) ??
      `${tool.definition.title} with ${JSON.stringify(deps.redactor.value(args))}`,
  );
  if (token !== undefined) {
    const redemption = await deps.confirmations.redeem(token, name, args, preview);
    return redemption.ok
      ? { proceed: true, via: "token" }
      : {
          proceed: false,
          via: "token",
          decision: "refused",
          result: errorResult(deps.redactor, redemption.reason, deps.config.maxOutputChars),
        };
  }
  if (call.inputRequest) return confirmByInputRequest(tool, args, preview, call.inputRequest, deps);
  if (call.elicit) {
    try {
      const answer = await call.elicit(`${tool.definition.title}: ${preview}. Proceed?`);
      if (answer === "accept") return { proceed: true, via: "elicitation" };
      const word = answer === "decline" ? "declined" : "cancelled";
      return {
        proceed: false,
        via: "elicitation",
        decision: "declined",
        result: errorResult(deps.redactor, `The user ${word}; nothing was done.`, deps.config.maxOutputChars),
      };
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
    proceed: false,
    via: "token",
    decision: "asked",
    result: {
      structuredContent: structured,
      // The JSON alone first, so the text parses as the structuredContent it repeats (TOOLS.md section 4).
      content: [
        { type: "text", text: JSON.stringify(structured) },
        { type: "text", text: instruction },
      ],
    },
  };
}

/**
 * Confirmation as a 2026-07-28 input request, which is elicitation in that revision (so the trail says
 * `elicitation`). The first call asks, with a signed one-time token as the request's state, and ends there
 * (`asked`); the client asks its user and calls again with the answer and that state, which is redeemed as a
 * confirmation_token is: any replica verifies it, the shared store spends it once, and a forged, spent,
 * expired or other-arguments state is refused, saying which. A refusal by the user sends nothing.
 */
async function confirmByInputRequest(
  tool: PreparedTool,
  args: Record<string, unknown>,
  preview: string,
  round: NonNullable<CallEnvironment["inputRequest"]>,
  deps: InvokeDeps,
): Promise<Confirmation> {
  const { name, title } = tool.definition;
  const maxChars = deps.config.maxOutputChars;
  const ends = (decision: "asked" | "declined" | "refused", result: ToolResult): Confirmation => ({
    proceed: false,
    via: "elicitation",
    decision,
    result,
  });
  if (round.answer === undefined) {
    const message = `${title}: ${preview}. Proceed?`;
    const { token } = deps.confirmations.issue(name, args, preview);
    return ends("asked", {
      content: [{ type: "text", text: message }],
      inputRequired: { message, requestState: token },
    });
  }
  if (round.answer !== "accept") {
    const word = round.answer === "decline" ? "declined" : "cancelled";
    return ends("declined", errorResult(deps.redactor, `The user ${word}; nothing was done.`, maxChars));
  }
  if (round.requestState === undefined) {
    return ends(
      "refused",
      errorResult(
        deps.redactor,
        `The confirmation of ${name} came back without the requestState this server asked with; nothing was ` +
          "done. Call the tool again to be asked again.",
        maxChars,
      ),
    );
  }
  const redemption = await deps.confirmations.redeem(round.requestState, name, args, preview, "requestState");
  return redemption.ok
    ? { proceed: true, via: "elicitation" }
    : ends("refused", errorResult(deps.redactor, redemption.reason, maxChars));
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
