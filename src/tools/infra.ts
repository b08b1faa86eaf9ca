import { z } from "zod";
import { filterOperations } from "../auth/operations.js";
import type { ApiSession } from "../auth/session.js";
import type { ApiProfile, UpstreamRequest } from "../auth/types.js";
import { clip, describeError, ToolInputError } from "../errors.js";
import type { Platform } from "../platform.js";
import { type AnyTool, DESTRUCTIVE, defineInfraTool, type InfraContext, READ_ONLY } from "./define.js";

const LOCAL = { ...READ_ONLY, openWorld: false };

/**
 * The `service` parameter as served: only the enabled APIs (TOOLS.md: "enabled ones only"). With none
 * enabled the tools stay listed, and a call says how to enable one.
 */
function serviceParameter(apis: readonly string[]) {
  if (apis.length === 0) return z.string().describe("Upstream API (none is configured)");
  // Not empty (checked above), which is all z.enum's tuple type asks for.
  return z.enum(apis as [string, ...string[]]).describe("Upstream API");
}
// Checked with refine (not regex) so the rule costs no bytes in tools/list; the message says it all.
const pathParameter = z
  .string()
  .refine((path) => /^\/[^?#]*$/.test(path), "must start with / and carry no query string (use query)")
  .refine((path) => !path.split("/").includes(".."), "must not contain '..' segments")
  .describe("Path relative to the service URL, starting with /");
const queryParameter = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .optional()
  .describe("Query parameters");

/** What the generic tools know of the platforms: the APIs they can open, and how to enable one. */
interface Platforms {
  /** Every API id the platforms can open, as the generic tools name them. */
  apis: readonly string[];
  /** What enables each platform, for messages that tell a user how to turn one on. */
  enabling: string;
}

function sessionFor(api: string, ctx: InfraContext, platforms: Platforms): ApiSession {
  const session = ctx.sessions.get(api);
  if (session !== undefined) return session;
  const enabled = [...ctx.sessions.keys()];
  if (enabled.length === 0) {
    throw new ToolInputError(
      `No service is configured on this server. Set the URL variable of a platform, ${platforms.enabling}, ` +
        "with its credentials (infra-mcp --help lists them), and restart.",
    );
  }
  throw new ToolInputError(
    `Service ${api} is not enabled on this server. Enabled: ${enabled.join(", ")}. ` +
      "Set its variables (see infra-mcp --help) and restart.",
  );
}

const statusTool = defineInfraTool({
  name: "infra_status",
  title: "Server and session status",
  description:
    "Enabled services: base URL, auth method, session state, last error. check=true makes one live call per service.",
  input: { check: z.boolean().optional().describe("Make a live authenticated call per service") },
  output: {
    services: z.array(z.record(z.string(), z.unknown())),
    read_only: z.boolean(),
    confirm: z.string(),
  },
  annotations: LOCAL,
  async handler({ check }, ctx) {
    const services = await Promise.all(
      [...ctx.sessions].map(async ([api, session]) => {
        const entry: Record<string, unknown> = {
          service: api,
          base_url: session.baseUrl,
          auth: session.authMethod,
        };
        if (check) {
          const started = performance.now();
          try {
            await session.request(session.profile.probe);
            entry.check = { ok: true, latency_ms: Math.round(performance.now() - started) };
          } catch (error) {
            entry.check = {
              ok: false,
              latency_ms: Math.round(performance.now() - started),
              error: describeError(error, (text) => ctx.redactor.scrub(text)),
            };
          }
        }
        const state = session.state();
        entry.authenticated = state.authenticated;
        if (state.expiresInSeconds !== undefined) entry.expires_in_seconds = state.expiresInSeconds;
        entry.logins = state.logins;
        if (state.lastError !== undefined) entry.last_error = state.lastError;
        return entry;
      }),
    );
    return { services, read_only: ctx.config.readOnly, confirm: ctx.config.confirm };
  },
});

const filter = z.string().optional().describe("Words that must all appear in method, path or summary");

const listOperationsTool = (platforms: Platforms) =>
  defineInfraTool({
    name: "infra_list_operations",
    title: "List upstream operations",
    description:
      "Documented operations (method, path, summary) of a service, to use with infra_api_get or infra_api_call.",
    input: { service: serviceParameter(platforms.apis), filter },
    inputFor: (apis) => ({ service: serviceParameter(apis), filter }),
    list: {},
    annotations: LOCAL,
    async handler({ service, filter }, ctx) {
      const session = sessionFor(service, ctx, platforms);
      const live = await session.profile.liveOperations?.((request) => session.requestRaw(request));
      const source = live?.source ?? "built-in catalogue of documented operations";
      const operations = live?.operations ?? session.profile.operations;
      return { items: filterOperations(operations, filter), extra: { source } };
    },
  });

const apiGetTool = (platforms: Platforms) =>
  defineInfraTool({
    name: "infra_api_get",
    title: "Read any upstream path",
    description:
      "Reads any path of an enabled service through its session (GET, or POST where the platform reads by POST). Find paths with infra_list_operations.",
    input: { service: serviceParameter(platforms.apis), path: pathParameter, query: queryParameter },
    inputFor: (apis) => ({ service: serviceParameter(apis), path: pathParameter, query: queryParameter }),
    // `{data}`: any JSON the upstream sent, so the schema declares only that the result is an object.
    output: {},
    annotations: READ_ONLY,
    requests({ service, path, query }, { apis }) {
      const api = apis.get(service);
      if (api === undefined) return undefined;
      const { method, path: sent } = readRequest(api.profile, path, query);
      return [{ api: service, method, path: sent }];
    },
    async handler({ service, path, query }, ctx) {
      const session = sessionFor(service, ctx, platforms);
      const data = await session.request(readRequest(session.profile, path, query));
      return { data };
    },
  });

/** How a read of `path` is sent on an API: a GET, or what the platform reads with instead. */
function readRequest(
  profile: ApiProfile,
  path: string,
  query: Record<string, string | number | boolean> | undefined,
): UpstreamRequest {
  return profile.readRequest?.(path, query) ?? { method: "GET", path, query };
}

const callParameters = {
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]).describe("HTTP method"),
  path: pathParameter,
  query: queryParameter,
  body: z
    .union([z.record(z.string(), z.unknown()), z.array(z.unknown())])
    .optional()
    .describe("JSON body (an object or an array)"),
};

const apiCallTool = (platforms: Platforms) =>
  defineInfraTool({
    name: "infra_api_call",
    title: "Send any upstream request",
    description:
      "Any request to an enabled service through its session, for operations without a dedicated tool. Prefer dedicated tools.",
    input: { service: serviceParameter(platforms.apis), ...callParameters },
    inputFor: (apis) => ({ service: serviceParameter(apis), ...callParameters }),
    // `{data}`: any JSON the upstream sent, so the schema declares only that the result is an object.
    output: {},
    annotations: { ...DESTRUCTIVE, idempotent: false },
    // TOOLS.md section 4: with method GET it is a read, and a read needs no confirmation.
    readsOnly: ({ method }) => method === "GET",
    requests: ({ service, method, path }) => [{ api: service, method, path }],
    preview: ({ service, method, path, body }, { redactor }) =>
      `${service} ${method} ${clip(path, 200)}${body === undefined ? "" : ` with body ${clip(redactor.scrub(JSON.stringify(body)), 500)}`}`,
    async handler({ service, method, path, query, body }, ctx) {
      const session = sessionFor(service, ctx, platforms);
      const encoded = body === undefined ? {} : (session.profile.encodeBody?.(body) ?? { json: body });
      const data = await session.request({ method, path, query, ...encoded });
      return { data };
    },
  });

/** The always-on tools, for these platforms (the registry, handed in): their `service` names the APIs. */
export function createInfraTools(platforms: readonly Platform[]): AnyTool[] {
  const known: Platforms = {
    apis: platforms.flatMap((platform) => platform.apiIds),
    enabling: platforms.map((platform) => `${platform.urlVariable} (${platform.name})`).join(", "),
  };
  return [statusTool, listOperationsTool(known), apiGetTool(known), apiCallTool(known)];
}
