import { z } from "zod";
import {
  DESTRUCTIVE,
  defineTool,
  isUpstreamScalar,
  type ListArgs,
  type ListPage,
  MUTATING,
  type PlatformTool,
  pathSegment,
  READ_ONLY,
  type ToolContext,
  upstreamField,
  upstreamScalar,
} from "../../tools/define.js";
import { DCI_AUTH_BASE, DCI_BASE } from "./profile.js";

const DEFAULT_LIMIT = 50;

/** DCImanager pages with `limit=<offset>,<count>`. */
function limitParameter({ offset, limit }: ListArgs): string {
  return `${offset ?? 0},${limit ?? DEFAULT_LIMIT}`;
}

/** A collection: its items, and their count, which is only read when it is a number. */
const COLLECTION = z
  .looseObject({ list: z.array(z.unknown()), size: z.unknown().optional() })
  .describe("{list, size}");

/**
 * GETs a `{list, size}` collection with `where` (and `orderby`) passed through and `limit=<offset>,<count>`,
 * and turns it into a page the wrapper can shape.
 */
async function listPage(
  { session }: Pick<ToolContext, "session">,
  path: string,
  args: ListArgs & { where?: string; orderby?: string },
): Promise<ListPage> {
  const { list, size } = await session.request(
    {
      method: "GET",
      path,
      // An empty filter or order means none; the platform need not see it.
      query: {
        where: args.where || undefined,
        orderby: args.orderby || undefined,
        limit: limitParameter(args),
      },
    },
    COLLECTION,
  );
  const total = typeof size === "number" ? size : undefined;
  // An instance that ignored `limit` sent everything from the start: page it here instead.
  if (list.length > (args.limit ?? DEFAULT_LIMIT)) return { items: list, total: total ?? list.length };
  return { items: list, total, pagedUpstream: true };
}

const where = z.string().optional().describe("Filter, e.g. name CP '%web%' AND location_id EQ 3");

/** The paths the tools send to, which they also declare (the operator's policy matches them). */
const SERVERS = `${DCI_BASE}/server`;
const USERS = `${DCI_BASE}/user`;
const serverPath = (id: number) => `${SERVERS}/${id}`;
const settingPath = (name: string) => `${DCI_BASE}/setting/${name}`;
const TOKEN_TTL = `${DCI_AUTH_BASE}/setting/token_ttl`;

const listServersTool = defineTool({
  name: "dci_list_servers",
  title: "List DCImanager servers",
  description:
    "Bare-metal servers. where takes EQ, NE, CP (% wildcards), IS null, NOT, AND, parentheses; quote strings. Details: dci_get_server.",
  input: {
    where,
    orderby: z.string().optional().describe("<field> asc|desc"),
  },
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  requests: () => [{ method: "GET", path: SERVERS }],
  handler: (args, ctx) => listPage(ctx, SERVERS, args),
});

const serverId = z.number().int().min(1).describe("Server id (from dci_list_servers)");

/**
 * What a client acts on in a server: which one, whether it is in use, its power, and how its last operation
 * went (dci_power_server sends callers here). The rest of the object passes through undeclared. The
 * vendor's sample is all there is to go by: it shows `state` and `operation.status` as strings, has no
 * `name` and no `power_status` (seen only in third-party code), and ISPsystem sends ids as strings too.
 */
const SERVER_FIELDS = {
  id: upstreamField(z.union([z.number(), z.string()])),
  name: upstreamScalar(),
  state: upstreamField(z.string()),
  power_status: upstreamScalar(),
  // A server that never ran an operation may have none (a brand-new one); its other fields pass through.
  operation: upstreamField(z.looseObject({ status: upstreamField(z.string()) })),
};
const SERVER = z.looseObject(SERVER_FIELDS).describe("a server");

const getServerTool = defineTool({
  name: "dci_get_server",
  title: "Get a DCImanager server",
  description:
    "One server in full: state, power_status, ip, os_template, hardware_info, and operation (the last one's status).",
  input: { server_id: serverId },
  output: SERVER_FIELDS,
  annotations: READ_ONLY,
  requests: ({ server_id }) => [{ method: "GET", path: serverPath(server_id) }],
  async handler({ server_id }, { session }) {
    return session.request({ method: "GET", path: serverPath(server_id) }, SERVER);
  },
});

const POWER_CALLS = { on: "power_on", off: "power_off", reset: "power_reset" } as const;
const POWER_WORDS = { on: "power on", off: "power off", reset: "power-cycle (hard reset)" } as const;
const powerPath = (id: number, action: keyof typeof POWER_CALLS) =>
  `${serverPath(id)}/${POWER_CALLS[action]}`;

/**
 * A power call's answer is not documented: a task it names is reported, and any other answer to a call
 * that was carried out is no reason to say it failed.
 */
const POWERED = z.looseObject({ task: z.unknown().optional() }).nullable().catch(null);

const powerServerTool = defineTool({
  name: "dci_power_server",
  title: "Power a DCImanager server",
  description: "Powers a server on or off, or hard-resets it. Check the result with dci_get_server.",
  input: {
    server_id: serverId,
    action: z.enum(["on", "off", "reset"]).describe("on, off or reset"),
  },
  output: {
    ok: z.boolean(),
    server_id: z.number(),
    action: z.string(),
    // The answer to a power call is not documented.
    task: upstreamScalar(),
    summary: z.string(),
  },
  // A reset is not idempotent: each one cuts power again.
  annotations: { ...DESTRUCTIVE, idempotent: false },
  requests: ({ server_id, action }) => [{ method: "POST", path: powerPath(server_id, action) }],
  preview: ({ server_id, action }, { session }) =>
    `POST ${session.baseUrl}${powerPath(server_id, action)}: ${POWER_WORDS[action]} server ${server_id}`,
  async handler({ server_id, action }, { session }) {
    const body = await session.request(
      { method: "POST", path: powerPath(server_id, action), json: {} },
      POWERED,
    );
    const task = body?.task;
    return {
      ok: true,
      server_id,
      action,
      summary: `Requested ${POWER_WORDS[action]} of server ${server_id}. dci_get_server shows power_status and operation.status.`,
      ...(isUpstreamScalar(task) ? { task } : {}),
    };
  },
});

const updateSettingTool = defineTool({
  name: "dci_update_setting",
  title: "Change a DCImanager setting",
  description:
    "Sets one platform setting. Current names and values: infra_api_get service=dci path=/api/dci/v3/setting.",
  input: {
    name: pathSegment("Setting name, e.g. operation_change_boot_order"),
    value: z.union([z.string(), z.number(), z.boolean()]).describe("New value: true, 300 or a string"),
  },
  output: { ok: z.boolean(), name: z.string(), value: z.string(), summary: z.string() },
  annotations: { ...MUTATING, idempotent: true },
  requests: ({ name }) => [{ method: "POST", path: settingPath(name) }],
  preview: ({ name, value }) => `POST ${settingPath(name)}: set ${name} to ${JSON.stringify(value)}`,
  async handler({ name, value: given }, { session }) {
    // The platform takes every value as a string (the vendor's sample sends "true"); clients send JSON types.
    const value = String(given);
    await session.request({ method: "POST", path: settingPath(name), json: { value } });
    return { ok: true, name, value, summary: `Setting ${name} is now ${JSON.stringify(value)}.` };
  },
});

const listUsersTool = defineTool({
  name: "dci_list_users",
  title: "List DCImanager users",
  description: "Platform users: id, email, roles, server_count.",
  input: { where: where.describe("Filter, e.g. email CP '%@example.com'") },
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  requests: () => [{ method: "GET", path: USERS }],
  handler: (args, ctx) => listPage(ctx, USERS, args),
});

/** The vendor's own paths keep `@` as it is (RFC 3986 allows it in a path segment). */
function emailSegment(email: string): string {
  return encodeURIComponent(email).replace(/%40/g, "@");
}

const loginKeyPath = (email: string) => `${DCI_AUTH_BASE}/user/${emailSegment(email)}/key`;

/** The vendor page: a key lets its user in for one hour. */
const LOGIN_KEY_LIFETIME_SECONDS = 3600;

/** The new key, the point of the call, must be there; its id (the sample sends "4") is reported as it came. */
const LOGIN_KEY = z.looseObject({ id: z.unknown().optional(), key: z.string().min(1) }).describe("{id, key}");

const createLoginKeyTool = defineTool({
  name: "dci_create_login_key",
  title: "Create a DCImanager login key",
  description:
    "Creates a one-time key that lets a user in for an hour without a password; returns the key and its login link.",
  // A plain shape check: zod's email() would add a long pattern to every tools/list.
  input: {
    email: z
      .string()
      .regex(/^[^@\s/]+@[^@\s/]+$/, "an email address")
      .describe("The user's email"),
  },
  output: {
    // The vendor's sample sends "4"; the key, the point of the call, is checked to be there.
    id: upstreamField(z.union([z.string(), z.number()])),
    key: z.string(),
    login_link: z.string(),
    expires_in_seconds: z.number(),
    summary: z.string(),
  },
  // Handing out the key is the point of this tool.
  reveal: ["key"],
  // A one-hour login for any user, administrators included: the user confirms it first.
  mintsCredentials: true,
  annotations: MUTATING,
  requests: ({ email }) => [{ method: "POST", path: loginKeyPath(email) }],
  preview: ({ email }) => `POST ${loginKeyPath(email)}: create a one-hour login key for ${email}`,
  async handler({ email }, { session }) {
    const { id, key } = await session.request(
      { method: "POST", path: loginKeyPath(email), json: {} },
      LOGIN_KEY,
    );
    return {
      key,
      login_link: `${session.baseUrl}/auth/key-v4/${key}`,
      expires_in_seconds: LOGIN_KEY_LIFETIME_SECONDS,
      summary: `Login key for ${email}: valid for one hour and one login. Give the user the login link.`,
      ...(typeof id === "string" || typeof id === "number" || id === null ? { id } : {}),
    };
  },
});

const setSessionTtlTool = defineTool({
  name: "dci_set_session_ttl",
  title: "Set DCImanager token idle lifetime",
  description:
    "Sets how many minutes an unused session token lives on the platform (default 60), for every user.",
  input: { minutes: z.number().int().min(1).describe("Idle lifetime in minutes") },
  output: { ok: z.boolean(), minutes: z.number(), summary: z.string() },
  annotations: { ...MUTATING, idempotent: true },
  requests: () => [{ method: "POST", path: TOKEN_TTL }],
  preview: ({ minutes }) => `POST ${TOKEN_TTL}: tokens unused for ${minutes} min expire`,
  async handler({ minutes }, { session }) {
    await session.request({
      method: "POST",
      path: TOKEN_TTL,
      // The platform takes the number as a string (the vendor's sample sends "999").
      json: { value: String(minutes) },
    });
    session.setIdleTimeout(minutes * 60_000);
    return { ok: true, minutes, summary: `Unused tokens and sessions now expire after ${minutes} minutes.` };
  },
});

export const dciTools: PlatformTool[] = [
  listServersTool,
  getServerTool,
  powerServerTool,
  updateSettingTool,
  listUsersTool,
  createLoginKeyTool,
  setSessionTtlTool,
];
