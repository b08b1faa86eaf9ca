import { z } from "zod";
import type { ApiSession } from "../auth/session.js";
import type { ApiProfile, HttpMethod, InstanceFacts } from "../auth/types.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { CallClass } from "../safety/policy.js";
import type { Redactor } from "../safety/redact.js";

/** What every handler may use. No global clients: everything arrives here (github-mcp-server style). */
export interface CallContext {
  config: Config;
  redactor: Redactor;
  /** This call's signal: it aborts when the client cancels or the call's time budget runs out. */
  signal: AbortSignal;
  /** Epoch ms by which the whole call must be over; a wait ends by then with what it saw last. */
  deadline: number;
  /** Sends a progress notification when the client asked for them; a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  log: Logger;
}

/** What a platform tool's handler gets: its own API's session, lent to this call. */
export interface ToolContext extends CallContext {
  session: ApiSession;
}

/** What an infra tool's handler gets: every enabled API's session by API id, each lent to this call. */
export interface InfraContext extends CallContext {
  sessions: ReadonlyMap<string, ApiSession>;
}

/** One request a call will send, as the tool declares it before the call runs. */
export interface PlannedRequest {
  /** The API it goes to; by default the tool's own. */
  api?: string;
  method: HttpMethod;
  /** Relative to the service URL; undefined when it depends on an upstream answer (an id from a list). */
  path?: string;
}

/**
 * What a tool may consult to say which requests a call will send, without sending any: each enabled API's
 * profile and what its session has learnt of its instance (a portal known to lack a method), by API id.
 */
export interface PlanContext {
  apis: ReadonlyMap<string, PlannedApi>;
  /** A platform tool's own API (absent when it is not enabled). */
  own?: PlannedApi;
}

/** What a declaration may know of one API before anything is sent. */
export interface PlannedApi {
  readonly profile: ApiProfile;
  readonly facts: InstanceFacts;
}

export interface Annotations {
  readOnly: boolean;
  destructive: boolean;
  idempotent: boolean;
  /** Every upstream-facing tool talks to an external system. */
  openWorld: boolean;
}

/** What a list handler returns; the wrapper applies offset/limit/fields/budget. */
export interface ListPage {
  items: unknown[];
  /** Total matching items upstream, when the upstream reports it. */
  total?: number;
  /** True when the handler already applied offset and limit upstream. */
  pagedUpstream?: boolean;
  /** Keys added to the result beside the items (e.g. where a list came from). */
  extra?: Record<string, unknown>;
}

/** Keys an upstream may use for a list's total, the count of matches first (DataTables' recordsFiltered). */
const TOTAL_KEYS = ["recordsFiltered", "total", "count", "totalCount", "size", "recordsTotal"];

/**
 * The items of an answer that is a list or wraps one under some key (`{count, products}`, `{data,
 * recordsTotal}`): the one array-valued key, with the total when the answer states one. Undefined when the
 * answer holds no list, or several arrays and nothing says which is the list.
 */
export function unwrapList(body: unknown): { items: unknown[]; total?: number } | undefined {
  if (Array.isArray(body)) return { items: body };
  if (body === null || typeof body !== "object") return undefined;
  const entries: [string, unknown][] = Object.entries(body);
  const arrays = entries.flatMap(([, value]) => (Array.isArray(value) ? [value] : []));
  const items = arrays[0];
  if (arrays.length !== 1 || items === undefined) return undefined;
  for (const key of TOTAL_KEYS) {
    const total = entries.find(([name]) => name === key)?.[1];
    if (typeof total === "number") return { items, total };
  }
  return { items };
}

/**
 * A schema for an answer that is a list or wraps one (see `unwrapList`), as `{items, total?}`; `expected`
 * says what the answer should have been, for the error when it is not.
 */
export function listAnswer(expected: string) {
  return z
    .unknown()
    .transform((body, ctx) => {
      const list = unwrapList(body);
      if (list === undefined) ctx.addIssue({ code: "custom", message: "no list in the answer" });
      return list ?? { items: [] };
    })
    .describe(expected);
}

/**
 * The parameters the wrapper adds to list tools; handlers that page upstream read them. A type, not an
 * interface, so that any tool's arguments stay assignable to the erased `AnyTool` arguments.
 */
export type ListArgs = {
  limit?: number;
  offset?: number;
  fields?: string[];
};

export interface ListOptions {
  /** Default `limit` (TOOLS.md gives some). */
  defaultLimit?: number;
}

/** What a handler returns: a list page for list tools, the declared `output` for the others, else any value. */
export type ToolResultOf<
  Output extends z.ZodRawShape | undefined,
  List extends ListOptions | undefined,
> = List extends ListOptions
  ? ListPage
  : Output extends z.ZodRawShape
    ? z.output<z.ZodObject<Output, z.core.$loose>>
    : unknown;

export interface ToolDefinition<
  Shape extends z.ZodRawShape = z.ZodRawShape,
  Context extends CallContext = ToolContext,
  Output extends z.ZodRawShape | undefined = z.ZodRawShape | undefined,
  List extends ListOptions | undefined = ListOptions | undefined,
> {
  name: string;
  /**
   * The toolset the tool belongs to: its platform's name, stamped on it by the platform's registry entry
   * (`definePlatform`), or `infra` for the always-on tools.
   */
  toolset: string;
  /**
   * The API whose session the handler gets (`squonk_dm`); the registry entry stamps its platform's first
   * API on a tool that names none. Absent on infra tools, which are lent every session.
   */
  api?: string;
  title: string;
  description: string;
  input: Shape;
  /**
   * The input as served under one configuration, when it depends on it (the generic tools accept only the
   * enabled APIs). Must accept a subset of `input`.
   */
  inputFor?(apis: readonly string[]): z.ZodRawShape;
  /**
   * Rules between arguments ("one of", "not both", "only with"), part of the input's schema: they are
   * checked with the rest of the arguments, before any confirmation is asked, so that no user confirms a
   * call that is then refused. Returns the refusal, in full (it is the call's whole answer), or undefined
   * when the arguments keep the rules. They cost no bytes in tools/list.
   */
  rules?(args: z.infer<z.ZodObject<Shape>>): string | undefined;
  /**
   * Shape of `structuredContent` for non-list tools; list tools get the list shape. The handler's result
   * is checked against it by the type system (see `ToolResultOf`).
   */
  output?: Output;
  annotations: Annotations;
  /**
   * The call's time budget, when the tool's own arguments set it (a wait with `timeout_seconds`); by default
   * INFRA_MCP_TIMEOUT_MS. Every request the call makes, retries and waits included, fits inside it.
   */
  budgetMs?(args: z.infer<z.ZodObject<Shape>>, config: Config): number;
  /** Makes this a list tool: adds `limit`, `offset`, `fields` and the `{items, total?, ...}` result. */
  list?: List;
  /** Secret-looking fields this tool returns on purpose (a login key it creates). */
  reveal?: readonly string[];
  /** Hands out a credential: confirmed under the default policy, like a destructive action (TOOLS.md 4). */
  mintsCredentials?: boolean;
  /** Whether these arguments only read, so that the call needs no confirmation (`infra_api_call` GET). */
  readsOnly?(args: z.infer<z.ZodObject<Shape>>): boolean;
  /**
   * Cheap reads that refuse a call the upstream would refuse (a name already taken, an unknown id), so the
   * reason is told at once instead of being lost in a long operation. Runs once per call, before confirmation
   * is asked (a user is never asked to confirm what is then refused) and before the handler; throws to refuse.
   */
  precheck?(args: z.infer<z.ZodObject<Shape>>, ctx: Context): Promise<void>;
  /**
   * Every request a call with these arguments will send (polls and a preview's reads included), known
   * before it runs, so that the operator's policy can refuse a call before anyone is asked to confirm it.
   * Undefined: the tool cannot say (its requests depend on what the upstream answers). Either way the
   * session checks each request as it is sent; this only lets a refusal come first.
   */
  requests?(args: z.infer<z.ZodObject<Shape>>, ctx: PlanContext): readonly PlannedRequest[] | undefined;
  /**
   * One line saying what will be done, shown when confirmation is asked. It may read upstream (to name what
   * a call would act on); it is computed again when a confirmation token is redeemed, and the call acts only
   * if it still says the same.
   */
  preview?(
    args: z.infer<z.ZodObject<Shape>>,
    ctx: Omit<Context, "deadline" | "signal" | "progress">,
  ): string | Promise<string>;
  handler(args: z.infer<z.ZodObject<Shape>> & ListArgs, ctx: Context): Promise<ToolResultOf<Output, List>>;
}

/** The context a handler of any tool may get: a platform tool's has its session, an infra tool's all of them. */
export type AnyContext = CallContext & { session?: ApiSession; sessions?: ReadonlyMap<string, ApiSession> };

/** Any tool, as the lists hold them, with its toolset stamped. */
export type AnyTool = ToolDefinition<z.ZodRawShape, AnyContext>;

/** A platform's tool as it defines it: its registry entry stamps the toolset (and the API, if it names none). */
export type PlatformTool = Omit<AnyTool, "toolset">;

/** Identity with inference: one tool is one object (playwright-mcp `defineTool`). */
export function defineTool<
  Shape extends z.ZodRawShape,
  Output extends z.ZodRawShape | undefined = undefined,
  List extends ListOptions | undefined = undefined,
>(tool: Omit<ToolDefinition<Shape, ToolContext, Output, List>, "toolset">): PlatformTool {
  return tool;
}

/** The toolset of the always-on tools. */
export const INFRA_TOOLSET = "infra";

/** The same for the always-on infra tools, whose handlers are lent every enabled session. */
export function defineInfraTool<
  Shape extends z.ZodRawShape,
  Output extends z.ZodRawShape | undefined = undefined,
  List extends ListOptions | undefined = undefined,
>(tool: Omit<ToolDefinition<Shape, InfraContext, Output, List>, "toolset">): AnyTool {
  return { ...tool, toolset: INFRA_TOOLSET };
}

/** Annotation presets matching TOOLS.md's RO / M / D marks. */
export const READ_ONLY: Annotations = {
  readOnly: true,
  destructive: false,
  idempotent: true,
  openWorld: true,
};
export const MUTATING: Annotations = {
  readOnly: false,
  destructive: false,
  idempotent: false,
  openWorld: true,
};
export const DESTRUCTIVE: Annotations = {
  readOnly: false,
  destructive: true,
  idempotent: true,
  openWorld: true,
};

/** A tool's class by its annotations, as TOOLS.md marks tools (RO, M, D) and policy rules match them. */
export function classOf(annotations: Annotations): CallClass {
  if (annotations.readOnly) return "read_only";
  return annotations.destructive ? "destructive" : "mutating";
}

/** Parameters that name what a call acts on (`server_id`, `acc_ids`, `task_guid`), by their names. */
const TARGET_PARAMETER = /(^|_)(id|ids|guid)$/;

/**
 * Where a tool's input names its targets, derived from the definition (no second list of names): every
 * parameter named like an id, at any depth of objects and arrays of objects (`accounts.acc_id`). Free-form
 * records (a request body, job variables) are not looked into: their keys are not the tool's.
 */
export function targetPaths(shape: z.ZodRawShape, prefix: readonly string[] = []): string[][] {
  const paths: string[][] = [];
  for (const [key, schema] of Object.entries(shape)) {
    if (TARGET_PARAMETER.test(key)) {
      paths.push([...prefix, key]);
      continue;
    }
    let inner = unwrap(schema as z.ZodType);
    if (inner instanceof z.ZodArray) inner = unwrap(inner.element as z.ZodType);
    if (inner instanceof z.ZodObject) paths.push(...targetPaths(inner.shape, [...prefix, key]));
  }
  return paths;
}

/** The values at `paths` of a call's arguments, keyed by the dotted path (lists for arrays). */
export function targetsOf(
  args: Record<string, unknown>,
  paths: readonly string[][],
): Record<string, unknown> {
  const targets: Record<string, unknown> = {};
  for (const path of paths) {
    const values = collect(args, path);
    if (values.found) targets[path.join(".")] = values.value;
  }
  return targets;
}

function collect(value: unknown, path: readonly string[]): { found: boolean; value?: unknown } {
  if (path.length === 0) return value === undefined ? { found: false } : { found: true, value };
  if (Array.isArray(value)) {
    const items = value.map((item) => collect(item, path)).filter((item) => item.found);
    return items.length === 0 ? { found: false } : { found: true, value: items.map((item) => item.value) };
  }
  if (value === null || typeof value !== "object") return { found: false };
  return collect((value as Record<string, unknown>)[path[0] as string], path.slice(1));
}

/** The parameters every list tool gets. Descriptions are short: every byte is paid in every conversation. */
export function listParameters(defaultLimit: number | undefined): z.ZodRawShape {
  const limit = z.number().int().min(1).max(1000).optional();
  return {
    limit:
      defaultLimit === undefined
        ? limit.describe("Max items")
        : limit.describe(`Max items (default ${defaultLimit})`),
    offset: z.number().int().min(0).optional().describe("Items to skip"),
    fields: z.array(z.string()).optional().describe("Keys to keep in each item"),
  };
}

/**
 * What list results declare. `offset`, `truncated`, `next_offset` and `note` also appear when they apply;
 * they are left out of the schema (extra keys stay allowed) because every byte of it is paid in every
 * conversation, and the result explains itself when they appear.
 */
export const LIST_OUTPUT = {
  items: z.array(z.record(z.string(), z.unknown())),
  total: z.number().int().optional(),
} satisfies z.ZodRawShape;

/**
 * An output field copied from an upstream answer: it may be absent or null, since no platform's pages
 * promise either, and a client that validates structuredContent against outputSchema (the official SDKs do)
 * must not reject a good answer for it. `schema` is the type the platform's documentation shows.
 */
export function upstreamField<T extends z.ZodType>(schema: T) {
  return schema.nullable().optional();
}

/** The same for a field whose type the documentation does not show either (it is not in the sample): any scalar. */
export function upstreamScalar() {
  return upstreamField(z.union([z.string(), z.number(), z.boolean()]));
}

/** Whether a value fits `upstreamScalar()`: what a handler may copy into such a field. */
export function isUpstreamScalar(value: unknown): value is string | number | boolean | null {
  return (
    value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean"
  );
}

/**
 * Whether a value can stand as one path segment: not empty, not `.` or `..`, no `/`, `\`, `%` or control
 * character (the URL parser would make another path of them).
 */
export function isPathSegment(value: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
  return value !== "" && value !== "." && value !== ".." && !/[/\\%\u0000-\u001f\u007f]/.test(value);
}

/** A parameter that becomes one path segment (an id, a setting name). Checked with refine: no schema bytes. */
export function pathSegment(description: string) {
  return z
    .string()
    .refine(
      isPathSegment,
      "must be one path segment: not empty, not . or .., without /, \\, % or control characters",
    )
    .describe(description);
}

export const CONFIRMATION_TOKEN = z
  .string()
  .optional()
  .describe("From a confirmation_required result, to proceed");

/** Builds the `{items, total?, offset?, truncated?}` result: paging, `fields`, redaction and the budget. */
export function shapeList(
  page: ListPage,
  args: ListArgs,
  options: { defaultLimit?: number; maxChars: number; redactor: Redactor; reveal?: ReadonlySet<string> },
): Record<string, unknown> {
  const offset = args.offset ?? 0;
  const limit = args.limit ?? options.defaultLimit;
  let items = page.items;
  let total = page.total;
  if (!page.pagedUpstream) {
    total ??= items.length;
    items = items.slice(offset, limit === undefined ? undefined : offset + limit);
  }
  const fields = args.fields && args.fields.length > 0 ? args.fields : undefined;
  const shaped = items.map((item) => options.redactor.value(project(item, fields), options.reveal));

  const result: Record<string, unknown> = { items: shaped, ...page.extra };
  if (total !== undefined) result.total = total;
  if (offset > 0) result.offset = offset;
  const shownEnd = offset + shaped.length;
  if (total !== undefined && shownEnd < total && limit !== undefined && shaped.length >= limit) {
    result.next_offset = shownEnd;
  }
  const fitted = fitList(result, shaped, offset, options.maxChars);
  // A total that only repeats the number of items shown tells the model nothing (and costs bytes).
  if (offset === 0 && fitted.total === (fitted.items as unknown[]).length) delete fitted.total;
  return fitted;
}

/** Keeps whole items that fit the budget; says how many were left out and how to get them. */
function fitList(
  result: Record<string, unknown>,
  items: unknown[],
  offset: number,
  maxChars: number,
): Record<string, unknown> {
  // Room for the envelope and the note added when cutting.
  const reserve = 300;
  let used = JSON.stringify({ ...result, items: [] }).length + reserve;
  let kept = 0;
  for (const item of items) {
    const size = JSON.stringify(item).length + 1;
    if (used + size > maxChars) break;
    used += size;
    kept += 1;
  }
  if (kept === items.length) return result;
  if (kept === 0) {
    // Calling again at the same offset would fail the same way: say what would help instead.
    const { next_offset: _loop, ...rest } = result;
    return {
      ...rest,
      items: [],
      truncated: true,
      note:
        `The item at offset ${offset} alone is larger than the ${maxChars}-character output budget: ask for ` +
        "fewer keys with fields=[...], read it with the matching get tool, or skip it with a higher offset.",
    };
  }
  const nextOffset = offset + kept;
  return {
    ...result,
    items: items.slice(0, kept),
    truncated: true,
    next_offset: nextOffset,
    note: `${items.length - kept} more item(s) did not fit the ${maxChars}-character output budget: call again with offset=${nextOffset}, a smaller limit, or fields=[...] to keep fewer keys.`,
  };
}

function project(item: unknown, fields: string[] | undefined): unknown {
  if (fields === undefined || item === null || typeof item !== "object" || Array.isArray(item)) return item;
  const source = item as Record<string, unknown>;
  const projected: Record<string, unknown> = {};
  for (const field of fields) if (field in source) projected[field] = source[field];
  return projected;
}

/** Marks an issue as a broken rule between arguments: its message is the refusal, in full. */
export const RULE_REFUSAL = "rule between arguments";

/**
 * Formats zod issues for the model: which parameter, what is wrong, and what the place accepts. A broken
 * rule between arguments (only checked once every argument is valid on its own) is told in its own words.
 */
export function describeInvalidArguments(tool: string, error: z.ZodError, input: z.ZodObject): string {
  const refusals = error.issues.flatMap((issue) =>
    issue.code === "custom" && issue.params?.kind === RULE_REFUSAL ? [issue.message] : [],
  );
  if (refusals.length > 0) return refusals.join(" ");
  const lines = error.issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join(".") : "arguments";
    if (issue.code === "unrecognized_keys") {
      const accepted = Object.keys(objectAt(input, issue.path)?.shape ?? {});
      return `${where}: unknown parameter(s) ${issue.keys.join(", ")}; accepted: ${accepted.join(", ") || "none"}`;
    }
    return `${where}: ${issue.message}`;
  });
  return `Invalid arguments for ${tool}: ${lines.join("; ")}. Nothing was sent upstream.`;
}

/** The object schema at a path of the input (`accounts.0` is an item of the `accounts` array). */
function objectAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodObject | undefined {
  let current: z.ZodType | undefined = schema;
  for (const key of path) {
    current = unwrap(current);
    if (current instanceof z.ZodObject) current = current.shape[String(key)] as z.ZodType | undefined;
    else if (current instanceof z.ZodArray) current = current.element as z.ZodType;
    else return undefined;
  }
  const found = unwrap(current);
  return found instanceof z.ZodObject ? found : undefined;
}

/** Looks through optional, default and refinement wrappers to the schema they hold. */
function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  while (
    current instanceof z.ZodOptional ||
    current instanceof z.ZodDefault ||
    current instanceof z.ZodNullable
  ) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}
