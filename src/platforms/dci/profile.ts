import { z } from "zod";
import type { ApiProfile, Operation, Outcome, RawResponse } from "../../auth/types.js";
import { describeBody } from "../../errors.js";

/** DCImanager 6's wire facts (upstreams.md section 2): where its services live. */
export const DCI_BASE = "/api/dci/v3";
export const DCI_AUTH_BASE = "/api/auth/v4";
/**
 * `GET /auth/v4/whoami`: the session's own user, the cheapest authenticated call. Without the `/api` prefix,
 * under the installation's root, as the one client seen calling it sends it (aiovmmanager, a VMmanager 6
 * library; VMmanager 6 and DCImanager 6 share the auth v4 service), and as the vendor's page sends
 * `/auth/v4/token` and `/auth/v4/setting/token_ttl`: the auth service answers under both prefixes.
 */
export const DCI_WHOAMI = "/auth/v4/whoami";

/** "Unauthorized": the session token is unknown, expired or idle-deleted (the vendor page's sample). */
export const DCI_UNAUTHORIZED = 3001;

const ERROR_ENVELOPE = z.looseObject({
  error: z.looseObject({ code: z.unknown().optional(), msg: z.unknown().optional() }),
});

/** Reads `{"error": {code, msg, value}}`; anything else becomes the message as it is. */
export function parseDciError(body: unknown): { code?: number | string; message: string } | undefined {
  // Checked before parsing: every answer comes through here, and most carry no error.
  if (body === null || typeof body !== "object" || !("error" in body)) return undefined;
  const envelope = ERROR_ENVELOPE.safeParse(body);
  if (!envelope.success) return undefined;
  const { code, msg } = envelope.data.error;
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

export const dciProfile: ApiProfile = {
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
