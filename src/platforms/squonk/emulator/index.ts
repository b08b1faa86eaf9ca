import {
  createHash,
  createHmac,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  randomUUID,
  sign,
  timingSafeEqual,
  verify,
} from "node:crypto";
import { STATUS_CODES } from "node:http";
import {
  authorization,
  Emulator,
  type EmulatorResponse,
  type RecordedRequest,
} from "../../../sandbox/emulator.js";

/**
 * Sandbox credentials: the emulator accepts these, and `--sandbox` configures them. The password holds
 * `+&%=/` and a space so that a client which does not URL-encode the token form (the public Python
 * client's bug, upstreams.md section 3) fails here as it would against a real Keycloak.
 */
export const SQUONK_SANDBOX = {
  realm: "squonk",
  dmClientId: "data-manager-api-sandbox",
  asClientId: "account-server-api-sandbox",
  /** Required only while `confidentialClients` is on; both clients share it (one env variable). */
  clientSecret: "sandbox-squonk-client-secret",
  username: "sandbox-user",
  password: "sq+uo&nk%2=/ sandbox",
  /** The only `application_id` the DM accepts for jobs (upstreams.md, `start_job_instance`). */
  applicationId: "datamanagerjobs.squonk.it",
} as const;

/** Ids of the seeded data, for tests and the demo. */
export const SQUONK_SEED = {
  organisationId: "org-2c7d9e41-6a3b-4f58-b1e2-93d4c5a6f701",
  units: {
    medchem: "unit-5e1a7c93-0b2d-4e6f-8a19-c3d4e5f60712",
    compchem: "unit-8b3f2d10-7c4e-4a95-9d61-e2f3a4b5c823",
  },
  products: {
    kinaseTier: "product-1d4e7a20-93b5-4c6f-8e12-a7b8c9d0e134",
    dockingTier: "product-6f2b8c31-4d7e-4a90-b5c3-d8e9f0a1b245",
    referenceTier: "product-9a5c1e42-8f3d-4b6a-9c24-e1f2a3b4c356",
    storage: "product-3e7d4f53-2a1b-4c8e-8d35-f2a3b4c5d467",
  },
  projects: {
    /** Sandbox user is administrator and editor; many files under `/`, `/data`, `/data/raw`. */
    kinase: "project-0a6e2b54-7d3c-4f19-8b46-a3b4c5d6e578",
    /** Private; sandbox user is administrator and editor. */
    docking: "project-4c8f3d65-1e2a-4b7d-9c57-b4c5d6e7f689",
    /** Owned by mkowalski; the sandbox user is only an observer, so launching there is refused (403). */
    reference: "project-7e1a4f76-5b3c-4d8e-8a68-c5d6e7f8a79a",
  },
  jobs: { nop: 1, eventTest: 2, nopFail: 3, picker100: 4, picker110: 5, legacySleep: 6 },
  instances: {
    pickerCompleted: "instance-b2d4f6a8-1c3e-4f5a-9b7d-0e2f4a6c8e01",
    nopCompleted: "instance-d4f6a8c0-3e5a-4b7c-8d9f-2a4c6e8a0b03",
    pickerFailed: "instance-f6a8c0e2-5a7c-4d9e-8f1b-4c6e8a0c2d05",
    nopFailed: "instance-18ace024-7c9e-4f1a-8b3d-6e8a0c2e4f07",
    eventsRunning: "instance-3ace0246-9eaf-4b3c-8d5f-8a0c2e4a6b09",
    referenceCompleted: "instance-5ce02468-b1c3-4d5e-8f7b-0c2e4a6c8d11",
  },
  tasks: {
    pickerCompleted: "task-c3e5a7b9-2d4f-4a6b-8c8e-1f3a5b7d9f02",
    nopCompleted: "task-e5a7c9d1-4f6b-4c8d-9eaf-3b5d7f9b1c04",
    pickerFailed: "task-a7c9e1f3-6b8d-4eaf-9a2c-5d7f9b1d3e06",
    nopFailed: "task-29bdf135-8daf-4a2b-9c4e-7f9b1d3f5a08",
    eventsRunning: "task-4bdf1357-afb1-4c4d-9e6a-9b1d3f5b7c10",
    referenceCompleted: "task-6df13579-c2d4-4e6f-9a8c-1d3f5b7d9e12",
  },
} as const;

const KEYCLOAK = "/auth";
const DM = "/data-manager-api";
const AS = "/account-server-api";
/** Emulator's choice: upstreams.md gives no version numbers. */
const DM_VERSION = "4.1.0";
const AS_VERSION = "3.2.0";
const USER = SQUONK_SANDBOX.username;
const COLLEAGUE = "mkowalski";
const USER_PROFILE = {
  sub: "7c1e2f44-3b9a-4d6e-8f21-5a0b9c3d7e18",
  email: "sandbox-user@squonk.example.com",
  given_name: "Sandbox",
  family_name: "User",
};
/** Stock Keycloak answers without `openid` in the request: the default client scopes. */
const SCOPE = "profile email";
const INVALID_CLIENT = "Invalid client or Invalid client credentials";

// ---------------------------------------------------------------------------------------------------------
// Seed data

interface SeedFile {
  path: string;
  owner: string;
  size: number;
  modified: string;
  mime?: string;
  /** Managed (dataset-backed) files carry a file id and are immutable. */
  fileId?: string;
}

interface Project {
  project_id: string;
  name: string;
  created: string;
  creator: string;
  administrators: string[];
  editors: string[];
  observers: string[];
  private: boolean;
  product_id: string;
  unit_id: string;
  organisation_id: string;
  files: SeedFile[];
}

interface VariableSpec {
  title: string;
  type: "string" | "integer" | "number" | "boolean" | "file";
  default?: string | number | boolean;
  minimum?: number;
  maximum?: number;
  mime?: string[];
}

interface JobDef {
  id: number;
  collection: string;
  job: string;
  version: string;
  name: string;
  category: string;
  description: string;
  keywords: string[];
  doc_url: string;
  image_name: string;
  image_tag: string;
  command: string;
  exchange_rate: string;
  inputs: Record<string, VariableSpec>;
  options: Record<string, VariableSpec>;
  required: string[];
  /** The option naming the file the job writes, relative to the project root. */
  output?: { variable: string; title: string; mime: string; bytesPerItem: number; countVariable: string };
  /** Always ends with exit code 1 (the seeded failing job). */
  fails?: boolean;
  disabled?: string;
  replaces?: { collection: string; job: string; version: string }[];
  replaced_by?: { collection: string; job: string; version: string }[];
}

type Variables = Record<string, string | number | boolean>;

interface Instance {
  id: string;
  taskId: string;
  name: string;
  projectId: string;
  owner: string;
  job: JobDef;
  /** Variables after defaults were applied. */
  variables: Variables;
  specification: string;
  launchedAt: number;
  /** Durations captured at launch, so that changing the emulator's settings never rewinds a run. */
  pendingMs: number;
  runningMs: number;
  /** Why the run fails, decided at launch (a failing job, an input file that is not there). */
  failure?: string;
  deletedAt?: number;
  deleteTaskId?: string;
}

interface DeleteTask {
  id: string;
  instance: Instance;
  createdAt: number;
}

interface Product {
  product_id: string;
  name: string;
  type: string;
  flavour?: string;
  unit_id: string;
  organisation_id: string;
  created: string;
  coins: { allowance: number; limit: number; used: number };
}

interface Unit {
  unit_id: string;
  name: string;
  organisation_id: string;
  billing_day: number;
  owner: string;
  created: string;
}

const PRODUCT_TYPES = ["DATA_MANAGER_PROJECT_TIER_SUBSCRIPTION", "DATA_MANAGER_STORAGE_SUBSCRIPTION"];
const FLAVOURS = ["BRONZE", "SILVER", "GOLD"];

// ---------------------------------------------------------------------------------------------------------
// Keycloak state

interface Session {
  id: string;
  clientId: string;
  revoked: boolean;
}

interface IssuedToken {
  kind: "access" | "refresh";
  /** Epoch ms; `expireCredentials()` pulls it to now. */
  expiresAt: number;
  sessionId: string;
  clientId: string;
}

interface Jwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

const ok = (body: unknown, status = 200): EmulatorResponse => ({ status, body });
/** DM and AS errors: `DmError {error: string}` (upstreams.md, js typedoc). */
const apiError = (status: number, error: string): EmulatorResponse => ({ status, body: { error } });
const notAllowed = (method: string, route: string) =>
  apiError(405, `Method ${method} is not allowed for ${route}`);
/** Keycloak's OAuth error body, with the no-store headers it sends on every token answer. */
const kcError = (status: number, error: string, error_description: string): EmulatorResponse => ({
  status,
  body: { error, error_description },
  headers: { "cache-control": "no-store", pragma: "no-cache" },
});

const iso = (ms: number) => new Date(ms).toISOString();

/** Python's `str(timedelta)`: the DM is a Python service (emulator's choice of `run_time` format). */
function pythonTimedelta(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const micros = Math.max(0, Math.round(ms - total * 1000) * 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const base = `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return micros === 0 ? base : `${base}.${String(micros).padStart(6, "0")}`;
}

function parseFlag(value: string | undefined, name: string): boolean | EmulatorResponse {
  if (value === undefined || value === "") return false;
  const lower = value.toLowerCase();
  // requests sends Python booleans as "True"/"False".
  if (["true", "1", "yes"].includes(lower)) return true;
  if (["false", "0", "no"].includes(lower)) return false;
  return apiError(400, `${name} must be true or false, not '${value}'`);
}

function parseInteger(
  value: string | undefined,
  name: string,
  min: number,
  fallback: number,
): number | EmulatorResponse {
  if (value === undefined || value === "") return fallback;
  if (!/^-?\d+$/.test(value)) return apiError(400, `${name} must be an integer, not '${value}'`);
  const number = Number(value);
  if (number < min) return apiError(400, `${name} must be >= ${min}`);
  return number;
}

/** Reads `multipart/form-data` text fields (files are ignored: no route here takes uploads). */
function parseMultipart(body: string, contentType: string): Record<string, string> | undefined {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (boundary === undefined) return undefined;
  const fields: Record<string, string> = {};
  for (const part of body.split(`--${boundary}`)) {
    const split = part.indexOf("\r\n\r\n");
    if (split < 0) continue;
    const head = part.slice(0, split);
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    if (name === undefined || /filename=/i.test(head)) continue;
    fields[name] = part.slice(split + 4).replace(/\r\n$/, "");
  }
  return fields;
}

function normalisePath(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

function parentOf(path: string): string {
  const index = path.lastIndexOf("/");
  return index <= 0 ? "/" : path.slice(0, index);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

// ---------------------------------------------------------------------------------------------------------

/**
 * Squonk2 (upstreams.md section 3) on one loopback server: Keycloak under `/auth`, the Data Manager under
 * `/data-manager-api` and the Account Server under `/account-server-api`.
 *
 * Keycloak: realm `squonk`, the password and refresh_token grants (form-encoded only, decoded with
 * URLSearchParams), RS256 access tokens (`azp` = the client), HS256 refresh tokens, stock error bodies.
 * The DM and AS verify the bearer JWT themselves (signature, expiry, `azp` of their own client).
 *
 * Seed (ids in `SQUONK_SEED`, all dates fixed except the running instance):
 * - projects: "Kinase fragment screen" (sandbox-user admin/editor; `/README.md`, hidden `/.notes.txt`,
 *   `/screen-summary.csv`, `/data/*` (3 files), `/data/raw/*` (candidates.sdf, README.txt,
 *   plate-01..10.sdf), `/results/diverse-50.sdf` written by the completed picker run), "PLpro docking
 *   campaign" (private, sandbox-user admin/editor), "Shared reference sets" (mkowalski's; sandbox-user
 *   only observes it, so launching there gives 403).
 * - jobs: 1 im-test/nop/1.0.0, 2 im-test/event-test/1.0.0 (`eventCount` events, default 10),
 *   3 im-test/nop-fail/1.0.0 (always FAILED, exit code 1), 4 rdkit/max-min-picker/1.0.0 (replaced by 5),
 *   5 rdkit/max-min-picker/1.1.0 (`inputFile`, `count` required; `outputFile`, `seed` optional; a missing
 *   input file makes the run FAILED), 6 im-test/legacy-sleep/0.9.0 (disabled: launching gives 400).
 * - instances: picker COMPLETED, nop COMPLETED, picker FAILED (missing input), nop-fail FAILED (docking
 *   project), event-test RUNNING for 4 hours from construction (400 events), a COMPLETED nop of
 *   mkowalski's in the reference project (deleting it gives 403).
 * - AS: one organisation, units "Medicinal Chemistry" (billing day 3) and "Computational Chemistry"
 *   (17), three project-tier products (one per project) and one storage product.
 */
export class SquonkEmulator extends Emulator {
  /** Lifetime of access tokens; Keycloak's default is 300 s. */
  accessTokenLifetimeSeconds = 300;
  /** Lifetime of refresh tokens (`refresh_expires_in`); Keycloak's default SSO idle time is 1800 s. */
  refreshTokenLifetimeSeconds = 1800;
  /** How long a new instance stays PENDING. Captured at launch. */
  pendingMs = 800;
  /** How long a new instance stays RUNNING before it ends. Captured at launch. */
  runningMs = 2500;
  /** When true, both Keycloak clients are confidential and require `client_secret`. */
  confidentialClients = false;
  /**
   * The key that wraps AS lists (TOOLS.md section 5: the real key is unknown). `undefined`: the
   * resource's plural (`products`, `units`, `organisations`) beside `count`; a string: that key beside
   * `count`; `null`: a bare JSON array.
   */
  asListKey: string | null | undefined = undefined;
  /** Successful password grants. */
  passwordGrants = 0;
  /** Successful refresh_token grants. */
  refreshGrants = 0;
  /** DM and AS requests refused with 401 (missing, invalid, expired or foreign token). */
  refusals = 0;

  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #kid: string;
  readonly #refreshSecret = randomBytes(32);
  readonly #sessions = new Map<string, Session>();
  readonly #tokens = new Map<string, IssuedToken>(); // jti -> record
  readonly #issued: string[] = [];
  readonly #projects = new Map<string, Project>();
  readonly #jobs = new Map<number, JobDef>();
  readonly #instances = new Map<string, Instance>();
  readonly #deleteTasks = new Map<string, DeleteTask>();
  readonly #products = new Map<string, Product>();
  readonly #units = new Map<string, Unit>();

  constructor() {
    super();
    const { privateKey, publicKey, kid } = realmKeys();
    this.#privateKey = privateKey;
    this.#publicKey = publicKey;
    this.#kid = kid;
    for (const job of seedJobs()) this.#jobs.set(job.id, job);
    for (const project of seedProjects()) this.#projects.set(project.project_id, project);
    for (const unit of seedUnits()) this.#units.set(unit.unit_id, unit);
    for (const product of seedProducts()) this.#products.set(product.product_id, product);
    this.#seedInstances();
  }

  /** Successful logins of both grants. */
  get logins(): number {
    return this.passwordGrants + this.refreshGrants;
  }

  /** The variables that point infra-mcp at this emulator with the sandbox credentials (after `start()`). */
  sandboxEnv(): Record<string, string> {
    const env: Record<string, string> = {
      SQUONK2_DMAPI_URL: `${this.url}${DM}`,
      SQUONK2_ASAPI_URL: `${this.url}${AS}`,
      SQUONK2_KEYCLOAK_URL: `${this.url}${KEYCLOAK}`,
      SQUONK2_KEYCLOAK_REALM: SQUONK_SANDBOX.realm,
      SQUONK2_KEYCLOAK_DM_CLIENT_ID: SQUONK_SANDBOX.dmClientId,
      SQUONK2_KEYCLOAK_AS_CLIENT_ID: SQUONK_SANDBOX.asClientId,
      SQUONK2_USERNAME: SQUONK_SANDBOX.username,
      SQUONK2_PASSWORD: SQUONK_SANDBOX.password,
    };
    if (this.confidentialClients) env.SQUONK2_KEYCLOAK_CLIENT_SECRET = SQUONK_SANDBOX.clientSecret;
    return env;
  }

  /** Every access and refresh token issued so far, oldest first (canaries for redaction tests). */
  issuedTokens(): string[] {
    return [...this.#issued];
  }

  /** Every access and refresh token issued so far expires now; new logins work as usual. */
  expireCredentials(): void {
    const now = Date.now();
    for (const record of this.#tokens.values()) record.expiresAt = Math.min(record.expiresAt, now);
  }

  /** Every session so far is logged out: its refresh tokens are refused; access tokens live on. */
  revokeRefreshTokens(): void {
    for (const session of this.#sessions.values()) session.revoked = true;
  }

  protected faultBody(status: number): unknown {
    return { error: STATUS_CODES[status] ?? `HTTP ${status}` };
  }

  protected handle(request: RecordedRequest): EmulatorResponse {
    const { path } = request;
    if (path === KEYCLOAK || path.startsWith(`${KEYCLOAK}/`)) return this.#keycloak(request);
    if (path === DM || path.startsWith(`${DM}/`)) return this.#dataManager(request, path.slice(DM.length));
    if (path === AS || path.startsWith(`${AS}/`)) return this.#accountServer(request, path.slice(AS.length));
    return apiError(404, `Not Found: ${path}`);
  }

  // -------------------------------------------------------------------------------------------------------
  // Keycloak

  #issuer(): string {
    return `${this.url}${KEYCLOAK}/realms/${SQUONK_SANDBOX.realm}`;
  }

  #publicKeyDer(): Buffer {
    return this.#publicKey.export({ type: "spki", format: "der" });
  }

  #keycloak(request: RecordedRequest): EmulatorResponse {
    const { method } = request;
    const match = /^\/auth\/realms\/([^/]+)(\/.*)?$/.exec(request.path);
    // RESTEasy's answer for a path with no resource behind it (stock Keycloak).
    if (match === null) return apiError(404, "Unable to find matching target resource method");
    if (match[1] !== SQUONK_SANDBOX.realm) return apiError(404, "Realm does not exist");
    const rest = match[2] ?? "";
    const issuer = this.#issuer();
    switch (rest) {
      case "":
      case "/":
        if (method !== "GET") return apiError(405, "HTTP 405 Method Not Allowed");
        return ok({
          realm: SQUONK_SANDBOX.realm,
          public_key: this.#publicKeyDer().toString("base64"),
          "token-service": `${issuer}/protocol/openid-connect`,
          "account-service": `${issuer}/account`,
          "tokens-not-before": 0,
        });
      case "/protocol/openid-connect/token":
        return method === "POST" ? this.#token(request) : apiError(405, "HTTP 405 Method Not Allowed");
      case "/protocol/openid-connect/certs": {
        if (method !== "GET") return apiError(405, "HTTP 405 Method Not Allowed");
        const jwk = this.#publicKey.export({ format: "jwk" });
        return ok({ keys: [{ kid: this.#kid, kty: "RSA", alg: "RS256", use: "sig", n: jwk.n, e: jwk.e }] });
      }
      case "/.well-known/openid-configuration":
        if (method !== "GET") return apiError(405, "HTTP 405 Method Not Allowed");
        return ok({
          issuer,
          token_endpoint: `${issuer}/protocol/openid-connect/token`,
          jwks_uri: `${issuer}/protocol/openid-connect/certs`,
          grant_types_supported: ["password", "refresh_token"],
          id_token_signing_alg_values_supported: ["RS256"],
        });
      default:
        return apiError(404, "Unable to find matching target resource method");
    }
  }

  #token(request: RecordedRequest): EmulatorResponse {
    // The token endpoint consumes only application/x-www-form-urlencoded; emulator's choice of the
    // 400 invalid_request answer (the brief's) over RESTEasy's bare 415.
    if (!request.contentType?.toLowerCase().includes("application/x-www-form-urlencoded")) {
      return kcError(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded");
    }
    // Decoded exactly as a servlet container would: `+` is a space, `%XX` a byte, `&` and `=` split.
    // A client that does not encode the sandbox password therefore sends a different password.
    const params = new URLSearchParams(request.body);
    for (const key of new Set(params.keys())) {
      if (params.getAll(key).length > 1) return kcError(400, "invalid_request", "duplicated parameter");
    }
    const grantType = params.get("grant_type");
    if (!grantType) return kcError(400, "invalid_request", "Missing form parameter: grant_type");
    if (grantType !== "password" && grantType !== "refresh_token") {
      return kcError(400, "unsupported_grant_type", "Unsupported grant_type");
    }
    const clientId = params.get("client_id");
    if (!clientId) return kcError(400, "invalid_request", "Missing parameter: client_id");
    if (clientId !== SQUONK_SANDBOX.dmClientId && clientId !== SQUONK_SANDBOX.asClientId) {
      return kcError(401, "invalid_client", INVALID_CLIENT);
    }
    // A public client ignores any secret it is sent (stock Keycloak); a confidential one requires it. An
    // unknown client is `invalid_client`, a missing or wrong secret `unauthorized_client` (Keycloak's
    // ClientIdAndSecretAuthenticator), so that a client can tell the user which setting is wrong.
    if (this.confidentialClients) {
      const given = params.get("client_secret");
      if (given === null) return kcError(400, "unauthorized_client", "Client secret not provided in request");
      const secret = Buffer.from(given);
      const expected = Buffer.from(SQUONK_SANDBOX.clientSecret);
      if (secret.length !== expected.length || !timingSafeEqual(secret, expected)) {
        return kcError(401, "unauthorized_client", INVALID_CLIENT);
      }
    }
    return grantType === "password"
      ? this.#passwordGrant(params, clientId)
      : this.#refreshGrant(params, clientId);
  }

  #passwordGrant(params: URLSearchParams, clientId: string): EmulatorResponse {
    const username = params.get("username");
    const password = params.get("password");
    if (!username) return kcError(400, "invalid_request", "Missing parameter: username");
    if (password === null) return kcError(400, "invalid_request", "Missing parameter: password");
    // Keycloak stores usernames in lower case and matches them case-insensitively.
    if (username.toLowerCase() !== USER || password !== SQUONK_SANDBOX.password) {
      return kcError(401, "invalid_grant", "Invalid user credentials");
    }
    const session: Session = { id: randomUUID(), clientId, revoked: false };
    this.#sessions.set(session.id, session);
    this.passwordGrants += 1;
    return this.#grant(session);
  }

  #refreshGrant(params: URLSearchParams, clientId: string): EmulatorResponse {
    const token = params.get("refresh_token");
    if (!token) return kcError(400, "invalid_request", "Missing parameter: refresh_token");
    const jwt = decodeJwt(token);
    const valid =
      jwt !== undefined &&
      jwt.header.alg === "HS256" &&
      timingSafeEqualBuffers(
        jwt.signature,
        createHmac("sha256", this.#refreshSecret).update(jwt.signingInput).digest(),
      ) &&
      jwt.payload.typ === "Refresh";
    const jti = valid ? String(jwt.payload.jti) : "";
    const record = this.#tokens.get(jti);
    if (!valid || record?.kind !== "refresh") return kcError(400, "invalid_grant", "Invalid refresh token");
    if (record.clientId !== clientId) {
      return kcError(
        400,
        "invalid_grant",
        "Invalid refresh token. Token client and authorized client don't match",
      );
    }
    const session = this.#sessions.get(record.sessionId);
    if (Date.now() >= record.expiresAt || session === undefined || session.revoked) {
      return kcError(400, "invalid_grant", "Token is not active");
    }
    // Emulator's choice, as stock Keycloak ("Revoke Refresh Token" off): the old refresh token stays
    // valid until its own expiry, and each refresh hands out a new one.
    this.refreshGrants += 1;
    return this.#grant(session);
  }

  #grant(session: Session): EmulatorResponse {
    const iat = Math.floor(Date.now() / 1000);
    const accessExp = iat + this.accessTokenLifetimeSeconds;
    const refreshExp = iat + this.refreshTokenLifetimeSeconds;
    const issuer = this.#issuer();
    const accessJti = randomUUID();
    const access = this.#signRs256({
      exp: accessExp,
      iat,
      jti: accessJti,
      iss: issuer,
      aud: "account",
      sub: USER_PROFILE.sub,
      typ: "Bearer",
      azp: session.clientId,
      session_state: session.id,
      sid: session.id,
      acr: "1",
      realm_access: { roles: ["offline_access", "uma_authorization", "default-roles-squonk"] },
      scope: SCOPE,
      email_verified: true,
      name: `${USER_PROFILE.given_name} ${USER_PROFILE.family_name}`,
      preferred_username: USER,
      given_name: USER_PROFILE.given_name,
      family_name: USER_PROFILE.family_name,
      email: USER_PROFILE.email,
    });
    const refreshJti = randomUUID();
    const refresh = this.#signHs256({
      exp: refreshExp,
      iat,
      jti: refreshJti,
      iss: issuer,
      aud: issuer,
      sub: USER_PROFILE.sub,
      typ: "Refresh",
      azp: session.clientId,
      session_state: session.id,
      sid: session.id,
      scope: SCOPE,
    });
    const base = { sessionId: session.id, clientId: session.clientId };
    this.#tokens.set(accessJti, { kind: "access", expiresAt: accessExp * 1000, ...base });
    this.#tokens.set(refreshJti, { kind: "refresh", expiresAt: refreshExp * 1000, ...base });
    this.#issued.push(access, refresh);
    return {
      status: 200,
      body: {
        access_token: access,
        expires_in: this.accessTokenLifetimeSeconds,
        refresh_expires_in: this.refreshTokenLifetimeSeconds,
        refresh_token: refresh,
        token_type: "Bearer",
        "not-before-policy": 0,
        session_state: session.id,
        scope: SCOPE,
      },
      headers: { "cache-control": "no-store", pragma: "no-cache" },
    };
  }

  #signRs256(payload: Record<string, unknown>): string {
    const input = jwtInput({ alg: "RS256", typ: "JWT", kid: this.#kid }, payload);
    return `${input}.${sign("sha256", Buffer.from(input), this.#privateKey).toString("base64url")}`;
  }

  /** Keycloak signs refresh tokens with the realm's HMAC key, which no client can check (emulator's choice). */
  #signHs256(payload: Record<string, unknown>): string {
    const input = jwtInput({ alg: "HS256", typ: "JWT", kid: "refresh" }, payload);
    return `${input}.${createHmac("sha256", this.#refreshSecret).update(input).digest("base64url")}`;
  }

  /**
   * Checks the bearer token the way a resource server does: signature with the realm key, `typ`,
   * expiry (including `expireCredentials()`), and `azp` naming this API's own client. Undefined when
   * the token is good; the DM/AS 401 answer otherwise (messages are the emulator's choice).
   */
  #authenticate(request: RecordedRequest, clientId: string): EmulatorResponse | undefined {
    const refuse = (message: string) => {
      this.refusals += 1;
      return apiError(401, message);
    };
    const auth = authorization(request);
    if (auth === undefined || auth.scheme !== "bearer" || auth.value === "") {
      return refuse("Not authenticated: an 'Authorization: Bearer <token>' header is required");
    }
    const jwt = decodeJwt(auth.value);
    const signed =
      jwt !== undefined &&
      jwt.header.alg === "RS256" &&
      verify("sha256", Buffer.from(jwt.signingInput), this.#publicKey, jwt.signature);
    const record = signed ? this.#tokens.get(String(jwt.payload.jti)) : undefined;
    if (!signed || record?.kind !== "access" || jwt.payload.typ !== "Bearer") {
      return refuse("Invalid token: the signature or format is not valid");
    }
    if (Date.now() >= record.expiresAt) return refuse("Token has expired");
    if (jwt.payload.azp !== clientId) {
      return refuse(`Token was issued to client '${String(jwt.payload.azp)}', not to '${clientId}'`);
    }
    return undefined;
  }

  // -------------------------------------------------------------------------------------------------------
  // Data Manager

  #dataManager(request: RecordedRequest, route: string): EmulatorResponse {
    const { method } = request;
    if (route === "/version")
      return method === "GET" ? ok({ version: DM_VERSION }) : notAllowed(method, route);
    const denied = this.#authenticate(request, SQUONK_SANDBOX.dmClientId);
    if (denied) return denied;
    let form: Record<string, string> = {};
    if (method === "POST" || method === "PUT" || method === "PATCH") {
      const parsed = dmForm(request);
      if ("status" in parsed) return parsed;
      form = parsed.form;
    }
    const { query } = request;
    const is = (expected: string) => (method === expected ? undefined : notAllowed(method, route));

    if (route === "/account-server/namespace") return is("GET") ?? ok({ namespace: "squonk2-sandbox" });
    if (route === "/account-server/registration") {
      return (
        is("GET") ??
        ok({ merchant_id: 1, name: "sandbox-data-manager", registered: "2024-10-01T08:00:00.000Z" })
      );
    }
    if (route === "/project") return is("GET") ?? this.#listProjects(query.project_name);
    const projectPath = /^\/project\/([^/]+)$/.exec(route);
    if (projectPath) {
      if (method !== "GET") return notAllowed(method, route);
      const project = this.#visibleProject(projectPath[1] as string);
      return project === undefined
        ? projectNotFound(projectPath[1] as string)
        : ok(this.#projectDetail(project));
    }
    if (route === "/file") return is("GET") ?? this.#listFiles(query);
    if (route === "/job") return is("GET") ?? this.#listJobs(query.project_id);
    if (route === "/job/get-by-version") return is("GET") ?? this.#jobByVersion(query);
    const jobPath = /^\/job\/([^/]+)$/.exec(route);
    if (jobPath) {
      if (method !== "GET") return notAllowed(method, route);
      const raw = jobPath[1] as string;
      if (!/^\d+$/.test(raw)) return apiError(400, `job_id must be an integer, not '${raw}'`);
      if (query.project_id !== undefined && this.#visibleProject(query.project_id) === undefined)
        return projectNotFound(query.project_id);
      const job = this.#jobs.get(Number(raw));
      return job === undefined ? apiError(404, `Job ${raw} does not exist`) : ok(jobDetail(job));
    }
    if (route === "/instance") {
      if (method === "GET") return this.#listInstances(query.project_id);
      if (method === "POST") return this.#launch(form, false);
      return notAllowed(method, route);
    }
    if (route === "/instance/dry-run") return is("POST") ?? this.#launch(form, true);
    const instancePath = /^\/instance\/([^/]+)$/.exec(route);
    if (instancePath) {
      const id = instancePath[1] as string;
      const instance = this.#instances.get(id);
      const visible =
        instance !== undefined &&
        instance.deletedAt === undefined &&
        this.#visibleProject(instance.projectId);
      if (method !== "GET" && method !== "DELETE") return notAllowed(method, route);
      if (!visible) return apiError(404, `Instance ${id} does not exist`);
      return method === "GET" ? ok(this.#instanceDetail(instance, false)) : this.#deleteInstance(instance);
    }
    if (route === "/task") return is("GET") ?? this.#listTasks(query);
    const taskPath = /^\/task\/([^/]+)$/.exec(route);
    if (taskPath) return is("GET") ?? this.#getTask(taskPath[1] as string, query);
    return apiError(404, `Not Found: ${method} ${DM}${route}`);
  }

  #visibleProject(id: string): Project | undefined {
    const project = this.#projects.get(id);
    if (project === undefined) return undefined;
    const member = [...project.administrators, ...project.editors, ...project.observers].includes(USER);
    return member || !project.private ? project : undefined;
  }

  #listProjects(name: string | undefined): EmulatorResponse {
    // Emulator's choice: `project_name` matches the whole name exactly.
    const projects = [...this.#projects.values()]
      .filter((project) => this.#visibleProject(project.project_id))
      .filter((project) => name === undefined || name === "" || project.name === name)
      .map((project) => this.#projectDetail(project));
    return ok({ count: projects.length, projects });
  }

  #projectDetail(project: Project): Record<string, unknown> {
    const { files: _files, ...detail } = project;
    const size = this.#projectFiles(project).reduce((sum, file) => sum + file.size, 0);
    return {
      ...detail,
      administrators: [...detail.administrators],
      editors: [...detail.editors],
      observers: [...detail.observers],
      size,
    };
  }

  /** Seeded files plus the outputs of runs that have completed by now. */
  #projectFiles(project: Project): SeedFile[] {
    const now = Date.now();
    const outputs: SeedFile[] = [];
    for (const instance of this.#instances.values()) {
      const output = instance.job.output;
      if (instance.projectId !== project.project_id || output === undefined) continue;
      const progress = this.#progress(instance, now);
      if (progress.phase !== "COMPLETED" || progress.stoppedAt === undefined) continue;
      const count = Number(instance.variables[output.countVariable] ?? 1);
      outputs.push({
        path: `/${String(instance.variables[output.variable]).replace(/^\/+/, "")}`,
        owner: instance.owner,
        size: count * output.bytesPerItem,
        modified: iso(progress.stoppedAt),
        mime: output.mime,
      });
    }
    return [...project.files, ...outputs];
  }

  #listFiles(query: Record<string, string>): EmulatorResponse {
    const projectId = query.project_id;
    if (projectId === undefined || projectId === "") return apiError(400, "project_id is required");
    const project = this.#visibleProject(projectId);
    if (project === undefined) return projectNotFound(projectId);
    const raw = query.path ?? "/";
    if (!raw.startsWith("/")) return apiError(400, `The path must start with '/', not '${raw}'`);
    if (raw.split("/").includes("..")) return apiError(400, "The path must not contain '..'");
    const hidden = parseFlag(query.include_hidden, "include_hidden");
    if (typeof hidden !== "boolean") return hidden;
    const dir = normalisePath(raw);
    const prefix = dir === "/" ? "/" : `${dir}/`;
    const all = this.#projectFiles(project).filter((file) => file.path.startsWith(prefix));
    if (all.length === 0 && dir !== "/")
      return apiError(404, `The path '${dir}' does not exist in the project`);
    const shown = (name: string) => hidden || !name.startsWith(".");
    const files = all
      .filter((file) => parentOf(file.path) === dir && shown(baseName(file.path)))
      .sort((a, b) => a.path.localeCompare(b.path))
      .map((file) => {
        const entry: Record<string, unknown> = {
          file_name: baseName(file.path),
          owner: file.owner,
          stat: { size: file.size, modified: file.modified },
        };
        if (file.fileId !== undefined) {
          entry.immutable = true;
          entry.file_id = file.fileId;
        }
        if (file.mime !== undefined) entry.mime_type = file.mime;
        return entry;
      });
    const paths = [
      ...new Set(
        all
          .filter((file) => parentOf(file.path) !== dir)
          .map((file) => file.path.slice(prefix.length).split("/")[0] as string)
          .filter(shown),
      ),
    ].sort();
    return ok({ count: files.length, files, path: dir, paths, project_id: project.project_id });
  }

  #listJobs(projectId: string | undefined): EmulatorResponse {
    if (projectId !== undefined && projectId !== "" && this.#visibleProject(projectId) === undefined)
      return projectNotFound(projectId);
    const jobs = [...this.#jobs.values()].map(jobSummary);
    return ok({ count: jobs.length, jobs });
  }

  #jobByVersion(query: Record<string, string>): EmulatorResponse {
    for (const name of ["collection", "job", "version"]) {
      if (!query[name]) return apiError(400, `${name} is required`);
    }
    if (query.project_id !== undefined && this.#visibleProject(query.project_id) === undefined)
      return projectNotFound(query.project_id);
    const found = this.#findJob(query.collection as string, query.job as string, query.version as string);
    return typeof found === "string" ? apiError(404, found) : ok(jobDetail(found));
  }

  /** The job, or why there is none (naming the versions that do exist). */
  #findJob(collection: string, job: string, version: string): JobDef | string {
    const candidates = [...this.#jobs.values()].filter((j) => j.collection === collection && j.job === job);
    const found = candidates.find((j) => j.version === version);
    if (found !== undefined) return found;
    if (candidates.length === 0) return `There is no job '${job}' in collection '${collection}'`;
    const versions = candidates.map((j) => j.version).join(", ");
    return `Job ${collection}/${job} has no version '${version}' (known versions: ${versions})`;
  }

  #launch(form: Record<string, string>, dryRun: boolean): EmulatorResponse {
    const applicationId = form.application_id;
    if (!applicationId) return apiError(400, "application_id is required");
    if (applicationId !== SQUONK_SANDBOX.applicationId) {
      return apiError(
        400,
        `Unknown application_id '${applicationId}' (jobs use '${SQUONK_SANDBOX.applicationId}')`,
      );
    }
    const projectId = form.project_id;
    if (!projectId) return apiError(400, "project_id is required");
    const project = this.#visibleProject(projectId);
    if (project === undefined) return projectNotFound(projectId);
    if (![...project.administrators, ...project.editors].includes(USER)) {
      return apiError(403, `You are not an editor of project ${projectId} and cannot run jobs in it`);
    }
    const name = form.as_name?.trim();
    if (!name) return apiError(400, "as_name is required");
    if (name.length > 80) return apiError(400, "as_name must be at most 80 characters");
    const callbackUrl = form.callback_url;
    if (callbackUrl !== undefined && callbackUrl !== "" && !/^https?:\/\/[^\s/]+/.test(callbackUrl)) {
      return apiError(400, `callback_url must be an http(s) URL, not '${callbackUrl}'`);
    }
    const rawSpec = form.specification;
    if (!rawSpec) return apiError(400, "specification is required for a job");
    let spec: unknown;
    try {
      spec = JSON.parse(rawSpec);
    } catch (error) {
      return apiError(400, `specification is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
      return apiError(400, "specification must be a JSON object with collection, job and version");
    }
    const { collection, job: jobName, version, variables } = spec as Record<string, unknown>;
    for (const [key, value] of Object.entries({ collection, job: jobName, version })) {
      if (typeof value !== "string" || value === "") {
        return apiError(400, `specification.${key} is required and must be a string`);
      }
    }
    const job = this.#findJob(collection as string, jobName as string, version as string);
    if (typeof job === "string") return apiError(400, job);
    if (job.disabled !== undefined) {
      return apiError(400, `Job ${jobKey(job)} is disabled: ${job.disabled}`);
    }
    const checked = checkVariables(job, variables);
    if (typeof checked === "string") return apiError(400, checked);
    const command = renderCommand(job, checked);
    if (dryRun) return ok({ command }, 201);

    const instance: Instance = {
      id: `instance-${randomUUID()}`,
      taskId: `task-${randomUUID()}`,
      name,
      projectId,
      owner: USER,
      job,
      variables: checked,
      specification: rawSpec,
      launchedAt: Date.now(),
      pendingMs: this.pendingMs,
      runningMs: this.runningMs,
    };
    const failure = this.#failureOf(project, job, checked);
    if (failure !== undefined) instance.failure = failure;
    this.#instances.set(instance.id, instance);
    return ok({ instance_id: instance.id, task_id: instance.taskId }, 201);
  }

  /** A run fails when its job always fails or when an input file is not in the project at launch. */
  #failureOf(project: Project, job: JobDef, variables: Variables): string | undefined {
    for (const name of Object.keys(job.inputs)) {
      const value = variables[name];
      if (value === undefined) continue;
      const path = `/${String(value).replace(/^\/+/, "")}`;
      if (!this.#projectFiles(project).some((file) => file.path === path)) {
        return `Input file '${String(value)}' does not exist in the project`;
      }
    }
    return job.fails ? "The job exited with code 1" : undefined;
  }

  #listInstances(projectId: string | undefined): EmulatorResponse {
    if (projectId !== undefined && projectId !== "" && this.#visibleProject(projectId) === undefined)
      return projectNotFound(projectId);
    const instances = [...this.#instances.values()]
      .filter((instance) => instance.deletedAt === undefined && this.#visibleProject(instance.projectId))
      .filter((instance) => !projectId || instance.projectId === projectId)
      .sort((a, b) => a.launchedAt - b.launchedAt)
      .map((instance) => this.#instanceDetail(instance, true));
    return ok({ count: instances.length, instances });
  }

  /** Where a run is at `now`, computed from its launch time and its captured durations. */
  #progress(
    instance: Instance,
    now: number,
  ): {
    phase: "PENDING" | "RUNNING" | "COMPLETED" | "FAILED";
    startedAt?: number;
    stoppedAt?: number;
    done: boolean;
    exitCode?: number;
  } {
    const startAt = instance.launchedAt + instance.pendingMs;
    const endAt = startAt + instance.runningMs;
    const deletedAt = instance.deletedAt;
    if (deletedAt !== undefined && deletedAt < endAt) {
      // Stopped by a delete: the container was killed (SIGTERM, exit code 143; emulator's choice).
      const started = startAt <= deletedAt ? { startedAt: startAt } : {};
      return { phase: "FAILED", ...started, stoppedAt: deletedAt, done: true, exitCode: 143 };
    }
    if (now < startAt) return { phase: "PENDING", done: false };
    if (now < endAt) return { phase: "RUNNING", startedAt: startAt, done: false };
    const failed = instance.failure !== undefined;
    return {
      phase: failed ? "FAILED" : "COMPLETED",
      startedAt: startAt,
      stoppedAt: endAt,
      done: true,
      exitCode: failed ? 1 : 0,
    };
  }

  #instanceDetail(instance: Instance, summary: boolean): Record<string, unknown> {
    const now = Date.now();
    const progress = this.#progress(instance, now);
    const { job } = instance;
    const tasks: { id: string; purpose: "CREATE" | "DELETE" }[] = [
      { id: instance.taskId, purpose: "CREATE" },
    ];
    if (instance.deleteTaskId !== undefined) tasks.push({ id: instance.deleteTaskId, purpose: "DELETE" });
    const detail: Record<string, unknown> = summary ? { id: instance.id } : {};
    Object.assign(detail, {
      application_id: SQUONK_SANDBOX.applicationId,
      application_type: "JOB",
      application_version: "v1",
      archived: false,
      has_valid_callback_token: false,
      launched: iso(instance.launchedAt),
      name: instance.name,
      owner: instance.owner,
      phase: progress.phase,
      project_id: instance.projectId,
      run_time: pythonTimedelta(
        progress.startedAt === undefined ? 0 : (progress.stoppedAt ?? now) - progress.startedAt,
      ),
      tasks,
      job_collection: job.collection,
      job_job: job.job,
      job_version: job.version,
      job_id: job.id,
      job_name: job.name,
      application_specification: instance.specification,
    });
    if (progress.startedAt !== undefined) detail.started = iso(progress.startedAt);
    if (progress.stoppedAt !== undefined) detail.stopped = iso(progress.stoppedAt);
    if (progress.phase === "FAILED" && instance.failure !== undefined)
      detail.error_message = instance.failure;
    if (job.output !== undefined) {
      detail.outputs = JSON.stringify({
        [job.output.variable]: {
          title: job.output.title,
          "mime-types": [job.output.mime],
          creates: `{{ ${job.output.variable} }}`,
          type: "file",
        },
      });
    }
    return detail;
  }

  #deleteInstance(instance: Instance): EmulatorResponse {
    if (instance.owner !== USER) {
      return apiError(403, `Only the instance owner (${instance.owner}) can delete instance ${instance.id}`);
    }
    // Emulator's choice: deletion is immediate (the instance is gone from GET at once) and its DELETE
    // task is already done; a run still in progress is stopped and its CREATE task ends in FAILURE.
    const task: DeleteTask = { id: `task-${randomUUID()}`, instance, createdAt: Date.now() };
    instance.deletedAt = task.createdAt;
    instance.deleteTaskId = task.id;
    this.#deleteTasks.set(task.id, task);
    return ok({ task_id: task.id });
  }

  #listTasks(query: Record<string, string>): EmulatorResponse {
    const projectId = query.project_id;
    if (projectId && this.#visibleProject(projectId) === undefined) return projectNotFound(projectId);
    const excludeDone = parseFlag(query.exclude_done, "exclude_done");
    if (typeof excludeDone !== "boolean") return excludeDone;
    const excludeRemoval = parseFlag(query.exclude_removal, "exclude_removal");
    if (typeof excludeRemoval !== "boolean") return excludeRemoval;
    const excludedPurposes = (query.exclude_purpose ?? "")
      .split(",")
      .map((purpose) => purpose.trim().toUpperCase())
      .filter(Boolean);
    const now = Date.now();
    const rows: { created: number; summary: Record<string, unknown> }[] = [];
    for (const instance of this.#instances.values()) {
      if (!this.#visibleProject(instance.projectId)) continue;
      if (projectId && instance.projectId !== projectId) continue;
      const progress = this.#progress(instance, now);
      rows.push({
        created: instance.launchedAt,
        summary: {
          id: instance.taskId,
          created: iso(instance.launchedAt),
          done: progress.done,
          ...(progress.exitCode === undefined ? {} : { exit_code: progress.exitCode }),
          purpose: "INSTANCE",
          purpose_id: instance.id,
          purpose_version: 1,
          removal: false,
          image: `${instance.job.image_name}:${instance.job.image_tag}`,
        },
      });
      const deletion =
        instance.deleteTaskId === undefined ? undefined : this.#deleteTasks.get(instance.deleteTaskId);
      if (deletion !== undefined) {
        rows.push({
          created: deletion.createdAt,
          summary: {
            id: deletion.id,
            created: iso(deletion.createdAt),
            done: true,
            exit_code: 0,
            purpose: "INSTANCE",
            purpose_id: instance.id,
            purpose_version: 1,
            removal: true,
          },
        });
      }
    }
    const tasks = rows
      .sort((a, b) => a.created - b.created)
      .map((row) => row.summary)
      .filter((task) => !(excludeDone && task.done === true))
      .filter((task) => !(excludeRemoval && task.removal === true))
      .filter((task) => !excludedPurposes.includes(String(task.purpose)));
    return ok({ count: tasks.length, tasks });
  }

  #getTask(id: string, query: Record<string, string>): EmulatorResponse {
    const limit = parseInteger(query.event_limit, "event_limit", 1, 500);
    if (typeof limit !== "number") return limit;
    const prior = parseInteger(query.event_prior_ordinal, "event_prior_ordinal", 0, 0);
    if (typeof prior !== "number") return prior;
    const now = Date.now();
    const page = (events: TaskEvent[]) =>
      events
        .filter((event) => event.ordinal > prior)
        .slice(0, limit)
        .map((event) => ({ ...event }));

    const deletion = this.#deleteTasks.get(id);
    if (deletion !== undefined && this.#visibleProject(deletion.instance.projectId)) {
      const at = iso(deletion.createdAt);
      return ok({
        created: at,
        done: true,
        exit_code: 0,
        purpose: "INSTANCE",
        purpose_id: deletion.instance.id,
        purpose_version: 1,
        removal: true,
        states: [
          { state: "PENDING", time: at, message: "Delete requested" },
          { state: "STARTED", time: at, message: "Deleting instance" },
          { state: "SUCCESS", time: at, message: "Instance deleted" },
        ],
        events: page([
          { level: "INFO", message: `Deleting instance '${deletion.instance.name}'`, ordinal: 1, time: at },
          { level: "INFO", message: "Instance deleted", ordinal: 2, time: at },
        ]),
      });
    }
    const instance = [...this.#instances.values()].find((candidate) => candidate.taskId === id);
    if (instance === undefined || !this.#visibleProject(instance.projectId)) {
      return apiError(404, `Task ${id} does not exist`);
    }
    const progress = this.#progress(instance, now);
    const states: { state: string; time: string; message: string }[] = [
      { state: "PENDING", time: iso(instance.launchedAt), message: "Waiting for the instance to start" },
    ];
    if (progress.startedAt !== undefined) {
      states.push({ state: "STARTED", time: iso(progress.startedAt), message: "Instance started" });
    }
    if (progress.done && progress.stoppedAt !== undefined) {
      const success = progress.exitCode === 0;
      states.push({
        state: success ? "SUCCESS" : "FAILURE",
        time: iso(progress.stoppedAt),
        message: success
          ? "Job completed"
          : instance.deletedAt !== undefined && progress.exitCode === 143
            ? "Instance deleted before the job finished"
            : (instance.failure ?? "Job failed"),
      });
    }
    const body: Record<string, unknown> = {
      created: iso(instance.launchedAt),
      done: progress.done,
      purpose: "INSTANCE",
      purpose_id: instance.id,
      purpose_version: 1,
      removal: false,
      image: `${instance.job.image_name}:${instance.job.image_tag}`,
      instance_specification: instance.specification,
      states,
      events: page(this.#events(instance, now)),
    };
    if (progress.exitCode !== undefined) body.exit_code = progress.exitCode;
    return ok(body);
  }

  /** The run's log as events, oldest first; ordinals are fixed, so pages stay stable as events appear. */
  #events(instance: Instance, now: number): TaskEvent[] {
    const { job, variables } = instance;
    const startAt = instance.launchedAt + instance.pendingMs;
    const endAt = startAt + instance.runningMs;
    const script: { level: string; message: string; at: number }[] = [
      { level: "INFO", message: `Launching ${jobKey(job)} as '${instance.name}'`, at: instance.launchedAt },
      {
        level: "INFO",
        message: `Pulling image ${job.image_name}:${job.image_tag}`,
        at: instance.launchedAt + instance.pendingMs / 2,
      },
      { level: "INFO", message: "Container started", at: startAt },
    ];
    const lines = jobLog(job, variables, instance.failure);
    lines.forEach((line, index) => {
      script.push({ ...line, at: startAt + ((index + 1) * instance.runningMs) / (lines.length + 1) });
    });
    script.push(
      instance.failure === undefined
        ? { level: "INFO", message: "Job finished (exit code 0)", at: endAt }
        : { level: "ERROR", message: `Job failed (exit code 1): ${instance.failure}`, at: endAt },
    );
    const cutoff = Math.min(now, instance.deletedAt ?? Number.POSITIVE_INFINITY);
    const events: TaskEvent[] = script.map((line, index) => ({
      level: line.level,
      message: line.message,
      ordinal: index + 1,
      time: iso(line.at),
      at: line.at,
    }));
    const visible = events.filter((event) => (event.at as number) <= cutoff);
    if (instance.deletedAt !== undefined && instance.deletedAt < endAt) {
      visible.push({
        level: "WARNING",
        message: `Instance deleted by ${USER}; the container was stopped`,
        ordinal: visible.length + 1,
        time: iso(instance.deletedAt),
      });
    }
    return visible.map(({ at: _at, ...event }) => event);
  }

  #seedInstances(): void {
    const now = Date.now();
    const { instances, tasks, projects, jobs } = SQUONK_SEED;
    const seed = (
      key: keyof typeof instances,
      name: string,
      projectId: string,
      jobId: number,
      variables: Variables,
      launched: number,
      pendingMs: number,
      runningMs: number,
      owner: string = USER,
    ) => {
      const job = this.#jobs.get(jobId) as JobDef;
      const project = this.#projects.get(projectId) as Project;
      const checked = checkVariables(job, variables) as Variables;
      const instance: Instance = {
        id: instances[key],
        taskId: tasks[key],
        name,
        projectId,
        owner,
        job,
        variables: checked,
        specification: JSON.stringify({
          collection: job.collection,
          job: job.job,
          version: job.version,
          variables,
        }),
        launchedAt: launched,
        pendingMs,
        runningMs,
      };
      const failure = this.#failureOf(project, job, checked);
      if (failure !== undefined) instance.failure = failure;
      this.#instances.set(instance.id, instance);
    };
    seed(
      "nopCompleted",
      "Smoke test",
      projects.kinase,
      jobs.nop,
      {},
      Date.parse("2025-01-13T16:40:02.000Z"),
      3_100,
      1_900,
    );
    seed(
      "pickerCompleted",
      "Diverse subset (50)",
      projects.kinase,
      jobs.picker100,
      { inputFile: "data/raw/candidates.sdf", count: 50, outputFile: "results/diverse-50.sdf" },
      Date.parse("2025-01-14T10:02:11.000Z"),
      4_200,
      192_000,
    );
    seed(
      "pickerFailed",
      "Diverse subset of all plates",
      projects.kinase,
      jobs.picker110,
      { inputFile: "data/raw/plates-all.sdf", count: 200 },
      Date.parse("2025-01-15T08:47:30.000Z"),
      3_800,
      6_500,
    );
    seed(
      "nopFailed",
      "Nightly failure check",
      projects.docking,
      jobs.nopFail,
      {},
      Date.parse("2025-01-16T02:00:00.000Z"),
      2_900,
      1_400,
    );
    seed(
      "referenceCompleted",
      "Reference set smoke test",
      projects.reference,
      jobs.nop,
      {},
      Date.parse("2025-01-10T11:15:44.000Z"),
      3_000,
      2_000,
      COLLEAGUE,
    );
    // The one run in progress: relative to construction so that it is RUNNING whenever the sandbox starts.
    seed(
      "eventsRunning",
      "Event stream soak test",
      projects.kinase,
      jobs.eventTest,
      { eventCount: 400 },
      now - 10 * 60_000,
      5_000,
      4 * 3_600_000,
    );
  }

  // -------------------------------------------------------------------------------------------------------
  // Account Server

  #accountServer(request: RecordedRequest, route: string): EmulatorResponse {
    const { method } = request;
    if (route === "/version")
      return method === "GET" ? ok({ version: AS_VERSION }) : notAllowed(method, route);
    const denied = this.#authenticate(request, SQUONK_SANDBOX.asClientId);
    if (denied) return denied;
    let body: unknown;
    if (method === "POST" || method === "PUT" || method === "PATCH") {
      // The AS takes JSON bodies (upstreams.md: `json=` in as_api.py).
      if (!request.contentType?.toLowerCase().includes("application/json")) {
        return apiError(415, "Unsupported Media Type: the Account Server takes application/json bodies");
      }
      if (request.json === undefined) return apiError(400, "The request body is not valid JSON");
      body = request.json;
    }
    const is = (expected: string) => (method === expected ? undefined : notAllowed(method, route));

    if (route === "/product") return is("GET") ?? this.#asList("products", [...this.#products.values()]);
    const unitProducts = /^\/product\/unit\/([^/]+)$/.exec(route);
    if (unitProducts) {
      const unit = this.#units.get(unitProducts[1] as string);
      if (method !== "GET" && method !== "POST") return notAllowed(method, route);
      if (unit === undefined) return apiError(404, `Unit ${unitProducts[1]} does not exist`);
      if (method === "POST") return this.#createProduct(unit, body);
      return this.#asList(
        "products",
        [...this.#products.values()].filter((product) => product.unit_id === unit.unit_id),
      );
    }
    const productPath = /^\/product\/([^/]+)$/.exec(route);
    if (productPath) {
      const id = productPath[1] as string;
      const product = this.#products.get(id);
      if (method !== "GET" && method !== "DELETE") return notAllowed(method, route);
      if (product === undefined) return apiError(404, `Product ${id} does not exist`);
      if (method === "GET") return ok(structuredClone(product));
      const user = [...this.#projects.values()].find((project) => project.product_id === id);
      if (user !== undefined) return apiError(409, `Product ${id} is in use by project ${user.project_id}`);
      this.#products.delete(id);
      return { status: 204 };
    }
    if (route === "/unit") return is("GET") ?? this.#asList("units", [...this.#units.values()]);
    const unitPath = /^\/unit\/([^/]+)$/.exec(route);
    if (unitPath) {
      if (method !== "GET") return notAllowed(method, route);
      const unit = this.#units.get(unitPath[1] as string);
      return unit === undefined ? apiError(404, `Unit ${unitPath[1]} does not exist`) : ok({ ...unit });
    }
    if (route === "/organisation") return is("GET") ?? this.#asList("organisations", [organisation()]);
    const orgPath = /^\/organisation\/([^/]+)(\/unit)?$/.exec(route);
    if (orgPath) {
      if (method !== "GET") return notAllowed(method, route);
      if (orgPath[1] !== SQUONK_SEED.organisationId)
        return apiError(404, `Organisation ${orgPath[1]} does not exist`);
      return orgPath[2] === undefined ? ok(organisation()) : this.#asList("units", [...this.#units.values()]);
    }
    return apiError(404, `Not Found: ${method} ${AS}${route}`);
  }

  #asList(key: string, items: object[]): EmulatorResponse {
    const copies = items.map((item) => structuredClone(item));
    if (this.asListKey === null) return ok(copies);
    return ok({ count: copies.length, [this.asListKey ?? key]: copies });
  }

  #createProduct(unit: Unit, body: unknown): EmulatorResponse {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return apiError(400, "The body must be a JSON object");
    }
    const { type, name, flavour, allowance, limit } = body as Record<string, unknown>;
    if (typeof type !== "string" || !PRODUCT_TYPES.includes(type)) {
      return apiError(400, `type must be one of ${PRODUCT_TYPES.join(", ")}`);
    }
    if (typeof name !== "string" || name.trim() === "") return apiError(400, "name is required");
    if (flavour !== undefined && (typeof flavour !== "string" || !FLAVOURS.includes(flavour))) {
      return apiError(400, `flavour must be one of ${FLAVOURS.join(", ")}`);
    }
    if (type === PRODUCT_TYPES[0] && flavour === undefined) {
      return apiError(400, "flavour is required for a project tier subscription");
    }
    for (const [key, value] of Object.entries({ allowance, limit })) {
      if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value < 0)) {
        return apiError(400, `${key} must be a number >= 0`);
      }
    }
    const coinsAllowance = (allowance as number | undefined) ?? 100;
    const coinsLimit = (limit as number | undefined) ?? coinsAllowance;
    if (coinsLimit < coinsAllowance) return apiError(400, "limit must not be below allowance");
    const product: Product = {
      product_id: `product-${randomUUID()}`,
      name,
      type,
      unit_id: unit.unit_id,
      organisation_id: unit.organisation_id,
      created: iso(Date.now()),
      coins: { allowance: coinsAllowance, limit: coinsLimit, used: 0 },
    };
    if (typeof flavour === "string") product.flavour = flavour;
    this.#products.set(product.product_id, product);
    return ok({ id: product.product_id }, 201);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Module helpers

interface TaskEvent {
  level: string;
  message: string;
  ordinal: number;
  time: string;
  at?: number;
}

function projectNotFound(id: string): EmulatorResponse {
  return apiError(404, `Project ${id} does not exist`);
}

/** DM bodies are forms: url-encoded or multipart. The DM rejects JSON (415, emulator's choice of status). */
function dmForm(request: RecordedRequest): { form: Record<string, string> } | EmulatorResponse {
  const type = request.contentType?.toLowerCase() ?? "";
  if (type.includes("application/x-www-form-urlencoded")) {
    return { form: Object.fromEntries(new URLSearchParams(request.body)) };
  }
  if (type.includes("multipart/form-data")) {
    const form = parseMultipart(request.body, request.contentType ?? "");
    return form === undefined ? apiError(400, "The multipart body has no boundary") : { form };
  }
  if (type === "" && request.body === "") return { form: {} };
  return apiError(
    415,
    `Unsupported Media Type '${type || "none"}': the Data Manager API takes application/x-www-form-urlencoded or multipart/form-data, not JSON`,
  );
}

/**
 * The realm's RS256 key pair, made once per process on first use: a 2048-bit key takes 100-300 ms, and the
 * test harness starts one emulator per test. Tokens still belong to one emulator: each checks `jti` against
 * its own record of what it issued.
 */
let realmKeyPair: { privateKey: KeyObject; publicKey: KeyObject; kid: string } | undefined;
function realmKeys(): { privateKey: KeyObject; publicKey: KeyObject; kid: string } {
  if (realmKeyPair === undefined) {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const der = publicKey.export({ type: "spki", format: "der" });
    realmKeyPair = { privateKey, publicKey, kid: createHash("sha256").update(der).digest("base64url") };
  }
  return realmKeyPair;
}

function jwtInput(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const encode = (part: Record<string, unknown>) => Buffer.from(JSON.stringify(part)).toString("base64url");
  return `${encode(header)}.${encode(payload)}`;
}

function decodeJwt(token: string): Jwt | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [head, body, signature] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(head, "base64url").toString("utf8"));
    const payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    if (typeof header !== "object" || header === null || typeof payload !== "object" || payload === null) {
      return undefined;
    }
    return {
      header,
      payload,
      signingInput: `${head}.${body}`,
      signature: Buffer.from(signature, "base64url"),
    };
  } catch {
    return undefined;
  }
}

function timingSafeEqualBuffers(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function jobKey(job: JobDef): string {
  return `${job.collection}/${job.job}/${job.version}`;
}

function jobSummary(job: JobDef): Record<string, unknown> {
  const summary: Record<string, unknown> = {
    id: job.id,
    collection: job.collection,
    job: job.job,
    version: job.version,
    name: job.name,
    category: job.category,
    description: job.description,
    disabled: job.disabled !== undefined,
    image_type: "SIMPLE",
    keywords: [...job.keywords],
    required_assets: [],
    doc_url: job.doc_url,
  };
  if (job.disabled !== undefined) summary.disabled_reason = job.disabled;
  if (job.replaces) summary.replaces = structuredClone(job.replaces);
  if (job.replaced_by) summary.replaced_by = structuredClone(job.replaced_by);
  return summary;
}

/** The variables block as the DM serves it from the job definition (inputs, outputs, options). */
function variablesOf(job: JobDef): Record<string, unknown> | undefined {
  const spec = (vars: Record<string, VariableSpec>) =>
    Object.fromEntries(
      Object.entries(vars).map(([name, v]) => {
        const out: Record<string, unknown> = { title: v.title, type: v.type };
        if (v.mime !== undefined) out["mime-types"] = [...v.mime];
        if (v.default !== undefined) out.default = v.default;
        if (v.minimum !== undefined) out.minimum = v.minimum;
        if (v.maximum !== undefined) out.maximum = v.maximum;
        return [name, out];
      }),
    );
  const names = [...Object.keys(job.inputs), ...Object.keys(job.options)];
  if (names.length === 0) return undefined;
  const required = (vars: Record<string, VariableSpec>) => job.required.filter((name) => name in vars);
  const variables: Record<string, unknown> = {
    order: { options: Object.keys(job.options) },
    inputs: { type: "object", required: required(job.inputs), properties: spec(job.inputs) },
    options: { type: "object", required: required(job.options), properties: spec(job.options) },
  };
  if (job.output !== undefined) {
    variables.outputs = {
      type: "object",
      properties: {
        [job.output.variable]: {
          title: job.output.title,
          "mime-types": [job.output.mime],
          creates: `{{ ${job.output.variable} }}`,
          type: "file",
        },
      },
    };
  }
  return variables;
}

function jobDetail(job: JobDef): Record<string, unknown> {
  const detail: Record<string, unknown> = {
    ...jobSummary(job),
    command: job.command,
    command_encoding: "JINJA2_3_0",
    image_name: job.image_name,
    image_tag: job.image_tag,
    image_project_directory: "/data",
    image_working_directory: "/data",
    exchange_rate: job.exchange_rate,
    application: { application_id: SQUONK_SANDBOX.applicationId, kind: "DataManagerJob" },
  };
  const variables = variablesOf(job);
  if (variables !== undefined) detail.variables = variables;
  return detail;
}

/** Validates the specification's variables against the job; the variables with defaults, or an error. */
function checkVariables(job: JobDef, variables: unknown): Variables | string {
  if (
    variables !== undefined &&
    (typeof variables !== "object" || variables === null || Array.isArray(variables))
  ) {
    return "specification.variables must be a JSON object";
  }
  const given = (variables ?? {}) as Record<string, unknown>;
  const known = { ...job.inputs, ...job.options };
  const unknown = Object.keys(given).filter((name) => !(name in known));
  if (unknown.length > 0) {
    const accepted = Object.keys(known).join(", ") || "none";
    return `Job ${jobKey(job)} has no variable(s) ${unknown.join(", ")} (it accepts: ${accepted})`;
  }
  const missing = job.required.filter((name) => given[name] === undefined || given[name] === "");
  if (missing.length > 0) return `Job ${jobKey(job)} is missing required variable(s): ${missing.join(", ")}`;
  const result: Variables = {};
  for (const [name, spec] of Object.entries(known)) {
    const value = given[name] ?? spec.default;
    if (value === undefined) continue;
    const typeOk =
      spec.type === "integer"
        ? Number.isInteger(value)
        : spec.type === "number"
          ? typeof value === "number" && Number.isFinite(value)
          : spec.type === "boolean"
            ? typeof value === "boolean"
            : typeof value === "string";
    if (!typeOk) {
      const wanted = spec.type === "file" ? "a project file path (string)" : `of type ${spec.type}`;
      return `Variable '${name}' must be ${wanted}, not ${JSON.stringify(value)}`;
    }
    if (typeof value === "number" && spec.minimum !== undefined && value < spec.minimum) {
      return `Variable '${name}' must be >= ${spec.minimum}`;
    }
    if (typeof value === "number" && spec.maximum !== undefined && value > spec.maximum) {
      return `Variable '${name}' must be <= ${spec.maximum}`;
    }
    result[name] = value as string | number | boolean;
  }
  return result;
}

function renderCommand(job: JobDef, variables: Variables): string {
  return job.command.replace(/\{\{\s*(\w+)\s*\}\}/g, (_match, name: string) => String(variables[name] ?? ""));
}

/** The job's own log lines, between "Container started" and the final line. */
function jobLog(
  job: JobDef,
  variables: Variables,
  failure: string | undefined,
): { level: string; message: string }[] {
  const info = (message: string) => ({ level: "INFO", message });
  if (job.job === "event-test") {
    const count = Number(variables.eventCount ?? 10);
    return Array.from({ length: count }, (_, index) => info(`Event ${index + 1} of ${count}`));
  }
  if (job.job === "max-min-picker") {
    const input = String(variables.inputFile);
    if (failure !== undefined)
      return [info(`Reading molecules from ${input}`), { level: "ERROR", message: failure }];
    const seed = variables.seed === undefined ? "" : `, seed ${variables.seed}`;
    return [
      info(`Reading molecules from ${input}`),
      info("Read 24118 molecules (12 skipped: could not be parsed)"),
      info("Computing Morgan fingerprints (radius 2, 2048 bits)"),
      info(`Picking ${variables.count} diverse molecules (MaxMin${seed})`),
      info(`Wrote ${variables.count} molecules to ${variables.outputFile}`),
    ];
  }
  if (job.fails)
    return [info("Nothing to do"), { level: "ERROR", message: "Exiting with code 1 as requested" }];
  return [info("Nothing to do")];
}

function organisation(): Record<string, unknown> {
  return {
    organisation_id: SQUONK_SEED.organisationId,
    name: "Northbank Discovery",
    owner: COLLEAGUE,
    created: "2024-09-30T14:02:51.000Z",
  };
}

function seedJobs(): JobDef[] {
  const testImage = { image_name: "informaticsmatters/squonk2-test-jobs", image_tag: "1.0.0" };
  const rdkit = "https://github.com/InformaticsMatters/squonk2-rdkit-utilities";
  const pickerInputs: Record<string, VariableSpec> = {
    inputFile: { title: "Molecules to pick from", type: "file", mime: ["chemical/x-mdl-sdfile"] },
  };
  const pickerOptions: Record<string, VariableSpec> = {
    count: { title: "Number of molecules to pick", type: "integer", minimum: 1, maximum: 10_000 },
    outputFile: { title: "Output file name", type: "string", default: "diverse.sdf" },
  };
  const pickerOutput = {
    variable: "outputFile",
    title: "Picked molecules",
    mime: "chemical/x-mdl-sdfile",
    bytesPerItem: 2_150,
    countVariable: "count",
  };
  const picker = { collection: "rdkit", job: "max-min-picker" };
  return [
    {
      id: 1,
      collection: "im-test",
      job: "nop",
      version: "1.0.0",
      name: "No operation",
      category: "test",
      description: "Does nothing and exits with code 0; checks that jobs can run",
      keywords: ["test", "nop"],
      doc_url: "https://github.com/InformaticsMatters/squonk2-test-jobs#nop",
      ...testImage,
      command: "python -m im_test.nop",
      exchange_rate: "0.1",
      inputs: {},
      options: {},
      required: [],
    },
    {
      id: 2,
      collection: "im-test",
      job: "event-test",
      version: "1.0.0",
      name: "Event generator",
      category: "test",
      description: "Emits eventCount INFO events over its run, for testing event paging",
      keywords: ["test", "events"],
      doc_url: "https://github.com/InformaticsMatters/squonk2-test-jobs#event-test",
      ...testImage,
      command: "python -m im_test.event_test --count {{ eventCount }}",
      exchange_rate: "0.1",
      inputs: {},
      options: {
        eventCount: { title: "Number of events", type: "integer", default: 10, minimum: 1, maximum: 1000 },
      },
      required: [],
    },
    {
      id: 3,
      collection: "im-test",
      job: "nop-fail",
      version: "1.0.0",
      name: "Failing no-op",
      category: "test",
      description: "Does nothing and exits with code 1; checks failure handling",
      keywords: ["test", "failure"],
      doc_url: "https://github.com/InformaticsMatters/squonk2-test-jobs#nop-fail",
      ...testImage,
      command: "python -m im_test.nop --exit-code 1",
      exchange_rate: "0.1",
      inputs: {},
      options: {},
      required: [],
      fails: true,
    },
    {
      id: 4,
      ...picker,
      version: "1.0.0",
      name: "RDKit MaxMin diversity picker",
      category: "comp chem",
      description: "Picks a diverse subset of molecules with RDKit's MaxMin algorithm on Morgan fingerprints",
      keywords: ["rdkit", "diversity", "clustering"],
      doc_url: `${rdkit}/blob/1.0.0/docs/max-min-picker.md`,
      image_name: "informaticsmatters/rdkit-jobs",
      image_tag: "1.0.0",
      command:
        "python -m pipelines.rdkit.max_min_picker -i '{{ inputFile }}' -c {{ count }} -o '{{ outputFile }}'",
      exchange_rate: "0.5",
      inputs: pickerInputs,
      options: pickerOptions,
      required: ["inputFile", "count"],
      output: pickerOutput,
      replaced_by: [{ ...picker, version: "1.1.0" }],
    },
    {
      id: 5,
      ...picker,
      version: "1.1.0",
      name: "RDKit MaxMin diversity picker",
      category: "comp chem",
      description:
        "Picks a diverse subset of molecules with RDKit's MaxMin algorithm on Morgan fingerprints; a seed makes picks repeatable",
      keywords: ["rdkit", "diversity", "clustering"],
      doc_url: `${rdkit}/blob/1.1.0/docs/max-min-picker.md`,
      image_name: "informaticsmatters/rdkit-jobs",
      image_tag: "1.1.0",
      command:
        "python -m pipelines.rdkit.max_min_picker -i '{{ inputFile }}' -c {{ count }} -o '{{ outputFile }}' --seed {{ seed }}",
      exchange_rate: "0.5",
      inputs: pickerInputs,
      options: { ...pickerOptions, seed: { title: "Random seed", type: "integer", default: 42, minimum: 0 } },
      required: ["inputFile", "count"],
      output: pickerOutput,
      replaces: [{ ...picker, version: "1.0.0" }],
    },
    {
      id: 6,
      collection: "im-test",
      job: "legacy-sleep",
      version: "0.9.0",
      name: "Sleep (legacy)",
      category: "test",
      description: "Sleeps for a while; kept for old workflows",
      keywords: ["test"],
      doc_url: "https://github.com/InformaticsMatters/squonk2-test-jobs#legacy-sleep",
      image_name: "informaticsmatters/squonk2-test-jobs",
      image_tag: "0.9.0",
      command: "sleep 60",
      exchange_rate: "0.1",
      inputs: {},
      options: {},
      required: [],
      disabled: "The 0.9.0 image is no longer published",
    },
  ];
}

function seedProjects(): Project[] {
  const { projects, organisationId, units, products } = SQUONK_SEED;
  const sdf = "chemical/x-mdl-sdfile";
  const plates: SeedFile[] = Array.from({ length: 10 }, (_, index) => ({
    path: `/data/raw/plate-${String(index + 1).padStart(2, "0")}.sdf`,
    owner: index % 3 === 2 ? COLLEAGUE : USER,
    size: 1_204_331 + index * 37_511,
    modified: `2024-11-${String(5 + index).padStart(2, "0")}T1${index % 10}:0${index % 6}:17.000Z`,
    mime: sdf,
  }));
  return [
    {
      project_id: projects.kinase,
      name: "Kinase fragment screen",
      created: "2024-11-04T09:21:37.000Z",
      creator: USER,
      administrators: [USER],
      editors: [USER, COLLEAGUE],
      observers: [],
      private: false,
      product_id: products.kinaseTier,
      unit_id: units.medchem,
      organisation_id: organisationId,
      files: [
        {
          path: "/README.md",
          owner: USER,
          size: 2_341,
          modified: "2024-11-04T09:31:12.000Z",
          mime: "text/markdown",
        },
        {
          path: "/.notes.txt",
          owner: USER,
          size: 418,
          modified: "2024-12-02T17:05:40.000Z",
          mime: "text/plain",
        },
        {
          path: "/screen-summary.csv",
          owner: COLLEAGUE,
          size: 18_422,
          modified: "2025-01-09T13:48:02.000Z",
          mime: "text/csv",
        },
        {
          path: "/data/fragments-2024-11.sdf",
          owner: USER,
          size: 4_812_305,
          modified: "2024-11-04T10:02:55.000Z",
          mime: sdf,
          fileId: "file-8d2c4e6a-0b1f-4a3d-9e5c-7f9a1b3c5d21",
        },
        {
          path: "/data/hits.smi",
          owner: COLLEAGUE,
          size: 6_120,
          modified: "2025-01-08T15:12:09.000Z",
          mime: "chemical/x-daylight-smiles",
        },
        {
          path: "/data/kinase-panel.csv",
          owner: USER,
          size: 94_233,
          modified: "2024-11-21T11:40:30.000Z",
          mime: "text/csv",
        },
        {
          path: "/data/raw/candidates.sdf",
          owner: USER,
          size: 12_884_120,
          modified: "2024-11-04T10:05:13.000Z",
          mime: sdf,
          fileId: "file-1f3e5a7c-2d4b-4c6e-8a0f-9b1d3e5f7a32",
        },
        {
          path: "/data/raw/README.txt",
          owner: USER,
          size: 911,
          modified: "2024-11-04T10:06:01.000Z",
          mime: "text/plain",
        },
        ...plates,
      ],
    },
    {
      project_id: projects.docking,
      name: "PLpro docking campaign",
      created: "2024-12-09T08:12:44.000Z",
      creator: USER,
      administrators: [USER],
      editors: [USER],
      observers: [COLLEAGUE],
      private: true,
      product_id: products.dockingTier,
      unit_id: units.compchem,
      organisation_id: organisationId,
      files: [
        {
          path: "/docking-config.json",
          owner: USER,
          size: 1_204,
          modified: "2024-12-09T08:30:19.000Z",
          mime: "application/json",
        },
        {
          path: "/receptor/plpro-7jrn.pdb",
          owner: USER,
          size: 612_480,
          modified: "2024-12-09T08:22:51.000Z",
          mime: "chemical/x-pdb",
        },
        {
          path: "/ligands/enamine-subset.smi",
          owner: USER,
          size: 2_304_117,
          modified: "2024-12-10T09:41:07.000Z",
          mime: "chemical/x-daylight-smiles",
        },
      ],
    },
    {
      project_id: projects.reference,
      name: "Shared reference sets",
      created: "2024-10-02T12:00:05.000Z",
      creator: COLLEAGUE,
      administrators: [COLLEAGUE],
      editors: [COLLEAGUE],
      observers: [USER],
      private: false,
      product_id: products.referenceTier,
      unit_id: units.medchem,
      organisation_id: organisationId,
      files: [
        {
          path: "/reference/chembl-kinase-actives.sdf",
          owner: COLLEAGUE,
          size: 9_120_554,
          modified: "2024-10-02T12:20:41.000Z",
          mime: sdf,
          fileId: "file-5a7c9e1b-3d5f-4b7a-8c2e-0d2f4a6b8c43",
        },
        {
          path: "/reference/dude-decoys.sdf",
          owner: COLLEAGUE,
          size: 31_402_877,
          modified: "2024-10-02T12:26:03.000Z",
          mime: sdf,
          fileId: "file-7c9e1b3d-5f7a-4d9c-9e4a-2f4b6c8d0e54",
        },
      ],
    },
  ];
}

function seedUnits(): Unit[] {
  const { units, organisationId } = SQUONK_SEED;
  return [
    {
      unit_id: units.medchem,
      name: "Medicinal Chemistry",
      organisation_id: organisationId,
      billing_day: 3,
      owner: USER,
      created: "2024-10-01T09:00:12.000Z",
    },
    {
      unit_id: units.compchem,
      name: "Computational Chemistry",
      organisation_id: organisationId,
      billing_day: 17,
      owner: COLLEAGUE,
      created: "2024-10-01T09:04:48.000Z",
    },
  ];
}

function seedProducts(): Product[] {
  const { products, units, organisationId } = SQUONK_SEED;
  const tier = PRODUCT_TYPES[0] as string;
  return [
    {
      product_id: products.kinaseTier,
      name: "Kinase fragment screen",
      type: tier,
      flavour: "GOLD",
      unit_id: units.medchem,
      organisation_id: organisationId,
      created: "2024-11-04T09:21:36.000Z",
      coins: { allowance: 1000, limit: 1500, used: 412.35 },
    },
    {
      product_id: products.dockingTier,
      name: "PLpro docking campaign",
      type: tier,
      flavour: "SILVER",
      unit_id: units.compchem,
      organisation_id: organisationId,
      created: "2024-12-09T08:12:43.000Z",
      coins: { allowance: 500, limit: 750, used: 96.1 },
    },
    {
      product_id: products.referenceTier,
      name: "Shared reference sets",
      type: tier,
      flavour: "BRONZE",
      unit_id: units.medchem,
      organisation_id: organisationId,
      created: "2024-10-02T12:00:04.000Z",
      coins: { allowance: 100, limit: 100, used: 12.5 },
    },
    {
      product_id: products.storage,
      name: "Medchem bulk storage",
      type: PRODUCT_TYPES[1] as string,
      unit_id: units.medchem,
      organisation_id: organisationId,
      created: "2024-10-01T09:10:27.000Z",
      coins: { allowance: 200, limit: 300, used: 140.8 },
    },
  ];
}
