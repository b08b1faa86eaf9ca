import { jwtClaims } from "../../auth/jwt.js";
import { type Operation, operationsFromOpenApi } from "../../auth/operations.js";
import type { Outcome, RawResponse, ServiceProfile } from "../../auth/types.js";
import type { ConfigReader } from "../../config.js";
import { ToolInputError } from "../../errors.js";
import { definePlatform } from "../../platform.js";
import {
  actorMethodOf,
  createOvcAuth,
  DEFAULT_IYO_URL,
  isReadMethodPath,
  OVC_REST,
  type OvcAuth,
  ovcHint,
  ovcPath,
  ovcRequest,
} from "./login.js";
import { ovcTools } from "./tools.js";

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

export const ovcProfile: ServiceProfile = {
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

export interface OvcSettings {
  url: string;
  auth: OvcAuth;
}

const VARIABLES = [
  { name: "OVC_URL", example: "https://ovc.example.com", description: "Address of the OpenvCloud portal." },
  {
    name: "OVC_IYO_URL",
    example: DEFAULT_IYO_URL,
    description: `ItsYou.online's address, when it is not ${DEFAULT_IYO_URL} (optional).`,
  },
  {
    name: "OVC_IYO_CLIENT_ID",
    example: "<ItsYou.online application id>",
    description: "Id of an ItsYou.online API key (Settings > API keys), with OVC_IYO_CLIENT_SECRET.",
  },
  {
    name: "OVC_IYO_CLIENT_SECRET",
    example: "<ItsYou.online application secret>",
    secret: true,
    description: "That API key's secret.",
  },
  {
    name: "OVC_USERNAME",
    example: "<portal user>",
    description: "Portal user to log in as, with OVC_PASSWORD, instead of an API key.",
  },
  { name: "OVC_PASSWORD", example: "<password>", secret: true, description: "That user's password." },
  {
    name: "OVC_JWT",
    example: "<JWT from ItsYou.online>",
    secret: true,
    description: "A JWT you obtained yourself, instead of the above; it is never renewed.",
  },
] as const;

const example = (name: string) => `${name}=${VARIABLES.find((v) => v.name === name)?.example ?? "..."}`;

/** The three ways in, each chosen by setting its variables. */
const WAYS = [
  { kind: "iyo", variables: ["OVC_IYO_CLIENT_ID", "OVC_IYO_CLIENT_SECRET"], what: "ItsYou.online login" },
  { kind: "password", variables: ["OVC_USERNAME", "OVC_PASSWORD"], what: "password login" },
  { kind: "jwt", variables: ["OVC_JWT"], what: "a fixed JWT" },
] as const;

const LOGIN_EXAMPLE = WAYS.map((way) => way.variables.map(example).join(" with ")).join(", or ");

function readOvc(r: ConfigReader): OvcSettings | undefined {
  const url = r.url("OVC_URL", "https://ovc.example.com");
  const chosen = WAYS.filter((way) => r.present(way.variables).length > 0);
  const [way] = chosen;
  if (way === undefined || chosen.length > 1) {
    r.problem(
      way === undefined
        ? WAYS.map((w) => w.variables[0]).join("/")
        : r.present(WAYS.flatMap((w) => w.variables)).join(", "),
      way === undefined
        ? "no credentials: set exactly one way to log in"
        : "more than one way to log in is set; keep one",
      LOGIN_EXAMPLE,
    );
    return undefined;
  }
  const missing = way.variables.find((name) => r.get(name) === undefined);
  if (missing !== undefined) {
    r.problem(missing, `missing: ${way.what} needs ${way.variables.join(" and ")}`, example(missing));
    return undefined;
  }
  const iyoUrl = r.get("OVC_IYO_URL");
  if (way.kind !== "iyo" && iyoUrl !== undefined) {
    r.problem(
      "OVC_IYO_URL",
      "only used with OVC_IYO_CLIENT_ID + OVC_IYO_CLIENT_SECRET; remove it",
      LOGIN_EXAMPLE,
    );
    return undefined;
  }
  const [first = "", second = ""] = way.variables.map((name) => r.get(name));
  let auth: OvcAuth;
  switch (way.kind) {
    case "iyo": {
      // Absent means the public ItsYou.online; a malformed one is a problem r.url records.
      const base = iyoUrl === undefined ? DEFAULT_IYO_URL : r.url("OVC_IYO_URL", DEFAULT_IYO_URL);
      if (base === undefined) return undefined;
      auth = { kind: "iyo", iyoUrl: base, clientId: first, clientSecret: second };
      break;
    }
    case "password":
      auth = { kind: "password", username: first, password: second };
      break;
    case "jwt":
      if (jwtClaims(first) === undefined) {
        r.problem(
          "OVC_JWT",
          "not a JWT (header.payload.signature, base64url)",
          "OVC_JWT=eyJhbGciOiJFUzM4NCIs...",
        );
        return undefined;
      }
      auth = { kind: "jwt", jwt: first };
      break;
  }
  return url === undefined ? undefined : { url, auth };
}

/** OpenvCloud's Cloud API: the registry entry. */
export const ovcPlatform = definePlatform({
  name: "ovc",
  title: "OpenvCloud",
  product: "OpenvCloud",
  prefix: "OVC",
  urlVariable: "OVC_URL",
  variables: VARIABLES,
  usage:
    "OVC_URL + OVC_IYO_CLIENT_ID/OVC_IYO_CLIENT_SECRET [OVC_IYO_URL], OVC_USERNAME/OVC_PASSWORD or OVC_JWT",
  apiIds: ["ovc"],
  read: readOvc,
  apis: ({ url, auth }) => [{ url, profile: ovcProfile, strategy: createOvcAuth(auth) }],
  tools: ovcTools,
  emulator: async () => new (await import("./emulator/index.js")).OvcEmulator(),
});
