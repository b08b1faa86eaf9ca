import { createHmac, randomBytes, randomUUID } from "node:crypto";
import {
  authorization,
  Emulator,
  type EmulatorResponse,
  type RecordedRequest,
} from "../../../sandbox/emulator.js";
import {
  type Account,
  type Item,
  seedAccounts,
  seedAzureVms,
  seedBuckets,
  seedEc2,
  seedGcpVms,
} from "./seed.js";
import {
  BASE,
  openapi3,
  type Parameter,
  type Route,
  type SsmcmSwaggerPath,
  SWAGGO_DOC,
  SWASHBUCKLE_DOC,
  swagger2,
  swaggerIndex,
} from "./swagger.js";

export type { SsmcmSwaggerPath } from "./swagger.js";

/**
 * Sandbox credentials: the emulator accepts these, and `--sandbox` configures `apiKey`. The read-only key
 * belongs to a viewer whose tokens may read but not write (emulator's choice, so that code 403 has a use).
 */
export const SSMCM_SANDBOX = {
  apiKey: "ssmcm-sandbox-key-4b7e2f9a1c6d8e03b5a7",
  readOnlyApiKey: "ssmcm-sandbox-viewer-key-9d3a6c1f7e2b5a84",
} as const;

/** Go's net/http answer for a path nothing serves: what a real web server sends for a Swagger path it lacks. */
const PLAIN_404: EmulatorResponse = {
  status: 404,
  body: "404 page not found\n",
  headers: { "content-type": "text/plain; charset=utf-8" },
  raw: true,
};

interface ApiKey {
  owner: string;
  readOnly: boolean;
}

interface TokenRecord {
  key: string;
  expiresAt: number; // epoch ms
}

const PAGING: Parameter[] = [
  { name: "length", in: "query", type: "integer", description: "Page size; all results when absent" },
  { name: "start", in: "query", type: "integer", description: "Offset of the first result (default 0)" },
  {
    name: "search",
    in: "query",
    type: "string",
    description: "Case-insensitive text search (also accepted as search[value])",
  },
];
const ACCOUNT_ID: Parameter = {
  name: "id",
  in: "path",
  type: "string",
  description: "Account ID (AWS account, Azure subscription or GCP project)",
};

/**
 * Meikai SSMCM, the multicloud inventory manager (upstreams.md section 1 and seeds/ssmcm-api.txt):
 * API key -> JWT at `POST /api/v1.0/auth/token`, `Authorization: Bearer`, the `{code, message, data}`
 * envelope with errors inside HTTP 200 (the vendor's sample reads only the body's `code`), DataTables-style
 * paging on the inventories, and the instance's own Swagger at one of the two places a client probes. The
 * seeded inventory is in seed.ts, the Swagger documents in swagger.ts.
 *
 * Paths other than `auth/token` and `aws/s3` are inferred from the inventories page (upstreams.md marks
 * them INF); so are the account actions (view, update, delete).
 */
export class SsmcmEmulator extends Emulator {
  /** Seconds a token lives; the login answer does not say it (upstream documents no lifetime). */
  tokenLifetimeSeconds = 3600;
  /**
   * Where errors put their code: `"200"` answers HTTP 200 with the code in the body, as the vendor's
   * sample reads them; `"http"` makes the HTTP status equal to the body's code.
   */
  errorStatus: "200" | "http" = "200";
  /**
   * How a missing, unknown or expired token is refused (TOOLS.md section 5: a client accepts both):
   * `"body401"` is HTTP 200 with body `code` 401, `"http401"` is HTTP 401 with the same body. It decides
   * for token refusals whatever `errorStatus` says (the specific switch wins).
   */
  expirySignal: "http401" | "body401" = "body401";
  /** `"datatables"` adds `recordsTotal`/`recordsFiltered` to list answers; `"plain"` has only `data`. */
  listShape: "datatables" | "plain" = "datatables";
  /** The one place the instance serves its Swagger document; `null` serves none (and no index.html). */
  swaggerPath: SsmcmSwaggerPath | null = SWAGGO_DOC;
  /**
   * `"jwt"`: HS256 JWTs with `exp` (the vendor says the auth "is based on JWT"); `"opaque"`: random hex,
   * for clients that must learn of expiry from a refusal rather than from the token.
   */
  tokenFormat: "jwt" | "opaque" = "jwt";
  /** How long `POST /accounts/{id}/update` keeps the account's inventory `running`. */
  inventoryDurationMs = 5_000;
  /** Successful token grants. */
  logins = 0;
  /** Requests refused for a missing, unknown or expired token. */
  refusals = 0;

  readonly #keys = new Map<string, ApiKey>();
  readonly #tokens = new Map<string, TokenRecord>();
  readonly #issued: string[] = [];
  readonly #signingKey = randomBytes(32);
  readonly #accounts = new Map<string, Account>();
  readonly #buckets: Item[] = seedBuckets();
  readonly #ec2: Item[] = seedEc2();
  readonly #azureVms: Item[] = seedAzureVms();
  readonly #gcpVms: Item[] = seedGcpVms();

  readonly #routes: Route[] = [
    {
      method: "POST",
      path: "/auth/token",
      summary: "Exchange an API key for a bearer token",
      tag: "auth",
      params: [],
      auth: false,
      write: false,
      run: (request) => this.#login(request),
    },
    {
      method: "GET",
      path: "/aws/s3",
      summary: "List AWS S3 buckets",
      tag: "aws",
      params: PAGING,
      auth: true,
      write: false,
      run: (request) =>
        this.#list(request, this.#live(this.#buckets, "account"), (b) => [
          b.name,
          b.region,
          b.account,
          b.account_name,
          ...tagValues(b.tags),
        ]),
    },
    {
      method: "GET",
      path: "/aws/ec2",
      summary: "List AWS EC2 instances",
      tag: "aws",
      params: PAGING,
      auth: true,
      write: false,
      run: (request) =>
        this.#list(request, this.#live(this.#ec2, "account"), (i) => [
          i.name,
          i.instance_id,
          i.instance_type,
          i.state,
          i.region,
          i.account,
          i.account_name,
          ...tagValues(i.tags),
        ]),
    },
    {
      method: "GET",
      path: "/azure/vm",
      summary: "List Azure virtual machines",
      tag: "azure",
      params: PAGING,
      auth: true,
      write: false,
      run: (request) =>
        this.#list(request, this.#live(this.#azureVms, "subscription_id"), (v) => [
          v.name,
          v.resource_group,
          v.location,
          v.vm_size,
          v.subscription_id,
          v.subscription_name,
          ...tagValues(v.tags),
        ]),
    },
    {
      method: "GET",
      path: "/gcp/vm",
      summary: "List GCP VM instances",
      tag: "gcp",
      params: PAGING,
      auth: true,
      write: false,
      run: (request) =>
        this.#list(request, this.#live(this.#gcpVms, "project"), (v) => [
          v.name,
          v.zone,
          v.machine_type,
          v.status,
          v.project,
          ...tagValues(v.labels),
        ]),
    },
    {
      method: "GET",
      path: "/accounts",
      summary: "List cloud accounts",
      tag: "accounts",
      params: PAGING,
      auth: true,
      write: false,
      run: (request) =>
        this.#list(
          request,
          [...this.#accounts.values()].map((a) => this.#accountView(a)),
          (a) => [a.id, a.supplier, a.name, a.alias, ...tagValues(a.tags)],
        ),
    },
    {
      method: "GET",
      path: "/accounts/{id}",
      summary: "Get one cloud account",
      tag: "accounts",
      params: [ACCOUNT_ID],
      auth: true,
      write: false,
      run: (_request, id) => {
        const account = this.#accounts.get(id);
        return account === undefined ? this.#accountNotFound(id) : this.#ok(this.#accountView(account));
      },
    },
    {
      method: "POST",
      path: "/accounts/{id}/update",
      summary: "Update the account's inventory (re-runs the inventory)",
      tag: "accounts",
      params: [ACCOUNT_ID],
      auth: true,
      write: true,
      run: (_request, id) => this.#updateAccount(id),
    },
    {
      method: "DELETE",
      path: "/accounts/{id}",
      summary: "Delete a cloud account and its inventory",
      tag: "accounts",
      params: [ACCOUNT_ID],
      auth: true,
      write: true,
      run: (_request, id) => this.#deleteAccount(id),
    },
  ];

  constructor() {
    super();
    this.#keys.set(SSMCM_SANDBOX.apiKey, { owner: "sandbox.admin@meikai.example", readOnly: false });
    this.#keys.set(SSMCM_SANDBOX.readOnlyApiKey, { owner: "sandbox.viewer@meikai.example", readOnly: true });
    for (const account of seedAccounts()) this.#accounts.set(account.id, account);
    for (const route of this.#routes) {
      const literal = `${BASE}${route.path}`.split(/\{[^}]+\}/).map(escapeRegExp);
      route.pattern = new RegExp(`^${literal.join("([^/]+)")}$`);
    }
  }

  /** The variables that point the server at this emulator with the sandbox key (after `start()`). */
  sandboxEnv(): Record<string, string> {
    return { SSMCM_URL: this.url, SSMCM_API_KEY: SSMCM_SANDBOX.apiKey };
  }

  /** Adds a valid API key (a random one unless given), as the UI's "API keys" menu would; returns it. */
  addApiKey(options: { key?: string; owner?: string; readOnly?: boolean } = {}): string {
    const key = options.key ?? `ssmcm-${randomBytes(20).toString("hex")}`;
    this.#keys.set(key, {
      owner: options.owner ?? "api.user@meikai.example",
      readOnly: options.readOnly ?? false,
    });
    return key;
  }

  /**
   * Revokes an API key: it no longer logs in, and the tokens granted with it are refused from now on
   * (emulator's choice: the server checks the key behind a token on every request). False when unknown.
   */
  revokeApiKey(key: string): boolean {
    return this.#keys.delete(key);
  }

  /** The API keys that currently log in. */
  apiKeys(): string[] {
    return [...this.#keys.keys()];
  }

  /** Every token handed out so far, oldest first, live or not (tests use them as canaries). */
  issuedTokens(): string[] {
    return [...this.#issued];
  }

  /** Every token issued so far is expired from now on; the keys still log in. */
  expireCredentials(): void {
    for (const record of this.#tokens.values()) record.expiresAt = 0;
  }

  /** One account as `GET /accounts/{id}` shows it now, for assertions. */
  account(id: string): Item | undefined {
    const account = this.#accounts.get(id);
    return account === undefined ? undefined : this.#accountView(account);
  }

  accountIds(): string[] {
    return [...this.#accounts.keys()];
  }

  /** Names of the buckets listed now (those of deleted accounts are gone). */
  bucketNames(): string[] {
    return this.#live(this.#buckets, "account").map((bucket) => bucket.name as string);
  }

  protected faultBody(status: number): unknown {
    return { code: status, message: STATUS_MESSAGES[status] ?? "error" };
  }

  protected handle(request: RecordedRequest): EmulatorResponse {
    const { path, method } = request;
    if (path === "/swagger/index.html")
      return this.swaggerPath === null ? PLAIN_404 : swaggerIndex(this.swaggerPath);
    if (path === SWAGGO_DOC || path === SWASHBUCKLE_DOC) {
      if (path !== this.swaggerPath) return PLAIN_404;
      if (method !== "GET") return PLAIN_404;
      const origin = `${this.url.split(":")[0]}://${request.headers.host ?? "127.0.0.1"}`;
      return {
        status: 200,
        body: path === SWAGGO_DOC ? swagger2(this.#routes) : openapi3(this.#routes, origin),
      };
    }
    // Emulator's choice: only the API speaks the envelope; any other path is the web server's plain 404.
    if (!path.startsWith("/api/")) return PLAIN_404;

    // Emulator's choice: the router answers 404 and 405 before the auth middleware runs (as Go and .NET
    // routers do), so an unknown path says "not found" even without a token.
    const matches = this.#routes
      .map((route) => ({ route, match: route.pattern?.exec(path) }))
      .filter((candidate) => candidate.match);
    if (matches.length === 0) return this.#error(404, `${method} ${path}: not found`);
    const hit = matches.find((candidate) => candidate.route.method === method);
    if (hit === undefined) {
      const allow = matches.map((candidate) => candidate.route.method).join(", ");
      const response = this.#error(405, `method ${method} not allowed on ${path}`);
      return { ...response, headers: { allow } };
    }
    const { route, match } = hit;
    if (route.auth) {
      const refused = this.#authenticate(request, route);
      if (refused) return refused;
    }
    return route.run(request, match?.[1] ?? "");
  }

  // --- auth ---------------------------------------------------------------------------------------------

  #login(request: RecordedRequest): EmulatorResponse {
    // Emulator's choice: the body must be declared JSON (the vendor's sample posts `json={"key": key}`);
    // anything else, or a body that does not parse, is code 400.
    if (!request.contentType?.includes("json")) return this.#error(400, "request body must be JSON");
    let body: unknown;
    try {
      body = JSON.parse(request.body);
    } catch {
      return this.#error(400, "request body must be JSON");
    }
    const key = (body as { key?: unknown } | null)?.key;
    if (typeof key !== "string" || key === "") return this.#error(400, "key is required");
    const owner = this.#keys.get(key);
    if (owner === undefined) return this.#error(401, "invalid API key");
    const token = this.tokenFormat === "jwt" ? this.#jwt(owner) : randomBytes(32).toString("hex");
    this.#tokens.set(token, { key, expiresAt: Date.now() + this.tokenLifetimeSeconds * 1000 });
    this.#issued.push(token);
    this.logins += 1;
    return this.#ok({ token });
  }

  #jwt(owner: ApiKey): string {
    const now = Math.floor(Date.now() / 1000);
    const header = base64url({ alg: "HS256", typ: "JWT" });
    const payload = base64url({
      sub: owner.owner,
      iat: now,
      exp: now + this.tokenLifetimeSeconds,
      jti: randomUUID(),
    });
    const signature = createHmac("sha256", this.#signingKey)
      .update(`${header}.${payload}`)
      .digest("base64url");
    return `${header}.${payload}.${signature}`;
  }

  /** The refusal for a request without a live token, or undefined when it may go on. */
  #authenticate(request: RecordedRequest, route: Route): EmulatorResponse | undefined {
    const auth = authorization(request);
    if (auth?.scheme !== "bearer" || auth.value === "") return this.#unauthorized("missing bearer token");
    const record = this.#tokens.get(auth.value);
    // An unknown token reads like an expired one: from outside, a token minted by a restarted instance
    // (a new signing key) is indistinguishable from one that ran out.
    if (record === undefined || Date.now() >= record.expiresAt) return this.#unauthorized("token expired");
    const key = this.#keys.get(record.key);
    if (key === undefined) return this.#unauthorized("token expired");
    if (route.write && key.readOnly)
      return this.#error(403, "forbidden: the API key's user has read-only access");
    return undefined;
  }

  #unauthorized(message: string): EmulatorResponse {
    this.refusals += 1;
    const body = { code: 401, message };
    if (this.expirySignal === "body401") return { status: 200, body };
    return {
      status: 401,
      body,
      headers: { "www-authenticate": `Bearer error="invalid_token", error_description="${message}"` },
    };
  }

  // --- envelope -----------------------------------------------------------------------------------------

  #ok(data: unknown, message = "OK"): EmulatorResponse {
    return { status: 200, body: { code: 200, message, data } };
  }

  #error(code: number, message: string): EmulatorResponse {
    return { status: this.errorStatus === "http" ? code : 200, body: { code, message } };
  }

  // --- inventories ----------------------------------------------------------------------------------------

  /** Items whose account still exists: deleting an account drops its inventory (emulator's choice). */
  #live(items: Item[], accountField: string): Item[] {
    return items.filter((item) => this.#accounts.has(item[accountField] as string));
  }

  /**
   * DataTables-style paging (upstreams.md: `length` from the seed, the rest INF): `length` (absent or
   * empty = all), `start` (default 0), `search` or `search[value]`; other parameters (`draw`, `order[..]`,
   * `columns[..]`) are accepted, and only `draw` is used: echoed as DataTables servers do.
   */
  #list(request: RecordedRequest, items: Item[], haystack: (item: Item) => unknown[]): EmulatorResponse {
    const { query } = request;
    const length = nonNegative(query.length);
    if (length === null)
      return this.#error(400, `length must be a non-negative integer, got "${query.length}"`);
    const start = nonNegative(query.start);
    if (start === null) return this.#error(400, `start must be a non-negative integer, got "${query.start}"`);
    const search = (query.search || query["search[value]"] || "").toLowerCase();
    const matching =
      search === ""
        ? items
        : items.filter((item) =>
            haystack(item).some((value) => typeof value === "string" && value.toLowerCase().includes(search)),
          );
    const offset = start ?? 0;
    const page = matching.slice(offset, length === undefined ? undefined : offset + length);
    const body: Item = { code: 200, message: "OK", data: structuredClone(page) };
    if (this.listShape === "datatables") {
      if (query.draw !== undefined && /^\d+$/.test(query.draw)) body.draw = Number(query.draw);
      body.recordsTotal = items.length;
      body.recordsFiltered = matching.length;
    }
    return { status: 200, body };
  }

  #accountNotFound(id: string): EmulatorResponse {
    return this.#error(404, `account ${id} not found`);
  }

  /** Folds a finished run into the account, so its state is read from `Date.now()` without timers. */
  #settle(account: Account): void {
    if (account.runStartedAt === undefined) return;
    const endsAt = account.runStartedAt + this.inventoryDurationMs;
    if (Date.now() < endsAt) return;
    account.lastInventoryAt = new Date(endsAt).toISOString();
    account.failed = account.failsWith !== undefined;
    account.runStartedAt = undefined;
  }

  #accountView(account: Account): Item {
    this.#settle(account);
    const running = account.runStartedAt !== undefined;
    return {
      id: account.id,
      supplier: account.supplier,
      name: account.name,
      alias: account.alias,
      tags: { ...account.tags },
      service_managers: [...account.service_managers],
      created_at: account.created_at,
      inventory_status: running ? "running" : account.failed ? "failed" : "completed",
      last_inventory_at: account.lastInventoryAt,
      inventory_error: !running && account.failed ? (account.failsWith ?? null) : null,
    };
  }

  #updateAccount(id: string): EmulatorResponse {
    const account = this.#accounts.get(id);
    if (account === undefined) return this.#accountNotFound(id);
    this.#settle(account);
    // Emulator's choice: a second update while one runs is refused, not queued.
    if (account.runStartedAt !== undefined)
      return this.#error(409, `the inventory of account ${id} is already running`);
    account.runStartedAt = Date.now();
    return this.#ok(
      {
        id,
        inventory_status: "running",
        started_at: new Date(account.runStartedAt).toISOString(),
      },
      "inventory update started",
    );
  }

  #deleteAccount(id: string): EmulatorResponse {
    if (!this.#accounts.delete(id)) return this.#accountNotFound(id);
    return this.#ok({ id }, "account deleted");
  }
}

const STATUS_MESSAGES: Record<number, string> = {
  400: "bad request",
  401: "token expired",
  403: "forbidden",
  404: "not found",
  429: "too many requests",
  500: "internal server error",
  502: "bad gateway",
  503: "service unavailable",
  504: "gateway timeout",
};

/** undefined when absent or empty, null when not a non-negative integer. */
function nonNegative(value: string | undefined): number | undefined | null {
  if (value === undefined || value === "") return undefined;
  return /^\d+$/.test(value) ? Number(value) : null;
}

function tagValues(tags: unknown): unknown[] {
  return tags !== null && typeof tags === "object" ? Object.values(tags) : [];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}
