/**
 * Typed failures. Handlers and sessions throw these; only `describeError` turns them into the text a
 * model reads, so every failure names the API, the request, the upstream's answer and a next step.
 */

export interface UpstreamErrorDetails {
  /**
   * The API's id, as the generic tools' `service` parameter names it (a platform's name, or
   * `<platform>_<api>` for a second API).
   */
  api: string;
  /** Absent, with `path`, when nothing was sent: a fixed credential known to be expired is refused first. */
  method?: string;
  /** Path relative to the API's base URL, without the query string. */
  path?: string;
  /** HTTP status, absent when no answer came back (network failure, timeout). */
  status?: number;
  /** The upstream's own error code (`AUTH_INVALID_TOKEN`, 3001, ...). */
  code?: string | number;
  message: string;
  /** What the user or model should do next. */
  hint?: string;
  /** How many times the request was retried before this answer. */
  retries?: number;
  /** The call's time budget ran out before an answer came: a wait may end with what it last saw. */
  outOfTime?: boolean;
}

/** The upstream answered with an error, or could not be reached. */
export class UpstreamError extends Error {
  override name = "UpstreamError";
  readonly details: UpstreamErrorDetails;
  constructor(details: UpstreamErrorDetails, options?: { cause?: unknown }) {
    super(details.message, options);
    this.details = details;
  }
  get status(): number | undefined {
    return this.details.status;
  }
  get code(): string | number | undefined {
    return this.details.code;
  }
}

/**
 * An upstream body as text for an error message: whole (collapsed whitespace), never cut here. The one
 * place that shortens messages, `describeError`, scrubs secrets first, so a cut cannot split one.
 */
export function describeBody(body: unknown, empty = "empty answer"): string {
  if (body === undefined || body === null) return empty;
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return text.replace(/\s+/g, " ").trim() || empty;
}

/** A 2xx answer whose body is not what the API documents (an HTML page from a proxy, a truncated body). */
export function unexpectedAnswer(
  where: { api: string; method: string; path: string },
  expected: string,
  body: unknown,
  options: { write?: boolean } = {},
): UpstreamError {
  const proxy = "that the service URL points at the appliance itself, not at a proxy or login page.";
  return new UpstreamError({
    ...where,
    status: 200,
    message: `expected ${expected}, got ${describeBody(body, "nothing")}`,
    // A write answered with success in another shape may still have been carried out: saying only "check
    // the URL" would invite a model to repeat it, and act twice.
    hint: options.write
      ? `The request was sent and may have taken effect: read the state back before repeating it. Check too ${proxy}`
      : `Check ${proxy}`,
  });
}

/** Logging in failed: the credentials are wrong, expired or used up. Retrying will not help. */
export class LoginError extends UpstreamError {
  override name = "LoginError";
}

/** A mutating request in read-only mode; nothing was sent. */
export class ReadOnlyError extends Error {
  override name = "ReadOnlyError";
}

/** The operator's policy refused a request of a call as it was about to be sent; it was not sent. */
export class PolicyDeniedError extends Error {
  override name = "PolicyDeniedError";
  constructor(
    /** The rule's id; undefined when no rule refused it but the call was not confirmed (see message). */
    readonly rule: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** The MCP client cancelled the request. */
export class CancelledError extends Error {
  override name = "CancelledError";
}

/** Why a call's signal was aborted when its time budget ran out (as opposed to the client cancelling). */
export class DeadlineExceeded extends Error {
  override name = "DeadlineExceeded";
  constructor() {
    super("the call's time budget ran out");
  }
}

/** A tool refused its input (beyond what the schema can express). */
export class ToolInputError extends Error {
  override name = "ToolInputError";
}

/** How much of an upstream's message and of a path an error quotes: enough to act on, never a flood. */
const MESSAGE_LIMIT = 500;
const PATH_LIMIT = 200;

/** Shortens text to `limit` characters, saying so. */
export function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length - limit} more characters)`;
}

/**
 * Text for the model: what failed, the upstream's own words, and what to do next. Never a stack. The
 * upstream's message is scrubbed of secrets before it is shortened, so no cut leaves part of one.
 */
export function describeError(error: unknown, scrub: (text: string) => string): string {
  if (error instanceof UpstreamError) {
    const d = error.details;
    // Nothing was sent, so there is no request or answer to name: what was refused, and what to do.
    if (d.method === undefined || d.path === undefined)
      return `${d.api}${error instanceof LoginError ? " login failed" : ""}: ${d.message}.${d.hint ? ` ${d.hint}` : ""}`;
    const answer =
      d.status === undefined
        ? "no answer"
        : `${d.status}${d.code !== undefined && d.code !== "" ? ` (error ${d.code})` : ""}`;
    const retried = d.retries ? ` after ${d.retries} ${d.retries === 1 ? "retry" : "retries"}` : "";
    const lead = error instanceof LoginError ? `${d.api} login failed: ` : `${d.api} `;
    const hint = d.hint ? ` ${d.hint}` : "";
    const path = clip(scrub(d.path), PATH_LIMIT);
    const message = clip(scrub(d.message), MESSAGE_LIMIT);
    return scrub(`${lead}${d.method} ${path} -> ${answer}${retried}: ${message}.${hint}`).replace(
      /\.\.(\s|$)/g,
      ".$1",
    );
  }
  if (
    error instanceof ReadOnlyError ||
    error instanceof PolicyDeniedError ||
    error instanceof CancelledError ||
    error instanceof ToolInputError
  ) {
    return clip(scrub(error.message), MESSAGE_LIMIT * 2);
  }
  const message = error instanceof Error ? error.message : String(error);
  return `Internal error: ${clip(scrub(message), MESSAGE_LIMIT)}. The server is still running; try again, and report this if it repeats.`;
}
