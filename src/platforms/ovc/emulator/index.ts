import { generateKeyPairSync, type KeyObject, randomBytes, randomUUID, sign, verify } from "node:crypto";
import {
  authorization,
  Emulator,
  type EmulatorResponse,
  type RecordedRequest,
} from "../../../sandbox/emulator.js";

/**
 * Sandbox credentials: the emulator accepts these, and `--sandbox` configures the admin's ItsYou.online
 * client. The auditor has only read rights (`R`) on the accounts it sees, so permission errors can be
 * tested with real credentials.
 */
export const OVC_SANDBOX = {
  /** Legacy login (`users/authenticate`) and the ItsYou.online username of the admin client. */
  username: "sandbox-admin",
  password: "sandbox-ovc-password",
  iyoClientId: "sandbox-ovc-admin",
  iyoClientSecret: "sandbox-ovc-admin-secret",
  readOnlyUsername: "auditor",
  readOnlyPassword: "sandbox-ovc-auditor-password",
  readOnlyIyoClientId: "sandbox-ovc-auditor",
  readOnlyIyoClientSecret: "sandbox-ovc-auditor-secret",
} as const;

/** A `name` parameter with this value makes any actor method raise an unhandled exception (500 page). */
export const OVC_CRASH_NAME = "trigger-500";

const REST = "/restmachine/";
const IYO = "/v1/oauth";
const GUEST_REFUSAL =
  "NO VALID AUTHORIZATION KEY GIVEN, use get param called key (check key probably auth error).";
/** ItsYou.online drops a refresh token that went unused this long (its JWT doc). */
const REFRESH_IDLE_MS = 30 * 86_400_000;
/** Reason phrases of the portal's `exceptions.codemapping` (httplib's, plus 419). */
const REASONS: Record<number, string> = {
  202: "Accepted",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  412: "Precondition Failed",
  419: "Authentication Timeout",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};
const ACCESS_DENIED_PAGE =
  "<!DOCTYPE html><html><head><title>Access Denied</title></head><body><h1>Access Denied</h1>" +
  "<p>You are not allowed to access this page. Please log in with a user that has access.</p></body></html>";
const PAGE_NOT_FOUND =
  "<!DOCTYPE html><html><head><title>Page not found</title></head><body><h1>Page not found</h1></body></html>";

type Params = Record<string, unknown>;
/** The spec `var:` types the portal validates. `obj` is passed through as it came. */
type ParamType = "int" | "float" | "bool" | "str" | "list" | "list(int)" | "obj";

interface ParamSpec {
  name: string;
  type: ParamType;
  required: boolean;
  /** Given to the method when the parameter is absent, null or "" (the portal's `param['default']`). */
  default?: unknown;
  /** `@tags validator:name`. */
  validator?: "name";
  description: string;
}

/** The session user: `<username>@<iss>` for a JWT, the bare login name for a session key. */
interface Identity {
  name: string;
  bare: string;
}

interface ActorMethod {
  app: "cloudapi" | "cloudbroker" | "system";
  actor: string;
  method: string;
  summary: string;
  params: ParamSpec[];
  /** The spec's `@noauth` tag: a guest may call it. */
  noauth?: boolean;
  run: (params: Params, user: Identity) => unknown;
}

type AccountStatus = "CONFIRMED" | "DISABLED" | "DELETED" | "DESTROYING" | "DESTROYED";
type CloudspaceStatus =
  | "VIRTUAL"
  | "DEPLOYING"
  | "DEPLOYED"
  | "DISABLED"
  | "MIGRATING"
  | "DELETED"
  | "DESTROYING"
  | "DESTROYED";
type MachineStatus =
  | "RUNNING"
  | "HALTED"
  | "PAUSED"
  | "MIGRATING"
  | "DELETED"
  | "DESTROYING"
  | "DESTROYED"
  | "ERROR";
type ImageStatus = "CREATING" | "CREATED" | "DISABLED" | "DELETED" | "DESTROYED";
type MachineAction = "start" | "stop" | "reboot" | "reset" | "pause" | "resume";

interface AclEntry {
  userGroupId: string;
  type: "U" | "G";
  right: string;
  status: "CONFIRMED" | "INVITED";
  explicit: boolean;
  canBeDeleted: boolean;
}

interface ResourceLimits {
  CU_M: number;
  CU_D: number;
  CU_C: number;
  CU_NP: number;
  CU_I: number;
}

interface Location {
  id: number;
  gid: number;
  name: string;
  locationCode: string;
  flag: string;
  /** First three octets of the external network handing out cloudspace public IPs (a /26). */
  publicNet: string;
}

interface Account {
  id: number;
  name: string;
  status: AccountStatus;
  acl: AclEntry[];
  creationTime: number;
  updateTime: number;
  deactivationTime: number;
  DCLocation: string;
  company: string;
  companyurl: string;
  displayname: string;
  resourceLimits: ResourceLimits;
  sendAccessEmails: boolean;
}

interface Cloudspace {
  id: number;
  accountId: number;
  name: string;
  description: string;
  location: string;
  gid: number;
  type: "routeros" | "vgw";
  privatenetwork: string;
  publicIp: string;
  /** Stored status; "VIRTUAL" with `deployStartedAt` moves on with the clock (see `#cloudspaceStatus`). */
  status: CloudspaceStatus;
  deployStartedAt?: number;
  acl: AclEntry[];
  resourceLimits: ResourceLimits;
  allowedVMSizes: number[];
  creationTime: number;
  updateTime: number;
  secret: string;
  /** Private IPs handed out so far (the next machine gets .11 + this). */
  hostsAssigned: number;
}

interface Machine {
  id: number;
  cloudspaceId: number;
  name: string;
  /** Null when created without one (the parameter is optional). */
  description: string | null;
  imageId: number;
  sizeId: number | null;
  vcpus: number;
  memory: number;
  bootDiskSize: number;
  dataDisks: number[];
  status: MachineStatus;
  locked: boolean;
  ipAddress: string;
  login: string;
  password: string;
  referenceId: string;
  stackId: number;
  creationTime: number;
  updateTime: number;
}

interface Image {
  id: number;
  name: string;
  description: string;
  type: "Linux" | "Windows" | "Other";
  size: number;
  username: string;
  password?: string;
  /** 0 for public images. */
  accountId: number;
  /** Stored status; "CREATING" with `createdAtMs` becomes CREATED after `imageCreateMs`. */
  status: ImageStatus;
  createdAtMs?: number;
  gid: number;
  bootType: "bios" | "uefi";
  hotResize: boolean;
  url: string;
}

interface Size {
  id: number;
  name: string;
  vcpus: number;
  memory: number;
  description: string;
  CU: number;
  disks: number[];
}

/** How a call ended: its value, or a failure; `refused` when the portal's own exception raised it. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: string; refused: boolean };

interface Task {
  /** When the work ends (epoch ms); the result is kept `taskResultTtlSeconds` after that. Never: Infinity. */
  doneAt: number;
  outcome: Outcome;
  /** Polls still to answer 404 because the task is not registered yet (`unknownTaskPolls`). */
  unknownPolls: number;
}

interface SandboxUser {
  name: string;
  password: string;
  emails: string[];
  groups: string[];
}

const USERS: SandboxUser[] = [
  {
    name: OVC_SANDBOX.username,
    password: OVC_SANDBOX.password,
    emails: ["cloud-ops@acme.example.com"],
    groups: ["user", "admin"],
  },
  {
    name: OVC_SANDBOX.readOnlyUsername,
    password: OVC_SANDBOX.readOnlyPassword,
    emails: ["audit@acme.example.com"],
    groups: ["user"],
  },
];

/** ItsYou.online API keys: each belongs to one user, whose name goes into the JWT's `username`. */
const IYO_CLIENTS = [
  { id: OVC_SANDBOX.iyoClientId, secret: OVC_SANDBOX.iyoClientSecret, username: OVC_SANDBOX.username },
  {
    id: OVC_SANDBOX.readOnlyIyoClientId,
    secret: OVC_SANDBOX.readOnlyIyoClientSecret,
    username: OVC_SANDBOX.readOnlyUsername,
  },
];

/** An upstream exception: `exceptions.BadRequest(msg)` and friends. */
class OvcError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  /** `str(exception)` as a task stores it, e.g. `400: Bad Request "Param with name:x is missing."`. */
  taskString(): string {
    return `${this.status}: ${REASONS[this.status] ?? "Unknown"} ${JSON.stringify(this.message)}`;
  }
}

/** An unhandled exception inside an actor method (the crash switch or the magic name). */
class Crash extends Error {}

/** A method answer that is not a return value (task/get's 202 with an empty body). */
class RawAnswer {
  constructor(readonly response: EmulatorResponse) {}
}

const notAccessible = () => new OvcError(404, "Could not find an accessible resource.");
/** The cloudbroker actors' `@auth(groups=...)` refusal of a user outside the admin groups (typo theirs). */
const noBrokerAccess = (user: Identity) =>
  new OvcError(
    403,
    `User ${user.name} has no access. If you would like to gain access please contact your adminstrator`,
  );
/** OSIS lookups of an unknown id: `Could not find <key> of type <category>`. */
const unknownId = (id: unknown, category: string) =>
  new OvcError(404, `Could not find ${String(id)} of type ${category}`);

function need(name: string, type: ParamType, description: string, extra: Partial<ParamSpec> = {}): ParamSpec {
  return { name, type, required: true, description, ...extra };
}

function opt(name: string, type: ParamType, fallback: unknown, description: string): ParamSpec {
  return { name, type, required: false, default: fallback, description };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The parameters of an image import, the same for `images/create` and `cloudbroker/image/createImage`. */
const IMPORT_PARAMS: ParamSpec[] = [
  need("name", "str", "name of the image"),
  need("url", "str", "URL of the image file"),
  need("gid", "int", "grid id of the location"),
  need("boottype", "str", "bios or uefi"),
  need("imagetype", "str", "Linux, Windows or Other"),
  opt("username", "str", null, "username of the image's account"),
  opt("password", "str", null, "password of the image's account"),
  opt("accountId", "int", null, "account owning the image (public when absent)"),
  opt("hotresize", "bool", false, "whether the image supports hot resizing"),
];

/**
 * OpenvCloud Cloud API and an ItsYou.online endpoint on one loopback server (upstreams.md section 4).
 *
 * Transport as the JumpScale portal does it: `POST /restmachine/{app}/{actor}/{method}` only (any other
 * verb or unknown method: 404 `"Could not find method, path was cloudapi/x/y"`), parameters merged from
 * the query and a JSON, form or multipart body (the body wins), validated per the method's declared
 * parameters (`#actorMethods`: int/float/bool/list coercion, "" and null mean absent, `validator:name`,
 * extra parameters ignored). A success is the raw JSON of the return value, its content type chosen like
 * `reformatOutput` (Accept, else the request's content type: a form post without Accept gets Python
 * `str(result)` as text/plain; `format=json` wraps `{"result": ...}`). Errors are a JSON string with the
 * status; an unhandled exception is a 500 text/html "eco" page.
 *
 * Auth: `Authorization: bearer <JWT>` (ES384, verified against this server's ItsYou.online key; bad or
 * expired: 401 HTML page), `authkey=<session key>` from `users/authenticate` (unknown or expired: 419),
 * none on an auth method: 401 with a raw text body and no content type. ItsYou.online lives under
 * `/v1/oauth` (`access_token`, `jwt/refresh`). `_async` runs any call as a task polled with
 * `system/task/get` (202 while running, `[ok, result]` when done, 404 after 600 s).
 *
 * Seeded data (fixed, so tests can assert on it):
 * - Locations: 1 `be-gen-1` (gid 212), 2 `nl-ams-1` (gid 711).
 * - Accounts (admin ARCXDU on all, auditor R on 1 and 2): 1 "Acme Corp" CONFIRMED, 2 "Globex Research"
 *   CONFIRMED, 3 "Initech Legacy" DISABLED (admin only), 4 "Umbrella Labs" DELETED (never listed, 404).
 * - Cloudspaces: 101 "production" (acct 1, be-gen-1, routeros, 3 live machines), 102 "staging" (acct 1,
 *   nl-ams-1, 2 machines), 103 "ml-lab" (acct 2, be-gen-1, vgw, 2 machines), 104 "sandbox-old" (acct 1,
 *   DELETED: listed with includedeleted), 105 "archive-2019" (acct 2, DESTROYED: never listed, 404),
 *   106 "empty-dev" (acct 2, nl-ams-1, no machines: deletable). New ones get 107, 108, ...
 * - Machines: 1001 web-01, 1002 web-02 (RUNNING), 1003 db-01 (HALTED, data disk 500 GB) in 101;
 *   1004 win-build (RUNNING, Windows), 1005 legacy-erp (HALTED, locked: every action 409) in 102;
 *   1006 gpu-notebook (RUNNING, 8 vCPU / 32 GiB without a size), 1007 jumpbox (PAUSED) in 103;
 *   1008 old-ci (DELETED in 101: 404, not listed). New ones get 1009, 1010, ...
 * - Images (CREATED unless said): 1 Ubuntu 22.04, 2 Ubuntu 20.04, 3 Debian 12, 4 Windows 2019 Standard,
 *   5 CentOS 7 (DISABLED: never listed), 6 acme-golden-2023.10 (private to account 1). New ones get 7, ...
 * - Sizes 1-5 (Tiny 1/1024, Small 2/4096, Medium 4/8192, Large 8/16384, XLarge 16/65536: vCPU/MB),
 *   offered in both locations; cloudspace 103 allows only sizes 1, 3, 4 and 5.
 *
 * Emulator's choice: error texts that upstreams.md does not quote (bad CIDR, bad type, locked machine,
 * size and disk checks, ...) are plausible wordings in the upstream's style, not the platform's own.
 *
 * `machines.create description` is optional (`@tags: optional` in the spec, read by SpecParser): absent or
 * "" (which the portal turns into absent), the machine has no description (`null`).
 *
 * Older portals and their task quirks are switches (off by default, a later portal): `hasImagesCreate`,
 * `imagesCreateAnswersTrue`, `unknownTaskPolls`, `refusedTasksNeverEnd`. The admin import
 * `cloudbroker/image/createImage` is always there, as on every portal.
 */
export class OvcEmulator extends Emulator {
  /** Default and ceiling of an ItsYou.online JWT's life (IYO: 1 day); `validity` can only shorten it. */
  jwtLifetimeSeconds = 86_400;
  /** Life of a `users/authenticate` session key; upstream leaves it to the deployment. */
  sessionLifetimeSeconds = 3600;
  /** How long an `_async` call runs before `system/task/get` reports its result. */
  taskDurationMs = 1500;
  /** How long a finished task's result is kept (Redis `tasks.<guid>`, 600 s upstream). */
  taskResultTtlSeconds = 600;
  /** task/get while running: 202 in the code; the spec docstring says 204. */
  taskRunningStatus: 202 | 204 = 202;
  /** A new cloudspace stays VIRTUAL this long, then DEPLOYING for `cloudspaceDeployMs`, then DEPLOYED. */
  cloudspaceVirtualMs = 500;
  cloudspaceDeployMs = 1500;
  /** A new image stays CREATING this long, then CREATED (and listed). */
  imageCreateMs = 3000;
  /**
   * Whether the portal has `cloudapi/images/create`. False is an older portal (every stored 2018-2019 branch
   * of the portal code): it answers 404 "Could not find method", and images are imported with the admin call
   * `cloudbroker/image/createImage`, which every portal has.
   */
  hasImagesCreate = true;
  /** `images/create`'s result: the new id, or `true` (upstreams.md: "probably an image id"). */
  imagesCreateAnswersTrue = false;
  /**
   * How many of a new task's first `system/task/get` polls answer 404 "Task is not found": before 2.5.6 a
   * fresh task may not be registered yet (the official Go client retries one such 404).
   */
  unknownTaskPolls = 0;
  /**
   * The 2018 portal's task wrapper catches only `Exception`, and its own errors (BadRequest, Conflict,
   * Forbidden, ...) derive from `BaseException`: a task the platform refused never stores a result, and
   * `task/get` answers 202 until the caller gives up. True applies that; false stores `[false, "..."]`.
   */
  refusedTasksNeverEnd = false;
  /** Successful `users/authenticate` calls and ItsYou.online `access_token` grants. */
  logins = 0;
  /** Successful ItsYou.online `jwt/refresh` calls. */
  refreshes = 0;
  /** The ItsYou.online ES384 public key (SPKI PEM) that OpenvCloud verifies JWTs against. */
  readonly publicKeyPem: string;

  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #methods = new Map<string, ActorMethod>();
  readonly #locations: Location[] = seedLocations();
  readonly #accounts = new Map<number, Account>();
  readonly #cloudspaces = new Map<number, Cloudspace>();
  readonly #machines = new Map<number, Machine>();
  readonly #images = new Map<number, Image>();
  readonly #sizes: Size[] = seedSizes();
  readonly #sessions = new Map<string, { user: string; expiresAt: number }>();
  readonly #refreshTokens = new Map<string, { lastUsedAt: number; revoked: boolean }>();
  readonly #jwts: string[] = [];
  readonly #expiredJwts = new Set<string>();
  readonly #issued: string[] = [];
  readonly #tasks = new Map<string, Task>();
  readonly #publicHosts = new Map<string, number>();
  #crashes = 0;

  constructor() {
    super();
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
    this.#privateKey = privateKey;
    this.#publicKey = publicKey;
    this.publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
    for (const account of seedAccounts()) this.#accounts.set(account.id, account);
    for (const cloudspace of seedCloudspaces()) this.#cloudspaces.set(cloudspace.id, cloudspace);
    for (const machine of seedMachines()) this.#machines.set(machine.id, machine);
    for (const image of seedImages()) this.#images.set(image.id, image);
    this.#publicHosts.set("be-gen-1", 12);
    this.#publicHosts.set("nl-ams-1", 22);
    for (const method of this.#actorMethods()) {
      this.#methods.set(`${method.app}/${method.actor}/${method.method}`, method);
    }
  }

  /** Points the server at this emulator with the sandbox's default way in (the admin's IYO client). */
  sandboxEnv(): Record<string, string> {
    return {
      OVC_URL: this.url,
      OVC_IYO_URL: this.url,
      OVC_IYO_CLIENT_ID: OVC_SANDBOX.iyoClientId,
      OVC_IYO_CLIENT_SECRET: OVC_SANDBOX.iyoClientSecret,
    };
  }

  /** Every secret handed out so far, oldest first: JWTs, opaque IYO tokens, refresh tokens, session keys. */
  issuedTokens(): string[] {
    return [...this.#issued];
  }

  /** Every JWT issued so far is refused as expired from now, and every session key gets 419. */
  expireCredentials(): void {
    for (const jwt of this.#jwts) this.#expiredJwts.add(jwt);
    for (const session of this.#sessions.values()) session.expiresAt = 0;
  }

  /** ItsYou.online forgets every refresh token: `jwt/refresh` answers 401 from now. */
  revokeRefreshTokens(): void {
    for (const record of this.#refreshTokens.values()) record.revoked = true;
  }

  /**
   * A JWT as ItsYou.online would issue it to the admin's client (for a fixed `OVC_JWT`), without a
   * login being counted. `offline` adds a refresh token; `username` mints one for another user.
   */
  mintJwt(options: { lifetimeSeconds?: number; offline?: boolean; username?: string } = {}): string {
    const scope = options.offline ? ["offline_access"] : [];
    return this.#issueJwt(
      options.username ?? OVC_SANDBOX.username,
      scope,
      [OVC_SANDBOX.iyoClientId],
      options.lifetimeSeconds ?? this.jwtLifetimeSeconds,
    );
  }

  /** The next `count` actor calls (task polling excluded) raise an unhandled exception: 500 eco page. */
  crashNext(count = 1): void {
    this.#crashes += count;
  }

  override clearFaults(): void {
    super.clearFaults();
    this.#crashes = 0;
  }

  /** The `cloudspaces/get` view of a cloudspace, whatever its status (for assertions). */
  cloudspace(id: number): Record<string, unknown> | undefined {
    const cloudspace = this.#cloudspaces.get(id);
    return cloudspace === undefined ? undefined : this.#cloudspaceView(cloudspace);
  }

  /** The `machines/get` view of a machine, whatever its status (for assertions). */
  machine(id: number): Record<string, unknown> | undefined {
    const machine = this.#machines.get(id);
    return machine === undefined ? undefined : this.#machineView(machine);
  }

  /** An image as `images/list` shows it, whatever its status (for assertions). */
  image(id: number): Record<string, unknown> | undefined {
    const image = this.#images.get(id);
    return image === undefined ? undefined : this.#imageView(image);
  }

  protected faultBody(status: number): unknown {
    if (status === 503) return "Can not call API during upgrade";
    if (status === 419) return "key not valid or expired";
    if (status === 404) return "Could not find an accessible resource.";
    return REASONS[status] ?? "Unknown";
  }

  protected handle(request: RecordedRequest): EmulatorResponse {
    const path = request.path.replace(/\/+$/, "");
    if (path.startsWith(`${IYO}/`)) return this.#iyo(request, path);
    if (path.startsWith(REST)) return this.#restmachine(request, path.slice(REST.length));
    // The portal serves wiki pages everywhere else; an unknown page is its HTML "pagenotfound".
    return { status: 404, body: PAGE_NOT_FOUND, headers: { "content-type": "text/html" } };
  }

  // ---------------------------------------------------------------- transport (PortalServer/PortalRest)

  #restmachine(request: RecordedRequest, route: string): EmulatorResponse {
    let params: Params;
    try {
      params = requestParams(request);
    } catch (error) {
      if (error instanceof OvcError) return errorAnswer(error);
      throw error;
    }
    // startSession runs before routing, so a bad JWT or key is refused even on an unknown path.
    const session = this.#startSession(request, params);
    if (session !== undefined && "status" in session) return session;
    const method = this.#offered(route);
    if (method === undefined || request.method !== "POST") {
      // The portal reports the path after /restmachine/ (emulator's choice where it is cut).
      return errorAnswer(new OvcError(404, `Could not find method, path was ${route}`));
    }
    if (!method.noauth && session === undefined) return { status: 401, body: GUEST_REFUSAL, raw: true };
    const user = session ?? { name: "guest", bare: "guest" };
    if ("_async" in params) {
      // Emulator's choice: the work (validation included, as the task error example shows) runs at
      // once and its outcome is revealed when the task ends; session checks above stay synchronous.
      const { _async: _flag, ...rest } = params;
      const guid = randomUUID();
      const outcome = this.#outcome(method, rest, user);
      const hangs = !outcome.ok && outcome.refused && this.refusedTasksNeverEnd;
      this.#tasks.set(guid, {
        doneAt: hangs ? Number.POSITIVE_INFINITY : Date.now() + this.taskDurationMs,
        outcome,
        unknownPolls: this.unknownTaskPolls,
      });
      return this.#render(request, guid, params.format);
    }
    try {
      const value = this.#invoke(method, params, user);
      return value instanceof RawAnswer ? value.response : this.#render(request, value, params.format);
    } catch (error) {
      if (error instanceof OvcError) return errorAnswer(error);
      if (error instanceof Crash) return this.#ecoPage();
      throw error;
    }
  }

  /** The method a route names, if this portal offers it (an older one has no `images/create`). */
  #offered(route: string): ActorMethod | undefined {
    if (route === "cloudapi/images/create" && !this.hasImagesCreate) return undefined;
    return this.#methods.get(route);
  }

  /** The session user, undefined for a guest, or the refusal of a bad credential. */
  #startSession(request: RecordedRequest, params: Params): Identity | undefined | EmulatorResponse {
    const auth = authorization(request);
    if (auth?.scheme === "bearer") {
      const claims = this.#verifyJwt(auth.value, false);
      if (claims === undefined || typeof claims.username !== "string") {
        return { status: 401, body: ACCESS_DENIED_PAGE, headers: { "content-type": "text/html" } };
      }
      const issuer = typeof claims.iss === "string" ? claims.iss : "itsyouonline";
      return { name: `${claims.username}@${issuer}`, bare: claims.username };
    }
    if ("authkey" in params) {
      // Any authkey present is looked up, an empty one included (the portal's `"authkey" in ctx.params`).
      const key = params.authkey;
      const session = typeof key === "string" ? this.#sessions.get(key) : undefined;
      if (session === undefined || Date.now() >= session.expiresAt) {
        return errorAnswer(new OvcError(419, "key not valid or expired"));
      }
      return { name: session.user, bare: session.user };
    }
    return undefined;
  }

  #invoke(method: ActorMethod, params: Params, user: Identity): unknown {
    const args = this.#validate(method, params);
    if (args.name === OVC_CRASH_NAME) throw new Crash(`magic name ${OVC_CRASH_NAME}`);
    if (this.#crashes > 0 && !(method.app === "system" && method.actor === "task")) {
      this.#crashes -= 1;
      throw new Crash("crash switch");
    }
    return method.run(args, user);
  }

  #outcome(method: ActorMethod, params: Params, user: Identity): Outcome {
    try {
      const value = this.#invoke(method, params, user);
      return { ok: true, value: value instanceof RawAnswer ? null : value };
    } catch (error) {
      if (error instanceof OvcError) return { ok: false, error: error.taskString(), refused: true };
      if (error instanceof Crash)
        return { ok: false, error: `Unexpected error, see ${this.#ecoId()}`, refused: false };
      throw error;
    }
  }

  /** PortalRest.validate over the method's declared parameters; returns the arguments it is called with. */
  #validate(method: ActorMethod, params: Params): Params {
    const args: Params = { ...params };
    for (const param of method.params) {
      const value = params[param.name];
      if (value === undefined || value === null || value === "") {
        if (param.required) throw new OvcError(400, `Param with name:${param.name} is missing.`);
        args[param.name] = structuredClone(param.default ?? null);
        continue;
      }
      args[param.name] = coerce(param, value);
      if (param.validator === "name" && !validName(args[param.name])) {
        throw new OvcError(400, `Value of param ${param.name} is not a valid name`);
      }
    }
    return args;
  }

  /** reformatOutput: `format` first, then Accept, then the request's own content type (text/plain if none). */
  #render(request: RecordedRequest, value: unknown, format: unknown): EmulatorResponse {
    if (format === "json") return jsonAnswer({ result: value });
    if (format === "jsonraw") return jsonAnswer(value);
    if (format === "raw")
      return { status: 200, body: pyStr(value), headers: { "content-type": "text/plain" } };
    const accept = request.headers.accept?.trim();
    const contentType = request.contentType ?? "text/plain";
    const wanted = accept ? accept : contentType.includes("form-") ? "text/plain" : contentType;
    switch (bestMatch(wanted)) {
      case "text/plain":
        return { status: 200, body: pyStr(value), headers: { "content-type": "text/plain" } };
      case "text/html":
        return {
          status: 200,
          body: pyRepr(value).replaceAll("\n", "<br>"),
          headers: { "content-type": "text/html" },
        };
      default:
        return jsonAnswer(value);
    }
  }

  #ecoId(): string {
    return `eco-${this.#locations[0]?.gid ?? 0}-${randomUUID()}`;
  }

  #ecoPage(): EmulatorResponse {
    return {
      status: 500,
      body: `Your service request could not be fulfilled correctly, please contact support and mention "${this.#ecoId()}".`,
      headers: { "content-type": "text/html" },
    };
  }

  // ---------------------------------------------------------------- ItsYou.online

  #iyo(request: RecordedRequest, path: string): EmulatorResponse {
    if (path === `${IYO}/access_token`) {
      return request.method === "POST" ? this.#accessToken(request) : goError(405, "Method Not Allowed");
    }
    if (path === `${IYO}/jwt/refresh`) {
      // The JWT doc says GET; one 3P client uses POST, and both reach the same handler here.
      return request.method === "GET" || request.method === "POST"
        ? this.#refresh(request)
        : goError(405, "Method Not Allowed");
    }
    return goError(404, "404 page not found");
  }

  #accessToken(request: RecordedRequest): EmulatorResponse {
    const form: Record<string, string> = { ...request.query, ...request.form };
    if (form.grant_type !== "client_credentials") return goError(400, "unsupported grant_type");
    const client = IYO_CLIENTS.find((candidate) => candidate.id === form.client_id);
    if (client === undefined || client.secret !== form.client_secret) {
      return goError(401, "invalid client_id or client_secret");
    }
    const lifetime = this.#validity(form.validity);
    if (lifetime === undefined) return goError(400, "invalid validity");
    const scope = splitList(form.scope);
    this.logins += 1;
    if (form.response_type !== "id_token") {
      // Without response_type=id_token ItsYou.online answers a plain OAuth access token: opaque, and
      // useless to OpenvCloud, which only takes JWTs (a client that forgets the parameter sees 401).
      const token = randomBytes(24).toString("base64url");
      this.#issued.push(token);
      return {
        status: 200,
        body: JSON.stringify({
          access_token: token,
          token_type: "bearer",
          scope: scope.join(","),
          expires_in: lifetime,
          info: { username: client.username },
        }),
        headers: { "content-type": "application/json" },
      };
    }
    const jwt = this.#issueJwt(client.username, scope, [client.id, ...splitList(form.aud)], lifetime);
    if (request.headers.accept?.includes("application/json")) {
      return {
        status: 200,
        body: JSON.stringify({ access_token: jwt }),
        headers: { "content-type": "application/json" },
      };
    }
    return { status: 200, body: jwt, headers: { "content-type": "application/jwt" } };
  }

  #refresh(request: RecordedRequest): EmulatorResponse {
    const auth = authorization(request);
    // Emulator's choice: an expired JWT may be refreshed (that is what refreshing is for); only its
    // signature and its refresh token are checked.
    const claims = auth?.scheme === "bearer" ? this.#verifyJwt(auth.value, true) : undefined;
    const refreshToken = claims?.refresh_token;
    const record = typeof refreshToken === "string" ? this.#refreshTokens.get(refreshToken) : undefined;
    if (
      claims === undefined ||
      record === undefined ||
      record.revoked ||
      Date.now() - record.lastUsedAt > REFRESH_IDLE_MS
    ) {
      return goError(401, "Unauthorized");
    }
    const lifetime = this.#validity(request.query.validity);
    if (lifetime === undefined) return goError(400, "invalid validity");
    record.lastUsedAt = Date.now();
    this.refreshes += 1;
    const jwt = this.#sign({ ...claims, exp: nowSeconds() + lifetime });
    return { status: 200, body: jwt, headers: { "content-type": "application/jwt" } };
  }

  /** `validity` in seconds can only shorten the default; undefined when it is not a positive integer. */
  #validity(value: string | undefined): number | undefined {
    if (value === undefined || value === "") return this.jwtLifetimeSeconds;
    const seconds = Number(value);
    if (!Number.isInteger(seconds) || seconds <= 0) return undefined;
    return Math.min(seconds, this.jwtLifetimeSeconds);
  }

  #issueJwt(username: string, scope: string[], aud: string[], lifetimeSeconds: number): string {
    const claims: Record<string, unknown> = {
      username,
      scope,
      iss: "itsyouonline",
      aud,
      exp: nowSeconds() + lifetimeSeconds,
    };
    if (scope.includes("offline_access")) {
      const refreshToken = randomBytes(24).toString("base64url");
      this.#refreshTokens.set(refreshToken, { lastUsedAt: Date.now(), revoked: false });
      this.#issued.push(refreshToken);
      claims.refresh_token = refreshToken;
    }
    return this.#sign(claims);
  }

  #sign(claims: Record<string, unknown>): string {
    const head = Buffer.from(JSON.stringify({ alg: "ES384", typ: "JWT" })).toString("base64url");
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    const signature = sign("sha384", Buffer.from(`${head}.${body}`), {
      key: this.#privateKey,
      dsaEncoding: "ieee-p1363",
    });
    const jwt = `${head}.${body}.${signature.toString("base64url")}`;
    this.#jwts.push(jwt);
    this.#issued.push(jwt);
    return jwt;
  }

  /** The claims of a JWT this server's key signed with ES384, unexpired unless `ignoreExpiry`. */
  #verifyJwt(token: string, ignoreExpiry: boolean): Record<string, unknown> | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [head, body, signature] = parts as [string, string, string];
    try {
      const header = JSON.parse(Buffer.from(head, "base64url").toString("utf8")) as { alg?: unknown };
      // Only ES384: a token with alg "none" or an HMAC alg is refused before any verification.
      if (header.alg !== "ES384") return undefined;
      const valid = verify(
        "sha384",
        Buffer.from(`${head}.${body}`),
        { key: this.#publicKey, dsaEncoding: "ieee-p1363" },
        Buffer.from(signature, "base64url"),
      );
      if (!valid) return undefined;
      const claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Record<string, unknown>;
      if (typeof claims !== "object" || claims === null) return undefined;
      if (ignoreExpiry) return claims;
      if (typeof claims.exp !== "number" || nowSeconds() >= claims.exp) return undefined;
      return this.#expiredJwts.has(token) ? undefined : claims;
    } catch {
      return undefined;
    }
  }

  // ---------------------------------------------------------------- actor methods (declared as data)

  #actorMethods(): ActorMethod[] {
    const cloudapi = (actor: string, method: string, summary: string) =>
      ({ app: "cloudapi", actor, method, summary }) as const;
    const machineId = need("machineId", "int", "id of the machine");
    const action = (name: MachineAction, summary: string, extra: ParamSpec[] = []): ActorMethod => ({
      ...cloudapi("machines", name, summary),
      params: [machineId, ...extra],
      run: (p, user) => this.#machineAction(name, p, user),
    });
    return [
      {
        ...cloudapi("locations", "list", "List all locations"),
        params: [],
        noauth: true,
        run: () =>
          this.#locations.map(({ id, gid, name, locationCode, flag }) => ({
            id,
            gid,
            name,
            locationCode,
            flag,
          })),
      },
      {
        ...cloudapi("locations", "getUrl", "Get the portal URL"),
        params: [],
        noauth: true,
        run: () => this.url,
      },
      {
        ...cloudapi("users", "authenticate", "Authenticate a user and get a session key"),
        params: [need("username", "str", "username"), need("password", "str", "password")],
        noauth: true,
        run: (p) => this.#authenticate(p),
      },
      {
        ...cloudapi("accounts", "list", "List the accounts the user has access to"),
        params: [],
        run: (_p, user) => this.#listAccounts(user),
      },
      {
        ...cloudapi("accounts", "get", "Get the details of an account"),
        params: [need("accountId", "int", "id of the account")],
        run: (p, user) => this.#getAccount(p, user),
      },
      {
        ...cloudapi("cloudspaces", "list", "List the cloud spaces the user has access to"),
        params: [opt("includedeleted", "bool", false, "also list deleted cloud spaces")],
        run: (p, user) => this.#listCloudspaces(p, user),
      },
      {
        ...cloudapi("cloudspaces", "get", "Get the details of a cloud space"),
        params: [need("cloudspaceId", "int", "id of the cloud space")],
        run: (p, user) => this.#getCloudspace(p, user),
      },
      {
        ...cloudapi("cloudspaces", "create", "Create a cloud space in an account"),
        params: [
          need("accountId", "int", "id of the account"),
          need("location", "str", "location code of the cloud space"),
          need("name", "str", "name of the cloud space", { validator: "name" }),
          need("access", "str", "username granted full access (CXDRAU)"),
          opt("maxMemoryCapacity", "float", -1, "max memory in GB (-1: unlimited)"),
          opt("maxVDiskCapacity", "int", -1, "max disk capacity in GB (-1: unlimited)"),
          opt("maxCPUCapacity", "int", -1, "max number of vCPUs (-1: unlimited)"),
          opt("maxNetworkPeerTransfer", "int", -1, "max external transfer in GB (-1: unlimited)"),
          opt("maxNumPublicIP", "int", -1, "max number of public IPs (-1: unlimited)"),
          opt("externalnetworkId", "int", null, "external network to use"),
          opt("allowedVMSizes", "list(int)", [], "size ids machines may use (empty: all)"),
          opt("privatenetwork", "str", "192.168.103.0/24", "private network range"),
          opt("type", "str", "routeros", "routeros or vgw"),
        ],
        run: (p, user) => this.#createCloudspace(p, user),
      },
      {
        ...cloudapi("cloudspaces", "delete", "Delete a cloud space"),
        params: [
          need("cloudspaceId", "int", "id of the cloud space"),
          opt("permanently", "bool", false, "destroy it instead of moving it to the recycle bin"),
        ],
        run: (p, user) => this.#deleteCloudspace(p, user),
      },
      {
        ...cloudapi("machines", "create", "Create a machine in a cloud space"),
        params: [
          need("cloudspaceId", "int", "id of the cloud space"),
          need("name", "str", "name of the machine", { validator: "name" }),
          opt("description", "str", null, "description of the machine"),
          opt("sizeId", "int", null, "id of the size (or give vcpus and memory)"),
          opt("vcpus", "int", null, "number of vCPUs"),
          opt("memory", "int", null, "memory in MB"),
          need("imageId", "int", "id of the image"),
          need("disksize", "int", "size of the boot disk in GB"),
          opt("datadisks", "list(int)", [], "sizes of extra data disks in GB"),
          opt("userdata", "obj", null, "cloud-init user data, object or string"),
        ],
        run: (p, user) => this.#createMachine(p, user),
      },
      {
        ...cloudapi("machines", "list", "List the machines of a cloud space"),
        params: [opt("cloudspaceId", "int", null, "id of the cloud space (required in practice)")],
        run: (p, user) => this.#listMachines(p, user),
      },
      {
        ...cloudapi("machines", "get", "Get the details of a machine"),
        params: [machineId],
        run: (p, user) => this.#getMachine(p, user),
      },
      action("start", "Start a machine", [opt("diskId", "int", null, "CD-ROM disk to boot from")]),
      action("stop", "Stop a machine", [opt("force", "bool", false, "force the shutdown")]),
      action("reboot", "Reboot a machine (soft)"),
      action("reset", "Reset a machine (hard reboot)"),
      action("pause", "Pause a machine"),
      action("resume", "Resume a paused machine"),
      {
        ...cloudapi("machines", "delete", "Delete a machine"),
        params: [
          machineId,
          opt("permanently", "bool", false, "destroy it instead of moving it to the recycle bin"),
        ],
        run: (p, user) => this.#deleteMachine(p, user),
      },
      {
        ...cloudapi("images", "list", "List the available images"),
        params: [
          opt("accountId", "int", null, "also list the images of this account"),
          opt("cloudspaceId", "int", null, "also list the images of this cloud space's account"),
        ],
        run: (p, user) => this.#listImages(p, user),
      },
      {
        ...cloudapi("images", "create", "Import an image from a URL"),
        params: IMPORT_PARAMS,
        run: (p, user) => this.#createImage(p, user),
      },
      {
        app: "cloudbroker",
        actor: "image",
        method: "createImage",
        summary: "Import an image from a URL (administrators)",
        params: IMPORT_PARAMS,
        run: (p, user) => this.#brokerCreateImage(p, user),
      },
      {
        ...cloudapi("sizes", "list", "List the sizes of a cloud space or location"),
        params: [
          opt("cloudspaceId", "int", null, "id of the cloud space"),
          opt("location", "str", null, "location code"),
        ],
        run: (p, user) => this.#listSizes(p, user),
      },
      {
        app: "system",
        actor: "usermanager",
        method: "whoami",
        summary: "The current user",
        params: [],
        run: (_p, user) => this.#whoami(user),
      },
      {
        app: "system",
        actor: "task",
        method: "get",
        summary: "Get the state or result of an asynchronous call",
        params: [need("taskguid", "str", "guid of the task")],
        run: (p) => this.#getTask(p),
      },
      {
        app: "system",
        actor: "task",
        method: "kill",
        summary: "Kill a running asynchronous call",
        params: [need("taskguid", "str", "guid of the task")],
        run: (p) => this.#killTask(p),
      },
      {
        app: "system",
        actor: "docgenerator",
        method: "prepareCatalog",
        summary: "Swagger description of the actors",
        params: [
          opt("actors", "str", null, "comma list of actors (app__actor) to describe; all when absent"),
        ],
        run: (p) => this.#catalog(p),
      },
    ];
  }

  // ---------------------------------------------------------------- users, ACL

  #authenticate(p: Params): string {
    const user = USERS.find((candidate) => candidate.name === p.username);
    if (user === undefined || user.password !== p.password) throw new OvcError(401, "Unauthorized");
    // A beaker session id: 32 hex characters.
    const key = randomBytes(16).toString("hex");
    // Emulator's choice: the key lives `sessionLifetimeSeconds` from the login, used or not.
    this.#sessions.set(key, { user: user.name, expiresAt: Date.now() + this.sessionLifetimeSeconds * 1000 });
    this.#issued.push(key);
    this.logins += 1;
    return key;
  }

  #whoami(user: Identity): Record<string, unknown> {
    const known = USERS.find((candidate) => candidate.name === user.bare);
    return { name: user.name, emails: known?.emails ?? [], groups: known?.groups ?? ["user"] };
  }

  /**
   * The user's rights on an account and (inherited down) its cloudspace. Emulator's choice: ACL entries
   * match on the name before "@", so a session key and a JWT of the same user share their rights.
   */
  #rights(user: Identity, account: Account, cloudspace?: Cloudspace): string {
    const entries = [...account.acl, ...(cloudspace?.acl ?? [])];
    return entries
      .filter((entry) => bareName(entry.userGroupId) === user.bare)
      .map((entry) => entry.right)
      .join("");
  }

  #require(user: Identity, right: "R" | "C" | "X" | "D", account: Account, cloudspace?: Cloudspace): void {
    if (!this.#rights(user, account, cloudspace).includes(right)) {
      throw new OvcError(
        403,
        `User: "${user.name}" isn't allowed to execute this action. Not enough permissions`,
      );
    }
  }

  // ---------------------------------------------------------------- lookups

  #liveAccount(id: unknown): Account {
    const account = this.#accounts.get(id as number);
    if (account === undefined) throw unknownId(id, "account");
    if (account.status !== "CONFIRMED" && account.status !== "DISABLED") throw notAccessible();
    return account;
  }

  #cloudspaceOf(id: unknown): { cloudspace: Cloudspace; account: Account } {
    const cloudspace = this.#cloudspaces.get(id as number);
    if (cloudspace === undefined) throw unknownId(id, "cloudspace");
    const account = this.#accounts.get(cloudspace.accountId);
    if (account === undefined) throw notAccessible();
    return { cloudspace, account };
  }

  /** A cloudspace that machines can live in: not deleted or destroyed. */
  #liveCloudspace(id: unknown): { cloudspace: Cloudspace; account: Account } {
    const found = this.#cloudspaceOf(id);
    const status = this.#cloudspaceStatus(found.cloudspace);
    if (status === "DELETED" || status === "DESTROYING" || status === "DESTROYED") throw notAccessible();
    return found;
  }

  /** machines/get and every action: 404 for DESTROYED, DELETED, ERROR or DESTROYING machines. */
  #liveMachine(id: unknown): { machine: Machine; cloudspace: Cloudspace; account: Account } {
    const machine = this.#machines.get(id as number);
    if (machine === undefined) throw unknownId(id, "vmachine");
    if (["DESTROYED", "DELETED", "ERROR", "DESTROYING"].includes(machine.status)) throw notAccessible();
    return { machine, ...this.#cloudspaceOf(machine.cloudspaceId) };
  }

  #location(code: unknown): Location {
    const location = this.#locations.find((candidate) => candidate.locationCode === code);
    if (location === undefined) throw new OvcError(400, `Location ${String(code)} does not exists`);
    return location;
  }

  /** VIRTUAL -> DEPLOYING -> DEPLOYED, computed from the creation time and the current durations. */
  #cloudspaceStatus(cloudspace: Cloudspace): CloudspaceStatus {
    if (cloudspace.status !== "VIRTUAL" || cloudspace.deployStartedAt === undefined) return cloudspace.status;
    const age = Date.now() - cloudspace.deployStartedAt;
    if (age < this.cloudspaceVirtualMs) return "VIRTUAL";
    return age < this.cloudspaceVirtualMs + this.cloudspaceDeployMs ? "DEPLOYING" : "DEPLOYED";
  }

  #imageStatus(image: Image): ImageStatus {
    if (image.status !== "CREATING" || image.createdAtMs === undefined) return image.status;
    return Date.now() - image.createdAtMs < this.imageCreateMs ? "CREATING" : "CREATED";
  }

  /** Machines that still count: everything but DELETED and DESTROYED. */
  #machinesIn(cloudspaceId: number): Machine[] {
    return [...this.#machines.values()].filter(
      (machine) =>
        machine.cloudspaceId === cloudspaceId &&
        machine.status !== "DELETED" &&
        machine.status !== "DESTROYED",
    );
  }

  // ---------------------------------------------------------------- accounts

  #listAccounts(user: Identity): Record<string, unknown>[] {
    return [...this.#accounts.values()]
      .filter((account) => account.status === "CONFIRMED" || account.status === "DISABLED")
      .filter((account) => this.#rights(user, account).includes("R"))
      .map(({ id, name, acl, creationTime, updateTime }) => ({
        id,
        name,
        acl: structuredClone(acl),
        creationTime,
        updateTime,
      }));
  }

  #getAccount(p: Params, user: Identity): Record<string, unknown> {
    const account = this.#liveAccount(p.accountId);
    this.#require(user, "R", account);
    return structuredClone(account) as unknown as Record<string, unknown>;
  }

  // ---------------------------------------------------------------- cloudspaces

  #listCloudspaces(p: Params, user: Identity): Record<string, unknown>[] {
    const result: Record<string, unknown>[] = [];
    for (const cloudspace of this.#cloudspaces.values()) {
      const account = this.#accounts.get(cloudspace.accountId);
      if (account === undefined || (account.status !== "CONFIRMED" && account.status !== "DISABLED"))
        continue;
      if (!this.#rights(user, account, cloudspace).includes("R")) continue;
      const status = this.#cloudspaceStatus(cloudspace);
      if (status === "DESTROYED" || status === "DESTROYING") continue;
      if (status === "DELETED" && p.includedeleted !== true) continue;
      const accountAcl = account.acl.find((entry) => bareName(entry.userGroupId) === user.bare);
      result.push({
        id: cloudspace.id,
        name: cloudspace.name,
        descr: cloudspace.description,
        status,
        accountId: account.id,
        accountName: account.name,
        acl: this.#aclView(cloudspace.acl),
        type: cloudspace.type,
        externalnetworkip: `${cloudspace.publicIp}/26`,
        publicipaddress: cloudspace.publicIp,
        location: cloudspace.location,
        gid: cloudspace.gid,
        creationTime: cloudspace.creationTime,
        updateTime: cloudspace.updateTime,
        ...(accountAcl === undefined ? {} : { accountAcl: { ...accountAcl } }),
      });
    }
    return result;
  }

  #getCloudspace(p: Params, user: Identity): Record<string, unknown> {
    const { cloudspace, account } = this.#cloudspaceOf(p.cloudspaceId);
    if (this.#cloudspaceStatus(cloudspace) === "DESTROYED") throw notAccessible();
    this.#require(user, "R", account, cloudspace);
    return this.#cloudspaceView(cloudspace);
  }

  #cloudspaceView(cloudspace: Cloudspace): Record<string, unknown> {
    return {
      id: cloudspace.id,
      accountId: cloudspace.accountId,
      acl: this.#aclView(cloudspace.acl),
      description: cloudspace.description,
      creationTime: cloudspace.creationTime,
      updateTime: cloudspace.updateTime,
      gid: cloudspace.gid,
      name: cloudspace.name,
      type: cloudspace.type,
      resourceLimits: { ...cloudspace.resourceLimits },
      publicipaddress: cloudspace.publicIp,
      externalnetworkip: `${cloudspace.publicIp}/26`,
      status: this.#cloudspaceStatus(cloudspace),
      location: cloudspace.location,
      secret: cloudspace.secret,
    };
  }

  #aclView(acl: AclEntry[]): Record<string, unknown>[] {
    return acl.map(({ right, type, userGroupId, status, canBeDeleted }) => ({
      right,
      type,
      userGroupId,
      status,
      canBeDeleted,
    }));
  }

  #createCloudspace(p: Params, user: Identity): number {
    const account = this.#liveAccount(p.accountId);
    this.#require(user, "C", account);
    const location = this.#location(p.location);
    const type = p.type as string;
    if (type !== "routeros" && type !== "vgw") {
      throw new OvcError(400, `Invalid type ${type}, type should be one of routeros, vgw`);
    }
    const privatenetwork = p.privatenetwork as string;
    // Emulator's choice for "bad CIDR": an RFC 1918 range between /16 and /30.
    if (!isPrivateCidr(privatenetwork)) {
      throw new OvcError(
        400,
        `Invalid private network ${privatenetwork}, expected a private range like 192.168.103.0/24`,
      );
    }
    const maxNumPublicIP = p.maxNumPublicIP as number;
    if (maxNumPublicIP !== -1 && maxNumPublicIP < 1) {
      throw new OvcError(400, "Cloudspace must have reserved at least 1 Public IP");
    }
    if (p.externalnetworkId !== null && p.externalnetworkId !== location.id) {
      throw new OvcError(
        400,
        `External network ${String(p.externalnetworkId)} is not available in ${location.locationCode}`,
      );
    }
    const name = p.name as string;
    const duplicate = [...this.#cloudspaces.values()].some(
      (other) => other.accountId === account.id && other.name === name && other.status !== "DESTROYED",
    );
    if (duplicate) throw new OvcError(409, `Cloud space with name ${name} already exists.`);
    const id = Math.max(...this.#cloudspaces.keys()) + 1;
    const host = this.#publicHosts.get(location.locationCode) ?? 10;
    this.#publicHosts.set(location.locationCode, host + 1);
    const now = nowSeconds();
    this.#cloudspaces.set(id, {
      id,
      accountId: account.id,
      name,
      description: "",
      location: location.locationCode,
      gid: location.gid,
      type,
      privatenetwork,
      publicIp: `${location.publicNet}.${host}`,
      status: "VIRTUAL",
      deployStartedAt: Date.now(),
      acl: [
        {
          userGroupId: p.access as string,
          type: "U",
          right: "CXDRAU",
          status: "CONFIRMED",
          explicit: true,
          canBeDeleted: true,
        },
      ],
      resourceLimits: {
        CU_M: p.maxMemoryCapacity as number,
        CU_D: p.maxVDiskCapacity as number,
        CU_C: p.maxCPUCapacity as number,
        CU_NP: p.maxNetworkPeerTransfer as number,
        CU_I: maxNumPublicIP,
      },
      allowedVMSizes: p.allowedVMSizes as number[],
      creationTime: now,
      updateTime: now,
      secret: randomBytes(16).toString("hex"),
      hostsAssigned: 0,
    });
    return id;
  }

  #deleteCloudspace(p: Params, user: Identity): boolean {
    const { cloudspace, account } = this.#cloudspaceOf(p.cloudspaceId);
    this.#require(user, "D", account, cloudspace);
    const status = this.#cloudspaceStatus(cloudspace);
    if (status === "DESTROYED") return true;
    if (status === "DEPLOYING") {
      throw new OvcError(400, "Cloudspace is being deployed, please wait until it is deployed");
    }
    if (this.#machinesIn(cloudspace.id).length > 0) {
      throw new OvcError(409, "Can not delete a CloudSpace that contains Virtual Machines.");
    }
    cloudspace.status = p.permanently === true ? "DESTROYED" : "DELETED";
    cloudspace.deployStartedAt = undefined;
    cloudspace.updateTime = nowSeconds();
    if (cloudspace.status === "DESTROYED") {
      for (const machine of this.#machines.values()) {
        if (machine.cloudspaceId === cloudspace.id) machine.status = "DESTROYED";
      }
    }
    return true;
  }

  // ---------------------------------------------------------------- machines

  #listMachines(p: Params, user: Identity): Record<string, unknown>[] {
    // The spec marks cloudspaceId optional, but the code refuses a call without it.
    if (p.cloudspaceId === null) throw new OvcError(400, "cloudspaceId is required");
    const { cloudspace, account } = this.#cloudspaceOf(p.cloudspaceId);
    if (this.#cloudspaceStatus(cloudspace) === "DESTROYED") throw notAccessible();
    this.#require(user, "R", account, cloudspace);
    return this.#machinesIn(cloudspace.id).map((machine) => ({
      id: machine.id,
      referenceId: machine.referenceId,
      cloudspaceid: machine.cloudspaceId,
      hostname: machine.name.toLowerCase().replace(/[^a-z0-9-]/g, "-"),
      imageId: machine.imageId,
      name: machine.name,
      nics: [this.#nic(machine, cloudspace)],
      sizeId: machine.sizeId,
      status: machine.status,
      stackId: machine.stackId,
      disks: this.#diskIds(machine),
      creationTime: machine.creationTime,
      updateTime: machine.updateTime,
      memory: machine.memory,
      vcpus: machine.vcpus,
      storage: machine.bootDiskSize + machine.dataDisks.reduce((sum, size) => sum + size, 0),
    }));
  }

  #getMachine(p: Params, user: Identity): Record<string, unknown> {
    const { machine, cloudspace, account } = this.#liveMachine(p.machineId);
    this.#require(user, "R", account, cloudspace);
    return this.#machineView(machine);
  }

  #diskIds(machine: Machine): number[] {
    return [machine.bootDiskSize, ...machine.dataDisks].map((_size, index) => machine.id * 10 + index);
  }

  #nic(machine: Machine, cloudspace: Cloudspace): Record<string, unknown> {
    const mac = `52:54:00:00:${hex2(machine.id >> 8)}:${hex2(machine.id)}`;
    return {
      type: "bridge",
      ipAddress: machine.ipAddress,
      macAddress: mac,
      networkId: cloudspace.id + 100,
      deviceName: `vm-${machine.id}-${(cloudspace.id + 100).toString(16).padStart(4, "0")}`,
      status: "ok",
      referenceId: "",
      params: "",
    };
  }

  #machineView(machine: Machine): Record<string, unknown> {
    const cloudspace = this.#cloudspaces.get(machine.cloudspaceId);
    const image = this.#images.get(machine.imageId);
    const sizes = [machine.bootDiskSize, ...machine.dataDisks];
    return {
      id: machine.id,
      cloudspaceid: machine.cloudspaceId,
      acl: [],
      disks: sizes.map((size, index) => ({
        id: machine.id * 10 + index,
        name: index === 0 ? "Boot disk" : `Data disk ${index}`,
        descr: index === 0 ? "Machine disk of type B" : "Machine disk of type D",
        status: "ASSIGNED",
        type: index === 0 ? "B" : "D",
        sizeMax: size,
        acl: {},
        referenceId: `openvstorage://${machine.stackId}/vm-${machine.id}/disk-${index}.raw`,
      })),
      name: machine.name,
      description: machine.description,
      hostname: machine.name.toLowerCase().replace(/[^a-z0-9-]/g, "-"),
      status: machine.status,
      imageid: machine.imageId,
      osImage: image?.name ?? "",
      sizeid: machine.sizeId,
      memory: machine.memory,
      vcpus: machine.vcpus,
      interfaces: cloudspace === undefined ? [] : [this.#nic(machine, cloudspace)],
      storage: sizes.reduce((sum, size) => sum + size, 0),
      accounts: [{ login: machine.login, password: machine.password }],
      locked: machine.locked,
      updateTime: machine.updateTime,
      creationTime: machine.creationTime,
    };
  }

  #createMachine(p: Params, user: Identity): number {
    const { cloudspace, account } = this.#liveCloudspace(p.cloudspaceId);
    this.#require(user, "C", account, cloudspace);
    const image = this.#images.get(p.imageId as number);
    if (image === undefined) throw unknownId(p.imageId, "image");
    if (image.accountId !== 0 && image.accountId !== account.id) throw notAccessible();
    if (this.#imageStatus(image) !== "CREATED") {
      throw new OvcError(400, `Image ${image.id} is not available (status ${this.#imageStatus(image)})`);
    }
    const sizeId = p.sizeId as number | null;
    const disksize = p.disksize as number;
    let vcpus = p.vcpus as number | null;
    let memory = p.memory as number | null;
    if (sizeId !== null) {
      if (vcpus !== null || memory !== null) {
        throw new OvcError(400, "sizeId and vcpus/memory are mutually exclusive, give one or the other");
      }
      const size = this.#sizes.find((candidate) => candidate.id === sizeId);
      if (size === undefined) throw unknownId(sizeId, "size");
      if (cloudspace.allowedVMSizes.length > 0 && !cloudspace.allowedVMSizes.includes(sizeId)) {
        throw new OvcError(400, `Size ${sizeId} is not allowed in cloud space ${cloudspace.id}`);
      }
      if (!size.disks.includes(disksize)) {
        throw new OvcError(
          400,
          `Disk size ${disksize} is not allowed with size ${sizeId}, choose one of ${size.disks.join(", ")}`,
        );
      }
      vcpus = size.vcpus;
      memory = size.memory;
    } else if (vcpus === null || memory === null) {
      throw new OvcError(400, "Either sizeId or vcpus and memory should be given");
    } else if (vcpus < 1 || memory < 512) {
      throw new OvcError(400, "A machine needs at least 1 vCPU and 512 MB of memory");
    }
    if (disksize < image.size) {
      throw new OvcError(400, `Disk size ${disksize} GB is smaller than the image size ${image.size} GB`);
    }
    const name = p.name as string;
    if (this.#machinesIn(cloudspace.id).some((machine) => machine.name === name)) {
      throw new OvcError(409, "Selected name already exists");
    }
    const id = Math.max(...this.#machines.keys()) + 1;
    const now = nowSeconds();
    cloudspace.hostsAssigned += 1;
    this.#machines.set(id, {
      id,
      cloudspaceId: cloudspace.id,
      name,
      description: p.description as string | null,
      imageId: image.id,
      sizeId,
      vcpus,
      memory,
      bootDiskSize: disksize,
      dataDisks: p.datadisks as number[],
      status: "RUNNING",
      locked: false,
      ipAddress: hostIn(cloudspace.privatenetwork, 10 + cloudspace.hostsAssigned),
      login: image.username,
      password: randomBytes(9).toString("base64url"),
      referenceId: randomUUID(),
      stackId: cloudspace.gid === 212 ? 3 : 7,
      creationTime: now,
      updateTime: now,
    });
    return id;
  }

  /**
   * Emulator's choice for the transitions upstreams.md leaves open: asking for the state a machine is
   * already in is a no-op answering true; a transition its state forbids is 409 with a message.
   */
  #machineAction(action: MachineAction, p: Params, user: Identity): boolean {
    const { machine, cloudspace, account } = this.#liveMachine(p.machineId);
    this.#require(user, "X", account, cloudspace);
    if (machine.locked) throw new OvcError(409, `Machine ${machine.id} is locked`);
    const status = machine.status;
    const conflict = (why: string) => new OvcError(409, `Can not ${action} machine ${machine.id}: ${why}`);
    let next: MachineStatus = status;
    switch (action) {
      case "start":
        if (status === "PAUSED") throw conflict("it is paused, resume it instead");
        next = "RUNNING";
        break;
      case "stop":
        next = "HALTED";
        break;
      case "reboot":
      case "reset":
        if (status !== "RUNNING") throw conflict(`it is ${status}, start it instead`);
        break;
      case "pause":
        if (status === "HALTED") throw conflict("it is not running");
        next = "PAUSED";
        break;
      case "resume":
        if (status !== "PAUSED") throw conflict(`it is ${status}, not paused`);
        next = "RUNNING";
        break;
    }
    machine.status = next;
    machine.updateTime = nowSeconds();
    return true;
  }

  #deleteMachine(p: Params, user: Identity): boolean {
    const { machine, cloudspace, account } = this.#liveMachine(p.machineId);
    this.#require(user, "D", account, cloudspace);
    if (machine.locked) throw new OvcError(409, `Machine ${machine.id} is locked`);
    machine.status = p.permanently === true ? "DESTROYED" : "DELETED";
    machine.updateTime = nowSeconds();
    return true;
  }

  // ---------------------------------------------------------------- images, sizes

  #imageView(image: Image): Record<string, unknown> {
    return {
      id: image.id,
      name: image.name,
      description: image.description,
      type: image.type,
      size: image.size,
      username: image.username,
      accountId: image.accountId,
      status: this.#imageStatus(image),
    };
  }

  /**
   * `cloudapi_images.list` (2018 portal): CREATED images, the public ones (accountId 0) plus, with
   * `accountId`, that account's; `cloudspaceId` narrows them to the cloudspace's location (its gid) and
   * adds no account's images.
   */
  #listImages(p: Params, user: Identity): Record<string, unknown>[] {
    let accountId = 0;
    if (p.accountId !== null) {
      const account = this.#liveAccount(p.accountId);
      this.#require(user, "R", account);
      accountId = account.id;
    }
    let gid: number | undefined;
    if (p.cloudspaceId !== null) {
      const { cloudspace, account } = this.#cloudspaceOf(p.cloudspaceId);
      this.#require(user, "R", account, cloudspace);
      gid = cloudspace.gid;
    }
    return [...this.#images.values()]
      .filter((image) => image.accountId === 0 || image.accountId === accountId)
      .filter((image) => gid === undefined || image.gid === gid)
      .filter((image) => this.#imageStatus(image) === "CREATED")
      .map((image) => this.#imageView(image));
  }

  #createImage(p: Params, user: Identity): number | boolean {
    const imagetype = p.imagetype as string;
    if (imagetype !== "Linux" && imagetype !== "Windows" && imagetype !== "Other") {
      throw new OvcError(400, `Invalid imagetype ${imagetype}, should be one of Linux, Windows, Other`);
    }
    const boottype = p.boottype as string;
    if (boottype !== "bios" && boottype !== "uefi") {
      throw new OvcError(400, `Invalid boottype ${boottype}, should be one of bios, uefi`);
    }
    const gid = p.gid as number;
    if (!this.#locations.some((location) => location.gid === gid)) {
      throw new OvcError(400, `No location with gid ${gid}`);
    }
    const url = p.url as string;
    if (!/^https?:\/\/\S+$/.test(url)) throw new OvcError(400, `Invalid url ${url}, expected an http(s) URL`);
    let accountId = 0;
    if (p.accountId !== null) {
      const account = this.#liveAccount(p.accountId);
      this.#require(user, "C", account);
      accountId = account.id;
    } else if (!isAdmin(user)) {
      // Emulator's choice: a public image (no accountId) is a platform administrator's call.
      throw new OvcError(
        403,
        `User: "${user.name}" isn't allowed to execute this action. Not enough permissions`,
      );
    }
    const id = this.#addImage(p, accountId);
    return this.imagesCreateAnswersTrue ? true : id;
  }

  /**
   * `cloudbroker/image/createImage` as the portal code has it: administrators only (`@auth(groups=...)`),
   * an unknown account or boot type and an unreadable URL refused at once, then `true`, and the import runs
   * in the background (`ctx.events.runAsync`). The location is only looked up there: with an unknown gid the
   * import fails out of sight and no image ever appears. The image type is not checked.
   */
  #brokerCreateImage(p: Params, user: Identity): boolean {
    if (!isAdmin(user)) throw noBrokerAccess(user);
    if (p.accountId !== null && !this.#accounts.has(p.accountId as number)) {
      throw new OvcError(400, "Specified accountId does not exists");
    }
    if (p.boottype !== "bios" && p.boottype !== "uefi") {
      throw new OvcError(400, "Invalid boottype, should be either uefi or bios");
    }
    // Emulator's choice: the URL's size is read with a HEAD request upstream; here an http(s) URL is enough.
    if (!/^https?:\/\/\S+$/.test(p.url as string)) throw new OvcError(400, "Invalid url passed");
    if (this.#locations.some((location) => location.gid === p.gid)) {
      this.#addImage(p, (p.accountId as number | null) ?? 0);
    }
    return true;
  }

  /** A new image, CREATING until `imageCreateMs` has passed; returns its id. */
  #addImage(p: Params, accountId: number): number {
    const id = Math.max(...this.#images.keys()) + 1;
    const type = p.imagetype as Image["type"];
    const url = p.url as string;
    const image: Image = {
      id,
      name: p.name as string,
      description: `Imported from ${url}`,
      type,
      size: 10,
      username: (p.username as string | null) ?? (type === "Windows" ? "Administrator" : "cloudscalers"),
      accountId,
      status: "CREATING",
      createdAtMs: Date.now(),
      gid: p.gid as number,
      bootType: p.boottype as Image["bootType"],
      hotResize: p.hotresize as boolean,
      url,
    };
    if (typeof p.password === "string") image.password = p.password;
    this.#images.set(id, image);
    return id;
  }

  #listSizes(p: Params, user: Identity): Size[] {
    if (p.cloudspaceId !== null) {
      const { cloudspace, account } = this.#cloudspaceOf(p.cloudspaceId);
      this.#require(user, "R", account, cloudspace);
      const allowed = cloudspace.allowedVMSizes;
      return this.#sizes.filter((size) => allowed.length === 0 || allowed.includes(size.id)).map(cloneSize);
    }
    if (p.location !== null) {
      this.#location(p.location);
      return this.#sizes.map(cloneSize);
    }
    throw new OvcError(400, "Either cloudspaceId or location should be given");
  }

  // ---------------------------------------------------------------- tasks, catalogue

  #getTask(p: Params): unknown {
    const task = this.#liveTask(p.taskguid as string);
    if (task.unknownPolls > 0) {
      task.unknownPolls -= 1;
      throw new OvcError(404, "Task is not found");
    }
    if (Date.now() < task.doneAt) return new RawAnswer({ status: this.taskRunningStatus });
    return task.outcome.ok ? [true, task.outcome.value] : [false, task.outcome.error];
  }

  /** Emulator's choice: true when a running task was stopped (it then reads as failed), false when done. */
  #killTask(p: Params): boolean {
    const task = this.#liveTask(p.taskguid as string);
    if (Date.now() >= task.doneAt) return false;
    task.doneAt = Date.now();
    task.outcome = { ok: false, error: "Task was killed", refused: false };
    return true;
  }

  #liveTask(guid: string): Task {
    const task = this.#tasks.get(guid);
    if (task === undefined || Date.now() >= task.doneAt + this.taskResultTtlSeconds * 1000) {
      this.#tasks.delete(guid);
      throw new OvcError(404, "Task is not found");
    }
    return task;
  }

  /** A Swagger 2.0 description of every implemented actor method, as the portal's docgenerator serves. */
  #catalog(p: Params): Record<string, unknown> {
    const wanted = splitList(typeof p.actors === "string" ? p.actors : undefined);
    const paths: Record<string, unknown> = {};
    const tags = new Map<string, string>();
    for (const [route, method] of this.#methods) {
      if (this.#offered(route) === undefined) continue;
      const tag = `${method.app}__${method.actor}`;
      if (wanted.length > 0 && !wanted.includes(tag)) continue;
      tags.set(tag, `${method.app} ${method.actor} actor`);
      paths[`/${method.app}/${method.actor}/${method.method}`] = {
        post: {
          tags: [tag],
          summary: method.summary,
          operationId: `${method.app}_${method.actor}_${method.method}`,
          parameters: method.params.map(swaggerParam),
          responses: {
            "200": { description: "Success: the return value as JSON" },
            default: { description: "Error: a JSON string" },
          },
        },
      };
    }
    return {
      swagger: "2.0",
      info: { title: "OpenvCloud API", version: "2.3.0", description: "OpenvCloud Cloud API (sandbox)" },
      host: new URL(this.url).host,
      basePath: "/restmachine",
      schemes: [new URL(this.url).protocol.replace(":", "")],
      consumes: ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"],
      produces: ["application/json"],
      tags: [...tags].map(([name, description]) => ({ name, description })),
      paths,
    };
  }
}

// ---------------------------------------------------------------- helpers

function errorAnswer(error: OvcError): EmulatorResponse {
  // exceptions.Error: the status line, application/json and json.dumps(msg).
  return { status: error.status, body: error.message };
}

function jsonAnswer(value: unknown): EmulatorResponse {
  return {
    status: 200,
    body: JSON.stringify(value ?? null),
    headers: { "content-type": "application/json" },
  };
}

/**
 * ItsYou.online is a Go server: `http.Error` writes the text and a newline as text/plain. Emulator's
 * choice: its exact error texts ("invalid client_id or client_secret", "Unauthorized") are not documented.
 */
function goError(status: number, text: string): EmulatorResponse {
  return { status, body: `${text}\n`, headers: { "content-type": "text/plain; charset=utf-8" } };
}

/** The query merged with a JSON object, form or multipart body (the body wins on a shared name). */
function requestParams(request: RecordedRequest): Params {
  const params: Params = { ...request.query };
  const contentType = request.contentType ?? "";
  if (request.body.trim() === "") return params;
  if (contentType.includes("application/json")) {
    // Emulator's choice: a malformed JSON body is a 400 (the portal would raise an unhandled error).
    if (request.json === undefined) throw new OvcError(400, "Invalid JSON body");
    // The portal does `params.update(json)` when the body is truthy; a non-object cannot be merged.
    if (request.json === null || request.json === false) return params;
    if (typeof request.json !== "object" || Array.isArray(request.json)) {
      throw new OvcError(400, "Invalid JSON body, expected an object of parameters");
    }
    return { ...params, ...(request.json as Params) };
  }
  if (contentType.includes("www-form-urlencoded")) return { ...params, ...request.form };
  if (contentType.includes("multipart/form-data"))
    return { ...params, ...parseMultipart(request.body, contentType) };
  return params;
}

function parseMultipart(body: string, contentType: string): Record<string, string> {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  const fields: Record<string, string> = {};
  if (boundary === undefined) return fields;
  for (const part of body.split(`--${boundary.trim()}`)) {
    const split = part.indexOf("\r\n\r\n");
    if (split < 0) continue;
    const name = /;\s*name="([^"]*)"/i.exec(part.slice(0, split))?.[1];
    if (name !== undefined) fields[name] = part.slice(split + 4).replace(/\r\n$/, "");
  }
  return fields;
}

function badType(param: ParamSpec): OvcError {
  return new OvcError(400, `Value of param ${param.name} not correct needs to be of type ${param.type}`);
}

function toInt(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) ? value : undefined;
  if (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) return Number.parseInt(value, 10);
  return undefined;
}

function coerce(param: ParamSpec, value: unknown): unknown {
  switch (param.type) {
    case "int": {
      const int = toInt(value);
      if (int === undefined) throw badType(param);
      return int;
    }
    case "float": {
      if (typeof value === "number") return value;
      const number = typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN;
      if (!Number.isFinite(number)) throw badType(param);
      return number;
    }
    case "bool": {
      if (typeof value === "boolean") return value;
      const text = String(value).trim().toLowerCase();
      if (["true", "1", "yes", "y"].includes(text)) return true;
      if (["false", "0", "no", "n"].includes(text)) return false;
      throw badType(param);
    }
    case "str":
      if (typeof value === "string") return value;
      if (typeof value === "number" || typeof value === "boolean") return String(value);
      throw badType(param);
    case "list":
    case "list(int)": {
      let list: unknown;
      if (Array.isArray(value)) list = value;
      else if (typeof value === "string") {
        const text = value.trim();
        try {
          list = text.startsWith("[") ? JSON.parse(text) : text.split(",").map((item) => item.trim());
        } catch {
          throw badType(param);
        }
      }
      if (!Array.isArray(list)) throw badType(param);
      if (param.type === "list") return list;
      return list.map((item) => {
        const int = toInt(item);
        if (int === undefined) throw badType(param);
        return int;
      });
    }
    default:
      return value;
  }
}

/** Validators.NAME: at least two characters and none of `<>"'`. */
function validName(value: unknown): boolean {
  return typeof value === "string" && value.length >= 2 && !/[<>"']/.test(value);
}

/**
 * mimeparse.best_match over the portal's supported types; ties go to the later one (JSON for `*\/*`).
 * Emulator's choice: yaml is not offered, and an Accept matching nothing gets JSON (the portal fails).
 */
function bestMatch(header: string): "text/plain" | "text/html" | "application/json" | undefined {
  const ranges = header.split(",").map((range) => {
    const [type = "", ...options] = range.trim().toLowerCase().split(";");
    const q = options.map((option) => /^\s*q=([\d.]+)\s*$/.exec(option)?.[1]).find((v) => v !== undefined);
    return { type: type.trim(), q: q === undefined ? 1 : Number(q) };
  });
  const supported = ["text/plain", "text/html", "application/json"] as const;
  let best: (typeof supported)[number] | undefined;
  let bestQ = 0;
  for (const candidate of supported) {
    const [major] = candidate.split("/");
    let fitness = -1;
    let q = 0;
    for (const range of ranges) {
      const fit =
        range.type === candidate ? 2 : range.type === `${major}/*` ? 1 : range.type === "*/*" ? 0 : -1;
      if (fit > fitness) {
        fitness = fit;
        q = range.q;
      }
    }
    if (fitness >= 0 && q > 0 && q >= bestQ) {
      best = candidate;
      bestQ = q;
    }
  }
  return best;
}

/** Python's `repr`: True/False/None, single-quoted strings, `{'a': 1}`. */
function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const escaped = value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
    return quote + (quote === "'" ? escaped.replaceAll("'", "\\'") : escaped) + quote;
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([key, item]) => `${pyRepr(key)}: ${pyRepr(item)}`).join(", ")}}`;
  }
  return String(value);
}

/** Python's `str`: a string as it is, anything else as its repr. */
function pyStr(value: unknown): string {
  return typeof value === "string" ? value : pyRepr(value);
}

function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** A platform administrator: the `admin` group, which the portal's authenticator lets do anything. */
function isAdmin(user: Identity): boolean {
  return USERS.find((candidate) => candidate.name === user.bare)?.groups.includes("admin") === true;
}

function bareName(name: string): string {
  return name.split("@")[0] ?? name;
}

function hex2(value: number): string {
  return (value & 0xff).toString(16).padStart(2, "0");
}

function hostIn(cidr: string, host: number): string {
  return `${cidr.split(".").slice(0, 3).join(".")}.${host}`;
}

function isPrivateCidr(value: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (match === null) return false;
  const [a, b, c, d] = match.slice(1, 5).map(Number) as [number, number, number, number];
  const prefix = Number(match[5]);
  if ([a, b, c, d].some((octet) => octet > 255) || prefix < 16 || prefix > 30) return false;
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

function cloneSize(size: Size): Size {
  return { ...size, disks: [...size.disks] };
}

function swaggerParam(param: ParamSpec): Record<string, unknown> {
  const types: Record<ParamType, string> = {
    int: "integer",
    float: "number",
    bool: "boolean",
    str: "string",
    list: "array",
    "list(int)": "array",
    obj: "string",
  };
  const out: Record<string, unknown> = {
    name: param.name,
    in: "query",
    description: param.description,
    required: param.required,
    type: types[param.type],
  };
  if (param.type === "list") out.items = { type: "string" };
  if (param.type === "list(int)") out.items = { type: "integer" };
  if (param.type === "list" || param.type === "list(int)") out.collectionFormat = "csv";
  if (!param.required && param.default !== null && param.default !== undefined) out.default = param.default;
  return out;
}

// ---------------------------------------------------------------- seed data

function seedLocations(): Location[] {
  return [
    { id: 1, gid: 212, name: "be-gen-1", locationCode: "be-gen-1", flag: "be", publicNet: "185.15.201" },
    { id: 2, gid: 711, name: "nl-ams-1", locationCode: "nl-ams-1", flag: "nl", publicNet: "91.198.174" },
  ];
}

function acl(userGroupId: string, right: string, canBeDeleted = true): AclEntry {
  return { userGroupId, type: "U", right, status: "CONFIRMED", explicit: true, canBeDeleted };
}

const ADMIN = `${OVC_SANDBOX.username}@itsyouonline`;
const AUDITOR = `${OVC_SANDBOX.readOnlyUsername}@itsyouonline`;
const UNLIMITED: ResourceLimits = { CU_M: -1, CU_D: -1, CU_C: -1, CU_NP: -1, CU_I: -1 };

function seedAccounts(): Account[] {
  const rows: [number, string, AccountStatus, string, string, boolean, number][] = [
    [1, "Acme Corp", "CONFIRMED", "be-gen-1", "https://acme.example.com", true, 1_546_300_800],
    [2, "Globex Research", "CONFIRMED", "nl-ams-1", "https://globex.example.org", true, 1_561_939_200],
    [3, "Initech Legacy", "DISABLED", "be-gen-1", "https://initech.example.net", false, 1_514_764_800],
    [4, "Umbrella Labs", "DELETED", "nl-ams-1", "https://umbrella.example.com", false, 1_577_836_800],
  ];
  return rows.map(([id, name, status, DCLocation, companyurl, withAuditor, creationTime]) => ({
    id,
    name,
    status,
    acl: withAuditor ? [acl(ADMIN, "ARCXDU", false), acl(AUDITOR, "R")] : [acl(ADMIN, "ARCXDU", false)],
    creationTime,
    updateTime: creationTime + 86_400 * 30,
    deactivationTime: status === "DISABLED" || status === "DELETED" ? creationTime + 86_400 * 700 : 0,
    DCLocation,
    company: name,
    companyurl,
    displayname: name,
    resourceLimits: id === 2 ? { CU_M: 256, CU_D: 4096, CU_C: 64, CU_NP: 2048, CU_I: 4 } : { ...UNLIMITED },
    sendAccessEmails: true,
  }));
}

function seedCloudspaces(): Cloudspace[] {
  const rows: [
    number,
    number,
    string,
    string,
    CloudspaceStatus,
    "routeros" | "vgw",
    string,
    string,
    number,
  ][] = [
    [101, 1, "production", "be-gen-1", "DEPLOYED", "routeros", "192.168.103.0/24", "185.15.201.10", 4],
    [102, 1, "staging", "nl-ams-1", "DEPLOYED", "routeros", "192.168.104.0/24", "91.198.174.20", 2],
    [103, 2, "ml-lab", "be-gen-1", "DEPLOYED", "vgw", "10.20.0.0/24", "185.15.201.11", 2],
    [104, 1, "sandbox-old", "be-gen-1", "DELETED", "routeros", "192.168.105.0/24", "185.15.201.9", 0],
    [105, 2, "archive-2019", "nl-ams-1", "DESTROYED", "routeros", "192.168.106.0/24", "91.198.174.19", 0],
    [106, 2, "empty-dev", "nl-ams-1", "DEPLOYED", "routeros", "192.168.107.0/24", "91.198.174.21", 0],
  ];
  return rows.map(([id, accountId, name, location, status, type, privatenetwork, publicIp, hosts]) => {
    const creationTime = 1_672_531_200 + (id - 100) * 86_400 * 17;
    return {
      id,
      accountId,
      name,
      description: `${name} environment`,
      location,
      gid: location === "be-gen-1" ? 212 : 711,
      type,
      privatenetwork,
      publicIp,
      status,
      acl: [],
      resourceLimits: { ...UNLIMITED },
      allowedVMSizes: id === 103 ? [1, 3, 4, 5] : [],
      creationTime,
      updateTime: creationTime + 3_600,
      secret: `c5f0e1d2a3b4${id}9e8d7c6b5a4f3e2d1c0`,
      hostsAssigned: hosts,
    };
  });
}

function seedMachines(): Machine[] {
  const rows: [
    number,
    number,
    string,
    string,
    number,
    number | null,
    number,
    number,
    number,
    number[],
    MachineStatus,
    string,
  ][] = [
    [1001, 101, "web-01", "nginx front end", 1, 2, 2, 4096, 40, [], "RUNNING", "Xk9v2QmR7tLp"],
    [1002, 101, "web-02", "nginx front end", 1, 2, 2, 4096, 40, [], "RUNNING", "Pq4wZ8nB3sYd"],
    [1003, 101, "db-01", "PostgreSQL 15 primary", 3, 4, 8, 16384, 100, [500], "HALTED", "Hj6tR2vM9cWe"],
    [1004, 102, "win-build", "Windows build agent", 4, 3, 4, 8192, 100, [], "RUNNING", "Lm3nQ7xT5bVa"],
    [1005, 102, "legacy-erp", "ERP, locked by support", 2, 3, 4, 8192, 100, [250], "HALTED", "Ry8kD4fG1hJs"],
    [1006, 103, "gpu-notebook", "CUDA notebook", 1, null, 8, 32768, 250, [1000], "RUNNING", "Wz2xC6vB8nMq"],
    [1007, 103, "jumpbox", "SSH bastion", 3, 1, 1, 1024, 20, [], "PAUSED", "Tf5gH9jK3lPo"],
    [1008, 101, "old-ci", "retired CI runner", 2, 2, 2, 4096, 40, [], "DELETED", "Nb7vC1xZ4aSd"],
  ];
  const perCloudspace = new Map<number, number>();
  return rows.map(
    ([id, cloudspaceId, name, description, imageId, sizeId, vcpus, memory, disk, data, status, password]) => {
      const index = (perCloudspace.get(cloudspaceId) ?? 0) + 1;
      perCloudspace.set(cloudspaceId, index);
      const net = cloudspaceId === 101 ? "192.168.103" : cloudspaceId === 102 ? "192.168.104" : "10.20.0";
      const creationTime = 1_680_307_200 + (id - 1000) * 86_400 * 9;
      return {
        id,
        cloudspaceId,
        name,
        description,
        imageId,
        sizeId,
        vcpus,
        memory,
        bootDiskSize: disk,
        dataDisks: data,
        status,
        locked: id === 1005,
        ipAddress: `${net}.${10 + index}`,
        login: imageId === 4 ? "Administrator" : "cloudscalers",
        password,
        referenceId: `7b3f${id}-4c1e-4a8b-9d2e-1f6a5c8e${id}`,
        stackId: cloudspaceId === 102 ? 7 : 3,
        creationTime,
        updateTime: creationTime + 86_400,
      };
    },
  );
}

function seedImages(): Image[] {
  const rows: [number, string, string, Image["type"], number, string, number, ImageStatus][] = [
    [
      1,
      "Ubuntu 22.04 x64",
      "Ubuntu Server 22.04 LTS (Jammy Jellyfish)",
      "Linux",
      10,
      "cloudscalers",
      0,
      "CREATED",
    ],
    [
      2,
      "Ubuntu 20.04 x64",
      "Ubuntu Server 20.04 LTS (Focal Fossa)",
      "Linux",
      10,
      "cloudscalers",
      0,
      "CREATED",
    ],
    [3, "Debian 12 x64", "Debian GNU/Linux 12 (bookworm)", "Linux", 10, "cloudscalers", 0, "CREATED"],
    [
      4,
      "Windows 2019 Standard",
      "Windows Server 2019 Standard",
      "Windows",
      40,
      "Administrator",
      0,
      "CREATED",
    ],
    [5, "CentOS 7 x64", "CentOS Linux 7 (end of life)", "Linux", 10, "cloudscalers", 0, "DISABLED"],
    [6, "acme-golden-2023.10", "Acme hardened Ubuntu 22.04 base", "Linux", 20, "cloudscalers", 1, "CREATED"],
  ];
  return rows.map(([id, name, description, type, size, username, accountId, status]) => ({
    id,
    name,
    description,
    type,
    size,
    username,
    accountId,
    status,
    gid: 212,
    bootType: type === "Windows" ? "uefi" : "bios",
    hotResize: type === "Linux",
    url: `https://images.example.com/${name.toLowerCase().replaceAll(" ", "-")}.qcow2`,
  }));
}

function seedSizes(): Size[] {
  const rows: [number, string, number, number, number[]][] = [
    [1, "Tiny", 1, 1024, [10, 20, 40]],
    [2, "Small", 2, 4096, [20, 40, 100]],
    [3, "Medium", 4, 8192, [40, 100, 250]],
    [4, "Large", 8, 16384, [100, 250, 500]],
    [5, "XLarge", 16, 65536, [250, 500, 1000]],
  ];
  return rows.map(([id, name, vcpus, memory, disks]) => ({
    id,
    name,
    vcpus,
    memory,
    description: `${vcpus} vCPU, ${memory / 1024} GiB memory`,
    CU: memory / 1024,
    disks,
  }));
}
