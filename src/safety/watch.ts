import type { RequestGuard, UpstreamRequest } from "../auth/types.js";
import { PolicyDeniedError } from "../errors.js";
import type { AuditDenial, AuditRequest } from "./audit.js";
import type { CallFacts, Effect, Policy, RequestFacts, Verdict } from "./policy.js";

/**
 * One call's watch over its requests, lent to the session through the call's scope: the operator's policy
 * on each request before it is sent, by the same rules and in the same order as the verdict the call got
 * before it ran, and the record of each request sent, for the audit trail. Whatever tool builds a request,
 * it passes here.
 */
export class CallWatch implements RequestGuard {
  /** Every request sent, in order, as the audit trail lists them. */
  readonly upstream: AuditRequest[] = [];
  /** Requests the policy kept from being sent. */
  readonly denied: AuditDenial[] = [];
  /** The APIs the call sent to, in order of first use. */
  readonly services: string[] = [];

  constructor(
    private readonly policy: Policy,
    private readonly call: CallFacts,
    /** What decides a request no rule matches: the annotations and INFRA_MCP_CONFIRM. */
    private readonly fallback: "allow" | "confirm",
    /** The verdict the call got before it ran: `confirm` when it was (or is being) confirmed. */
    private readonly gate: Effect,
  ) {}

  admit(api: string, request: UpstreamRequest): void {
    if (this.policy.empty) return;
    const facts: RequestFacts = { service: api, method: request.method, path: request.path };
    const verdict = this.policy.decide(this.call, facts, this.fallback);
    if (verdict.effect === "allow") return;
    if (verdict.effect === "confirm" && this.gate === "confirm") return;
    this.denied.push({ method: request.method, path: request.path, rule: verdict.rule?.id ?? "" });
    throw new PolicyDeniedError(
      verdict.rule?.id,
      verdict.effect === "deny"
        ? denialMessage(verdict, this.call.tool, { api, method: request.method, path: request.path }, false)
        : `${api} ${request.method} ${request.path} needs confirmation (${ruleName(verdict)}), and this call of ` +
            `${this.call.tool} was not confirmed, as the requests it declared did not need it: it was not sent. ` +
            "Report this: the tool's declaration of its requests is incomplete.",
    );
  }

  sent(api: string, method: string, path: string, status: number | undefined): void {
    this.upstream.push({ method, path, status: status ?? null });
    if (!this.services.includes(api)) this.services.push(api);
  }
}

function ruleName(verdict: Verdict): string {
  return verdict.rule === undefined
    ? "the default: INFRA_MCP_CONFIRM and the tool's annotations"
    : `the operator's policy, rule "${verdict.rule.id}"`;
}

/**
 * What a refusal tells the model: the rule's id and reason, what was not sent, and that only the operator
 * can change it (so that it does not try another tool to the same end). `before`: decided before the call
 * ran, so nothing of it was sent; otherwise one request was refused as it was about to go.
 */
export function denialMessage(
  verdict: Verdict,
  tool: string,
  request: { api: string; method: string; path?: string } | undefined,
  before: boolean,
): string {
  const rule = verdict.rule;
  const why = rule === undefined ? "" : `, rule "${rule.id}"${rule.reason ? ` (${rule.reason})` : ""}`;
  const named =
    request === undefined
      ? undefined
      : `${request.api} ${request.method} ${request.path ?? "(a path read from the upstream)"}`;
  const what = before
    ? `${named === undefined ? `${tool} may not run here` : `${tool} would send ${named}`}. Nothing was sent`
    : `${named} was not sent`;
  return (
    `Refused by the operator's policy${why}: ${what}. The policy holds for every tool, infra_api_call ` +
    "included; if this must be done, ask the operator (INFRA_MCP_POLICY)."
  );
}
