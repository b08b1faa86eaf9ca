import { timingSafeEqual } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { ErrorCode, isJSONRPCRequest, type RequestId } from "@modelcontextprotocol/sdk/types.js";
import { createServer, type Runtime } from "./server.js";

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

/** One POST being answered: its transport and the JSON-RPC requests it carries. */
interface Exchange {
  transport: StreamableHTTPServerTransport;
  requests: Set<RequestId>;
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
 * Streamable HTTP at `/mcp`, stateless: every POST gets its own MCP server over the shared runtime (the
 * upstream sessions, confirmations and prepared tools), so replicas behind a load balancer share only the
 * confirmation key and, when configured, the Redis that spends tokens. Clients must send
 * `Authorization: Bearer <INFRA_MCP_HTTP_TOKEN>`. On a loopback address the Host header must name it (DNS
 * rebinding), and a browser's Origin must be one of the same hosts. `/healthz` and `/readyz` serve the
 * load balancer without a token.
 */
export async function serveHttp(runtime: Runtime, listen: HttpListen, token: string): Promise<HttpServing> {
  const expected = Buffer.from(token);
  let allowedHosts: Set<string> | undefined;
  /** MCP POSTs being answered, so that a drain knows when the last one is done and what to cut. */
  const inFlight = new Map<ServerResponse, Exchange>();
  let draining: { finished: number } | undefined;
  /** Resolved each time the last MCP POST in flight is done. */
  const idleWaiters: (() => void)[] = [];
  const idle = (): Promise<void> =>
    inFlight.size === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));

  const server = createHttpServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      runtime.logger.error(`http: ${(error as Error).message}`);
      if (!res.headersSent) reply(res, 500, "Internal error");
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    // A draining replica closes each connection after its answer, so a balancer's kept-alive
    // connection moves to another replica instead of holding this one open.
    if (draining) res.shouldKeepAlive = false;
    if (path === "/healthz" || path === "/readyz") return probe(path, req, res);
    if (path !== "/mcp") return reply(res, 404, "Not found: the MCP endpoint is /mcp");
    const host = req.headers.host ?? "";
    if (allowedHosts && !allowedHosts.has(host.toLowerCase())) {
      return reply(res, 403, `Host ${host || "(none)"} is not allowed`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, host)) {
      return reply(res, 403, `Origin ${origin} is not allowed`);
    }
    // The scheme is case-insensitive (RFC 7235); the token is compared in constant time.
    const [scheme, ...rest] = (req.headers.authorization ?? "").trim().split(/\s+/);
    const presented = Buffer.from(scheme?.toLowerCase() === "bearer" && rest.length === 1 ? rest[0]! : "");
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      res.setHeader("www-authenticate", 'Bearer realm="infra-mcp"');
      return reply(res, 401, "Missing or wrong bearer token (INFRA_MCP_HTTP_TOKEN)");
    }
    if (req.method !== "POST") {
      // Stateless: no standalone SSE stream and no session to delete.
      res.setHeader("allow", "POST");
      return reply(res, 405, "Method not allowed: this server is stateless; POST JSON-RPC to /mcp");
    }
    const mcp = createServer(runtime);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    const exchange: Exchange = { transport, requests: new Set(), cut: false };
    inFlight.set(res, exchange);
    res.on("close", () => {
      inFlight.delete(res);
      if (draining && res.writableFinished && !exchange.cut) draining.finished += 1;
      if (inFlight.size === 0) for (const resolve of idleWaiters.splice(0)) resolve();
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    // Noted on the way in, so that a cut can answer each request by its id.
    const deliver = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if (isJSONRPCRequest(message)) exchange.requests.add(message.id);
      deliver?.(message, extra);
    };
    await transport.handleRequest(req, res);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  if (LOOPBACK.has(listen.host)) {
    allowedHosts = new Set(["127.0.0.1", "localhost", "[::1]"].map((name) => `${name}:${port}`));
  }
  const shown = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${shown}:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    drain: async (timeoutMs) => {
      const state = { finished: 0 };
      draining = state;
      server.close();
      server.closeIdleConnections();
      await within(idle(), timeoutMs);
      const cut = inFlight.size;
      await cutNow(
        `the server is shutting down and cut this call after waiting ${timeoutMs} ms for it ` +
          "(INFRA_MCP_SHUTDOWN_TIMEOUT_MS)",
      );
      return { finished: state.finished, cut };
    },
    cutNow,
  };

  /**
   * Answers every request still in flight with an error saying it was cut and that its effect upstream is
   * unknown, then closes every connection. Without the answer an SDK client would wait for its own
   * timeout (a minute by default) with a stream that just ended.
   */
  async function cutNow(reason: string): Promise<void> {
    const message =
      `infra-mcp: ${reason}. Whether it took effect upstream is unknown: check the state with a read ` +
      "before repeating it.";
    await Promise.all(
      [...inFlight.values()].map(async (exchange) => {
        exchange.cut = true;
        for (const id of exchange.requests) {
          await exchange.transport
            .send(
              { jsonrpc: "2.0", id, error: { code: ErrorCode.InternalError, message } },
              { relatedRequestId: id },
            )
            .catch(() => undefined); // already answered, or the client is gone
        }
      }),
    );
    // The answers end their streams: a moment for them to leave, then nothing stays open.
    await within(idle(), 1_000);
    server.closeAllConnections();
  }

  /**
   * Liveness answers from the process alone; readiness also asks the store of spent tokens (Redis, when
   * configured), since a replica that cannot record a confirmation cannot act on one. Neither needs the
   * token, touches an upstream, or says more than ready or not (details go to the log).
   */
  async function probe(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
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
