import { timingSafeEqual } from "node:crypto";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { type NodeServerResponseLike, toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler, type McpRequestContext } from "@modelcontextprotocol/server";
import { createServer, type InfraServer, type Runtime } from "./server.js";

export interface HttpListen {
  host: string;
  port: number;
}

export interface HttpServing {
  /** The MCP endpoint, e.g. http://127.0.0.1:8080/mcp. */
  url: string;
  /** Closes at once, cutting calls in flight without a word (tests). */
  close(): Promise<void>;
  /**
   * Graceful shutdown: accepts no new connection (a balancer's next attempt goes to another replica),
   * lets the calls in flight finish for up to `timeoutMs`, then cuts whatever is left, telling each
   * client so. Says how many calls finished and how many were cut.
   */
  drain(timeoutMs: number): Promise<{ finished: number; cut: number }>;
  /** Ends a drain now: every call still in flight is cut, its client told why. */
  cutNow(reason: string): Promise<void>;
}

/** One POST being answered, and whether a shutdown cut it. */
interface Exchange {
  cut: boolean;
}

/** Reads `[HOST:]PORT` (`8080`, `0.0.0.0:8080`, `[::1]:8080`); host defaults to loopback. */
export function parseListen(value: string): HttpListen | undefined {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(value.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  const host = (match[1] ?? "127.0.0.1").replace(/^\[|\]$/g, "");
  return { host, port };
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

/**
 * Streamable HTTP at `/mcp`, stateless, for both protocol generations: every POST gets its own MCP server
 * over the shared runtime (the upstream sessions, confirmations and prepared tools), as a 2026-07-28 request
 * when it carries that revision's metadata and as a 2025-era one otherwise (the SDK's entry decides). So
 * replicas behind a load balancer share only the confirmation key and, when configured, the Redis that
 * spends tokens. Clients must send `Authorization: Bearer <INFRA_MCP_HTTP_TOKEN>`. On a loopback address the
 * Host header must name it (DNS rebinding), and a browser's Origin must be one of the same hosts. `/healthz`
 * and `/readyz` serve the load balancer without a token.
 */
export async function serveHttp(runtime: Runtime, listen: HttpListen, token: string): Promise<HttpServing> {
  const exchanges = new Exchanges();
  const gate: Gate = { expected: Buffer.from(token) };
  const endpoint = mcpEndpoint(runtime, exchanges);
  const server = createHttpServer((req, res) => {
    void route(req, res).catch((error: unknown) => {
      runtime.logger.error(`http: ${(error as Error).message}`);
      if (!res.headersSent) reply(res, 500, "Internal error");
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    // A draining replica closes each connection after its answer, so a balancer's kept-alive
    // connection moves to another replica instead of holding this one open.
    if (exchanges.draining) res.shouldKeepAlive = false;
    if (path === "/healthz" || path === "/readyz") return probe(runtime, path, req, res);
    if (path !== "/mcp") return reply(res, 404, "Not found: the MCP endpoint is /mcp");
    if (!admitted(gate, req, res)) return;
    if (req.method !== "POST") {
      // Stateless: no standalone SSE stream and no session to delete.
      res.setHeader("allow", "POST");
      return reply(res, 405, "Method not allowed: this server is stateless; POST JSON-RPC to /mcp");
    }
    // A 2026-07-28 client's subscriptions/listen stream stays open for as long as the client listens: it is
    // no call, so a drain does not wait for it (it ends with the handler, gracefully). The SDK refuses a
    // 2026-07-28 POST whose Mcp-Method header is not its body's method, so the header tells it truthfully.
    if (req.headers["mcp-method"] !== "subscriptions/listen") exchanges.track(res);
    await endpoint.answer(req, res);
  }

  const port = await listenOn(server, listen);
  if (LOOPBACK.has(listen.host)) {
    gate.allowedHosts = new Set(["127.0.0.1", "localhost", "[::1]"].map((name) => `${name}:${port}`));
  }
  const shown = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  return serving(`http://${shown}:${port}/mcp`, server, exchanges, endpoint);
}

/** The MCP endpoint: what answers a POST to /mcp, and what ends the listen streams it holds. */
interface Endpoint {
  answer(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /**
   * Ends every subscriptions/listen stream gracefully (the client is told the server ended it, and may
   * listen again elsewhere) and any 2026-07-28 call still open, and stops following policy reloads.
   */
  close(): Promise<void>;
}

/**
 * The SDK's HTTP entry for both generations, with a fresh server per request from one factory: 2026-07-28
 * requests on its per-request path, 2025-era ones through the stateless legacy path (`initialize` and all).
 * Every answer is an event stream, in both generations: its headers leave at once, so a balancer sees the
 * call begin and keep-alive comments hold a long wait open, as 2025-era answers always did. A policy reload
 * that changes the tool list reaches the 2026-07-28 clients listening here through the handler's own
 * subscriptions/listen streams; a 2025-era client over stateless HTTP has no stream that could carry it.
 */
function mcpEndpoint(runtime: Runtime, exchanges: Exchanges): Endpoint {
  const onerror = (error: Error) => runtime.logger.debug(`http: ${error.message}`);
  const serverFor = (request: McpRequestContext) =>
    createServer(runtime, { principal: principalOf(request), answering: exchanges.answering });
  const handler = createMcpHandler(serverFor, {
    legacy: "stateless",
    responseMode: "sse",
    onerror,
  });
  const toolsChanged = () => handler.notify.toolsChanged();
  runtime.toolListeners.add(toolsChanged);
  const node = toNodeHandler(handler, { onerror });
  return {
    answer: (req, res) => node(req, flushingEventStreams(res)),
    close: async () => {
      runtime.toolListeners.delete(toolsChanged);
      await handler.close();
    },
  };
}

/**
 * `res` as the SDK's Node adapter writes to it, except that an event stream's headers leave at once. The
 * adapter only calls writeHead, and Node sends headers with the first body bytes: for a call that sends no
 * progress, that is its result, so until then a balancer could not tell which replica took the call nor a
 * client that its stream had opened (the 1.x transport flushed them).
 */
function flushingEventStreams(res: ServerResponse): NodeServerResponseLike {
  return {
    writeHead: (status, headers) => {
      res.writeHead(status, headers);
      if (headers?.["content-type"]?.startsWith("text/event-stream")) res.flushHeaders();
      return res;
    },
    write: (chunk) => res.write(chunk),
    end: (chunk) => (chunk === undefined ? res.end() : res.end(chunk)),
    on: (event, listener) => res.on(event, listener),
    get destroyed() {
      return res.destroyed;
    },
  };
}

/** What a request to /mcp must show before it is read: the right Host, Origin and bearer token. */
interface Gate {
  expected: Buffer;
  allowedHosts?: Set<string>;
}

/** Whether the request may be served; if not, it has been answered (403 or 401). */
function admitted(gate: Gate, req: IncomingMessage, res: ServerResponse): boolean {
  const host = req.headers.host ?? "";
  if (gate.allowedHosts && !gate.allowedHosts.has(host.toLowerCase())) {
    reply(res, 403, `Host ${host || "(none)"} is not allowed`);
    return false;
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !originAllowed(origin, host)) {
    reply(res, 403, `Origin ${origin} is not allowed`);
    return false;
  }
  // The scheme is case-insensitive (RFC 7235); the token is compared in constant time.
  const [scheme, ...rest] = (req.headers.authorization ?? "").trim().split(/\s+/);
  const presented = Buffer.from(scheme?.toLowerCase() === "bearer" && rest.length === 1 ? rest[0]! : "");
  if (presented.length !== gate.expected.length || !timingSafeEqual(presented, gate.expected)) {
    res.setHeader("www-authenticate", 'Bearer realm="infra-mcp"');
    reply(res, 401, "Missing or wrong bearer token (INFRA_MCP_HTTP_TOKEN)");
    return false;
  }
  return true;
}

/**
 * The MCP POSTs being answered, so that a drain knows when the last one is done and what to cut, and the
 * servers answering calls, so that a cut can answer each call by its id.
 */
class Exchanges {
  readonly inFlight = new Map<ServerResponse, Exchange>();
  readonly answering = new Set<InfraServer>();
  draining: { finished: number } | undefined;
  /** Resolved each time the last MCP POST in flight is done. */
  readonly #idleWaiters: (() => void)[] = [];

  track(res: ServerResponse): void {
    const exchange: Exchange = { cut: false };
    this.inFlight.set(res, exchange);
    res.on("close", () => {
      this.inFlight.delete(res);
      if (this.draining && res.writableFinished && !exchange.cut) this.draining.finished += 1;
      if (this.inFlight.size === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    });
  }

  idle(): Promise<void> {
    return this.inFlight.size === 0
      ? Promise.resolve()
      : new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Answers every call in flight with `message`; the POSTs still open count as cut. */
  async cut(message: string): Promise<void> {
    for (const exchange of this.inFlight.values()) exchange.cut = true;
    await Promise.all([...this.answering].map((server) => server.cutCallsInFlight(message)));
  }
}

async function listenOn(server: Server, listen: HttpListen): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** The handle on a listening server: close, drain, cut. */
function serving(url: string, server: Server, exchanges: Exchanges, endpoint: Endpoint): HttpServing {
  /**
   * Answers every request still in flight with an error saying it was cut and that its effect upstream is
   * unknown, then closes every connection. Without the answer an SDK client would wait for its own
   * timeout (a minute by default) with a stream that just ended.
   */
  async function cutNow(reason: string): Promise<void> {
    await exchanges.cut(
      `infra-mcp: ${reason}. Whether it took effect upstream is unknown: check the state with a read ` +
        "before repeating it.",
    );
    // The answers end their streams, and the listen streams end with the endpoint: a moment for them to
    // leave, then nothing stays open.
    await endpoint.close();
    await within(exchanges.idle(), 1_000);
    server.closeAllConnections();
  }
  return {
    url,
    close: async () => {
      await endpoint.close();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
    drain: async (timeoutMs) => {
      const state = { finished: 0 };
      exchanges.draining = state;
      server.close();
      server.closeIdleConnections();
      await within(exchanges.idle(), timeoutMs);
      const cut = exchanges.inFlight.size;
      await cutNow(
        `the server is shutting down and cut this call after waiting ${timeoutMs} ms for it ` +
          "(INFRA_MCP_SHUTDOWN_TIMEOUT_MS)",
      );
      return { finished: state.finished, cut };
    },
    cutNow,
  };
}

/**
 * Liveness answers from the process alone; readiness also asks the store of spent tokens (Redis, when
 * configured), since a replica that cannot record a confirmation cannot act on one. Neither needs the
 * token, touches an upstream, or says more than ready or not (details go to the log).
 */
async function probe(
  runtime: Runtime,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return status(res, 405, { status: "method not allowed" });
  }
  if (path === "/healthz") return status(res, 200, { status: "ok" });
  try {
    await runtime.spentTokens.check();
    return status(res, 200, { status: "ready" });
  } catch (error) {
    runtime.logger.warn(`readyz: not ready: ${(error as Error).message}`);
    return status(res, 503, {
      status: "not ready",
      reason: "the Redis of INFRA_MCP_REDIS_URL does not answer",
    });
  }
}

/**
 * Who is calling, for the operator's policy (`principals`) and the audit trail, asked by the SDK's entry for
 * each request it serves, in either generation. The bearer token (INFRA_MCP_HTTP_TOKEN) is one shared
 * secret, so its holder is `http`. The seam for real identities: a front that verifies OAuth tokens sets
 * `req.auth` before the Node adapter, which hands it on here as `authInfo`, and the token's subject is
 * returned instead.
 */
function principalOf(_request: McpRequestContext): string {
  return "http";
}

/** A browser page may call only from the server's own origin (any scheme), never from another site. */
function originAllowed(origin: string, host: string): boolean {
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

/** Waits for `promise`, or `ms`, whichever comes first. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function status(res: ServerResponse, code: number, body: Record<string, string>): void {
  res.writeHead(code, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

function reply(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));
}
