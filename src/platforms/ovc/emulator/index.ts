import { randomBytes, randomUUID } from "node:crypto";
import {
  authorization,
  Emulator,
  type EmulatorResponse,
  type RecordedRequest,
} from "../../../sandbox/emulator.js";
import { nowSeconds, splitList } from "./common.js";
import { ItsYouOnline, IYO } from "./itsyouonline.js";
import {
  Crash,
  errorAnswer,
  need,
  OvcError,
  opt,
  type ParamSpec,
  type Params,
  type ParamType,
  RawAnswer,
  REASONS,
  render,
  requestParams,
  validate,
} from "./portal.js";
import {
  type Account,
  type AclEntry,
  type Cloudspace,
  type CloudspaceStatus,
  type Image,
  type ImageStatus,
  type Location,
  type Machine,
  type MachineAction,
  type MachineStatus,
  OVC_SANDBOX,
  type Size,
  seedAccounts,
  seedCloudspaces,
  seedImages,
  seedLocations,
  seedMachines,
  seedSizes,
  USERS,
} from "./seed.js";

export { OVC_SANDBOX } from "./seed.js";

/** A `name` parameter with this value makes any actor method raise an unhandled exception (500 page). */
export const OVC_CRASH_NAME = "trigger-500";

const REST = "/restmachine/";
const GUEST_REFUSAL =
  "NO VALID AUTHORIZATION KEY GIVEN, use get param called key (check key probably auth error).";
const ACCESS_DENIED_PAGE =
  "<!DOCTYPE html><html><head><title>Access Denied</title></head><body><h1>Access Denied</h1>" +
  "<p>You are not allowed to access this page. Please log in with a user that has access.</p></body></html>";
const PAGE_NOT_FOUND =
  "<!DOCTYPE html><html><head><title>Page not found</title></head><body><h1>Page not found</h1></body></html>";

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

/** How a call ended: its value, or a failure; `refused` when the portal's own exception raised it. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: string; refused: boolean };

interface Task {
  /** When the work ends (epoch ms); the result is kept `taskResultTtlSeconds` after that. Never: Infinity. */
  doneAt: number;
  outcome: Outcome;
  /** Polls still to answer 404 because the task is not registered yet (`unknownTaskPolls`). */
  unknownPolls: number;
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
 * OpenvCloud Cloud API and an ItsYou.online endpoint on one loopback server (upstreams.md section 4). The
 * identity provider is itsyouonline.ts, the seeded data seed.ts; this module is the portal.
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

  readonly #itsYouOnline: ItsYouOnline;
  readonly #methods = new Map<string, ActorMethod>();
  readonly #locations: Location[] = seedLocations();
  readonly #accounts = new Map<number, Account>();
  readonly #cloudspaces = new Map<number, Cloudspace>();
  readonly #machines = new Map<number, Machine>();
  readonly #images = new Map<number, Image>();
  readonly #sizes: Size[] = seedSizes();
  readonly #sessions = new Map<string, { user: string; expiresAt: number }>();
  readonly #issued: string[] = [];
  readonly #tasks = new Map<string, Task>();
  readonly #publicHosts = new Map<string, number>();
  #crashes = 0;

  constructor() {
    super();
    this.#itsYouOnline = new ItsYouOnline(this, {
      issued: (secret) => this.#issued.push(secret),
      loggedIn: () => {
        this.logins += 1;
      },
    });
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

  /** Successful ItsYou.online `jwt/refresh` calls. */
  get refreshes(): number {
    return this.#itsYouOnline.refreshes;
  }

  /** The ItsYou.online ES384 public key (SPKI PEM) that OpenvCloud verifies JWTs against. */
  get publicKeyPem(): string {
    return this.#itsYouOnline.publicKeyPem;
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
    this.#itsYouOnline.expireJwts();
    for (const session of this.#sessions.values()) session.expiresAt = 0;
  }

  /** ItsYou.online forgets every refresh token: `jwt/refresh` answers 401 from now. */
  revokeRefreshTokens(): void {
    this.#itsYouOnline.revokeRefreshTokens();
  }

  /**
   * A JWT as ItsYou.online would issue it to the admin's client (for a fixed `OVC_JWT`), without a
   * login being counted. `offline` adds a refresh token; `username` mints one for another user.
   */
  mintJwt(options: { lifetimeSeconds?: number; offline?: boolean; username?: string } = {}): string {
    const scope = options.offline ? ["offline_access"] : [];
    return this.#itsYouOnline.issueJwt(
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
    if (path.startsWith(`${IYO}/`)) return this.#itsYouOnline.handle(request, path);
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
      return render(request, guid, params.format);
    }
    try {
      const value = this.#invoke(method, params, user);
      return value instanceof RawAnswer ? value.response : render(request, value, params.format);
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
      const claims = this.#itsYouOnline.verify(auth.value, false);
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
    const args = validate(method.params, params);
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
