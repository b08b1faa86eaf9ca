import { z } from "zod";
import type { Session } from "../auth/session.js";
import type { Config, ServiceName } from "../config.js";
import type { Logger } from "../log.js";
import type { Redactor } from "../safety/redact.js";

/** What a handler may use. No global clients: everything arrives here (github-mcp-server style). */
export interface ToolContext {
  /** The session of the tool's own API (absent for infra tools, which pick one by name). */
  session: Session;
  /** All enabled sessions by API id, for the cross-service tools. */
  sessions: ReadonlyMap<string, Session>;
  config: Config;
  redactor: Redactor;
  /** The MCP request's abort signal: pass it on to every upstream call. */
  signal: AbortSignal;
  /** Sends a progress notification when the client asked for them; a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  log: Logger;
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
}

/** The parameters the wrapper adds to list tools; handlers that page upstream read them. */
export interface ListArgs {
  limit?: number;
  offset?: number;
  fields?: string[];
}

export interface ListOptions {
  /** Default `limit` (TOOLS.md gives some). */
  defaultLimit?: number;
}

export interface ToolDefinition<Shape extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  /** Toolset the tool belongs to; `infra` tools are always on. */
  service: ServiceName | "infra";
  /** Session the handler gets, when it differs from the service name (`squonk_dm`). */
  api?: string;
  title: string;
  description: string;
  input: Shape;
  /**
   * The input as served under one configuration, when it depends on it (the generic tools accept only the
   * enabled APIs). Must accept a subset of `input`.
   */
  inputFor?(apis: readonly string[]): z.ZodRawShape;
  /** Shape of `structuredContent` for non-list tools; list tools get the list shape. */
  output?: z.ZodRawShape;
  annotations: Annotations;
  /** Makes this a list tool: adds `limit`, `offset`, `fields` and the `{items, total?, ...}` result. */
  list?: ListOptions;
  /** Secret-looking fields this tool returns on purpose (`dci_create_login_key`). */
  reveal?: readonly string[];
  /** One line saying what will be done, shown when confirmation is asked. */
  preview?(args: z.infer<z.ZodObject<Shape>>, ctx: Pick<ToolContext, "session" | "config">): string;
  handler(args: z.infer<z.ZodObject<Shape>> & ListArgs, ctx: ToolContext): Promise<unknown>;
}

/** Identity with inference: one tool is one object (playwright-mcp `defineTool`). */
export function defineTool<Shape extends z.ZodRawShape>(tool: ToolDefinition<Shape>): ToolDefinition {
  return tool as unknown as ToolDefinition;
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

  const result: Record<string, unknown> = { items: shaped };
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

/** Formats zod issues for the model: which parameter, what is wrong. */
export function describeInvalidArguments(tool: string, error: z.ZodError, accepted: string[]): string {
  const lines = error.issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join(".") : "arguments";
    if (issue.code === "unrecognized_keys") {
      return `${where}: unknown parameter(s) ${issue.keys.join(", ")}; accepted: ${accepted.join(", ") || "none"}`;
    }
    return `${where}: ${issue.message}`;
  });
  return `Invalid arguments for ${tool}: ${lines.join("; ")}. Nothing was sent upstream.`;
}
