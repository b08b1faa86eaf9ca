import { createHmac, randomBytes, randomUUID } from "node:crypto";
import {
  authorization,
  Emulator,
  type EmulatorResponse,
  type RecordedRequest,
} from "../../../sandbox/emulator.js";

/**
 * Sandbox credentials: the emulator accepts these, and `--sandbox` configures `apiKey`. The read-only key
 * belongs to a viewer whose tokens may read but not write (emulator's choice, so that code 403 has a use).
 */
export const SSMCM_SANDBOX = {
  apiKey: "ssmcm-sandbox-key-4b7e2f9a1c6d8e03b5a7",
  readOnlyApiKey: "ssmcm-sandbox-viewer-key-9d3a6c1f7e2b5a84",
} as const;

/** Every API path starts here (upstreams.md section 1: `/api/v1.0/auth/token`, `/api/v1.0/aws/s3`). */
const BASE = "/api/v1.0";

/** Where each Swagger flavour keeps its document (upstreams.md: the flavour is unknown; a client probes both). */
export type SsmcmSwaggerPath = "/swagger/doc.json" | "/swagger/v1/swagger.json";
const SWAGGO_DOC = "/swagger/doc.json";
const SWASHBUCKLE_DOC = "/swagger/v1/swagger.json";

/** Go's net/http answer for a path nothing serves: what a real web server sends for a Swagger path it lacks. */
const PLAIN_404: EmulatorResponse = {
  status: 404,
  body: "404 page not found\n",
  headers: { "content-type": "text/plain; charset=utf-8" },
  raw: true,
};

type Method = "GET" | "POST" | "DELETE";
type Item = Record<string, unknown>;

interface ApiKey {
  owner: string;
  readOnly: boolean;
}

interface TokenRecord {
  key: string;
  expiresAt: number; // epoch ms
}

interface Account {
  id: string;
  supplier: "AWS" | "Azure" | "GCP";
  name: string;
  alias: string;
  tags: Record<string, string>;
  service_managers: string[];
  created_at: string;
  /** End of the last inventory run (ISO). */
  lastInventoryAt: string;
  /** Set for an account whose inventory always fails (its cloud credentials are broken). */
  failsWith?: string;
  /** True once a run failed (the seed's broken account starts so). */
  failed: boolean;
  /** Start of the run in progress (epoch ms); it ends `inventoryDurationMs` later. */
  runStartedAt?: number;
}

interface Parameter {
  name: string;
  in: "query" | "path";
  type: "integer" | "string";
  description: string;
}

/** One operation: the routing table and both Swagger documents are built from this list. */
interface Route {
  method: Method;
  /** Relative to `/api/v1.0`, in Swagger's `{name}` form. */
  path: string;
  summary: string;
  tag: string;
  params: Parameter[];
  /** Needs `Authorization: Bearer <token>` (everything but the login). */
  auth: boolean;
  /** Refused (403) to a read-only key's tokens. */
  write: boolean;
  run: (request: RecordedRequest, id: string) => EmulatorResponse;
  pattern?: RegExp;
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
 * paging on the inventories, and the instance's own Swagger at one of the two places a client probes.
 *
 * Seeded data (deterministic, insertion order):
 * - Accounts: AWS `210987654321` meikai-prod, `345678901234` meikai-staging, `456789012345` meikai-data,
 *   `678901234567` meikai-legacy (its inventory fails: the IAM role lost s3:ListAllMyBuckets), Azure
 *   subscription `3f2b9c1e-8a47-4d6b-9e21-5c7a0d4f8b13` (alias azure-prod), GCP project
 *   `meikai-analytics-prod` (alias gcp-analytics).
 * - 25 S3 buckets over the four AWS accounts (10 prod, 5 staging, 7 data, 3 legacy); 6 are public
 *   (`meikai-prod-web-assets`, `meikai-prod-cdn-origin`, `meikai-prod-static-site`,
 *   `meikai-staging-web-assets`, `meikai-data-exports-partners`, `meikai-legacy-www`); `meikai-legacy-ftp-drop`
 *   is empty and untagged.
 * - 10 EC2 instances (3 stopped), 6 Azure VMs (1 deallocated), 4 GCP VMs (1 terminated).
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
    if (path === "/swagger/index.html") return this.#swaggerIndex();
    if (path === SWAGGO_DOC || path === SWASHBUCKLE_DOC) {
      if (path !== this.swaggerPath) return PLAIN_404;
      return method === "GET" ? this.#swaggerDocument(request) : PLAIN_404;
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

  // --- swagger ----------------------------------------------------------------------------------------------

  #swaggerIndex(): EmulatorResponse {
    if (this.swaggerPath === null) return PLAIN_404;
    // Each flavour's UI page points at its own document, relative to /swagger/.
    const url = this.swaggerPath === SWAGGO_DOC ? "doc.json" : "v1/swagger.json";
    const html = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="UTF-8"><title>Swagger UI</title><link rel="stylesheet" href="./swagger-ui.css"></head>
<body>
<div id="swagger-ui"></div>
<script src="./swagger-ui-bundle.js"></script>
<script>window.onload = function () { window.ui = SwaggerUIBundle({ url: "${url}", dom_id: "#swagger-ui" }); };</script>
</body>
</html>
`;
    return { status: 200, body: html, headers: { "content-type": "text/html; charset=utf-8" }, raw: true };
  }

  #swaggerDocument(request: RecordedRequest): EmulatorResponse {
    return {
      status: 200,
      body: this.swaggerPath === SWAGGO_DOC ? this.#swagger2() : this.#openapi3(request),
    };
  }

  /** Go swaggo: Swagger 2.0, paths relative to `basePath`; `host: ""` and `schemes: []` as swag renders them. */
  #swagger2(): Item {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const route of this.#routes) {
      const parameters: unknown[] = route.params.map((p) => ({
        type: p.type,
        description: p.description,
        name: p.name,
        in: p.in,
        ...(p.in === "path" ? { required: true } : {}),
      }));
      if (route.path === "/auth/token") {
        parameters.push({
          description: "The API key",
          name: "body",
          in: "body",
          required: true,
          schema: { $ref: "#/definitions/TokenRequest" },
        });
      }
      const operation: Item = {
        summary: route.summary,
        consumes: ["application/json"],
        produces: ["application/json"],
        tags: [route.tag],
        parameters,
        responses: { "200": { description: "OK", schema: { $ref: "#/definitions/Envelope" } } },
      };
      if (route.auth) operation.security = [{ ApiKeyAuth: [] }];
      paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation };
    }
    return {
      schemes: [],
      swagger: "2.0",
      info: {
        description: "Meikai SSMCM multicloud manager API",
        title: "SSMCM API",
        contact: {},
        version: "1.0",
      },
      host: "",
      basePath: BASE,
      paths,
      definitions: {
        Envelope: {
          type: "object",
          properties: {
            code: { type: "integer", example: 200 },
            message: { type: "string", example: "OK" },
            data: {},
            recordsTotal: { type: "integer" },
            recordsFiltered: { type: "integer" },
          },
        },
        TokenRequest: { type: "object", required: ["key"], properties: { key: { type: "string" } } },
      },
      securityDefinitions: {
        ApiKeyAuth: {
          description: "Bearer <token> from POST /auth/token",
          type: "apiKey",
          name: "Authorization",
          in: "header",
        },
      },
    };
  }

  /** .NET Swashbuckle: OpenAPI 3.0.1, full paths, and `servers` naming the host the request came to. */
  #openapi3(request: RecordedRequest): Item {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const route of this.#routes) {
      const operation: Item = { tags: [route.tag], summary: route.summary };
      if (route.params.length > 0) {
        operation.parameters = route.params.map((p) => ({
          name: p.name,
          in: p.in,
          description: p.description,
          ...(p.in === "path" ? { required: true } : {}),
          schema: { type: p.type, ...(p.type === "integer" ? { format: "int32" } : {}) },
        }));
      }
      if (route.path === "/auth/token") {
        operation.requestBody = {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/TokenRequest" } } },
        };
      }
      operation.responses = {
        "200": {
          description: "Success",
          content: { "application/json": { schema: { $ref: "#/components/schemas/Envelope" } } },
        },
      };
      if (route.auth) operation.security = [{ Bearer: [] }];
      const full = `${BASE}${route.path}`;
      paths[full] = { ...paths[full], [route.method.toLowerCase()]: operation };
    }
    return {
      openapi: "3.0.1",
      info: { title: "SSMCM API", version: "v1" },
      servers: [{ url: `${this.url.split(":")[0]}://${request.headers.host ?? "127.0.0.1"}` }],
      paths,
      components: {
        schemas: {
          Envelope: {
            type: "object",
            properties: {
              code: { type: "integer", format: "int32" },
              message: { type: "string", nullable: true },
              data: { nullable: true },
              recordsTotal: { type: "integer", format: "int32" },
              recordsFiltered: { type: "integer", format: "int32" },
            },
            additionalProperties: false,
          },
          TokenRequest: {
            required: ["key"],
            type: "object",
            properties: { key: { type: "string" } },
            additionalProperties: false,
          },
        },
        securitySchemes: {
          Bearer: {
            type: "http",
            description: "Token from POST /api/v1.0/auth/token",
            scheme: "bearer",
            bearerFormat: "JWT",
          },
        },
      },
    };
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

// --- seed data --------------------------------------------------------------------------------------------

const ACCOUNT_NAMES: Record<string, string> = {
  "210987654321": "meikai-prod",
  "345678901234": "meikai-staging",
  "456789012345": "meikai-data",
  "678901234567": "meikai-legacy",
};

function seedAccounts(): Account[] {
  const managers = {
    platform: ["aiko.tanaka@meikai.example", "jordi.puig@meikai.example"],
    data: ["lena.fischer@meikai.example"],
    it: ["marta.sanz@meikai.example", "jordi.puig@meikai.example"],
  };
  const inventoried = "2025-11-24T02:00:41.000Z";
  return [
    {
      id: "210987654321",
      supplier: "AWS",
      name: "meikai-prod",
      alias: "Production",
      tags: { env: "prod", cost_center: "CC-1001" },
      service_managers: managers.platform,
      created_at: "2019-01-08T10:12:00.000Z",
      lastInventoryAt: inventoried,
      failed: false,
    },
    {
      id: "345678901234",
      supplier: "AWS",
      name: "meikai-staging",
      alias: "Staging",
      tags: { env: "staging", cost_center: "CC-1001" },
      service_managers: managers.platform,
      created_at: "2020-02-10T09:30:00.000Z",
      lastInventoryAt: inventoried,
      failed: false,
    },
    {
      id: "456789012345",
      supplier: "AWS",
      name: "meikai-data",
      alias: "Data lake",
      tags: { env: "prod", cost_center: "CC-2040" },
      service_managers: managers.data,
      created_at: "2021-02-26T14:05:00.000Z",
      lastInventoryAt: inventoried,
      failed: false,
    },
    {
      id: "678901234567",
      supplier: "AWS",
      name: "meikai-legacy",
      alias: "Legacy (pre-2018)",
      tags: { env: "legacy", cost_center: "CC-0900" },
      service_managers: managers.it,
      created_at: "2016-07-20T08:00:00.000Z",
      lastInventoryAt: inventoried,
      failsWith:
        "AccessDenied: User: arn:aws:sts::678901234567:assumed-role/SSMCMInventory/ssmcm is not authorized to perform: s3:ListAllMyBuckets",
      failed: true,
    },
    {
      id: "3f2b9c1e-8a47-4d6b-9e21-5c7a0d4f8b13",
      supplier: "Azure",
      name: "Meikai Production (Azure)",
      alias: "azure-prod",
      tags: { env: "prod", cost_center: "CC-3100" },
      service_managers: managers.it,
      created_at: "2021-09-13T11:20:00.000Z",
      lastInventoryAt: inventoried,
      failed: false,
    },
    {
      id: "meikai-analytics-prod",
      supplier: "GCP",
      name: "Meikai Analytics",
      alias: "gcp-analytics",
      tags: { env: "prod", cost_center: "CC-2040" },
      service_managers: managers.data,
      created_at: "2022-04-04T07:45:00.000Z",
      lastInventoryAt: inventoried,
      failed: false,
    },
  ];
}

const GIB = 1024 ** 3;
const TIB = 1024 ** 4;

function seedBuckets(): Item[] {
  const rows: [string, string, string, string, number, number, boolean, Record<string, string>][] = [
    // name, region, account, created, size, objects, public, tags
    [
      "meikai-prod-web-assets",
      "eu-west-1",
      "210987654321",
      "2019-03-14T09:21:07Z",
      45 * GIB,
      1_204_331,
      true,
      { env: "prod", team: "web", app: "storefront" },
    ],
    [
      "meikai-prod-app-logs",
      "eu-west-1",
      "210987654321",
      "2019-03-14T09:25:43Z",
      1.76 * TIB,
      58_221_904,
      false,
      { env: "prod", team: "platform", retention: "400d" },
    ],
    [
      "meikai-prod-db-backups",
      "eu-west-1",
      "210987654321",
      "2019-06-02T22:10:15Z",
      6.75 * TIB,
      18_432,
      false,
      { env: "prod", team: "dba", backup: "daily" },
    ],
    [
      "meikai-prod-cloudtrail",
      "us-east-1",
      "210987654321",
      "2019-02-28T11:02:55Z",
      384 * GIB,
      9_873_120,
      false,
      { env: "prod", team: "security", compliance: "iso27001" },
    ],
    [
      "meikai-prod-cdn-origin",
      "us-east-1",
      "210987654321",
      "2020-01-20T15:47:31Z",
      90 * GIB,
      402_118,
      true,
      { env: "prod", team: "web", app: "cdn" },
    ],
    [
      "meikai-prod-terraform-state",
      "eu-west-1",
      "210987654321",
      "2019-01-09T08:00:12Z",
      52_428_800,
      1_287,
      false,
      { env: "prod", team: "platform", "managed-by": "terraform" },
    ],
    [
      "meikai-prod-media-uploads",
      "ap-northeast-1",
      "210987654321",
      "2021-04-05T02:33:19Z",
      2.5 * TIB,
      12_904_557,
      false,
      { env: "prod", team: "mobile", app: "photos" },
    ],
    [
      "meikai-prod-invoices-archive",
      "eu-central-1",
      "210987654321",
      "2020-09-30T17:12:48Z",
      200 * GIB,
      3_402_991,
      false,
      { env: "prod", team: "finance", retention: "10y" },
    ],
    [
      "meikai-prod-alb-access-logs",
      "eu-west-1",
      "210987654321",
      "2021-11-16T10:05:00Z",
      639 * GIB,
      31_776_402,
      false,
      { env: "prod", team: "platform" },
    ],
    [
      "meikai-prod-static-site",
      "us-west-2",
      "210987654321",
      "2022-05-23T13:44:26Z",
      1 * GIB,
      2_315,
      true,
      { env: "prod", team: "marketing", app: "website" },
    ],
    [
      "meikai-staging-web-assets",
      "eu-west-1",
      "345678901234",
      "2020-02-11T10:02:31Z",
      6 * GIB,
      210_774,
      true,
      { env: "staging", team: "web", app: "storefront" },
    ],
    [
      "meikai-staging-app-logs",
      "eu-west-1",
      "345678901234",
      "2020-02-11T10:04:09Z",
      120 * GIB,
      4_118_203,
      false,
      { env: "staging", team: "platform" },
    ],
    [
      "meikai-staging-terraform-state",
      "eu-west-1",
      "345678901234",
      "2020-02-10T16:40:52Z",
      8_388_608,
      412,
      false,
      { env: "staging", team: "platform", "managed-by": "terraform" },
    ],
    [
      "meikai-staging-qa-fixtures",
      "eu-central-1",
      "345678901234",
      "2022-08-17T12:18:03Z",
      3 * GIB,
      18_922,
      false,
      { env: "staging", team: "qa" },
    ],
    [
      "meikai-staging-mobile-builds",
      "us-east-1",
      "345678901234",
      "2023-01-12T19:55:40Z",
      400 * GIB,
      7_844,
      false,
      { env: "staging", team: "mobile" },
    ],
    [
      "meikai-datalake-raw",
      "eu-west-1",
      "456789012345",
      "2021-03-01T08:30:00Z",
      44 * TIB,
      402_337_810,
      false,
      { env: "prod", team: "data", layer: "raw" },
    ],
    [
      "meikai-datalake-curated",
      "eu-west-1",
      "456789012345",
      "2021-03-01T08:31:12Z",
      9 * TIB,
      88_204_113,
      false,
      { env: "prod", team: "data", layer: "curated" },
    ],
    [
      "meikai-athena-query-results",
      "eu-west-1",
      "456789012345",
      "2021-03-04T13:07:45Z",
      16 * GIB,
      1_930_442,
      false,
      { env: "prod", team: "data" },
    ],
    [
      "meikai-ml-training-sets",
      "us-east-2",
      "456789012345",
      "2022-10-09T06:12:20Z",
      3 * TIB,
      2_104_993,
      false,
      { env: "prod", team: "ml" },
    ],
    [
      "meikai-ml-model-artifacts",
      "us-east-2",
      "456789012345",
      "2022-10-09T06:14:02Z",
      512 * GIB,
      14_210,
      false,
      { env: "prod", team: "ml" },
    ],
    [
      "meikai-data-exports-partners",
      "eu-west-1",
      "456789012345",
      "2023-06-19T09:41:17Z",
      70 * GIB,
      64_003,
      true,
      { env: "prod", team: "data", sharing: "partners" },
    ],
    [
      "meikai-glue-scripts",
      "eu-west-1",
      "456789012345",
      "2021-03-02T11:26:38Z",
      4_194_304,
      96,
      false,
      { env: "prod", team: "data" },
    ],
    [
      "meikai-legacy-www",
      "us-east-1",
      "678901234567",
      "2016-07-22T14:03:51Z",
      12 * GIB,
      88_412,
      true,
      { env: "legacy", team: "web" },
    ],
    [
      "meikai-legacy-backups-2017",
      "us-east-1",
      "678901234567",
      "2017-01-05T03:00:09Z",
      1 * TIB,
      5_120,
      false,
      { env: "legacy", backup: "monthly" },
    ],
    ["meikai-legacy-ftp-drop", "us-west-1", "678901234567", "2017-09-13T16:22:37Z", 0, 0, false, {}],
  ];
  return rows.map(([name, region, account, created, size, objects, isPublic, tags]) => ({
    name,
    arn: `arn:aws:s3:::${name}`,
    region,
    account,
    account_name: ACCOUNT_NAMES[account],
    creation_date: new Date(created).toISOString(),
    size_bytes: Math.round(size),
    object_count: objects,
    public: isPublic,
    tags,
  }));
}

function seedEc2(): Item[] {
  const rows: [string, string, string, string, string, string, string | null, string, "linux" | "windows"][] =
    [
      // id, name, type, state, zone, private ip, public ip, launched, platform
      [
        "i-0a3f9c2e71b5d4801",
        "web-prod-01",
        "m6i.large",
        "running",
        "eu-west-1a",
        "10.20.1.11",
        "34.245.18.201",
        "2024-02-12T08:14:33Z",
        "linux",
      ],
      [
        "i-0b7d21e94c6a3f512",
        "web-prod-02",
        "m6i.large",
        "running",
        "eu-west-1b",
        "10.20.2.12",
        "34.247.90.77",
        "2024-02-12T08:14:35Z",
        "linux",
      ],
      [
        "i-0c18e5a7f3d2b9046",
        "api-prod-01",
        "c6i.xlarge",
        "running",
        "eu-west-1a",
        "10.20.1.21",
        null,
        "2024-06-03T21:40:02Z",
        "linux",
      ],
      [
        "i-0d94b3c6e8a1f7235",
        "worker-prod-01",
        "c6i.2xlarge",
        "running",
        "eu-west-1c",
        "10.20.3.31",
        null,
        "2024-06-03T21:41:18Z",
        "linux",
      ],
      [
        "i-0e2a7f8b5c9d1e364",
        "bastion-prod",
        "t3.micro",
        "running",
        "eu-west-1a",
        "10.20.0.5",
        "52.30.144.9",
        "2023-09-19T07:02:44Z",
        "linux",
      ],
      [
        "i-0f61c4d2a8e7b3590",
        "win-reporting-01",
        "r5.xlarge",
        "stopped",
        "eu-west-1b",
        "10.20.2.40",
        null,
        "2022-11-28T12:30:09Z",
        "windows",
      ],
      [
        "i-01d8e3f6a2b7c4915",
        "web-staging-01",
        "t3.medium",
        "running",
        "eu-west-1a",
        "10.30.1.11",
        "54.75.201.33",
        "2025-01-15T10:11:12Z",
        "linux",
      ],
      [
        "i-02c5a9b1e7f3d6428",
        "api-staging-01",
        "t3.large",
        "stopped",
        "eu-west-1b",
        "10.30.2.21",
        null,
        "2025-01-15T10:13:50Z",
        "linux",
      ],
      [
        "i-03b7f2d9c4e1a8657",
        "emr-master-01",
        "m5.2xlarge",
        "running",
        "eu-west-1a",
        "10.40.1.10",
        null,
        "2025-10-30T04:00:27Z",
        "linux",
      ],
      [
        "i-04e9c6a3b8d2f7170",
        "ml-gpu-train-01",
        "g5.2xlarge",
        "stopped",
        "us-east-2a",
        "10.41.1.50",
        null,
        "2025-03-08T18:25:31Z",
        "linux",
      ],
    ];
  const accountOf = (ip: string) =>
    ip.startsWith("10.20.") ? "210987654321" : ip.startsWith("10.30.") ? "345678901234" : "456789012345";
  return rows.map(
    ([instance_id, name, instance_type, state, zone, privateIp, publicIp, launched, platform]) => {
      const account = accountOf(privateIp);
      const env = account === "345678901234" ? "staging" : "prod";
      return {
        instance_id,
        name,
        instance_type,
        state,
        region: zone.slice(0, -1),
        availability_zone: zone,
        account,
        account_name: ACCOUNT_NAMES[account],
        private_ip: privateIp,
        public_ip: publicIp,
        launch_time: new Date(launched).toISOString(),
        platform,
        tags: { Name: name, env },
      };
    },
  );
}

function seedAzureVms(): Item[] {
  const subscription = "3f2b9c1e-8a47-4d6b-9e21-5c7a0d4f8b13";
  const rows: [string, string, string, string, string, "Windows" | "Linux", string, string, string][] = [
    // name, group, location, size, power, os, private ip, created, app
    [
      "vm-erp-app-01",
      "rg-erp-prod",
      "westeurope",
      "Standard_D4s_v5",
      "VM running",
      "Windows",
      "10.50.1.4",
      "2022-03-07T09:15:00Z",
      "erp",
    ],
    [
      "vm-erp-app-02",
      "rg-erp-prod",
      "westeurope",
      "Standard_D4s_v5",
      "VM running",
      "Windows",
      "10.50.1.5",
      "2022-03-07T09:17:00Z",
      "erp",
    ],
    [
      "vm-erp-sql-01",
      "rg-erp-prod",
      "westeurope",
      "Standard_E8s_v5",
      "VM running",
      "Windows",
      "10.50.2.4",
      "2022-03-07T10:02:00Z",
      "erp",
    ],
    [
      "vm-ad-dc-01",
      "rg-identity",
      "westeurope",
      "Standard_B2ms",
      "VM running",
      "Windows",
      "10.50.0.4",
      "2021-09-14T08:40:00Z",
      "active-directory",
    ],
    [
      "vm-jumpbox-01",
      "rg-shared-services",
      "northeurope",
      "Standard_B1s",
      "VM deallocated",
      "Linux",
      "10.51.0.4",
      "2023-05-02T15:22:00Z",
      "jumpbox",
    ],
    [
      "vm-sftp-01",
      "rg-shared-services",
      "northeurope",
      "Standard_B2s",
      "VM running",
      "Linux",
      "10.51.0.5",
      "2023-05-02T15:30:00Z",
      "sftp",
    ],
  ];
  return rows.map(([name, group, location, size, power, os, ip, created, app]) => ({
    id: `/subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.Compute/virtualMachines/${name}`,
    name,
    resource_group: group,
    location,
    vm_size: size,
    power_state: power,
    os_type: os,
    private_ip: ip,
    subscription_id: subscription,
    subscription_name: "Meikai Production (Azure)",
    created: new Date(created).toISOString(),
    tags: { env: "prod", app },
  }));
}

function seedGcpVms(): Item[] {
  const rows: [string, string, string, string, string, string, string, string][] = [
    // id, name, zone, machine type, status, private ip, created, component
    [
      "4820917365120938471",
      "bq-etl-runner-01",
      "europe-west1-b",
      "e2-standard-4",
      "RUNNING",
      "10.132.0.12",
      "2023-02-20T10:00:00Z",
      "etl",
    ],
    [
      "6193847205518370294",
      "airflow-scheduler",
      "europe-west1-c",
      "n2-standard-2",
      "RUNNING",
      "10.132.0.20",
      "2023-02-21T09:12:00Z",
      "airflow",
    ],
    [
      "7302958164423019856",
      "airflow-worker-01",
      "europe-west1-b",
      "n2-standard-8",
      "RUNNING",
      "10.132.0.21",
      "2023-02-21T09:14:00Z",
      "airflow",
    ],
    [
      "8415069273334128617",
      "notebook-ds-01",
      "europe-west4-a",
      "n1-standard-8",
      "TERMINATED",
      "10.164.0.7",
      "2024-08-12T13:47:00Z",
      "notebooks",
    ],
  ];
  return rows.map(([id, name, zone, machineType, status, ip, created, component]) => ({
    id,
    name,
    zone,
    machine_type: machineType,
    status,
    private_ip: ip,
    project: "meikai-analytics-prod",
    created: new Date(created).toISOString(),
    labels: { env: "prod", component },
  }));
}
