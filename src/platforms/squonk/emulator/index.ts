import { STATUS_CODES } from "node:http";
import { Emulator, type EmulatorResponse, type RecordedRequest } from "../../../sandbox/emulator.js";
import { AccountServer, AS } from "./account-server.js";
import { apiError } from "./answers.js";
import { DataManager, DM } from "./data-manager.js";
import { KEYCLOAK, Keycloak } from "./keycloak.js";
import { type Project, SQUONK_SANDBOX, seedProjects } from "./seed.js";

export { SQUONK_SANDBOX, SQUONK_SEED } from "./seed.js";

/**
 * Squonk2 (upstreams.md section 3) on one loopback server: Keycloak under `/auth`, the Data Manager under
 * `/data-manager-api` and the Account Server under `/account-server-api`.
 *
 * Each is its own module: keycloak.ts (the identity provider: grants, tokens), data-manager.ts and
 * account-server.ts (the APIs, which check the bearer JWT themselves: signature, expiry, `azp` of their
 * own client), and seed.ts (what the sandbox starts with).
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
  /** DM and AS requests refused with 401 (missing, invalid, expired or foreign token). */
  refusals = 0;

  readonly #keycloak: Keycloak;
  readonly #dataManager: DataManager;
  readonly #accountServer: AccountServer;

  constructor() {
    super();
    // The DM and the AS see the same projects: a product a project uses cannot be deleted.
    const projects = new Map<string, Project>();
    for (const project of seedProjects()) projects.set(project.project_id, project);
    const authenticate = (request: RecordedRequest, clientId: string): EmulatorResponse | undefined => {
      const refusal = this.#keycloak.refusal(request, clientId);
      if (refusal === undefined) return undefined;
      this.refusals += 1;
      return apiError(401, refusal);
    };
    this.#keycloak = new Keycloak(this);
    this.#dataManager = new DataManager(projects, this, authenticate);
    this.#accountServer = new AccountServer(projects, this, authenticate);
  }

  /** Successful password grants. */
  get passwordGrants(): number {
    return this.#keycloak.passwordGrants;
  }

  /** Successful refresh_token grants. */
  get refreshGrants(): number {
    return this.#keycloak.refreshGrants;
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
    return this.#keycloak.issuedTokens();
  }

  /** Every access and refresh token issued so far expires now; new logins work as usual. */
  expireCredentials(): void {
    this.#keycloak.expireCredentials();
  }

  /** Every session so far is logged out: its refresh tokens are refused; access tokens live on. */
  revokeRefreshTokens(): void {
    this.#keycloak.revokeRefreshTokens();
  }

  protected faultBody(status: number): unknown {
    return { error: STATUS_CODES[status] ?? `HTTP ${status}` };
  }

  protected handle(request: RecordedRequest): EmulatorResponse {
    const { path } = request;
    if (path === KEYCLOAK || path.startsWith(`${KEYCLOAK}/`)) return this.#keycloak.handle(request);
    if (path === DM || path.startsWith(`${DM}/`))
      return this.#dataManager.handle(request, path.slice(DM.length));
    if (path === AS || path.startsWith(`${AS}/`))
      return this.#accountServer.handle(request, path.slice(AS.length));
    return apiError(404, `Not Found: ${path}`);
  }
}
