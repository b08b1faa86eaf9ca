import type { Operation } from "../../auth/operations.js";
import type { Outcome, RawResponse, ServiceProfile } from "../../auth/types.js";
import type { ConfigReader } from "../../config.js";
import { describeBody } from "../../errors.js";
import { definePlatform } from "../../platform.js";
import { createDciAuth, DCI_AUTH_BASE, DCI_BASE, DCI_WHOAMI, type DciAuth } from "./login.js";
import { dciTools } from "./tools.js";

/** "Unauthorized": the session token is unknown, expired or idle-deleted (the vendor page's sample). */
export const DCI_UNAUTHORIZED = 3001;

/** Reads `{"error": {code, msg, value}}`; anything else becomes the message as it is. */
export function parseDciError(body: unknown): { code?: number | string; message: string } | undefined {
  if (body === null || typeof body !== "object" || !("error" in body)) return undefined;
  const error = (body as { error: unknown }).error;
  if (error === null || typeof error !== "object") return undefined;
  const { code, msg } = error as { code?: unknown; msg?: unknown };
  if (code === undefined && msg === undefined) return undefined;
  const parsed: { code?: number | string; message: string } = {
    message: typeof msg === "string" && msg !== "" ? msg : "no error message",
  };
  if (typeof code === "number" || typeof code === "string") parsed.code = code;
  return parsed;
}

/** The documented operations (upstreams.md section 2; tags there say which are only inferred). */
export const DCI_OPERATIONS: readonly Operation[] = [
  {
    method: "GET",
    path: `${DCI_BASE}/server`,
    summary: "List servers: where, orderby (<field> asc|desc), limit=<offset>,<count>; answers {list, size}",
  },
  { method: "GET", path: `${DCI_BASE}/server/{id}`, summary: "One server with ip, os_template, operation" },
  {
    method: "GET",
    path: `${DCI_BASE}/server/configuration`,
    summary: "Server configurations and free server counts",
  },
  { method: "POST", path: `${DCI_BASE}/server/{id}/power_on`, summary: "Power a server on (body {})" },
  { method: "POST", path: `${DCI_BASE}/server/{id}/power_off`, summary: "Power a server off (body {})" },
  { method: "POST", path: `${DCI_BASE}/server/{id}/power_reset`, summary: "Power-cycle a server (body {})" },
  { method: "GET", path: `${DCI_BASE}/user`, summary: "List users: where, limit" },
  {
    method: "POST",
    path: `${DCI_BASE}/user`,
    summary: "Create a user {email, full_name, password, phone_number, role}",
  },
  { method: "GET", path: `${DCI_BASE}/setting`, summary: "Platform settings: {list: [{name, value}]}" },
  {
    method: "POST",
    path: `${DCI_BASE}/setting/{name}`,
    summary: 'Change a platform setting {"value": "..."}',
  },
  { method: "GET", path: `${DCI_BASE}/ipmgr/ip`, summary: "IP addresses (where filter)" },
  { method: "GET", path: `${DCI_BASE}/switch/{id}/port`, summary: "Ports of a switch" },
  { method: "GET", path: "/api/ip/v3/ip", summary: "IPmanager 6 addresses (where filter)" },
  {
    method: "POST",
    path: `${DCI_AUTH_BASE}/public/token`,
    summary: "Log in {email, password} -> {token} (public)",
  },
  {
    method: "POST",
    path: `${DCI_AUTH_BASE}/public/key`,
    summary: "Exchange a one-time login key {key} -> {token} (public)",
  },
  { method: "GET", path: DCI_WHOAMI, summary: "The session's own user" },
  {
    method: "POST",
    path: `${DCI_AUTH_BASE}/user/{email}/key`,
    summary: "Create a one-hour login key for a user (body {})",
  },
  {
    method: "POST",
    path: `${DCI_AUTH_BASE}/token`,
    summary: "Create a long-lived token {expires_at, description}",
  },
  {
    method: "POST",
    path: `${DCI_AUTH_BASE}/setting/token_ttl`,
    summary: 'Idle lifetime of tokens and sessions in minutes {"value": "60"}',
  },
];

export const dciProfile: ServiceProfile = {
  api: "dci",
  // The vendor's sample sends this on every call, the key exchange included.
  headers: { "isp-box-instance": "true" },
  // 503 means the platform was suspended and did nothing, so even a write is safe to repeat after it
  // (the vendor's own sample retries POST and DELETE on 503, and only on 503).
  nothingDoneStatuses: [503],
  // Any user may ask who they are: unlike a server list, it needs no rights and reads no inventory.
  probe: { method: "GET", path: DCI_WHOAMI },
  operations: DCI_OPERATIONS,
  interpret({ status, body }: RawResponse): Outcome {
    const error = parseDciError(body);
    // The envelope can arrive with any status, 200 included; 3001 always means "log in again".
    if (status >= 200 && status < 300 && error === undefined) return { ok: true, data: body ?? null };
    const code = error?.code;
    return {
      ok: false,
      authExpired: status === 401 || Number(code) === DCI_UNAUTHORIZED,
      code,
      message: error?.message ?? describeBody(body, "empty error body"),
    };
  },
  hint(status, code, request) {
    if (Number(code) === DCI_UNAUTHORIZED || status === 401)
      return "DCImanager refused a fresh session too; check that the DCI user is active and allowed to use the API.";
    if (status === 404) {
      if (request.path.startsWith(`${DCI_BASE}/server`)) return "Check the id with dci_list_servers.";
      if (request.path.startsWith(`${DCI_BASE}/setting`)) return "Check the setting name.";
      if (request.path.startsWith(`${DCI_AUTH_BASE}/user`)) return "Check the email with dci_list_users.";
      return "Check the path: infra_list_operations lists the documented ones.";
    }
    if (status === 400 && request.query?.where !== undefined)
      return "Fix the filter: <field> EQ|NE|CP <value>, <field> IS null, combined with AND, NOT and parentheses; strings in single quotes, % as wildcard in CP.";
    if (status === 400) return "Fix the request as the message says and retry.";
    if (status === 403) return "The DCImanager user lacks the permission for this; ask an administrator.";
    return undefined;
  },
  exhaustedHint(status) {
    if (status !== 503) return undefined;
    return "DCImanager stayed suspended (503) for the whole call, so nothing was done; try again in a minute, or raise INFRA_MCP_TIMEOUT_MS to wait longer for it to wake up.";
  },
};

export interface DciSettings {
  url: string;
  auth: DciAuth;
}

const LOGIN_EXAMPLE = "DCI_EMAIL=admin@example.com with DCI_PASSWORD=<password>, or DCI_TOKEN=<token>";

function readDci(r: ConfigReader): DciSettings | undefined {
  const url = r.url("DCI_URL", "https://dci.example.com");
  const email = r.get("DCI_EMAIL");
  const password = r.get("DCI_PASSWORD");
  const token = r.get("DCI_TOKEN");
  const key = r.get("DCI_LOGIN_KEY");
  const ways = [email !== undefined || password !== undefined, token !== undefined, key !== undefined];
  const chosen = ways.filter(Boolean).length;
  if (chosen !== 1) {
    r.problem(
      "DCI_EMAIL/DCI_TOKEN/DCI_LOGIN_KEY",
      chosen === 0 ? "no credentials: set exactly one way to log in" : "more than one way to log in is set",
      LOGIN_EXAMPLE,
    );
    return undefined;
  }
  if (url === undefined) return undefined;
  if (token !== undefined) return { url, auth: { kind: "token", token } };
  if (key !== undefined) return { url, auth: { kind: "key", key } };
  if (email === undefined || password === undefined) {
    r.problem(
      email === undefined ? "DCI_EMAIL" : "DCI_PASSWORD",
      "missing: password login needs both DCI_EMAIL and DCI_PASSWORD",
      LOGIN_EXAMPLE,
    );
    return undefined;
  }
  return { url, auth: { kind: "password", email, password } };
}

/** DCImanager 6: the registry entry. */
export const dciPlatform = definePlatform({
  name: "dci",
  title: "DCImanager 6",
  product: "DCImanager 6",
  prefix: "DCI",
  urlVariable: "DCI_URL",
  variables: [
    {
      name: "DCI_URL",
      example: "https://dci.example.com",
      description: "Address of the DCImanager 6 panel.",
    },
    {
      name: "DCI_EMAIL",
      example: "admin@example.com",
      aliases: ["DCI_USER", "DCI_USERNAME", "DCI_LOGIN"],
      description: "Email of the user to log in as, with DCI_PASSWORD.",
    },
    { name: "DCI_PASSWORD", example: "<password>", secret: true, description: "That user's password." },
    {
      name: "DCI_TOKEN",
      example: "<long-lived token>",
      secret: true,
      description: "A long-lived token, instead of email and password.",
    },
    {
      name: "DCI_LOGIN_KEY",
      example: "<one-time login key>",
      secret: true,
      description: "A one-time login key (good for one session), instead of email and password.",
      usableOnce: { instead: "DCI_TOKEN=<long-lived token>, or DCI_EMAIL + DCI_PASSWORD" },
    },
  ],
  usage: "DCI_URL + DCI_EMAIL/DCI_PASSWORD, DCI_TOKEN or DCI_LOGIN_KEY",
  apiIds: ["dci"],
  read: readDci,
  apis: ({ url, auth }) => [{ url, profile: dciProfile, strategy: createDciAuth(auth) }],
  tools: dciTools,
  emulator: async () => new (await import("./emulator/index.js")).DciEmulator(),
});
