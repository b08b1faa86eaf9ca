import { z } from "zod";
import type { Config } from "../config.js";
import type { Platform } from "../platform.js";
import { needsConfirmation } from "../safety/confirm.js";
import { type CallClass, Policy } from "../safety/policy.js";
import {
  type AnyTool,
  CONFIRMATION_TOKEN,
  classOf,
  INFRA_TOOLSET,
  listParameters,
  RULE_REFUSAL,
  targetPaths,
} from "./define.js";
import { createInfraTools } from "./infra.js";
import { computeSchemas, readSchemaCache, type ToolSchemas, withConfirmationToken } from "./schemas.js";

/** Every tool of these platforms, in listing order: the infra tools, then each platform's, in their order. */
export function toolsOf(platforms: readonly Platform[]): AnyTool[] {
  return [...createInfraTools(platforms), ...platforms.flatMap((platform) => platform.tools)];
}

/** A tool as served under one configuration: its validator and its `tools/list` entry, built once. */
export interface PreparedTool {
  definition: AnyTool;
  /** Strict: unknown parameters are reported, not silently dropped. */
  input: z.ZodObject;
  /**
   * Whether a call may need confirmation (by the annotations and INFRA_MCP_CONFIRM, or by the operator's
   * policy): the tool then accepts `confirmation_token`. Whether a given call does is decided when it runs.
   */
  confirm: boolean;
  /** Where its arguments name the call's targets, for the audit trail. */
  targets: string[][];
  /** The `tools/list` entry, as JSON-ready data. */
  listing: Record<string, unknown>;
}

/**
 * The one filter: toolsets, read-only mode and enabled APIs, all derived from the definitions (no second
 * list of names). `infra_*` tools are always on; read-only keeps only tools marked readOnlyHint; a tool whose
 * `api` is not enabled (a platform's optional second API) is left out. `apis`: the API ids the
 * configuration enables.
 */
export function prepareTools(
  config: Config,
  tools: readonly AnyTool[],
  apis: readonly string[],
  policy: Policy = new Policy(),
): PreparedTool[] {
  return tools
    .filter((tool) => tool.toolset === INFRA_TOOLSET || config.toolsets.has(tool.toolset))
    .filter((tool) => !config.readOnly || tool.annotations.readOnly)
    .filter((tool) => tool.api === undefined || apis.includes(tool.api))
    .map((tool) => prepare(tool, config, apis, policy));
}

/**
 * What decides a call that no policy rule matches: the annotations and INFRA_MCP_CONFIRM (TOOLS.md section
 * 4). A call that only reads (whatever the tool could do with other arguments) is allowed.
 */
export function fallbackFor(definition: AnyTool, callClass: CallClass, config: Config): "allow" | "confirm" {
  return callClass !== "read_only" && needsConfirmation(definition, config.confirm) ? "confirm" : "allow";
}

/** The classes a tool's calls can have: its annotations', and a read for the arguments that only read. */
function possibleClasses(definition: AnyTool): CallClass[] {
  const own = classOf(definition.annotations);
  return definition.readsOnly !== undefined && own !== "read_only" ? [own, "read_only"] : [own];
}

/** The schemas the build computed (see schemas.ts), read once: a process serves one configuration. */
let cache: Map<string, ToolSchemas> | undefined | null = null;

function prepare(definition: AnyTool, config: Config, apis: readonly string[], policy: Policy): PreparedTool {
  const confirm = policy.mayConfirm(
    definition.name,
    possibleClasses(definition).map((callClass) => ({
      class: callClass,
      fallback: fallbackFor(definition, callClass, config),
    })),
  );
  const object = z
    .object({
      ...(definition.inputFor?.(apis) ?? definition.input),
      ...(definition.list ? listParameters(definition.list.defaultLimit) : {}),
      ...(confirm ? { confirmation_token: CONFIRMATION_TOKEN } : {}),
    })
    .strict();
  const { rules } = definition;
  const input =
    rules === undefined
      ? object
      : object.superRefine((args, ctx) => {
          const refusal = rules(args);
          if (refusal !== undefined)
            ctx.addIssue({ code: "custom", message: refusal, params: { kind: RULE_REFUSAL } });
        });

  if (cache === null) cache = readSchemaCache();
  // A tool whose input depends on the configuration (the enabled APIs) is converted here.
  const schemas =
    definition.inputFor !== undefined
      ? computeSchemas(definition, apis)
      : (cache?.get(definition.name) ?? computeSchemas(definition));
  const listing: Record<string, unknown> = {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    inputSchema: confirm ? withConfirmationToken(schemas.inputSchema) : schemas.inputSchema,
  };
  if (schemas.outputSchema) listing.outputSchema = schemas.outputSchema;
  listing.annotations = {
    readOnlyHint: definition.annotations.readOnly,
    destructiveHint: definition.annotations.destructive,
    idempotentHint: definition.annotations.idempotent,
    openWorldHint: definition.annotations.openWorld,
  };
  return { definition, input, confirm, targets: targetPaths(definition.input), listing };
}
