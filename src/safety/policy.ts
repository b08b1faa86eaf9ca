import { readFileSync } from "node:fs";
import { z } from "zod";

/**
 * The operator's policy (TOOLS.md section 6): rules of their own that decide what may run and what must be
 * confirmed, for every platform and the generic tools alike. One engine decides both before confirmation
 * (from the requests a call declares it will send) and in the session (against each request as it is about
 * to be sent), in one order: the first matching rule decides; with none, the annotations and
 * INFRA_MCP_CONFIRM decide as before.
 */

export const EFFECTS = ["allow", "confirm", "deny"] as const;
export type Effect = (typeof EFFECTS)[number];

/** A call's class, as TOOLS.md marks tools: RO, M (mutating but not destructive), D. */
export const CALL_CLASSES = ["read_only", "mutating", "destructive"] as const;
export type CallClass = (typeof CALL_CLASSES)[number];

const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** What a call is, as far as the rules' call matchers care. */
export interface CallFacts {
  tool: string;
  class: CallClass;
  /** Who calls (`local`, `http`); undefined when not known, as when listing tools for every caller. */
  principal: string | undefined;
}

/**
 * One upstream request as the rules see it: the API id, the method and the path relative to the service
 * URL. A field left undefined is not known yet (an id the call reads from an upstream answer first).
 */
export interface RequestFacts {
  service?: string;
  method?: string;
  path?: string;
}

/** A rule as the operator wrote it (after validation). */
export type PolicyRule = z.infer<typeof RuleSchema>;

/** What decided: a rule, or (without `rule`) the annotations and INFRA_MCP_CONFIRM. */
export interface Verdict {
  effect: Effect;
  rule?: PolicyRule;
}

/** A verdict on a whole call before it runs, with the request that made it a refusal. */
export interface CallVerdict extends Verdict {
  request?: RequestFacts;
}

// ------------------------------------------------------------------------------------------- the file

/** `*` within a name; no other pattern syntax, so a typo cannot turn into a regular expression. */
const namePattern = z.string().trim().min(1, "must not be empty");

/**
 * A path pattern: starts with `/`, relative to the service URL; `*` within one segment, `**` as a whole
 * segment for any number of segments. Query strings are not part of what is matched.
 */
const pathPattern = z
  .string()
  .refine((value) => value.startsWith("/"), "must start with / (paths are relative to the service URL)")
  .refine((value) => !/[?#]/.test(value), "must not hold a query string: paths are matched without one")
  .refine(
    (value) => value.split("/").every((segment) => segment === "**" || !segment.includes("**")),
    "** must be a whole segment (/a/**/b); * matches within one segment",
  );

/** One list matcher: non-empty, since an empty list would match nothing (leave the field out to match any). */
function matcher<T extends z.ZodType>(item: T) {
  return z.array(item).min(1, "must list at least one value; leave the field out to match any").optional();
}

const RuleSchema = z.strictObject({
  id: z.string().trim().min(1, "must not be empty"),
  effect: z.enum(EFFECTS),
  reason: z.string().optional(),
  tools: matcher(namePattern),
  annotations: matcher(z.enum(CALL_CLASSES)),
  services: matcher(namePattern),
  methods: matcher(
    z
      .string()
      .transform((value) => value.toUpperCase())
      .pipe(z.enum(HTTP_METHODS)),
  ),
  paths: matcher(pathPattern),
  principals: matcher(namePattern),
});

const PolicySchema = z.strictObject({ rules: z.array(z.unknown()) });

/** The fields a rule has, in the order the README lists them. */
export const RULE_FIELDS = Object.keys(RuleSchema.shape);

export type PolicyLoad = { ok: true; policy: Policy } | { ok: false; problems: string[] };

/** Reads and checks a policy file; every problem names the rule (its id, or its place) and the field. */
export function loadPolicyFile(path: string): PolicyLoad {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    return {
      ok: false,
      problems: [`the file cannot be read (${(error as NodeJS.ErrnoException).code ?? error})`],
    };
  }
  return parsePolicy(text, path);
}

/** Checks a policy's JSON text; `source` names where it came from (kept with the policy, for messages). */
export function parsePolicy(text: string, source: string): PolicyLoad {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [`the file is not JSON (${(error as Error).message})`] };
  }
  const top = PolicySchema.safeParse(json);
  if (!top.success) {
    return { ok: false, problems: top.error.issues.map((issue) => describeIssue(issue, undefined, json)) };
  }
  const problems: string[] = [];
  const rules: PolicyRule[] = [];
  const seen = new Map<string, number>();
  top.data.rules.forEach((raw, index) => {
    const parsed = RuleSchema.safeParse(raw);
    const id = ruleId(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(describeIssue(issue, index, raw, id));
      return;
    }
    const earlier = seen.get(parsed.data.id);
    if (earlier !== undefined) {
      problems.push(
        `${where(index, parsed.data.id)}, field "id": rules[${earlier}] has the same id; each rule needs its own, as errors and the audit trail name rules by it`,
      );
    }
    seen.set(parsed.data.id, index);
    rules.push(parsed.data);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, policy: new Policy(rules, source) };
}

function ruleId(raw: unknown): string | undefined {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === "string" && id.trim() !== "" ? id.trim() : undefined;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function where(index: number, id: string | undefined): string {
  return id === undefined ? `rules[${index}] (a rule without an id)` : `rule "${id}" (rules[${index}])`;
}

function describeIssue(
  issue: z.core.$ZodIssue,
  index: number | undefined,
  raw: unknown,
  id?: string,
): string {
  const place = index === undefined ? "the policy" : where(index, id);
  if (issue.code === "unrecognized_keys") {
    const fields = index === undefined ? ["rules"] : RULE_FIELDS;
    const keys = issue.keys.map((key) => `"${key}"`).join(", ");
    return `${place}, field ${keys}: not a field ${index === undefined ? "of a policy" : "of a rule"} (fields: ${fields.join(", ")})`;
  }
  const path = issue.path.map((part) => (typeof part === "number" ? `[${part}]` : String(part)));
  const field = path.length === 0 ? "" : `, field "${path.join(".").replace(/\.\[/g, "[")}"`;
  let message = issue.message;
  // zod leaves the input out of its issues: whether the field was there is read from the file itself.
  const missing = valueAt(raw, issue.path) === undefined;
  if (issue.code === "invalid_value") {
    message = `${missing ? "missing: it" : "it"} must be one of ${issue.values.join(", ")}`;
  } else if (missing) {
    message = "missing";
  }
  return `${place}${field}: ${message}`;
}

// -------------------------------------------------------------------------------------- the matching

/** A path as the rules match it: relative to the service URL, dot segments resolved, percent-escapes decoded. */
export function canonicalPath(path: string): string {
  // Resolved as the session's URL parser resolves it (`%2e%2e`, backslashes), then decoded, again until
  // stable: a rule on `/server/1/*` must also hold for `/server/2/%2e%2e/1/power_on` and `/server/%31/...`.
  let current = path.split(/[?#]/, 1)[0] ?? "";
  for (let round = 0; round < 4; round += 1) {
    let resolved: string;
    try {
      // Joined, not resolved against a base: `//x/y` is a path here, as it is to the session.
      resolved = new URL(`http://policy.invalid${current.replace(/\?/g, "%3F").replace(/#/g, "%23")}`)
        .pathname;
    } catch {
      return current;
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(resolved);
    } catch {
      decoded = resolved;
    }
    if (decoded === current) return decoded;
    current = decoded;
  }
  return current;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A name pattern (`ovc_delete_*`): `*` matches any run of characters. */
export function compileName(pattern: string): RegExp {
  return new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`);
}

/** A path pattern: `*` within one segment, a `**` segment for any number of segments (none included). */
export function compilePath(pattern: string): RegExp {
  let source = "";
  for (const segment of pattern.split("/").slice(1)) {
    source += segment === "**" ? "(?:/.*)?" : `/${segment.split("*").map(escapeRegExp).join("[^/]*")}`;
  }
  return new RegExp(`^${source}$`);
}

type Match = "yes" | "no" | "maybe";

interface CompiledRule {
  verdict: Verdict & { rule: PolicyRule };
  tools?: RegExp[];
  classes?: ReadonlySet<string>;
  principals?: RegExp[];
  services?: RegExp[];
  methods?: ReadonlySet<string>;
  paths?: RegExp[];
  /** Whether it says anything about requests, so that a call that sends none cannot match it. */
  aboutRequests: boolean;
}

function compile(rule: PolicyRule): CompiledRule {
  const compiled: CompiledRule = {
    verdict: { effect: rule.effect, rule },
    aboutRequests: rule.services !== undefined || rule.methods !== undefined || rule.paths !== undefined,
  };
  if (rule.tools) compiled.tools = rule.tools.map(compileName);
  if (rule.annotations) compiled.classes = new Set(rule.annotations);
  if (rule.principals) compiled.principals = rule.principals.map(compileName);
  if (rule.services) compiled.services = rule.services.map(compileName);
  if (rule.methods) compiled.methods = new Set(rule.methods);
  if (rule.paths) compiled.paths = rule.paths.map(compilePath);
  return compiled;
}

const anyMatches = (patterns: readonly RegExp[], value: string) => patterns.some((p) => p.test(value));

/**
 * Whether a rule matches a call's request: every matcher it gives must match. `null` stands for a call
 * that sends no request; a fact not known yet makes the answer "maybe". The request's path is canonical.
 */
function matches(rule: CompiledRule, call: CallFacts, request: RequestFacts | null): Match {
  if (rule.tools && !anyMatches(rule.tools, call.tool)) return "no";
  if (rule.classes && !rule.classes.has(call.class)) return "no";
  let unsure = false;
  if (rule.principals) {
    if (call.principal === undefined) unsure = true;
    else if (!anyMatches(rule.principals, call.principal)) return "no";
  }
  if (rule.aboutRequests) {
    if (request === null) return "no";
    const { service, method, path } = request;
    if (rule.services) {
      if (service === undefined) unsure = true;
      else if (!anyMatches(rule.services, service)) return "no";
    }
    if (rule.methods) {
      if (method === undefined) unsure = true;
      else if (!rule.methods.has(method.toUpperCase())) return "no";
    }
    if (rule.paths) {
      if (path === undefined) unsure = true;
      else if (!anyMatches(rule.paths, path)) return "no";
    }
  }
  return unsure ? "maybe" : "yes";
}

const FALLBACK: Record<"allow" | "confirm", Verdict> = {
  allow: { effect: "allow" },
  confirm: { effect: "confirm" },
};

/** A request nothing is known about: a tool that cannot say what it will send. */
const UNKNOWN_REQUEST: RequestFacts = {};

export class Policy {
  readonly rules: readonly PolicyRule[];
  readonly #compiled: readonly CompiledRule[];
  readonly #matchesPaths: boolean;

  /** `source`: the file it came from, for messages; empty for no policy. */
  constructor(
    rules: readonly PolicyRule[] = [],
    readonly source = "",
  ) {
    this.rules = rules;
    this.#compiled = rules.map(compile);
    this.#matchesPaths = rules.some((rule) => rule.paths !== undefined);
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** The request with its path as rules match it, resolved once for every rule (when any has paths). */
  #canonical(request: RequestFacts): RequestFacts {
    if (!this.#matchesPaths || request.path === undefined) return request;
    return { ...request, path: canonicalPath(request.path) };
  }

  /**
   * The verdict on one request whose facts are all known (in the session, as it is about to be sent):
   * the first matching rule, or `fallback` (what the annotations and INFRA_MCP_CONFIRM say) when none does.
   */
  decide(call: CallFacts, request: RequestFacts, fallback: "allow" | "confirm"): Verdict {
    const canonical = this.#canonical(request);
    for (const rule of this.#compiled) {
      if (matches(rule, call, canonical) === "yes") return rule.verdict;
    }
    return FALLBACK[fallback];
  }

  /**
   * Every verdict a request could get, in rule order: rules that may match (a fact is not known yet),
   * up to the first that surely matches, or the fallback.
   */
  possible(call: CallFacts, request: RequestFacts | null, fallback: "allow" | "confirm"): Verdict[] {
    const verdicts: Verdict[] = [];
    const canonical = request === null ? null : this.#canonical(request);
    for (const rule of this.#compiled) {
      const match = matches(rule, call, canonical);
      if (match === "no") continue;
      verdicts.push(rule.verdict);
      if (match === "yes") return verdicts;
    }
    verdicts.push(FALLBACK[fallback]);
    return verdicts;
  }

  /**
   * The verdict on a call before it runs (before anyone is asked to confirm it), from the requests it
   * declares (`undefined`: it cannot say). A request that every possibility denies refuses the call;
   * otherwise the call is confirmed when any request may need it, and allowed when none does. The session
   * then checks each request as it is sent, so a request refused only by some possibilities (an id read
   * from the upstream) is refused there, alone.
   */
  gate(
    call: CallFacts,
    requests: readonly RequestFacts[] | undefined,
    fallback: "allow" | "confirm",
  ): CallVerdict {
    if (this.#compiled.length === 0) return FALLBACK[fallback];
    const list: (RequestFacts | null)[] =
      requests === undefined ? [UNKNOWN_REQUEST] : requests.length === 0 ? [null] : [...requests];
    let confirm: Verdict | undefined;
    let allow: Verdict | undefined;
    for (const request of list) {
      const verdicts = this.possible(call, request, fallback);
      if (verdicts.every((verdict) => verdict.effect === "deny")) {
        // The last is the rule that surely matches (the fallback is never a denial): it names the refusal.
        const denial: CallVerdict = { ...(verdicts.at(-1) as Verdict) };
        // The request is named when it is what the rule matched (not a rule on the tool alone).
        const rule = denial.rule;
        const byRequest =
          rule?.services !== undefined || rule?.methods !== undefined || rule?.paths !== undefined;
        if (byRequest && request !== null && request !== UNKNOWN_REQUEST) denial.request = request;
        return denial;
      }
      for (const verdict of verdicts) {
        if (verdict.effect === "confirm") confirm ??= verdict;
        else if (
          verdict.effect === "allow" &&
          (allow === undefined || (allow.rule === undefined && verdict.rule))
        )
          allow = verdict;
      }
    }
    return confirm ?? allow ?? FALLBACK[fallback];
  }

  /**
   * Whether any call of a tool could need confirmation, for any caller and any arguments: such a tool must
   * accept `confirmation_token`, and its listing says so. `classes`: the classes its calls can have (a
   * generic tool is a read with GET), each with its fallback.
   */
  mayConfirm(tool: string, classes: readonly { class: CallClass; fallback: "allow" | "confirm" }[]): boolean {
    return classes.some(({ class: callClass, fallback }) =>
      this.possible({ tool, class: callClass, principal: undefined }, UNKNOWN_REQUEST, fallback).some(
        (verdict) => verdict.effect === "confirm",
      ),
    );
  }
}

/** One rule in words, as `infra-mcp policy check` prints it. */
export function describeRule(rule: PolicyRule): string {
  const parts: string[] = [];
  const list = (values: readonly string[]) => values.join(" or ");
  if (rule.tools) parts.push(`tool is ${list(rule.tools)}`);
  if (rule.annotations) parts.push(`the call is ${list(rule.annotations)}`);
  if (rule.principals) parts.push(`the caller is ${list(rule.principals)}`);
  if (rule.services) parts.push(`a request goes to ${list(rule.services)}`);
  if (rule.methods) parts.push(`${rule.services ? "with" : "a request uses"} method ${list(rule.methods)}`);
  if (rule.paths)
    parts.push(`${rule.services || rule.methods ? "at" : "a request is at"} path ${list(rule.paths)}`);
  const when = parts.length === 0 ? "always" : `when ${parts.join(", ")}`;
  return `${rule.id}: ${rule.effect} ${when}${rule.reason ? ` (reason: ${rule.reason})` : ""}`;
}
