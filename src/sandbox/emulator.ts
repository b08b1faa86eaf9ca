import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";

/** One request as the emulator saw it, for tests to assert on. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  contentType?: string;
  body: string;
  /** The body parsed as JSON or form, when it is one. */
  json?: unknown;
  form?: Record<string, string>;
  /** True when a fault switch answered instead of the emulated API. */
  faulted: boolean;
  /** True when `reshapeNext` edited the platform's answer to it. */
  reshaped?: boolean;
}

export interface EmulatorResponse {
  status: number;
  /** JSON-encoded, unless `raw` is set or a string comes with its own content-type header. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Send a string body as it is, with only the headers given (no default content-type). */
  raw?: boolean;
}

/** How many requests the log keeps: enough for any test, bounded for a long benchmark or demo. */
const REQUEST_LOG_LIMIT = 5_000;

interface Fault {
  remaining: number;
  status: number;
  /** The platform handles the request first (it acted), then a gateway answers with the fault. */
  afterActing?: boolean;
  /** Handle the request, then close the connection without an answer (a network error after acting). */
  drop?: boolean;
  /** Epoch ms when a time-bound fault (an outage) ends. */
  until?: number;
  /** Wait this long, then answer normally (a slow upstream). */
  delayMs?: number;
  retryAfter?: string;
  /** A raw answer instead of the platform's error body (a proxy's HTML page, a truncated body). */
  raw?: { body: string; contentType: string };
  /** Only requests whose method is listed (all when absent). */
  methods?: string[];
  /** Only requests to this path (all when absent). */
  path?: string;
}

/** An edit of the platform's own answer to requests of one path (see `reshapeNext`). */
interface Reshape {
  remaining: number;
  path: string;
  method?: string;
  edit: (body: unknown) => unknown;
}

/**
 * The loopback HTTP skeleton shared by the platform emulators: a request log, fault switches and JSON
 * answers. Each platform's behaviour (paths, envelopes, auth) lives in its subclass.
 */
export abstract class Emulator {
  readonly requests: RecordedRequest[] = [];
  #server: Server | undefined;
  #url = "";
  #faults: Fault[] = [];
  #reshapes: Reshape[] = [];

  /** The error body this platform sends with a given status, used by fault switches. */
  protected abstract faultBody(status: number): unknown;
  protected abstract handle(request: RecordedRequest): EmulatorResponse | Promise<EmulatorResponse>;
  /** The platform's variables pointing at this (started) emulator, with the sandbox credentials. */
  abstract sandboxEnv(): Record<string, string>;

  get url(): string {
    if (this.#url === "") throw new Error("emulator not started");
    return this.#url;
  }

  /** Listens on loopback; with `tls` it serves HTTPS with that key and certificate (TLS option tests). */
  async start(port = 0, host = "127.0.0.1", tls?: { key: string; cert: string }): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#serve(req, res);
    const server: Server = tls ? createTlsServer(tls, handler) : createServer(handler);
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    this.#server = server;
    this.#url = `${tls ? "https" : "http"}://${host}:${(server.address() as AddressInfo).port}`;
    return this.#url;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Answers the next `count` requests with `status` (and the platform's error body), then recovers. */
  failNext(
    count: number,
    status: number,
    options: {
      retryAfterSeconds?: number;
      retryAfter?: string;
      methods?: string[];
      afterActing?: boolean;
      path?: string;
    } = {},
  ): void {
    const fault: Fault = { remaining: count, status };
    if (options.path !== undefined) fault.path = options.path;
    if (options.retryAfterSeconds !== undefined) fault.retryAfter = String(options.retryAfterSeconds);
    if (options.retryAfter !== undefined) fault.retryAfter = options.retryAfter;
    if (options.methods) fault.methods = options.methods.map((m) => m.toUpperCase());
    if (options.afterActing) fault.afterActing = true;
    this.#faults.push(fault);
  }

  /** Answers every request with `status` (and the platform's error body) for the next `ms`: an outage. */
  failFor(ms: number, status: number, options: { methods?: string[] } = {}): void {
    const fault: Fault = { remaining: Number.POSITIVE_INFINITY, status, until: Date.now() + ms };
    if (options.methods) fault.methods = options.methods.map((m) => m.toUpperCase());
    this.#faults.push(fault);
  }

  /** Carries out the next `count` requests, then closes each connection without answering. */
  dropNext(count: number, options: { methods?: string[] } = {}): void {
    const fault: Fault = { remaining: count, status: 0, drop: true };
    if (options.methods) fault.methods = options.methods.map((m) => m.toUpperCase());
    this.#faults.push(fault);
  }

  /** Answers the next `count` requests normally, but only after `ms`. */
  delayNext(count: number, ms: number, options: { methods?: string[] } = {}): void {
    const fault: Fault = { remaining: count, status: 0, delayMs: ms };
    if (options.methods) fault.methods = options.methods.map((m) => m.toUpperCase());
    this.#faults.push(fault);
  }

  /**
   * Answers the next `count` requests with a body that is not the platform's (by default the HTML page a
   * reverse proxy or captive portal might return with 200), to prove the client reports it.
   */
  garbleNext(
    count: number,
    options: { status?: number; body?: string; contentType?: string; methods?: string[] } = {},
  ): void {
    const fault: Fault = {
      remaining: count,
      status: options.status ?? 200,
      raw: {
        body: options.body ?? "<html><body><h1>Sign in to the corporate proxy</h1></body></html>",
        contentType: options.contentType ?? "text/html",
      },
    };
    if (options.methods) fault.methods = options.methods.map((m) => m.toUpperCase());
    this.#faults.push(fault);
  }

  /**
   * Edits the platform's own answer to the next `count` requests to `path`: each is handled as usual
   * (checked, acted on, logged), then `edit` rewrites the JSON value of a 2xx answer. Tests use it to hand a
   * tool an answer the platform's documentation allows but the seeded data does not show (a field left out,
   * null, or of another type), without teaching the emulator to accept anything it is sent.
   */
  reshapeNext(
    count: number,
    path: string,
    edit: (body: unknown) => unknown,
    options: { method?: string } = {},
  ): void {
    const reshape: Reshape = { remaining: count, path, edit };
    if (options.method !== undefined) reshape.method = options.method.toUpperCase();
    this.#reshapes.push(reshape);
  }

  clearFaults(): void {
    this.#faults = [];
    this.#reshapes = [];
  }

  /** Requests to paths starting with `prefix` (all when absent), excluding nothing. */
  requestsTo(prefix = "/"): RecordedRequest[] {
    return this.requests.filter((request) => request.path.startsWith(prefix));
  }

  async #handle(recorded: RecordedRequest): Promise<EmulatorResponse> {
    try {
      return await this.handle(recorded);
    } catch (error) {
      process.stderr.write(`emulator error: ${(error as Error).stack}\n`);
      return { status: 500, body: this.faultBody(500) };
    }
  }

  /** The answer after a matching `reshapeNext` edit, when it is a 2xx with a JSON value. */
  #reshaped(recorded: RecordedRequest, response: EmulatorResponse): EmulatorResponse {
    const reshape = this.#reshapes.find(
      (r) =>
        r.remaining > 0 &&
        r.path === recorded.path &&
        (r.method === undefined || r.method === recorded.method),
    );
    if (reshape === undefined || response.status < 200 || response.status >= 300) return response;
    const type = response.headers?.["content-type"];
    // A string with its own content type is the body as sent; without one it is a JSON string value.
    const encoded = typeof response.body === "string" && type !== undefined;
    if (response.raw || (encoded && !type.includes("json")) || response.body === undefined) return response;
    reshape.remaining -= 1;
    recorded.reshaped = true;
    const value = encoded ? JSON.parse(response.body as string) : response.body;
    const edited = reshape.edit(value);
    return { ...response, body: encoded ? JSON.stringify(edited) : edited };
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://emulator");
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(", ") : value;
    }
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      path: decodeURIComponent(url.pathname),
      query: Object.fromEntries(url.searchParams),
      headers,
      body,
      faulted: false,
    };
    const contentType = headers["content-type"];
    if (contentType !== undefined) recorded.contentType = contentType;
    if (contentType?.includes("json") && body !== "") {
      try {
        recorded.json = JSON.parse(body);
      } catch {
        // Left unparsed: the platform handler answers a malformed body with its own error.
      }
    } else if (contentType?.includes("x-www-form-urlencoded")) {
      recorded.form = Object.fromEntries(new URLSearchParams(body));
    }
    this.requests.push(recorded);
    // Drop the oldest in one go rather than one per request: the log is for assertions, not history.
    if (this.requests.length > 2 * REQUEST_LOG_LIMIT) this.requests.splice(0, REQUEST_LOG_LIMIT);

    let response: EmulatorResponse;
    const fault = this.#faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.until === undefined || Date.now() < f.until) &&
        (!f.methods || f.methods.includes(recorded.method)) &&
        (f.path === undefined || f.path === recorded.path),
    );
    if (fault) {
      fault.remaining -= 1;
      recorded.faulted = true;
    }
    if (fault?.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.drop || fault?.afterActing) await this.#handle(recorded);
    if (fault?.drop) {
      res.socket?.destroy();
      return;
    }
    if (fault && fault.delayMs === undefined) {
      response = fault.raw
        ? { status: fault.status, body: fault.raw.body, headers: { "content-type": fault.raw.contentType } }
        : { status: fault.status, body: this.faultBody(fault.status) };
      if (fault.retryAfter !== undefined)
        response.headers = { ...response.headers, "retry-after": fault.retryAfter };
    } else {
      response = this.#reshaped(recorded, await this.#handle(recorded));
    }
    const outHeaders: Record<string, string> = { ...response.headers };
    let payload = "";
    if (response.raw && typeof response.body === "string") {
      payload = response.body;
    } else if (response.body !== undefined) {
      payload =
        typeof response.body === "string" && outHeaders["content-type"]
          ? response.body
          : JSON.stringify(response.body);
      outHeaders["content-type"] ??= "application/json";
    }
    res.writeHead(response.status, outHeaders);
    res.end(payload);
  }
}

/** Reads a bearer-ish credential: `Authorization: <scheme> <value>`. */
export function authorization(request: RecordedRequest): { scheme: string; value: string } | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const space = header.indexOf(" ");
  if (space < 0) return undefined;
  return { scheme: header.slice(0, space).toLowerCase(), value: header.slice(space + 1).trim() };
}

/** Reads one cookie by name. */
export function cookie(request: RecordedRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return undefined;
}
