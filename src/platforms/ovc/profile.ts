import { operationsFromOpenApi } from "../../auth/operations.js";
import type { ApiProfile, Operation, Outcome, RawResponse, UpstreamRequest } from "../../auth/types.js";
import { ToolInputError } from "../../errors.js";

/**
 * OpenvCloud's wire facts (upstreams.md section 4): every call is `POST /restmachine/<app>/<actor>/<method>`,
 * and the answer is the method's raw JSON value.
 */
export const OVC_REST = "/restmachine";
/** `system/task/get`: polls an `_async` call (202 while running, `[ok, result]` when done, 404 unknown). */
export const TASK_GET = "system/task/get";
/** OpenvCloud keeps a task's result this long after it ends (Redis `tasks.<guid>`). */
export const TASK_RESULT_TTL_SECONDS = 600;

/** The path of an actor method such as `cloudapi/cloudspaces/list`. */
export function ovcPath(method: string): string {
  return `${OVC_REST}/${method}`;
}

/**
 * One call of an actor method. Parameters travel as a JSON body, one of the three encodings the portal
 * merges (query, form, JSON): JSON keeps their types (ints, bools, the `list(int)` of data disks) instead of
 * leaning on the portal's string coercion, and keeps passwords out of URLs, which proxies and access logs
 * record. Only the session key rides in the query (`authkey`), as the vendor's own example sends it.
 */
export function ovcRequest(method: string, params: Record<string, unknown> = {}): UpstreamRequest {
  return { method: "POST", path: ovcPath(method), json: params };
}

/**
 * `/restmachine/<app>/<actor>/<method>` split into its parts, or undefined for any other path. Names are
 * Python identifiers upstream; anything else (`%2F`, `..`) could reach another method once decoded.
 */
export function actorMethodOf(path: string): { app: string; actor: string; method: string } | undefined {
  const match = /^\/restmachine\/(\w+)\/(\w+)\/(\w+)$/.exec(path);
  if (match === null) return undefined;
  // A match holds every group of the pattern.
  return { app: match[1] as string, actor: match[2] as string, method: match[3] as string };
}

/**
 * The methods that only read: names starting with `list` or `get` (camelCase, so `listen` would not count),
 * which covers `system/task/get`. They are retried after transient failures and allowed in read-only mode;
 * every other method may change something.
 */
export function isReadMethodPath(path: string): boolean {
  const method = actorMethodOf(path)?.method;
  return method !== undefined && /^(list|get)(?=[A-Z]|$)/.test(method);
}

/**
 * A failed `_async` task stores `str(exception)`: `400: Bad Request "Location xyz does not exists"` for the
 * portal's own exceptions, any text for an unhandled one.
 */
export function parseTaskFailure(stored: unknown): { status?: number; reason?: string; message: string } {
  if (typeof stored !== "string") return { message: JSON.stringify(stored) ?? "no reason given" };
  const match = /^(\d{3}): ([^"]*?) ("[\s\S]*")$/.exec(stored.trim());
  if (match === null) return { message: stored.trim() || "no reason given" };
  // A match holds every group of the pattern.
  const quoted = match[3] as string;
  let message = quoted.slice(1, -1);
  try {
    const parsed: unknown = JSON.parse(quoted);
    if (typeof parsed === "string") message = parsed;
  } catch {
    // Not a JSON string after all: the text between the quotes, as it stands.
  }
  return { status: Number(match[1]), reason: match[2] as string, message };
}

/** Which tool lists the ids each id parameter takes, for 404 hints. */
const ID_FINDERS: Record<string, string> = {
  machineId: "ovc_list_machines",
  cloudspaceId: "ovc_list_cloudspaces",
  accountId: "ovc_list_accounts",
  imageId: "ovc_list_images",
  sizeId: "ovc_list_sizes",
};

/** The parameters a call carries, wherever they travel (the tools send JSON; infra_api_call may use both). */
function paramsOf(request: UpstreamRequest): Record<string, unknown> {
  const json = request.json !== null && typeof request.json === "object" ? request.json : {};
  return { ...request.query, ...json };
}

/** A next step for a failed call of an actor method (the profile's hint, and a failed task's). */
export function ovcHint(status: number | undefined, request: UpstreamRequest): string | undefined {
  const call = actorMethodOf(request.path);
  const name = call === undefined ? undefined : `${call.actor}/${call.method}`;
  switch (status) {
    case 200:
      return "That is not OpenvCloud's JSON: check that OVC_URL points at the OpenvCloud portal itself, not a proxy or login page.";
    case 400:
      return "Fix the parameters as the message says; infra_list_operations describes each method's parameters.";
    case 401:
    case 419:
      return "OpenvCloud refused fresh credentials too: check the OVC_* credentials and that the user has access rights on this OpenvCloud.";
    case 403:
      return "The OpenvCloud user lacks the access right for this (R read, RCX write, ARCXDU admin); ask an account administrator.";
    case 404: {
      if (call === undefined)
        return "OpenvCloud serves its API as POST /restmachine/<app>/<actor>/<method>; infra_list_operations lists them.";
      if (request.path === ovcPath(TASK_GET))
        return `The task is unknown, or it ended over ${TASK_RESULT_TTL_SECONDS / 60} minutes ago and its result was dropped: check the resource itself (ovc_list_cloudspaces, ovc_list_machines, ovc_list_images).`;
      const params = paramsOf(request);
      const finders = Object.keys(ID_FINDERS)
        .filter((id) => params[id] !== undefined)
        .map((id) => ID_FINDERS[id]);
      if (finders.length === 0) return "Check the actor and method with infra_list_operations.";
      return `Check the id${finders.length > 1 ? "s" : ""} with ${finders.join(", ")}; a deleted resource answers 404 too.`;
    }
    case 409:
      if (name === "cloudspaces/delete")
        return "Delete its machines first (ovc_list_machines, then ovc_delete_machine), then retry.";
      if (name === "cloudspaces/create" || name === "machines/create")
        return "The name is taken in this account or cloudspace: choose another name.";
      return "The resource is locked or busy: check its status (ovc_get_machine, ovc_get_cloudspace), then retry if still needed.";
    case 500:
      return "OpenvCloud failed internally: give its support the eco id in the message, and check the resource's state before retrying a change.";
    case 503:
      return "OpenvCloud is unavailable (it refuses calls during an upgrade, or has run out of networks or IPs): try again later.";
    default:
      return undefined;
  }
}

/** The portal answers a guest on a method that needs credentials with this raw text (no content type). */
const GUEST_REFUSAL = "NO VALID AUTHORIZATION KEY GIVEN";

/** Text of an HTML page (the portal's 500 "eco" page, its 401 access-denied page), without its head. */
function pageText(html: string): string {
  return html
    .replace(/<head[\s\S]*?<\/head>/gi, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * The message of an error answer, in our words where the portal's are not: a JSON string (the portal's own
 * exceptions), an HTML page (500, or a refused JWT), raw text (a guest call).
 */
function errorMessage(status: number, headers: Headers, body: unknown): string {
  const empty = `HTTP ${status} with an empty body`;
  if (body === undefined) return empty;
  // Whole: an error's text is cut only where it is written, after secrets are scrubbed from it.
  if (typeof body !== "string") return JSON.stringify(body);
  const html = (headers.get("content-type") ?? "").includes("html");
  const text = html ? pageText(body) : body.replace(/\s+/g, " ").trim();
  if (text.startsWith(GUEST_REFUSAL))
    return `the call reached OpenvCloud without credentials ("${GUEST_REFUSAL}")`;
  return text || empty;
}

/**
 * A 2xx answer is the method's raw JSON value: a list, an object, a bare number, `true`, a JSON string, or
 * nothing (a running task's 202). Anything but JSON is not the platform's answer: every call asks for JSON,
 * and the portal would otherwise reply with Python's `str(result)`.
 */
export function interpretOvc({ status, headers, body }: RawResponse): Outcome {
  if (status >= 200 && status < 300) {
    const type = headers.get("content-type");
    if (body !== undefined && type !== null && !type.includes("json")) {
      return {
        ok: false,
        authExpired: false,
        message: `answered ${type.split(";")[0]} instead of JSON: ${errorMessage(status, headers, body)}`,
      };
    }
    return { ok: true, data: body ?? null };
  }
  // 401: a refused JWT or no credentials; 419 "Authentication Timeout": an unknown or expired session key.
  return {
    ok: false,
    authExpired: status === 401 || status === 419,
    message: errorMessage(status, headers, body),
  };
}

const op = (method: string, summary: string): Operation => ({
  method: "POST",
  path: ovcPath(method),
  summary,
});

/** The documented actor methods (upstreams.md section 4, endpoint table), for an instance without a catalogue. */
export const OVC_OPERATIONS: readonly Operation[] = [
  op("cloudapi/locations/list", "Locations {id, gid, name, locationCode, flag} (no auth needed)"),
  op("cloudapi/locations/getUrl", "The portal URL (no auth needed)"),
  op(
    "cloudapi/users/authenticate",
    "username, password -> session key, sent as authkey (the server does this)",
  ),
  op("cloudapi/accounts/list", "Accounts the user can see {id, name, acl, creationTime, updateTime}"),
  op("cloudapi/accounts/get", "accountId -> the account with acl, status, resourceLimits"),
  op("cloudapi/accounts/getConsumption", "accountId, start, end: resource consumption (also GET)"),
  op(
    "cloudapi/cloudspaces/create",
    "accountId, location, name, access; maxMemoryCapacity, maxVDiskCapacity, maxCPUCapacity, maxNetworkPeerTransfer, maxNumPublicIP, externalnetworkId, allowedVMSizes, privatenetwork, type (routeros|vgw) -> id",
  ),
  op("cloudapi/cloudspaces/list", "includedeleted: cloudspaces with status, account, public IP, location"),
  op("cloudapi/cloudspaces/get", "cloudspaceId -> the cloudspace with acl, resourceLimits, status"),
  op("cloudapi/cloudspaces/delete", "cloudspaceId, permanently: 409 while it holds machines"),
  op("cloudapi/cloudspaces/update", "cloudspaceId and the limits to change"),
  op("cloudapi/cloudspaces/enable", "cloudspaceId, reason"),
  op("cloudapi/cloudspaces/disable", "cloudspaceId, reason"),
  op("cloudapi/cloudspaces/restore", "cloudspaceId, reason: back from the recycle bin"),
  op("cloudapi/cloudspaces/deploy", "cloudspaceId: deploy its virtual router"),
  op("cloudapi/cloudspaces/addUser", "cloudspaceId, userId, accesstype (R, RCX, ARCXDU)"),
  op("cloudapi/cloudspaces/updateUser", "cloudspaceId, userId, accesstype"),
  op("cloudapi/cloudspaces/deleteUser", "cloudspaceId, userId, recursivedelete"),
  op("cloudapi/cloudspaces/getDefenseShield", "cloudspaceId -> the router's web UI URL and credentials"),
  op("cloudapi/cloudspaces/getOpenvpnConfig", "cloudspaceId -> OpenVPN config (also GET)"),
  op("cloudapi/cloudspaces/executeRouterOSScript", "cloudspaceId, script"),
  op("cloudapi/cloudspaces/addAllowedSize", "cloudspaceId, sizeId"),
  op("cloudapi/cloudspaces/removeAllowedSize", "cloudspaceId, sizeId"),
  op(
    "cloudapi/machines/create",
    "cloudspaceId, name, description, imageId, disksize (GB); sizeId or vcpus + memory (MB); datadisks, userdata -> id",
  ),
  op("cloudapi/machines/list", "cloudspaceId (required): machines with status, size, disks"),
  op("cloudapi/machines/get", "machineId -> the machine with disks, interfaces, accounts, locked"),
  op("cloudapi/machines/start", "machineId, diskId (a CD-ROM to boot from)"),
  op("cloudapi/machines/stop", "machineId, force"),
  op("cloudapi/machines/reboot", "machineId: soft reboot"),
  op("cloudapi/machines/reset", "machineId: hard reboot"),
  op("cloudapi/machines/pause", "machineId"),
  op("cloudapi/machines/resume", "machineId"),
  op("cloudapi/machines/delete", "machineId, permanently: 409 on a locked machine"),
  op("cloudapi/machines/restore", "machineId, reason: back from the recycle bin"),
  op("cloudapi/machines/resize", "machineId, sizeId or vcpus + memory"),
  op("cloudapi/machines/clone", "machineId, name, cloudspaceId, snapshotTimestamp"),
  op("cloudapi/machines/snapshot", "machineId, name"),
  op("cloudapi/machines/createTemplate", "machineId, templatename"),
  op("cloudapi/machines/addDisk", "machineId, diskName, description, size, type"),
  op("cloudapi/machines/attachDisk", "machineId, diskId"),
  op("cloudapi/machines/detachDisk", "machineId, diskId"),
  op("cloudapi/machines/getConsoleUrl", "machineId -> a VNC console URL"),
  op("cloudapi/machines/attachExternalNetwork", "machineId, externalNetworkId"),
  op("cloudapi/machines/detachExternalNetwork", "machineId, externalNetworkId"),
  op("cloudapi/images/list", "accountId, cloudspaceId: images with status CREATED"),
  op("cloudapi/images/delete", "imageId, permanently"),
  op("cloudapi/images/restore", "imageId"),
  op(
    "cloudapi/images/create",
    "name, url, gid, imagetype (Linux|Windows|Other), boottype (bios|uefi), username, password, accountId, hotresize",
  ),
  op("cloudapi/sizes/list", "cloudspaceId or location: sizes {id, name, vcpus, memory, disks}"),
  op("system/usermanager/whoami", "The current user"),
  op("system/task/get", "taskguid: 202 while running, [ok, result] when done, 404 unknown or expired"),
  op("system/task/kill", "taskguid"),
  op("system/docgenerator/prepareCatalog", "Swagger description of every actor method"),
];

/** Where the instance describes its own actor methods (Swagger 2.0, for every actor). */
const CATALOGUE = "system/docgenerator/prepareCatalog";

export const ovcProfile: ApiProfile = {
  api: "ovc",
  // Without it the portal answers a form post with Python's str(result) as text/plain.
  headers: { accept: "application/json" },
  // An authenticated read that any user with an account can make (locations/list needs no credentials).
  probe: ovcRequest("cloudapi/accounts/list"),
  operations: OVC_OPERATIONS,
  interpret: interpretOvc,
  // 503 "Can not call API during upgrade" is retried for these only: a write's outcome is unknown.
  isReadOnlyPost: isReadMethodPath,
  hint(status, _code, request) {
    // An undocumented method is more likely misspelt than its ids wrong ("Could not find method ...").
    const documented = OVC_OPERATIONS.some((operation) => operation.path === request.path);
    if (status === 404 && !documented)
      return "Check the actor and method: infra_list_operations lists what this instance offers.";
    return ovcHint(status, request);
  },
  exhaustedHint(status) {
    if (status !== 503) return undefined;
    return "OpenvCloud answered 503 for the whole call (it refuses API calls during an upgrade); try again in a few minutes, or raise INFRA_MCP_TIMEOUT_MS.";
  },
  readRequest(path, query) {
    if (!isReadMethodPath(path)) {
      throw new ToolInputError(
        `infra_api_get reads OpenvCloud through its list*/get* methods only, as POST ${OVC_REST}/<app>/<actor>/<method> ` +
          `(e.g. ${OVC_REST}/cloudapi/cloudspaces/list); ${path} is not one. ` +
          "Other methods may change something: use infra_api_call. Nothing was sent.",
      );
    }
    // The query's entries are the method's parameters, sent like every other call's.
    return ovcRequest(path.slice(OVC_REST.length + 1), query);
  },
  async liveOperations(read) {
    // In read-only mode this POST is refused (it is not a list*/get* method): the built-in catalogue serves.
    const response = await read(ovcRequest(CATALOGUE)).catch(() => undefined);
    if (response === undefined || response.status !== 200) return undefined;
    const operations = operationsFromOpenApi(response.body);
    if (operations === undefined) return undefined;
    // The paths are under /restmachine, whether the document says so in basePath or not.
    const under = (path: string) => (path.startsWith(`${OVC_REST}/`) ? path : `${OVC_REST}${path}`);
    return {
      source: `the instance's catalogue (${ovcPath(CATALOGUE)})`,
      operations: operations
        .map((operation) => ({ ...operation, path: under(operation.path) }))
        .filter((operation) => actorMethodOf(operation.path) !== undefined),
    };
  },
};
