import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { type AnyTool, CONFIRMATION_TOKEN, LIST_OUTPUT, listParameters } from "./define.js";

/**
 * The JSON schemas of a tool's `tools/list` entry that no setting changes. Converting 50 zod schemas is a
 * sixth of the start-up, paid before the first tools/list can be answered, so the build computes them once
 * (`schemas.json` beside this module) and a start reads them; anything a setting changes is added after.
 */
export interface ToolSchemas {
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
}

/** The schemas of one tool: its input (with list parameters, without confirmation_token) and its output. */
export function computeSchemas(definition: AnyTool, apis?: readonly string[]): ToolSchemas {
  const input = z
    .object({
      ...((apis !== undefined ? definition.inputFor?.(apis) : undefined) ?? definition.input),
      ...(definition.list ? listParameters(definition.list.defaultLimit) : {}),
    })
    .strict();
  const schemas: ToolSchemas = { inputSchema: jsonSchema(input, "input") };
  const outputShape = definition.list ? LIST_OUTPUT : definition.output;
  if (outputShape) {
    const output = jsonSchema(z.object(outputShape), "output");
    // Only a list promises its items. Anything else may be replaced by a confirmation_required result, or
    // shortened to the output budget after a write, so nothing more can be required of it.
    if (!definition.list) delete output.required;
    schemas.outputSchema = output;
  }
  return schemas;
}

let confirmationTokenSchema: Record<string, unknown> | undefined;

/** The input schema with the `confirmation_token` parameter a tool gets when its calls are confirmed. */
export function withConfirmationToken(inputSchema: Record<string, unknown>): Record<string, unknown> {
  confirmationTokenSchema ??= jsonSchema(CONFIRMATION_TOKEN, "input");
  const properties = inputSchema.properties as Record<string, unknown>;
  return { ...inputSchema, properties: { ...properties, confirmation_token: confirmationTokenSchema } };
}

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  return compactSchema(z.toJSONSchema(schema, { io })) as Record<string, unknown>;
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

const CACHE = new URL("./schemas.json", import.meta.url);

/**
 * What the cached schemas were computed from: the built tool modules and the platforms' (their emulators
 * aside: they define no tool, and are most of the bytes). A build that did not refresh the cache (tsc
 * alone) changes this, and the cache is ignored rather than served stale.
 */
function buildFingerprint(): string {
  const hash = createHash("sha256");
  const add = (dir: URL) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      if (entry.name === "emulator" || entry.name === "emulator.js") continue;
      if (entry.isDirectory()) add(new URL(`${entry.name}/`, dir));
      else if (entry.name.endsWith(".js"))
        hash.update(entry.name).update(readFileSync(new URL(entry.name, dir)));
    }
  };
  add(new URL("../tools/", import.meta.url));
  add(new URL("../platforms/", import.meta.url));
  return hash.digest("base64url");
}

/** The build's cached schemas by tool name, or undefined when there are none or they are stale. */
export function readSchemaCache(): Map<string, ToolSchemas> | undefined {
  try {
    const cache = JSON.parse(readFileSync(CACHE, "utf8")) as {
      fingerprint: string;
      tools: Record<string, ToolSchemas>;
    };
    if (cache.fingerprint !== buildFingerprint()) return undefined;
    return new Map(Object.entries(cache.tools));
  } catch {
    return undefined;
  }
}

/** Computes and writes the cache for every tool whose schemas no setting changes (build step). */
export function writeSchemaCache(tools: readonly AnyTool[]): number {
  const cached = tools.filter((tool) => tool.inputFor === undefined);
  const entries = Object.fromEntries(cached.map((tool) => [tool.name, computeSchemas(tool)]));
  writeFileSync(CACHE, `${JSON.stringify({ fingerprint: buildFingerprint(), tools: entries })}\n`);
  return cached.length;
}
