import { z } from "zod";
import type { Config } from "../config.js";
import { needsConfirmation } from "../safety/confirm.js";
import { enabledApis, PLATFORMS } from "../services/index.js";
import { type AnyTool, CONFIRMATION_TOKEN, LIST_OUTPUT, listParameters } from "./define.js";
import { infraTools } from "./infra.js";

/** Every tool this build has, in listing order: the infra tools, then each platform's, in registry order. */
export const allTools: readonly AnyTool[] = [
  ...infraTools,
  ...PLATFORMS.flatMap((platform) => platform.tools),
];

/** A tool as served under one configuration: its validator and its `tools/list` entry, built once. */
export interface PreparedTool {
  definition: AnyTool;
  /** Strict: unknown parameters are reported, not silently dropped. */
  input: z.ZodObject;
  /** Whether a call must be confirmed before it acts. */
  confirm: boolean;
  /** The `tools/list` entry, as JSON-ready data. */
  listing: Record<string, unknown>;
}

/**
 * The one filter: toolsets, read-only mode and enabled APIs, all derived from the definitions (no second
 * list of names). `infra_*` tools are always on; read-only keeps only tools marked readOnlyHint; a tool whose
 * `api` is not enabled (a platform's optional second API) is left out.
 */
export function prepareTools(config: Config, tools: readonly AnyTool[] = allTools): PreparedTool[] {
  const apis = enabledApis(config);
  return tools
    .filter((tool) => tool.service === "infra" || config.toolsets.has(tool.service))
    .filter((tool) => !config.readOnly || tool.annotations.readOnly)
    .filter((tool) => tool.api === undefined || apis.includes(tool.api))
    .map((tool) => prepare(tool, config, apis));
}

function prepare(definition: AnyTool, config: Config, apis: readonly string[]): PreparedTool {
  const confirm = needsConfirmation(definition, config.confirm);
  const input = z
    .object({
      ...(definition.inputFor?.(apis) ?? definition.input),
      ...(definition.list ? listParameters(definition.list.defaultLimit) : {}),
      ...(confirm ? { confirmation_token: CONFIRMATION_TOKEN } : {}),
    })
    .strict();

  const outputShape = definition.list ? LIST_OUTPUT : definition.output;
  const listing: Record<string, unknown> = {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    inputSchema: compactSchema(z.toJSONSchema(input, { io: "input" })),
  };
  if (outputShape) {
    const output = compactSchema(z.toJSONSchema(z.object(outputShape), { io: "output" })) as Record<
      string,
      unknown
    >;
    // Only a list promises its items. Anything else may be replaced by a confirmation_required result, or
    // shortened to the output budget after a write, so nothing more can be required of it.
    if (!definition.list) delete output.required;
    listing.outputSchema = output;
  }
  listing.annotations = {
    readOnlyHint: definition.annotations.readOnly,
    destructiveHint: definition.annotations.destructive,
    idempotentHint: definition.annotations.idempotent,
    openWorldHint: definition.annotations.openWorld,
  };
  return { definition, input, confirm, listing };
}

const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/**
 * Drops what zod emits but a model does not need: `$schema`, safe-integer bounds, `propertyNames` of
 * string and empty `additionalProperties`. Every byte of `tools/list` is paid in every conversation.
 * Unknown parameters are still refused, by the strict validator.
 */
export function compactSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(compactSchema);
  if (schema === null || typeof schema !== "object") return schema;
  const record = schema as Record<string, unknown>;
  // One type per schema: a client that maps tool schemas onto a single-`type` dialect would reject
  // `type: ["string", "number"]`; `anyOf` branches say the same portably.
  if (Array.isArray(record.type)) {
    const { type, ...rest } = record;
    return compactSchema({ ...rest, anyOf: (type as string[]).map((one) => ({ type: one })) });
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$schema") continue;
    // An empty `items` constrains nothing; leaving it out says the same.
    if (key === "items" && value !== null && typeof value === "object" && Object.keys(value).length === 0)
      continue;
    if ((key === "minimum" || key === "maximum") && SAFE_INTEGER_BOUNDS.has(value as number)) continue;
    if (key === "propertyNames" && (value as { type?: string }).type === "string") continue;
    if (key === "additionalProperties" && (value === false || Object.keys(value as object).length === 0))
      continue;
    out[key] = compactSchema(value);
  }
  return out;
}
