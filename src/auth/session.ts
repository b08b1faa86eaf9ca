import type { KyInstance, Options as KyOptions } from "ky";
import type { z } from "zod";
import type { TlsConfig } from "../config.js";
import {
  CancelledError,
  DeadlineExceeded,
  describeBody,
  describeError,
  LoginError,
  ReadOnlyError,
  ToolInputError,
  UpstreamError,
  unexpectedAnswer,
} from "../errors.js";
import type { Logger } from "../log.js";
import type { Redactor } from "../safety/redact.js";
import {
  createHttpFetch,
  definedEntries,
  isHttpError,
  isTlsFailure,
  parseRetryAfter,
  ResponseTooLargeError,
  readBody,
} from "./transport.js";
import type {
  ApiProfile,
  AuthStrategy,
  CallScope,
  Credential,
  InstanceFacts,
  LoginContext,
  Outcome,
  RawResponse,
  RequestGuard,
  UpstreamRequest,
} from "./types.js";

export interface SessionOptions {
  baseUrl: string;
  profile: ApiProfile;
  strategy: AuthStrategy;
  tls: TlsConfig;
  timeoutMs: number;
  /** Largest body read from the upstream (INFRA_MCP_MAX_RESPONSE_BYTES). */
  maxResponseBytes: number;
  readOnly: boolean;
  redactor: Redactor;
  logger: Logger;
  /** The platform's variable prefix, for hints that name its settings (`<prefix>_CA_FILE`). */
  settingsPrefix: string;
}

export interface SessionState {
  authenticated: boolean;
  expiresInSeconds?: number;
  logins: number;
  lastError?: string;
}

/**
 * A session lent to one tool call: every request carries the call's signal and time budget, so no tool
 * passes them by hand.
 */
export class ApiSession {
  readonly #session: Session;
  readonly #scope: CallScope;

  constructor(session: Session, scope: CallScope) {
    this.#session = session;
    this.#scope = scope;
  }

  get api(): string {
    return this.#session.api;
  }

  get baseUrl(): string {
    return this.#session.baseUrl;
  }

  /** How this API answers: its probe, its operations, how it reads and encodes (the generic tools use it). */
  get profile(): ApiProfile {
    return this.#session.profile;
  }

  /** How the session logs in, as infra_status shows it (`OAuth access code`). */
  get authMethod(): string {
    return this.#session.strategy.method;
  }

  /**
   * Sends one request; returns the profile's unwrapped data, parsed with `schema` when one is given (an
   * answer it does not match is the upstream's error, naming the request), or throws a typed error.
   */
  request(request: UpstreamRequest): Promise<unknown>;
  request<Schema extends z.ZodType>(request: UpstreamRequest, schema: Schema): Promise<z.output<Schema>>;
  request(request: UpstreamRequest, schema?: z.ZodType): Promise<unknown> {
    return schema === undefined
      ? this.#session.request(request, this.#scope)
      : this.#session.request(request, this.#scope, schema);
  }

  /** The answer as it came, uninterpreted (see Session.requestRaw). */
  requestRaw(request: UpstreamRequest): Promise<RawResponse> {
    return this.#session.requestRaw(request, this.#scope);
  }

  /** For infra_status. */
  state(): SessionState {
    return this.#session.state();
  }

  /** Follows a change of the upstream's idle limit (see Session.setIdleTimeout). */
  setIdleTimeout(ms: number): void {
    this.#session.setIdleTimeout(ms);
  }

  /** What the session has learnt about its instance, shared by every call it lends itself to. */
  get facts(): InstanceFacts {
    return this.#session.facts;
  }
}

/** Statuses after which a read is sent again: the failure may pass. 500 is the upstream's own bug. */
const TRANSIENT_STATUSES = [429, 502, 503, 504];
/** Upper bound on retries; the call's deadline ends them first. */
const RETRY_LIMIT = 50;
/** First retry after 100-200 ms, doubling up to 2-4 s. */
const RETRY_BASE_MS = 200;
const RETRY_BACKOFF_CAP_MS = 4_000;
/** Refresh this long before a known expiry, capped at a tenth of the credential's life. */
const REFRESH_MARGIN_MS = 60_000;

interface HeldCredential {
  value: Credential;
  obtainedAt: number;
  lastUsedAt: number;
}

/**
 * One per upstream API. Owns the credential (single-flight login, refresh before expiry, one re-login on
 * an auth-expired answer), retries with backoff inside the call's time budget, cancellation, TLS and
 * read-only enforcement. Tools never build clients or touch tokens.
 */
export class Session {
  readonly baseUrl: string;
  readonly profile: ApiProfile;
  readonly strategy: AuthStrategy;
  /** What tools learnt about this instance (see InstanceFacts); it lives as long as the session. */
  readonly facts: InstanceFacts = new Map<string, string>();
  #http: KyInstance | undefined;
  readonly #options: SessionOptions;
  // Date.now, read through one place; tests fake Date itself so that sessions, strategies and emulators
  // share one clock.
  readonly #now = () => Date.now();
  #credential: HeldCredential | undefined;
  #pendingLogin: Promise<Credential> | undefined;
  #logins = 0;
  #lastError: string | undefined;
  /** The upstream's idle limit as a tool changed it, for credentials that idle out at all. */
  #idleTimeoutOverride: number | undefined;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.profile = options.profile;
    this.strategy = options.strategy;
  }

  get api(): string {
    return this.profile.api;
  }

  /**
   * The ky instance, built on first use: ky and fetch load when an API is first called, not at
   * start-up (a measured fifth of the cold start, paid by every session even if no tool is called).
   */
  async #client(): Promise<KyInstance> {
    if (this.#http) return this.#http;
    const { default: ky } = await loadKy();
    this.#http ??= ky.create({
      fetch: createHttpFetch(this.#options.tls, this.#options.maxResponseBytes) as typeof fetch,
      throwHttpErrors: true,
      // The whole call, retries included, is bounded by our own deadline signal instead.
      timeout: false,
      headers: { accept: "application/json", ...this.profile.headers },
    });
    return this.#http;
  }

  /** This session, lent to one tool call. */
  bind(scope: CallScope): ApiSession {
    return new ApiSession(this, scope);
  }

  /**
   * Sends one request with credentials; returns the profile's unwrapped data, parsed with `schema` when one
   * is given, or throws a typed error.
   */
  request(request: UpstreamRequest, scope?: CallScope): Promise<unknown>;
  request<Schema extends z.ZodType>(
    request: UpstreamRequest,
    scope: CallScope | undefined,
    schema: Schema,
  ): Promise<z.output<Schema>>;
  async request(request: UpstreamRequest, scope: CallScope = {}, schema?: z.ZodType): Promise<unknown> {
    const { response, outcome } = await this.#exchange(request, scope);
    if (!outcome.ok) {
      const status = response.status;
      throw this.#recordError(
        new UpstreamError({
          ...this.#where(request),
          status,
          code: outcome.code,
          message: outcome.message,
          retries: response.retries,
          hint: this.profile.hint?.(status, outcome.code, request) ?? genericHint(status),
        }),
      );
    }
    return schema === undefined ? outcome.data : this.#parse(request, outcome.data, schema);
  }

  /**
   * The answer as its schema reads it. A successful answer that is not what the API documents (a proxy's
   * page, a truncated body) is reported here, the one place, naming the API, method and path.
   */
  #parse<Schema extends z.ZodType>(
    request: UpstreamRequest,
    data: unknown,
    schema: Schema,
  ): z.output<Schema> {
    const parsed = schema.safeParse(data);
    if (parsed.success) return parsed.data;
    throw unexpectedAnswer(this.#where(request), schema.description ?? "the documented answer", data, {
      write: !this.#isRead(request),
    });
  }

  /**
   * Sends one request with credentials and returns the answer as it came, uninterpreted (a Swagger
   * document is not in the platform's envelope). An auth-expired answer still means one re-login.
   */
  async requestRaw(request: UpstreamRequest, scope: CallScope = {}): Promise<RawResponse> {
    return (await this.#exchange(request, scope)).response;
  }

  async #exchange(
    request: UpstreamRequest,
    scope: CallScope,
  ): Promise<{ response: RawResponse; outcome: Outcome }> {
    if (request.base !== undefined) {
      throw new Error(`${this.api}: only a login may send to another base URL (${request.base})`);
    }
    this.#assertAllowed(request);
    // Checked before logging in: a request that would leave the base path is never sent, not even a login.
    const url = this.#url(request);
    // The operator's policy, after read-only (absolute, first): a denied request is never sent, whichever
    // tool built it, and does not even log in.
    scope.guard?.admit(this.api, request);
    const deadline = Math.min(
      scope.deadline ?? Number.POSITIVE_INFINITY,
      this.#now() + this.#options.timeoutMs,
    );
    // The call's signal ends at the call's deadline (DeadlineExceeded): a request whose own deadline is that
    // one needs no timer of its own, which is the common case (one budget, one request).
    const ownTimer = scope.signal === undefined || deadline < (scope.deadline ?? Number.POSITIVE_INFINITY);
    const send: SendLimits = { deadline, callSignal: scope.signal, ownTimer, traceparent: scope.traceparent };
    let credential = await this.#currentCredential(scope.signal);
    let response = await this.#sendWatched(request, url, send, credential, scope.guard);
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
      this.#options.logger.info(`${this.api}: credentials expired upstream; logging in again`);
      credential = await this.#currentCredential(scope.signal, credential);
      response = await this.#sendWatched(request, url, send, credential, scope.guard);
      outcome = this.profile.interpret(response);
    }
    const held = this.#credential;
    if (held?.value === credential) held.lastUsedAt = this.#now();
    return { response, outcome };
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
   * Adopts the upstream's new idle limit after a tool changed it (a platform setting), so the session
   * keeps logging in before the upstream drops its credential. A credential that never idles out (a
   * long-lived token) is not affected.
   */
  setIdleTimeout(ms: number): void {
    this.#idleTimeoutOverride = ms;
  }

  /** A read: a GET, or a POST the platform declares read-only. Reads may be sent again; writes may not. */
  #isRead(request: UpstreamRequest): boolean {
    return (
      request.method === "GET" ||
      (request.method === "POST" && this.profile.isReadOnlyPost?.(request.path) === true)
    );
  }

  /**
   * Whether an answer proves a write was not carried out, so that sending it again cannot act twice: a
   * 429 (a refusal by definition) or the platform's own "nothing done" status.
   */
  #provesNothingDone(status: number): boolean {
    return status === 429 || (this.profile.nothingDoneStatuses?.includes(status) ?? false);
  }

  #assertAllowed(request: UpstreamRequest): void {
    if (!this.#options.readOnly || this.#isRead(request)) return;
    throw new ReadOnlyError(
      `Read-only mode: ${this.api} ${request.method} ${request.path} was not sent. ` +
        "Unset INFRA_MCP_READ_ONLY (or drop --read-only) to allow changes.",
    );
  }

  /**
   * The request's URL, refused when it would leave its base URL's path: the URL parser turns `%2e%2e`,
   * `.%2e`, dots around a tab or newline, and backslashes into real `..` segments, which would carry the
   * session's credentials out of a gateway prefix. Checked on the URL as it will be sent, not on the input.
   */
  #url(request: UpstreamRequest): string {
    const base = new URL(request.base ?? this.baseUrl);
    const basePath = base.pathname.replace(/\/+$/, "");
    let url: URL;
    try {
      url = new URL(`${base.origin}${basePath}${request.path}`);
    } catch {
      throw new ToolInputError(
        `${this.api} ${request.method} ${JSON.stringify(request.path)}: not a valid path; nothing was sent.`,
      );
    }
    if (
      url.origin !== base.origin ||
      (url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`))
    ) {
      throw new ToolInputError(
        `${this.api} ${request.method} ${JSON.stringify(request.path)}: the path leads to ${url.pathname}, outside ` +
          `the API's base path ${basePath || "/"}; nothing was sent. Give a path below the service URL, without '..'.`,
      );
    }
    return url.href;
  }

  #where(request: UpstreamRequest): { api: string; method: string; path: string } {
    return { api: this.api, method: request.method, path: request.path };
  }

  #recordError<E extends UpstreamError>(error: E): E {
    this.#lastError = describeError(error, (text) => this.#options.redactor.scrub(text));
    return error;
  }

  #isStale(held: HeldCredential): boolean {
    const now = this.#now();
    const { expiresAt } = held.value;
    if (expiresAt !== undefined) {
      const margin = Math.min(REFRESH_MARGIN_MS, (expiresAt - held.obtainedAt) / 10);
      if (now >= expiresAt - margin) return true;
    }
    const idle =
      held.value.idleTimeoutMs === undefined
        ? undefined
        : (this.#idleTimeoutOverride ?? held.value.idleTimeoutMs);
    if (idle !== undefined && now - held.lastUsedAt >= idle - Math.min(REFRESH_MARGIN_MS, idle / 10))
      return true;
    return false;
  }

  #forget(credential: Credential): void {
    // Only the first of many concurrent callers refused with the same credential drops it; the others
    // then find either the pending login or its result.
    if (this.#credential?.value === credential) this.#credential = undefined;
  }

  /** The live credential, logging in (once for every concurrent caller) when there is none or it is stale. */
  async #currentCredential(signal: AbortSignal | undefined, refused?: Credential): Promise<Credential> {
    const held = this.#credential;
    if (held !== undefined && !this.#isStale(held)) return held.value;
    // A stale credential is replaced by logging in again; a strategy that cannot (a spent one-time key)
    // says so itself, naming what the user must change.
    this.#pendingLogin ??= this.#login(held?.value ?? refused).finally(() => {
      this.#pendingLogin = undefined;
    });
    return abortable(this.#pendingLogin, signal);
  }

  async #login(previous: Credential | undefined): Promise<Credential> {
    this.#logins += 1;
    this.#options.logger.debug(`${this.api}: logging in (${this.strategy.method})`);
    const context: LoginContext = {
      // A login is shared by every waiting caller, so no single caller's signal may cancel it.
      send: (request) =>
        this.#send(
          request,
          this.#url(request),
          { deadline: this.#now() + this.#options.timeoutMs, callSignal: undefined, ownTimer: true },
          undefined,
        ),
      fail: (request, response, hint) => {
        const outcome = this.profile.interpret(response);
        const message = outcome.ok ? `unexpected answer ${describeBody(response.body)}` : outcome.message;
        return new LoginError({
          ...this.#where(request),
          status: response.status,
          code: outcome.ok ? undefined : outcome.code,
          message,
          hint,
        });
      },
    };
    if (previous !== undefined) context.previous = previous;
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

  /** `#send`, telling the call's guard what went out and what came back (logins are not told). */
  async #sendWatched(
    request: UpstreamRequest,
    url: string,
    send: SendLimits,
    credential: Credential,
    guard: RequestGuard | undefined,
  ): Promise<RawResponse> {
    if (guard === undefined) return this.#send(request, url, send, credential);
    // The path as sent (dot segments resolved), relative to the base URL, without the query string.
    const basePath = new URL(this.baseUrl).pathname.replace(/\/+$/, "");
    const path = new URL(url).pathname.slice(basePath.length);
    try {
      const response = await this.#send(request, url, send, credential);
      guard.sent(this.api, request.method, path, response.status);
      return response;
    } catch (error) {
      guard.sent(this.api, request.method, path, error instanceof UpstreamError ? error.status : undefined);
      throw error;
    }
  }

  /** One HTTP exchange, with retries for transient failures inside the deadline. */
  async #send(
    request: UpstreamRequest,
    url: string,
    limits: SendLimits,
    credential: Credential | undefined,
  ): Promise<RawResponse> {
    const timeoutSignal = limits.ownTimer
      ? AbortSignal.timeout(Math.max(1, limits.deadline - this.#now()))
      : undefined;
    const signal =
      limits.callSignal && timeoutSignal
        ? AbortSignal.any([limits.callSignal, timeoutSignal])
        : (timeoutSignal ?? limits.callSignal);
    const retried: RetryLog = { count: 0, lastStatus: undefined };
    const options = this.#kyOptions(request, credential, signal, limits, retried);
    let response: Response;
    try {
      const http = await this.#client();
      response = await http(url, options);
    } catch (error) {
      if (!isHttpError(error)) throw this.#failure(error, request, retried, limits.callSignal, timeoutSignal);
      response = error.response;
    }
    return this.#answer(request, response, retried);
  }

  /** What ky is told for one request: method, credentials, the call's trace, query, body, and the retry rule. */
  #kyOptions(
    request: UpstreamRequest,
    credential: Credential | undefined,
    signal: AbortSignal | undefined,
    { deadline, traceparent }: SendLimits,
    retried: RetryLog,
  ): KyOptions {
    const options: KyOptions = {
      method: request.method,
      signal,
      headers: {
        ...credential?.headers,
        ...request.headers,
        ...(traceparent !== undefined ? { traceparent } : {}),
      },
      retry: {
        // The call's deadline, not a count, ends the retries of a transient failure.
        limit: RETRY_LIMIT,
        methods: ["get", "post", "put", "patch", "delete"],
        statusCodes: [...TRANSIENT_STATUSES, ...(this.profile.nothingDoneStatuses ?? [])],
        afterStatusCodes: [429, 503],
        // Equal jitter: half the delay is certain, so retries spread over seconds instead of all landing
        // inside one short outage, and a blip of a few seconds never fails a read while budget remains.
        delay: backoff,
        jitter: (delay) => delay / 2 + Math.random() * (delay / 2),
        backoffLimit: RETRY_BACKOFF_CAP_MS,
        shouldRetry: this.#retryRule(this.#isRead(request), deadline),
      },
      hooks: {
        beforeRetry: [
          ({ error, retryCount }) => {
            retried.count = retryCount;
            if (isHttpError(error)) retried.lastStatus = error.response.status;
            this.#options.logger.debug(
              `${this.api} ${request.method} ${request.path}: retry ${retryCount} after ${error.message}`,
            );
          },
        ],
      },
    };
    const query = credential?.query !== undefined ? { ...request.query, ...credential.query } : request.query;
    if (query) options.searchParams = definedEntries(query);
    if (request.json !== undefined) options.json = request.json;
    else if (request.form !== undefined) options.body = new URLSearchParams(request.form);
    return options;
  }

  /**
   * Whether ky may send a failed request again: a read after any transient failure, a write only when the
   * answer proves nothing was done; never past the deadline, a certificate problem or an oversized answer.
   */
  #retryRule(
    read: boolean,
    deadline: number,
  ): (state: { error: Error; retryCount: number }) => false | undefined {
    return ({ error, retryCount }) => {
      // A certificate problem will not heal by itself, nor will an answer grow smaller.
      if (isTlsFailure(error) || error instanceof ResponseTooLargeError) return false;
      if (!isHttpError(error)) {
        // A write whose connection failed may have been carried out: its outcome is unknown.
        return read ? undefined : false;
      }
      if (!read && !this.#provesNothingDone(error.response.status)) return false;
      // Stop when the upstream asks us to wait longer than the call has left: better a clear error
      // now than a timeout later.
      const retryAfterMs = parseRetryAfter(error.response.headers);
      const waitMs = retryAfterMs ?? backoff(retryCount) / 2;
      if (this.#now() + waitMs >= deadline) return false;
      return undefined;
    };
  }

  /** The typed error for an exchange that ended without an answer: too large, cancelled, late, unreachable. */
  #failure(
    error: unknown,
    request: UpstreamRequest,
    retried: RetryLog,
    callSignal: AbortSignal | undefined,
    timeoutSignal: AbortSignal | undefined,
  ): Error {
    const retries = retried.count;
    if (error instanceof ResponseTooLargeError) {
      return this.#recordError(
        new UpstreamError({
          ...this.#where(request),
          status: undefined,
          retries,
          message: error.message,
          hint: "Ask for less: a smaller limit, fields=[...], or a filter; or raise INFRA_MCP_MAX_RESPONSE_BYTES if this answer is expected to be large.",
        }),
      );
    }
    if (callSignal?.aborted && !(callSignal.reason instanceof DeadlineExceeded)) {
      return new CancelledError(`Cancelled: ${this.api} ${request.method} ${request.path} was abandoned.`);
    }
    if (timeoutSignal?.aborted || callSignal?.aborted) {
      const status = retried.lastStatus;
      const exhausted = status !== undefined ? this.profile.exhaustedHint?.(status) : undefined;
      return this.#recordError(
        new UpstreamError({
          ...this.#where(request),
          status,
          retries,
          outOfTime: true,
          message:
            status === undefined
              ? `no answer within ${this.#options.timeoutMs} ms`
              : `still failing with ${status} when the ${this.#options.timeoutMs} ms budget ran out`,
          hint:
            exhausted ??
            "The upstream is slow or unreachable; try again later, or raise INFRA_MCP_TIMEOUT_MS for slow appliances.",
        }),
      );
    }
    return this.#recordError(
      networkError(this.#where(request), error, retries, this.#options.settingsPrefix),
    );
  }

  /**
   * The answer as the profile will read it. Transient failures that outlasted the retries end here with
   * the platform's own explanation, when it has one (a suspended platform).
   */
  async #answer(request: UpstreamRequest, response: Response, retried: RetryLog): Promise<RawResponse> {
    const { status, headers } = response;
    const body = await readBody(response);
    const retries = retried.count;
    if (TRANSIENT_STATUSES.includes(status) && retries > 0) {
      const exhausted = this.profile.exhaustedHint?.(status);
      if (exhausted) {
        throw this.#recordError(
          new UpstreamError({
            ...this.#where(request),
            status,
            retries,
            message: errorMessage(this.profile.interpret({ status, headers, body })),
            hint: exhausted,
          }),
        );
      }
    }
    return retries > 0 ? { status, headers, body, retries } : { status, headers, body };
  }
}

/**
 * The limits of one exchange: its deadline, the call's signal, whether it needs a timer of its own, and the
 * call's trace context (none for a login, which is shared by every caller waiting on it).
 */
interface SendLimits {
  deadline: number;
  callSignal: AbortSignal | undefined;
  ownTimer: boolean;
  traceparent?: string;
}

/** What ky's retries of one exchange left behind, for the error that ends it. */
interface RetryLog {
  count: number;
  /** The status of the last transient failure, if the last failure had one. */
  lastStatus: number | undefined;
}

/** The pause before retry `attempt` (1-based), before jitter takes up to half of it away. */
function backoff(attempt: number): number {
  return Math.min(RETRY_BACKOFF_CAP_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
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

function errorMessage(outcome: Outcome): string {
  return outcome.ok ? "transient failure" : outcome.message;
}

function networkError(
  where: { api: string; method: string; path: string },
  error: unknown,
  retries: number,
  prefix: string,
): UpstreamError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? "";
  const reason = cause?.message ?? (error instanceof Error ? error.message : String(error));
  let hint = "Check the service URL and that the appliance is reachable from this machine.";
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || /wrong version number/i.test(reason)) {
    // A TLS handshake answered in clear text: the URL says https:// but the port speaks plain HTTP.
    hint =
      "The port speaks plain HTTP, not TLS: write the service URL with http://, or use the appliance's HTTPS port.";
  } else if (isTlsFailure(error)) {
    hint = `The TLS certificate was not accepted: set ${prefix}_CA_FILE to the appliance's CA, or ${prefix}_TLS_INSECURE=true for a self-signed appliance you trust.`;
  }
  return new UpstreamError(
    {
      ...where,
      retries,
      code: code || undefined,
      message: `could not reach the upstream (${reason})`,
      hint,
    },
    { cause: error },
  );
}

/** Waits for a shared promise, but lets one caller walk away when its own call ends (cancelled, out of time). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  const walkAway = () =>
    new CancelledError(
      signal.reason instanceof DeadlineExceeded
        ? "The call's time budget (INFRA_MCP_TIMEOUT_MS) ran out before the login finished."
        : "Cancelled before the login finished.",
    );
  if (signal.aborted) return Promise.reject(walkAway());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(walkAway());
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
