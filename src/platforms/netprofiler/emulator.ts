import { randomBytes } from "node:crypto";
import {
  authorization,
  cookie,
  Emulator,
  type EmulatorResponse,
  type RecordedRequest,
} from "../../sandbox/emulator.js";

/** Sandbox credentials: the emulator accepts these, and `--sandbox` configures them. */
export const NETPROFILER_SANDBOX = {
  username: "admin",
  password: "sandbox-netprofiler-password",
} as const;

const AWS = "/api/npm.aws_config/1.0";
const COMMON = "/api/common/1.0";

type SyncState =
  | "SYNC_INITIALIZING"
  | "SYNC_FAILED"
  | "SYNC_SUCCEEDED"
  | "SYNC_SUCCEEDED_WITH_WARNING"
  | "SYNC_DISABLED"
  | "SYNC_NA";

interface Account {
  acc_id: string;
  access_key: string;
  secret_key: string;
}

function error(status: number, error_id: string, error_text: string): EmulatorResponse {
  return { status, body: { error_id, error_text } };
}

const NO_CONTENT: EmulatorResponse = { status: 204 };

/**
 * Riverbed NetProfiler, as far as the AWS Integration API and its Common API authentication go
 * (upstreams.md section 5): OAuth access-code tokens, SESSID session cookies and Basic; the
 * `{error_id, error_text}` envelope; `GET /auth_codes` never returning secrets; sync moving the state.
 */
export class NetprofilerEmulator extends Emulator {
  /** A valid access code, as the appliance's "OAuth Access" page would hand out. */
  readonly accessCode: string;
  /** Seconds an OAuth token lives (the appliance caps it at the code's remaining life). */
  tokenLifetimeSeconds = 3600;
  /** How long a sync stays in SYNC_INITIALIZING. */
  syncDurationMs = 200;
  /** Count of successful logins of any kind, for "one login for many callers" checks. */
  logins = 0;

  readonly #accounts = new Map<string, Account>();
  readonly #tokens = new Map<string, number>(); // token -> expiry (epoch ms)
  readonly #sessions = new Set<string>();
  readonly #codeExpiresAt: number;
  #enabled = true;
  #state: SyncState = "SYNC_SUCCEEDED";
  #lastSync = Math.floor(Date.now() / 1000) - 3600;
  #lastSuccess = this.#lastSync;
  #errorId = 0;
  #errorText = "OK";

  constructor() {
    super();
    const now = Math.floor(Date.now() / 1000);
    this.#codeExpiresAt = (now + 365 * 86400) * 1000;
    const blob = {
      aud: "https://netprofiler.sandbox/api/common/1.0/oauth/token",
      iss: "https://netprofiler.sandbox",
      prn: NETPROFILER_SANDBOX.username,
      jti: randomBytes(8).toString("hex"),
      exp: Math.floor(this.#codeExpiresAt / 1000),
      iat: now,
    };
    this.accessCode = Buffer.from(JSON.stringify(blob)).toString("base64url");
    this.seedAccounts([
      {
        acc_id: "prod-eu",
        access_key: "AKIAIOSFODNN7PRODEU1",
        secret_key: "wJalrXUtnFEMI/K7MDENG/prodEUsecret0001",
      },
      {
        acc_id: "prod-us",
        access_key: "AKIAIOSFODNN7PRODUS1",
        secret_key: "wJalrXUtnFEMI/K7MDENG/prodUSsecret0001",
      },
      {
        acc_id: "staging",
        access_key: "AKIAIOSFODNN7STAGING",
        secret_key: "wJalrXUtnFEMI/K7MDENG/stagingsecret01",
      },
    ]);
  }

  sandboxEnv(): Record<string, string> {
    return { NETPROFILER_URL: this.url, NETPROFILER_ACCESS_CODE: this.accessCode };
  }

  seedAccounts(accounts: Account[]): void {
    for (const account of accounts) this.#accounts.set(account.acc_id, { ...account });
  }

  /** The stored secret of an account (tests check what a PUT delivered; the API never returns it). */
  secretOf(accId: string): string | undefined {
    return this.#accounts.get(accId)?.secret_key;
  }

  /** Tokens issued so far (tests use them as canaries that must never reach the conversation). */
  issuedTokens(): string[] {
    return [...this.#tokens.keys()];
  }

  accountIds(): string[] {
    return [...this.#accounts.keys()];
  }

  /** Every issued token and session becomes expired now, as after an appliance restart or a long idle. */
  expireCredentials(): void {
    for (const token of this.#tokens.keys()) this.#tokens.set(token, 0);
    this.#sessions.clear();
  }

  protected faultBody(status: number): unknown {
    if (status === 503)
      return { error_id: "SERVICE_UNAVAILABLE", error_text: "Service is temporarily unavailable" };
    if (status === 429) return { error_id: "TOO_MANY_REQUESTS", error_text: "Too many requests" };
    if (status === 401)
      return { error_id: "AUTH_REQUIRED", error_text: "The requested resource requires authentication" };
    return { error_id: "INTERNAL_ERROR", error_text: "Internal server error" };
  }

  protected handle(request: RecordedRequest): EmulatorResponse {
    const { method, path } = request;
    if (path === `${COMMON}/ping` && method === "GET") return NO_CONTENT;
    if (path === `${COMMON}/auth_info` && method === "GET") {
      return {
        status: 200,
        body: {
          supported_methods: ["BASIC", "COOKIE", "OAUTH_2_0"],
          specify_purpose: true,
          login_banner: "",
        },
      };
    }
    if (path === `${COMMON}/services` && method === "GET") {
      return {
        status: 200,
        body: [
          { id: "common", versions: ["1.0"] },
          { id: "profiler", versions: ["1.0", "1.1"] },
          { id: "npm.aws_config", versions: ["1.0"] },
        ],
      };
    }
    if (path === `${COMMON}/oauth/token`) return method === "POST" ? this.#token(request) : invalidMethod();
    if (path === `${COMMON}/login`) return method === "POST" ? this.#login(request) : invalidMethod();

    const denied = this.#authenticate(request);
    if (denied) return denied;

    switch (path) {
      case `${COMMON}/logout`:
        return this.#logout(request);
      case `${COMMON}/info`:
        return method === "GET"
          ? {
              status: 200,
              body: {
                sw_version: "10.13 (release 20240917_1200)",
                mgmt_addresses: ["127.0.0.1"],
                serial: "SANDBOX0NP01",
                device_name: "netprofiler-sandbox",
                model: "CSV-VE",
              },
            }
          : invalidMethod();
      case `${AWS}/status`:
        return method === "GET" ? { status: 200, body: this.#status() } : invalidMethod();
      case `${AWS}/auth_codes`:
        if (method === "GET") return { status: 200, body: this.#listAccounts() };
        if (method === "PUT") return this.#putAccounts(request);
        if (method === "DELETE") return this.#deleteAccounts(request);
        return invalidMethod();
      case `${AWS}/sync`:
        return method === "POST" ? this.#sync() : invalidMethod();
      case `${AWS}/sync/status`:
        return method === "PUT" ? this.#setSync(request) : invalidMethod();
      default:
        return error(404, "RESOURCE_NOT_FOUND", `${path} not found`);
    }
  }

  #token(request: RecordedRequest): EmulatorResponse {
    const form = request.form;
    if (form === undefined) return error(400, "REQUEST_INVALID_INPUT", "Expected a form-encoded body");
    if (form.grant_type !== "access_code")
      return error(400, "REQUEST_INVALID_INPUT", "Unsupported grant_type");
    const parts = (form.assertion ?? "").split(".");
    if (parts.length !== 3) return error(400, "REQUEST_INVALID_INPUT", "Malformed assertion");
    let header: { alg?: string };
    try {
      header = JSON.parse(Buffer.from(parts[0] ?? "", "base64url").toString("utf8"));
    } catch {
      return error(400, "REQUEST_INVALID_INPUT", "Malformed assertion header");
    }
    if (header.alg !== "none") return error(400, "REQUEST_INVALID_INPUT", "Unsupported signature algorithm");
    if (parts[1] !== this.accessCode) return error(401, "AUTH_INVALID_CODE", "OAuth access code is invalid");
    if (Date.now() >= this.#codeExpiresAt)
      return error(401, "AUTH_EXPIRED_CODE", "OAuth access code is expired");
    const token = randomBytes(24).toString("hex");
    const lifetime = Math.min(
      this.tokenLifetimeSeconds,
      Math.floor((this.#codeExpiresAt - Date.now()) / 1000),
    );
    this.#tokens.set(token, Date.now() + lifetime * 1000);
    this.logins += 1;
    const body: Record<string, unknown> = {
      access_token: token,
      token_type: "bearer",
      expires_in: lifetime,
      allowed_signature_types: ["none"],
    };
    if (form.state !== undefined) body.state = form.state;
    return { status: 200, body };
  }

  #login(request: RecordedRequest): EmulatorResponse {
    const body = request.json as { username?: unknown; password?: unknown } | undefined;
    if (body === undefined || typeof body !== "object") {
      return error(400, "REQUEST_INVALID_INPUT", "Expected a JSON body with username and password");
    }
    if (body.username !== NETPROFILER_SANDBOX.username || body.password !== NETPROFILER_SANDBOX.password) {
      return error(401, "AUTH_INVALID_CREDENTIALS", "Invalid username and/or password");
    }
    const id = randomBytes(32).toString("hex");
    this.#sessions.add(id);
    this.logins += 1;
    return {
      status: 200,
      body: { session_key: "SESSID", session_id: id },
      headers: { "set-cookie": `SESSID=${id}; Path=/; HttpOnly; Secure` },
    };
  }

  #logout(request: RecordedRequest): EmulatorResponse {
    const id = cookie(request, "SESSID");
    if (id !== undefined) this.#sessions.delete(id);
    return NO_CONTENT;
  }

  /** Returns an error answer when the request is not authenticated, undefined when it is. */
  #authenticate(request: RecordedRequest): EmulatorResponse | undefined {
    const auth = authorization(request);
    if (auth?.scheme === "bearer" || auth?.scheme === "signedbearer") {
      const expiresAt = this.#tokens.get(auth.value);
      if (expiresAt === undefined) return error(401, "AUTH_INVALID_TOKEN", "OAuth access token is invalid");
      if (Date.now() >= expiresAt) return error(401, "AUTH_EXPIRED_TOKEN", "OAuth access token is expired");
      return undefined;
    }
    if (auth?.scheme === "basic") {
      const [user, ...rest] = Buffer.from(auth.value, "base64").toString("utf8").split(":");
      if (user === NETPROFILER_SANDBOX.username && rest.join(":") === NETPROFILER_SANDBOX.password)
        return undefined;
      return error(401, "AUTH_INVALID_CREDENTIALS", "Invalid username and/or password");
    }
    const sessionId = cookie(request, "SESSID");
    if (sessionId !== undefined) {
      return this.#sessions.has(sessionId)
        ? undefined
        : error(401, "AUTH_INVALID_SESSION", "Session ID is invalid");
    }
    return error(401, "AUTH_REQUIRED", "The requested resource requires authentication");
  }

  #status(): Record<string, unknown> {
    return {
      enabled: this.#enabled,
      state: this.#state,
      last_sync_ts: this.#lastSync,
      last_success_ts: this.#lastSuccess,
      error_id: this.#errorId,
      error_text: this.#errorText,
    };
  }

  #listAccounts(): { access_key: string; acc_id: string }[] {
    return [...this.#accounts.values()].map(({ access_key, acc_id }) => ({ access_key, acc_id }));
  }

  #jsonArray(request: RecordedRequest): unknown[] | EmulatorResponse {
    if (!request.contentType?.includes("application/json")) {
      return error(400, "HTTP_INVALID_HEADER", "Content-Type must be application/json");
    }
    if (!Array.isArray(request.json)) return error(400, "REQUEST_INVALID_INPUT", "Malformed input structure");
    return request.json;
  }

  #putAccounts(request: RecordedRequest): EmulatorResponse {
    const entries = this.#jsonArray(request);
    if (!Array.isArray(entries)) return entries;
    const accepted: Account[] = [];
    for (const entry of entries as Record<string, unknown>[]) {
      const { acc_id, access_key, secret_key } = entry ?? {};
      if (
        typeof acc_id !== "string" ||
        acc_id === "" ||
        typeof access_key !== "string" ||
        access_key === ""
      ) {
        return error(400, "REQUEST_INVALID_INPUT", "Each account needs acc_id and access_key strings");
      }
      const existing = this.#accounts.get(acc_id);
      if (secret_key === undefined && existing === undefined) {
        return error(400, "REQUEST_INVALID_INPUT", `secret_key is required for new account ${acc_id}`);
      }
      if (secret_key !== undefined && (typeof secret_key !== "string" || secret_key === "")) {
        return error(400, "REQUEST_INVALID_INPUT", `secret_key of ${acc_id} must be a non-empty string`);
      }
      accepted.push({
        acc_id,
        access_key,
        secret_key: (secret_key as string | undefined) ?? existing!.secret_key,
      });
    }
    this.seedAccounts(accepted);
    return NO_CONTENT;
  }

  #deleteAccounts(request: RecordedRequest): EmulatorResponse {
    const entries = this.#jsonArray(request);
    if (!Array.isArray(entries)) return entries;
    const ids: string[] = [];
    for (const entry of entries as Record<string, unknown>[]) {
      if (typeof entry?.acc_id !== "string")
        return error(400, "REQUEST_INVALID_INPUT", "Each entry needs acc_id");
      if (!this.#accounts.has(entry.acc_id))
        return error(404, "RESOURCE_NOT_FOUND", `${entry.acc_id} not found`);
      ids.push(entry.acc_id);
    }
    for (const id of ids) this.#accounts.delete(id);
    return NO_CONTENT;
  }

  #sync(): EmulatorResponse {
    if (!this.#enabled) return NO_CONTENT;
    this.#state = "SYNC_INITIALIZING";
    this.#lastSync = Math.floor(Date.now() / 1000);
    setTimeout(() => {
      if (this.#state !== "SYNC_INITIALIZING") return;
      if (this.#accounts.size === 0) {
        this.#state = "SYNC_NA";
        return;
      }
      this.#state = "SYNC_SUCCEEDED";
      this.#lastSuccess = Math.floor(Date.now() / 1000);
      this.#errorId = 0;
      this.#errorText = "OK";
    }, this.syncDurationMs).unref();
    return NO_CONTENT;
  }

  #setSync(request: RecordedRequest): EmulatorResponse {
    const status = (request.json as { status?: unknown } | undefined)?.status;
    if (status !== "ENABLED" && status !== "DISABLED") {
      return error(400, "REQUEST_INVALID_INPUT", "status must be ENABLED or DISABLED");
    }
    this.#enabled = status === "ENABLED";
    this.#state = this.#enabled ? "SYNC_SUCCEEDED" : "SYNC_DISABLED";
    return NO_CONTENT;
  }
}

function invalidMethod(): EmulatorResponse {
  return error(405, "HTTP_INVALID_METHOD", "Requested method is not available for this resource");
}
