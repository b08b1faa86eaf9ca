import type { HTTPError, KyInstance, Options as KyOptions } from "ky";
import type { TlsConfig } from "../config.js";
import { CancelledError, describeError, LoginError, ReadOnlyError, UpstreamError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Redactor } from "../safety/redact.js";
import type { Operation } from "../services/catalogue.js";
import { createHttpFetch } from "./http-fetch.js";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** What a successful login yields. */
export interface Credential {
  /** Headers attached to every request made with this credential. */
  headers: Record<string, string>;
  /** Epoch ms after which the upstream will refuse it, when the upstream says so. */
  expiresAt?: number;
  /** Values to scrub from every output from now on (tokens, session ids). */
  secrets: string[];
}

/** A raw answer from the upstream, before the profile interprets it. */
export interface RawResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, the text otherwise, `undefined` when empty. */
  body: unknown;
}

/** What logging in needs: a client without credentials and a way to build errors. */
export interface LoginContext {
  send(request: UpstreamRequest): Promise<RawResponse>;
  /** Builds the error for a refused login, with the upstream's own code and message. */
  fail(request: UpstreamRequest, response: RawResponse, hint: string): LoginError;
}

/** One way of logging in (octokit-style): validates eagerly, yields credentials on demand. */
export interface AuthStrategy {
  /** Shown by infra_status, e.g. `OAuth access code`. */
  readonly method: string;
  /**
   * False for a fixed credential (a long-lived token): when the upstream refuses it, logging in again
   * cannot help, and the user must be told to replace it.
   */
  readonly renewable: boolean;
  /** Hint used when a non-renewable credential is refused. */
  readonly refusedHint?: string;
  login(context: LoginContext): Promise<Credential>;
}

/** How the upstream answered, in the terms the session acts on. */
export type Outcome =
  | { ok: true; data: unknown }
  | { ok: false; authExpired: boolean; code?: string | number; message: string };

/** The per-service differences, as data (DESIGN.md "a service is a profile plus a toolset"). */
export interface ServiceProfile {
  /** API id used in errors and by the generic tools. */
  readonly api: string;
  /** Headers on every request, login included. */
  readonly headers?: Record<string, string>;
  /** Methods retried on transient statuses; only reads unless the platform guarantees nothing happened. */
  readonly retryMethods: readonly HttpMethod[];
  /** Upper bound on retries; the call's time budget usually ends them first. */
  readonly retryLimit: number;
  /** Turns any answer (2xx included: some upstreams report errors on 200) into an outcome. */
  interpret(response: RawResponse): Outcome;
  /** POSTs that only read (allowed in read-only mode). */
  isReadOnlyPost?(path: string): boolean;
  /** A next step for a failed request. */
  hint?(
    status: number | undefined,
    code: string | number | undefined,
    request: UpstreamRequest,
  ): string | undefined;
  /** What to tell the user when transient failures outlast the retries, e.g. "the platform is suspended". */
  exhaustedHint?(status: number): string | undefined;
  /** A cheap authenticated read, used by `infra_status` with `check`. */
  readonly probe: UpstreamRequest;
  /** The documented operations, for `infra_list_operations` when the instance serves no description. */
  readonly operations: readonly Operation[];
  /**
   * The upstream drops a credential left unused this long (DCImanager: 60 minutes by default). The session
   * logs in again instead of waiting to be refused.
   */
  readonly idleTimeoutMs?: number;
}

export interface UpstreamRequest {
  method: HttpMethod;
  /** Relative to the base URL, starting with `/`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** The MCP request's abort signal. */
  signal?: AbortSignal;
}

export interface SessionOptions {
  baseUrl: string;
  profile: ServiceProfile;
  strategy: AuthStrategy;
  tls: TlsConfig;
  timeoutMs: number;
  readOnly: boolean;
  redactor: Redactor;
  logger: Logger;
}

export interface SessionState {
  authenticated: boolean;
  expiresInSeconds?: number;
  logins: number;
  lastError?: string;
}

/** Transient statuses retried with backoff (503 also means "suspended" for DCImanager). */
const RETRY_STATUSES = [429, 502, 503, 504];
/** Refresh this long before a known expiry, capped at a tenth of the credential's life. */
const REFRESH_MARGIN_MS = 60_000;

/**
 * One per upstream API. Owns the credential (single-flight login, refresh before expiry, one re-login on
 * an auth-expired answer), retries with backoff inside the call's time budget, cancellation, TLS and
 * read-only enforcement. Tools never build clients or touch tokens.
 */
export class Session {
  readonly baseUrl: string;
  readonly profile: ServiceProfile;
  readonly strategy: AuthStrategy;
  #http: KyInstance | undefined;
  readonly #options: SessionOptions;
  // Date.now, read through one place; tests fake Date itself so that sessions, strategies and emulators
  // share one clock.
  readonly #now = () => Date.now();
  #credential: { value: Credential; obtainedAt: number; lastUsedAt: number } | undefined;
  #pendingLogin: Promise<Credential> | undefined;
  #logins = 0;
  #lastError: string | undefined;
  #idleTimeoutMs: number | undefined;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.profile = options.profile;
    this.strategy = options.strategy;
    this.#idleTimeoutMs = options.profile.idleTimeoutMs;
  }

  /**
   * The ky instance, built on first use: ky and fetch load when a service is first called, not at
   * start-up (a measured fifth of the cold start, paid by every session even if no tool is called).
   */
  async #client(): Promise<KyInstance> {
    if (this.#http) return this.#http;
    const { default: ky } = await loadKy();
    this.#http ??= ky.create({
      prefixUrl: this.baseUrl,
      fetch: createHttpFetch(this.#options.tls) as typeof fetch,
      throwHttpErrors: true,
      // The whole call, retries included, is bounded by our own deadline signal instead.
      timeout: false,
      headers: { accept: "application/json", ...this.profile.headers },
    });
    return this.#http;
  }

  /** Sends one request with credentials; returns the profile's unwrapped data or throws a typed error. */
  async request(request: UpstreamRequest): Promise<unknown> {
    this.#assertAllowed(request);
    const deadline = this.#now() + this.#options.timeoutMs;
    let credential = await this.#currentCredential(request.signal);
    let response = await this.#send(request, deadline, credential);
    let outcome = this.profile.interpret(response);
    if (!outcome.ok && outcome.authExpired) {
      this.#forget(credential);
      if (!this.strategy.renewable) {
        throw this.#recordError(
          new UpstreamError({
            ...this.#where(request),
            status: response.status,
            code: outcome.code,
            message: outcome.message,
            hint:
              this.strategy.refusedHint ?? "The configured credential was refused; replace it and restart.",
          }),
        );
      }
      this.#options.logger.info(`${this.profile.api}: credentials expired upstream; logging in again`);
      credential = await this.#currentCredential(request.signal);
      response = await this.#send(request, deadline, credential);
      outcome = this.profile.interpret(response);
    }
    const held = this.#credential;
    if (held?.value === credential) held.lastUsedAt = this.#now();
    if (outcome.ok) return outcome.data;
    const status = response.status;
    throw this.#recordError(
      new UpstreamError({
        ...this.#where(request),
        status,
        code: outcome.code,
        message: outcome.message,
        hint: this.profile.hint?.(status, outcome.code, request) ?? genericHint(status),
      }),
    );
  }

  /** For infra_status. */
  state(): SessionState {
    const held = this.#credential;
    const state: SessionState = {
      authenticated: held !== undefined && !this.#isStale(held),
      logins: this.#logins,
    };
    if (held?.value.expiresAt !== undefined) {
      state.expiresInSeconds = Math.max(0, Math.round((held.value.expiresAt - this.#now()) / 1000));
    }
    if (this.#lastError !== undefined) state.lastError = this.#lastError;
    return state;
  }

  /**
   * Adopts the upstream's new idle limit after a tool changed it (DCImanager `token_ttl`), so the session
   * keeps logging in before the upstream drops its credential. A session whose credential never idles out
   * (no `idleTimeoutMs` in its profile, e.g. a long-lived token) keeps none.
   */
  setIdleTimeout(ms: number): void {
    if (this.#idleTimeoutMs !== undefined) this.#idleTimeoutMs = ms;
  }

  #assertAllowed(request: UpstreamRequest): void {
    if (!this.#options.readOnly || request.method === "GET") return;
    if (request.method === "POST" && this.profile.isReadOnlyPost?.(request.path)) return;
    throw new ReadOnlyError(
      `Read-only mode: ${this.profile.api} ${request.method} ${request.path} was not sent. ` +
        "Unset INFRA_MCP_READ_ONLY (or drop --read-only) to allow changes.",
    );
  }

  #where(request: UpstreamRequest): { service: string; method: string; path: string } {
    return { service: this.profile.api, method: request.method, path: request.path };
  }

  #recordError<E extends UpstreamError>(error: E): E {
    this.#lastError = this.#options.redactor.scrub(describeError(error));
    return error;
  }

  #isStale(held: { value: Credential; obtainedAt: number; lastUsedAt: number }): boolean {
    const now = this.#now();
    const { expiresAt } = held.value;
    if (expiresAt !== undefined) {
      const margin = Math.min(REFRESH_MARGIN_MS, (expiresAt - held.obtainedAt) / 10);
      if (now >= expiresAt - margin) return true;
    }
    const idle = this.#idleTimeoutMs;
    if (idle !== undefined && now - held.lastUsedAt >= idle - Math.min(REFRESH_MARGIN_MS, idle / 10))
      return true;
    return false;
  }

  #forget(credential: Credential): void {
    // Only the first of many concurrent callers refused with the same credential drops it; the others
    // then find either the pending login or its result.
    if (this.#credential?.value === credential) this.#credential = undefined;
  }

  async #currentCredential(signal: AbortSignal | undefined): Promise<Credential> {
    const held = this.#credential;
    if (held !== undefined && !this.#isStale(held)) return held.value;
    // A stale credential is replaced by logging in again; a strategy that cannot (a spent one-time key)
    // says so itself, naming what the user must change.
    this.#pendingLogin ??= this.#login().finally(() => {
      this.#pendingLogin = undefined;
    });
    return abortable(this.#pendingLogin, signal);
  }

  async #login(): Promise<Credential> {
    this.#logins += 1;
    this.#options.logger.debug(`${this.profile.api}: logging in (${this.strategy.method})`);
    const context: LoginContext = {
      // A login is shared by every waiting caller, so no single caller's signal may cancel it.
      send: (request) => this.#send(request, this.#now() + this.#options.timeoutMs, undefined),
      fail: (request, response, hint) => {
        const outcome = this.profile.interpret(response);
        const message = outcome.ok ? `unexpected answer ${JSON.stringify(response.body)}` : outcome.message;
        return new LoginError({
          ...this.#where(request),
          status: response.status,
          code: outcome.ok ? undefined : outcome.code,
          message,
          hint,
        });
      },
    };
    try {
      const value = await this.strategy.login(context);
      for (const secret of value.secrets) this.#options.redactor.add(secret);
      const now = this.#now();
      this.#credential = { value, obtainedAt: now, lastUsedAt: now };
      return value;
    } catch (error) {
      if (error instanceof UpstreamError) throw this.#recordError(error);
      throw error;
    }
  }

  /** One HTTP exchange, with retries for transient failures inside the deadline. */
  async #send(
    request: UpstreamRequest,
    deadline: number,
    credential: Credential | undefined,
  ): Promise<RawResponse> {
    const remaining = deadline - this.#now();
    const timeoutSignal = AbortSignal.timeout(Math.max(1, remaining));
    const signal = request.signal ? AbortSignal.any([request.signal, timeoutSignal]) : timeoutSignal;
    let retries = 0;
    let lastTransient: number | undefined;
    const options: KyOptions = {
      method: request.method,
      signal,
      headers: { ...credential?.headers, ...request.headers },
      retry: {
        limit: this.profile.retryLimit,
        methods: this.profile.retryMethods.map((method) =>
          method.toLowerCase(),
        ) as KyOptions["method"][] as never,
        statusCodes: RETRY_STATUSES,
        afterStatusCodes: [429, 503],
        backoffLimit: 4_000,
        jitter: true,
        // Stop when the upstream asks us to wait longer than the call has left: better a clear error now
        // than a timeout later.
        shouldRetry: ({ error }) => {
          // A certificate problem will not heal by itself.
          if (isTlsFailure(error)) return false;
          // A write whose connection failed may have been carried out: only a status (DCImanager's 503:
          // suspended, nothing done) proves it was not, so only reads are repeated after a network error.
          if (!isHttpError(error) && request.method !== "GET") return false;
          const retryAfterMs = isHttpError(error) ? parseRetryAfter(error.response.headers) : undefined;
          if (retryAfterMs !== undefined && this.#now() + retryAfterMs >= deadline) return false;
          return undefined;
        },
      },
      hooks: {
        beforeRetry: [
          ({ error, retryCount }) => {
            retries = retryCount;
            if (isHttpError(error)) lastTransient = error.response.status;
            this.#options.logger.debug(
              `${this.profile.api} ${request.method} ${request.path}: retry ${retryCount} after ${error.message}`,
            );
          },
        ],
      },
    };
    if (request.query) options.searchParams = definedEntries(request.query);
    if (request.json !== undefined) options.json = request.json;
    else if (request.form !== undefined) options.body = new URLSearchParams(request.form);

    let response: Response;
    try {
      const http = await this.#client();
      response = await http(request.path.replace(/^\/+/, ""), options);
    } catch (error) {
      if (isHttpError(error)) {
        response = error.response;
      } else if (request.signal?.aborted) {
        throw new CancelledError(
          `Cancelled: ${this.profile.api} ${request.method} ${request.path} was abandoned.`,
        );
      } else if (timeoutSignal.aborted) {
        const status = lastTransient;
        const exhausted = status !== undefined ? this.profile.exhaustedHint?.(status) : undefined;
        throw this.#recordError(
          new UpstreamError({
            ...this.#where(request),
            status,
            retries,
            message:
              status === undefined
                ? `no answer within ${this.#options.timeoutMs} ms`
                : `still failing with ${status} when the ${this.#options.timeoutMs} ms budget ran out`,
            hint:
              exhausted ??
              "The upstream is slow or unreachable; try again later, or raise INFRA_MCP_TIMEOUT_MS for slow appliances.",
          }),
        );
      } else {
        throw this.#recordError(networkError(this.#where(request), error, retries));
      }
    }
    const status = response.status;
    const body = await readBody(response);
    if (RETRY_STATUSES.includes(status) && retries > 0) {
      const exhausted = this.profile.exhaustedHint?.(status);
      if (exhausted) {
        throw this.#recordError(
          new UpstreamError({
            ...this.#where(request),
            status,
            retries,
            message: errorMessage(this.profile.interpret({ status, headers: response.headers, body })),
            hint: exhausted,
          }),
        );
      }
    }
    return { status, headers: response.headers, body };
  }
}

/** A next step for statuses whose meaning does not depend on the platform. */
function genericHint(status: number): string | undefined {
  if (status === 429) return "The upstream is rate-limiting; wait a minute before retrying.";
  if (status === 405) return "The upstream does not offer this method here; see infra_list_operations.";
  if (status === 409)
    return "The resource changed or is busy; read its current state, then retry if still needed.";
  if (status >= 500) return "The upstream failed internally; retry later or check its logs.";
  return undefined;
}

let kyModule: Promise<typeof import("ky")> | undefined;
function loadKy(): Promise<typeof import("ky")> {
  kyModule ??= import("ky");
  return kyModule;
}

/** ky's HTTPError, recognised without loading ky (it is loaded with the first request anyway). */
function isHttpError(error: unknown): error is HTTPError {
  return error instanceof Error && error.name === "HTTPError" && "response" in error;
}

function errorMessage(outcome: Outcome): string {
  return outcome.ok ? "transient failure" : outcome.message;
}

function definedEntries(
  query: Record<string, string | number | boolean | undefined>,
): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) if (value !== undefined) entries[key] = String(value);
  return entries;
}

/** `Retry-After` in ms (seconds or an HTTP date), or undefined. */
export function parseRetryAfter(headers: Headers): number | undefined {
  const raw = headers.get("retry-after");
  if (raw === null) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === "") return undefined;
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("json") || /^\s*[[{"]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // A body announced as JSON that is not: hand the text to the profile, which reports it.
    }
  }
  return text;
}

function isTlsFailure(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS|SSL/i.test(`${cause?.code ?? ""} ${cause?.message ?? ""}`);
}

function networkError(
  where: { service: string; method: string; path: string },
  error: unknown,
  retries: number,
): UpstreamError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? "";
  const reason = cause?.message ?? (error instanceof Error ? error.message : String(error));
  const tls = isTlsFailure(error);
  const prefix = where.service.toUpperCase().replace(/_.*/, "");
  return new UpstreamError(
    {
      ...where,
      retries,
      code: code || undefined,
      message: `could not reach the upstream (${reason})`,
      hint: tls
        ? `The TLS certificate was not accepted: set ${prefix}_CA_FILE to the appliance's CA, or ${prefix}_TLS_INSECURE=true for a self-signed appliance you trust.`
        : "Check the service URL and that the appliance is reachable from this machine.",
    },
    { cause: error },
  );
}

/** Waits for a shared promise, but lets one caller walk away when its own request is cancelled. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(new CancelledError("Cancelled before the login finished."));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError("Cancelled before the login finished."));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
