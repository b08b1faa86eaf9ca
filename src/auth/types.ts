import type { LoginError } from "../errors.js";

/**
 * What a platform implements for its sessions: one profile per API (how it answers) and one strategy per
 * way of logging in (how it lets a client in). The Session in `session.ts` does everything else.
 */

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** What a successful login yields. */
export interface Credential {
  /** Headers attached to every request made with this credential. */
  headers?: Record<string, string>;
  /** Query parameters attached to every request (a session key some platforms take as a parameter). */
  query?: Record<string, string>;
  /** Epoch ms after which the upstream will refuse it, when the upstream says so. */
  expiresAt?: number;
  /**
   * The upstream drops this credential when it goes unused this long (a session token with an idle
   * limit). The session logs in again instead of waiting to be refused. Absent: it never idles out.
   */
  idleTimeoutMs?: number;
  /** Values to scrub from every output from now on (tokens, session ids, refresh tokens). */
  secrets: string[];
}

/** A raw answer from the upstream, before the profile interprets it. */
export interface RawResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, the text otherwise, `undefined` when empty. */
  body: unknown;
  /** How many times the request was sent again before this answer (transient failures). */
  retries?: number;
}

export interface UpstreamRequest {
  method: HttpMethod;
  /** Relative to the base URL, starting with `/`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  /** Sent as application/x-www-form-urlencoded, every value encoded. */
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /**
   * Another configured base URL for this one request: an identity provider a strategy logs in at
   * (Keycloak, ItsYou.online). Logins only; a tool's request always goes to its API's base URL.
   */
  base?: string;
}

/**
 * What a session has learnt about its upstream instance, kept for the session's life: which of two calls an
 * older release offers, for example, so that only the first tool call pays for finding out. Values are
 * short strings the platform's tools define; the core never reads them.
 */
export interface InstanceFacts {
  get(name: string): string | undefined;
  set(name: string, value: string): void;
}

/** What one tool call lends to every request it makes: its cancellation, time budget, trace and guard. */
export interface CallScope {
  /** The MCP request's abort signal. */
  signal?: AbortSignal;
  /** Epoch ms by which the whole tool call must be over (every request and retry it makes). */
  deadline?: number;
  /** The client's W3C trace context, already checked: sent as the `traceparent` header of each request. */
  traceparent?: string;
  /** Watches the call's requests: the operator's policy on each before it goes, and a record of each sent. */
  guard?: RequestGuard;
}

/**
 * What the session asks about each request of a tool call, whichever tool built it: whether it may be sent
 * (after the read-only rule, which comes first and stays absolute), and, once sent, what became of it.
 * Logins are the session's own business and pass neither.
 */
export interface RequestGuard {
  /** Throws (a PolicyDeniedError) when the request may not be sent. */
  admit(api: string, request: UpstreamRequest): void;
  /** One request went out: its path as sent, without the query string, and its answer's status (none: undefined). */
  sent(api: string, method: string, path: string, status: number | undefined): void;
}

/** What logging in needs: a client without credentials and a way to build errors. */
export interface LoginContext {
  send(request: UpstreamRequest): Promise<RawResponse>;
  /** Builds the error for a refused login, with the upstream's own code and message. */
  fail(request: UpstreamRequest, response: RawResponse, hint: string): LoginError;
  /** The credential being replaced (expired, idle or refused), for strategies that can renew it. */
  previous?: Credential;
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

/** One documented upstream operation, as infra_list_operations lists it. */
export interface Operation {
  method: string;
  path: string;
  summary: string;
}

/** The per-API differences, as data (DESIGN.md "a service is a profile plus a toolset"). */
export interface ApiProfile {
  /** API id used in errors and by the generic tools (the platform's name, or `<platform>_<api>`). */
  readonly api: string;
  /** Headers on every request, login included. */
  readonly headers?: Record<string, string>;
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
  /** Statuses that prove a write was not carried out (besides 429), so it may be sent again. */
  readonly nothingDoneStatuses?: readonly number[];
  /**
   * How `infra_api_get` reads `path` on this API, when a read is not a GET (a platform whose reads are
   * POSTs to `list*`/`get*` methods). Throws a ToolInputError for a path that is not a read.
   */
  readRequest?(path: string, query: Record<string, string | number | boolean> | undefined): UpstreamRequest;
  /**
   * How `infra_api_call` sends a body on this API, when not as JSON (an API that takes only form fields).
   * Throws a ToolInputError for a body it cannot carry.
   */
  encodeBody?(body: unknown): Pick<UpstreamRequest, "json" | "form">;
  /** A cheap authenticated read, used by `infra_status` with `check`. */
  readonly probe: UpstreamRequest;
  /** The documented operations, for `infra_list_operations` when the instance serves no description. */
  readonly operations: readonly Operation[];
  /**
   * Reads the instance's own description of its operations (a Swagger document, a catalogue), for
   * `infra_list_operations`; undefined when it serves none, and the built-in catalogue is used.
   */
  liveOperations?(
    read: (request: UpstreamRequest) => Promise<RawResponse>,
  ): Promise<{ source: string; operations: Operation[] } | undefined>;
}
