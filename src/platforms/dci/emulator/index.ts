import { randomUUID } from "node:crypto";
import { cookie, Emulator, type EmulatorResponse, type RecordedRequest } from "../../../sandbox/emulator.js";
import { DCI_SANDBOX, type Server, seedServers, seedUsers, type User } from "./seed.js";
import { fieldsOf, matches, parseWhere, resolvePath, type WhereNode, WhereSyntaxError } from "./where.js";

export { DCI_SANDBOX } from "./seed.js";

const AUTH = "/api/auth/v4";
const DCI = "/api/dci/v3";

/**
 * Error codes. 3001 comes from the vendor page and 2001 from DESIGN.md's sample; the others are this
 * emulator's choice (the platform's own table is not public).
 */
export const DCI_ERRORS = {
  notFound: 2001,
  badQuery: 2002,
  badValue: 2003,
  busy: 2004,
  unknownFunction: 2005,
  unauthorized: 3001,
  badPassword: 3002,
  badKey: 3003,
  forbidden: 3004,
} as const;

interface TokenRecord {
  userId: number;
  lastUsedAt: number;
  /** Long-lived tokens (`POST /auth/v4/token`) end at `expires_at` and never idle out. */
  expiresAt?: number;
}

function dciError(status: number, code: number, msg: string, value: unknown = {}): EmulatorResponse {
  return { status, body: { error: { code, msg, value } } };
}

const notFound = (what: string) => dciError(404, DCI_ERRORS.notFound, `${what} not found`);
const ok = (body: unknown = {}): EmulatorResponse => ({ status: 200, body });

/**
 * DCImanager 6 (upstreams.md section 2 and the vendor page in seeds/): password, login-key and long-lived
 * token auth and `whoami` under both `/api/auth/v4` and `/auth/v4`; the token taken from `x-xsrf-token` or the `ses6`
 * cookie; idle tokens deleted after `token_ttl` minutes; 3001 for anything unauthenticated; the
 * `{error: {code, msg, value}}` envelope; servers with `where`/`orderby`/`limit`; power operations. The
 * seeded users and servers are in seed.ts, the `where` filter's parser in where.ts.
 */
export class DciEmulator extends Emulator {
  /** The login answer's status: a 3P client expects 201, the seed shows none (TOOLS.md section 5). */
  loginStatus: 200 | 201 = 200;
  /** HTTP status sent with error 3001; the code is what matters, so tests vary it. */
  unauthorizedStatus = 401;
  /** How long a power operation stays `running`; 0 completes it before answering. */
  operationDurationMs = 200;
  /** Idle lifetime of session tokens: the `token_ttl` setting (60 minutes by default), in ms. */
  idleTimeoutMs = 60 * 60_000;
  /** Successful password logins and key exchanges. */
  logins = 0;
  /** Answers with error 3001, for "re-logged in without being refused first" checks. */
  refusals = 0;

  sandboxEnv(): Record<string, string> {
    return { DCI_URL: this.url, DCI_EMAIL: DCI_SANDBOX.email, DCI_PASSWORD: DCI_SANDBOX.password };
  }

  readonly #users = new Map<number, User>();
  readonly #servers = new Map<number, Server>();
  readonly #settings = new Map<string, string>();
  readonly #tokens = new Map<string, TokenRecord>();
  readonly #keys = new Map<string, { id: number; userId: number; expiresAt: number }>();
  readonly #issued: string[] = [];
  #nextKeyId = 1;
  #nextTokenId = 1;
  #nextOperationId = 5000;

  constructor() {
    super();
    seedUsers(this.#users);
    for (const server of seedServers()) this.#servers.set(server.id, server);
    this.#settings.set("operation_change_boot_order", "true");
    this.#settings.set("ipmi_proxy_enabled", "true");
    this.#settings.set("server_power_off_timeout", "300");
  }

  /** Issues a long-lived token, as `POST /auth/v4/token {expires_at}` would for the sandbox admin. */
  issueLongLivedToken(expiresAt = Date.now() + 365 * 86_400_000): string {
    const token = this.#newToken();
    this.#tokens.set(token, { userId: 1, lastUsedAt: Date.now(), expiresAt });
    return token;
  }

  revokeToken(token: string): void {
    this.#tokens.delete(token);
  }

  /** Deletes every session token now, as a long idle would; long-lived tokens survive. */
  expireTokens(): void {
    for (const [token, record] of this.#tokens)
      if (record.expiresAt === undefined) this.#tokens.delete(token);
  }

  /** Every token issued so far, oldest first, live or not (tests also use them as canaries). */
  issuedTokens(): string[] {
    return [...this.#issued];
  }

  /** Creates a one-hour login key for a user, as `POST /auth/v4/user/{email}/key` does. */
  createLoginKey(email: string): string | undefined {
    const user = [...this.#users.values()].find((candidate) => candidate.email === email);
    return user === undefined ? undefined : this.#createKey(user).key;
  }

  /** A copy of one server, for assertions. */
  server(id: number): Server | undefined {
    const server = this.#servers.get(id);
    return server === undefined ? undefined : structuredClone(server);
  }

  setting(name: string): string | undefined {
    return name === "token_ttl" ? String(Math.round(this.idleTimeoutMs / 60_000)) : this.#settings.get(name);
  }

  /** 503 for the next `count` requests of any method: the platform is suspended and does nothing. */
  suspend(count: number): void {
    this.failNext(count, 503);
  }

  protected faultBody(status: number): unknown {
    if (status === 503)
      return { error: { code: 503, msg: "Service Unavailable: the platform is suspended", value: {} } };
    return { error: { code: status, msg: "Internal server error", value: {} } };
  }

  protected handle(request: RecordedRequest): EmulatorResponse {
    // Auth answers without the `/api` prefix too (3P scripts use both).
    const path = request.path.startsWith("/auth/") ? `/api${request.path}` : request.path;
    const { method } = request;
    if (path === `${AUTH}/public/token`) return method === "POST" ? this.#login(request) : noMethod();
    if (path === `${AUTH}/public/key`) return method === "POST" ? this.#exchangeKey(request) : noMethod();

    const user = this.#authenticate(request);
    if (!("email" in user)) return user;

    if (path === `${AUTH}/token`) return method === "POST" ? this.#longLivedToken(request, user) : noMethod();
    if (path === `${AUTH}/whoami`) return method === "GET" ? ok(whoami(user)) : noMethod();
    if (path === `${AUTH}/setting/token_ttl`) {
      if (method === "GET") return ok({ name: "token_ttl", value: this.setting("token_ttl") });
      return method === "POST" ? (this.#adminOnly(user) ?? this.#setTokenTtl(request)) : noMethod();
    }
    const keyPath = new RegExp(`^${AUTH}/user/([^/]+)/key$`).exec(path);
    if (keyPath)
      return method === "POST" ? (this.#adminOnly(user) ?? this.#postKey(keyPath[1] as string)) : noMethod();

    if (path === `${DCI}/server`) return method === "GET" ? this.#listServers(request, user) : noMethod();
    if (path === `${DCI}/server/configuration`)
      return method === "GET" ? ok({ list: this.#configurations() }) : noMethod();
    const serverPath = new RegExp(`^${DCI}/server/(\\d+)(?:/(power_on|power_off|power_reset))?$`).exec(path);
    if (serverPath) {
      const server = this.#visibleServer(Number(serverPath[1]), user);
      if (server === undefined) return notFound(`Server ${serverPath[1]}`);
      const action = serverPath[2] as "power_on" | "power_off" | "power_reset" | undefined;
      if (action === undefined) return method === "GET" ? ok(server) : noMethod();
      return method === "POST" ? this.#power(server, action) : noMethod();
    }
    if (path === `${DCI}/user`) {
      if (method !== "GET") return noMethod();
      return this.#adminOnly(user) ?? this.#list(request, this.#userList());
    }
    if (path === `${DCI}/setting`) {
      if (method !== "GET") return noMethod();
      return ok({ list: [...this.#settings].map(([name, value]) => ({ name, value })) });
    }
    const settingPath = new RegExp(`^${DCI}/setting/([^/]+)$`).exec(path);
    if (settingPath) {
      const name = settingPath[1] as string;
      if (!this.#settings.has(name)) return notFound(`Setting ${name}`);
      if (method === "GET") return ok({ name, value: this.#settings.get(name) });
      return method === "POST" ? (this.#adminOnly(user) ?? this.#setSetting(request, name)) : noMethod();
    }
    return dciError(
      404,
      DCI_ERRORS.unknownFunction,
      `Unknown API function ${request.method} ${request.path}`,
    );
  }

  /** The platform's shape: "<session id>-<uuid>", e.g. 24-cee181d2-ccaa-4b64-a229-234aa7a25db6. */
  #newToken(): string {
    const token = `${this.#nextTokenId++}-${randomUUID()}`;
    this.#issued.push(token);
    return token;
  }

  #session(userId: number): EmulatorResponse {
    const token = this.#newToken();
    this.#tokens.set(token, { userId, lastUsedAt: Date.now() });
    this.logins += 1;
    return { status: this.loginStatus, body: { confirmed: true, id: String(userId), token } };
  }

  #login(request: RecordedRequest): EmulatorResponse {
    const { email, password } = (request.json ?? {}) as { email?: unknown; password?: unknown };
    const user = [...this.#users.values()].find((candidate) => candidate.email === email);
    if (user?.password === undefined || user.password !== password) {
      return dciError(401, DCI_ERRORS.badPassword, "Invalid email or password");
    }
    return this.#session(user.id);
  }

  #exchangeKey(request: RecordedRequest): EmulatorResponse {
    const key = (request.json as { key?: unknown } | undefined)?.key;
    const entry = typeof key === "string" ? this.#keys.get(key) : undefined;
    // One-time: a key is gone once exchanged, and after its hour.
    if (typeof key === "string") this.#keys.delete(key);
    if (entry === undefined || Date.now() >= entry.expiresAt) {
      return dciError(401, DCI_ERRORS.badKey, "Invalid or expired key");
    }
    return this.#session(entry.userId);
  }

  /** The signed-in user, or the 3001 answer. */
  #authenticate(request: RecordedRequest): User | EmulatorResponse {
    const token = request.headers["x-xsrf-token"] ?? cookie(request, "ses6");
    const record = token === undefined ? undefined : this.#tokens.get(token);
    const now = Date.now();
    const expired =
      record !== undefined &&
      (record.expiresAt !== undefined
        ? now >= record.expiresAt
        : now - record.lastUsedAt >= this.idleTimeoutMs);
    if (record === undefined || expired) {
      if (token !== undefined) this.#tokens.delete(token);
      this.refusals += 1;
      return dciError(this.unauthorizedStatus, DCI_ERRORS.unauthorized, "Unauthorized");
    }
    record.lastUsedAt = now;
    return this.#users.get(record.userId) as User;
  }

  #adminOnly(user: User): EmulatorResponse | undefined {
    return user.roles.includes("@admin")
      ? undefined
      : dciError(403, DCI_ERRORS.forbidden, "Access denied: administrator rights are required");
  }

  #longLivedToken(request: RecordedRequest, user: User): EmulatorResponse {
    const { expires_at, description } = (request.json ?? {}) as {
      expires_at?: unknown;
      description?: unknown;
    };
    const expiresAt = typeof expires_at === "string" ? Date.parse(expires_at.replace(" ", "T")) : Number.NaN;
    if (Number.isNaN(expiresAt) || expiresAt <= Date.now()) {
      return dciError(400, DCI_ERRORS.badValue, "expires_at must be a future time like 2030-01-31 00:00:00");
    }
    const token = this.#newToken();
    this.#tokens.set(token, { userId: user.id, lastUsedAt: Date.now(), expiresAt });
    return ok({ id: token.split("-")[0], token, expires_at, description: description ?? "" });
  }

  #setTokenTtl(request: RecordedRequest): EmulatorResponse {
    const value = (request.json as { value?: unknown } | undefined)?.value;
    const minutes = Number(value);
    if (
      (typeof value !== "string" && typeof value !== "number") ||
      !Number.isInteger(minutes) ||
      minutes < 1
    ) {
      return dciError(400, DCI_ERRORS.badValue, 'value must be a whole number of minutes, e.g. "60"');
    }
    this.idleTimeoutMs = minutes * 60_000;
    return ok();
  }

  #createKey(user: User): { id: string; key: string } {
    const id = this.#nextKeyId++;
    const key = `${id}-${randomUUID()}`;
    this.#keys.set(key, { id, userId: user.id, expiresAt: Date.now() + 3_600_000 });
    return { id: String(id), key };
  }

  #postKey(email: string): EmulatorResponse {
    const user = [...this.#users.values()].find((candidate) => candidate.email === email);
    return user === undefined ? notFound(`User ${email}`) : ok(this.#createKey(user));
  }

  /** Administrators see every server, users only their own. */
  #visibleServer(id: number, user: User): Server | undefined {
    const server = this.#servers.get(id);
    if (server === undefined) return undefined;
    return user.roles.includes("@admin") || server.owner_email === user.email ? server : undefined;
  }

  #listServers(request: RecordedRequest, user: User): EmulatorResponse {
    const servers = [...this.#servers.values()].filter((server) => this.#visibleServer(server.id, user));
    return this.#list(request, servers);
  }

  /** `where`, `orderby`, `limit` over a list; `{list, size}` where `size` counts every match. */
  #list(request: RecordedRequest, items: object[]): EmulatorResponse {
    const { where, orderby, limit } = request.query;
    let selected = items;
    if (where !== undefined && where.trim() !== "") {
      let tree: WhereNode;
      try {
        tree = parseWhere(where);
      } catch (error) {
        if (!(error instanceof WhereSyntaxError)) throw error;
        return dciError(400, DCI_ERRORS.badQuery, `Invalid where: ${error.message}`, {
          where,
          position: error.position,
        });
      }
      const unknown = fieldsOf(tree).find((field) => !knownField(items, field));
      if (unknown !== undefined) {
        return dciError(400, DCI_ERRORS.badQuery, `Invalid where: unknown field ${unknown}`, { where });
      }
      selected = selected.filter((item) => matches(tree, item));
    }
    if (orderby !== undefined && orderby.trim() !== "") {
      const order = /^\s*([A-Za-z_][\w.]*)(?:\s+(asc|desc))?\s*$/i.exec(orderby);
      if (order === null || !knownField(items, order[1] as string)) {
        return dciError(400, DCI_ERRORS.badQuery, `Invalid orderby: ${orderby}`, { orderby });
      }
      const field = order[1] as string;
      const sign = order[2]?.toLowerCase() === "desc" ? -1 : 1;
      selected = [...selected].sort((a, b) => sign * compareValues(first(a, field), first(b, field)));
    }
    const size = selected.length;
    if (limit !== undefined && limit.trim() !== "") {
      const page = /^\s*(\d+)\s*(?:,\s*(\d+)\s*)?$/.exec(limit);
      if (page === null) {
        return dciError(
          400,
          DCI_ERRORS.badQuery,
          `Invalid limit: ${limit} (use <offset>,<count> or <count>)`,
          {
            limit,
          },
        );
      }
      const [offset, count] =
        page[2] === undefined ? [0, Number(page[1])] : [Number(page[1]), Number(page[2])];
      selected = selected.slice(offset, offset + count);
    }
    return ok({ list: selected, size });
  }

  #power(server: Server, action: "power_on" | "power_off" | "power_reset"): EmulatorResponse {
    if (server.operation.status === "running") {
      return dciError(
        409,
        DCI_ERRORS.busy,
        `Server ${server.id} is busy with operation ${server.operation.id}`,
      );
    }
    const id = this.#nextOperationId++;
    server.operation = { id, name: action, status: "running", status_info: {}, progress_info: [] };
    const finish = () => {
      server.power_status = action === "power_off" ? "off" : "on";
      server.operation = { ...server.operation, status: "complete" };
    };
    if (this.operationDurationMs <= 0) finish();
    else setTimeout(finish, this.operationDurationMs).unref();
    return ok({ id: server.id, task: id });
  }

  #setSetting(request: RecordedRequest, name: string): EmulatorResponse {
    const value = (request.json as { value?: unknown } | undefined)?.value;
    if (typeof value !== "string") return dciError(400, DCI_ERRORS.badValue, "value must be a string");
    this.#settings.set(name, value);
    return ok();
  }

  #userList(): Record<string, unknown>[] {
    return [...this.#users.values()].map(({ password: _secret, ...user }) => ({
      ...user,
      server_count: [...this.#servers.values()].filter((server) => server.owner_email === user.email).length,
    }));
  }

  #configurations(): { configuration: string; free_server_count: number }[] {
    const counts = new Map<string, number>();
    for (const server of this.#servers.values()) {
      const name = server.configuration as string;
      counts.set(name, (counts.get(name) ?? 0) + (server.owner_email === null ? 1 : 0));
    }
    return [...counts].map(([configuration, free_server_count]) => ({ configuration, free_server_count }));
  }
}

/**
 * `GET /auth/v4/whoami`. Emulator's choice: the user as the user list shows it, without its secret; no
 * public page or client shows the answer's fields (the one client seen calling it returns it unread).
 */
function whoami({ password: _secret, ...user }: User): Record<string, unknown> {
  return user;
}

function noMethod(): EmulatorResponse {
  return dciError(405, DCI_ERRORS.unknownFunction, "Method not allowed for this API function");
}

function knownField(items: object[], field: string): boolean {
  const head = field.split(".")[0] as string;
  return items.some((item) => head in item) || items.length === 0;
}

function first(item: object, field: string): unknown {
  return resolvePath(item, field)[0];
}

/** Numbers numerically, everything else as text; nulls last. */
function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}
