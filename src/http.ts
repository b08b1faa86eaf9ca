import { timingSafeEqual } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { createServer, type Runtime } from "./server.js";

export interface HttpListen {
  host: string;
  port: number;
}

export interface HttpServing {
  /** The MCP endpoint, e.g. http://127.0.0.1:8080/mcp. */
  url: string;
  close(): Promise<void>;
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
 * upstream sessions, confirmations and prepared tools), so replicas behind a load balancer need nothing
 * shared. Clients must send `Authorization: Bearer <INFRA_MCP_HTTP_TOKEN>`. On a loopback address the Host
 * header must name it (DNS rebinding), and a browser's Origin must be one of the same hosts.
 */
export async function serveHttp(runtime: Runtime, listen: HttpListen, token: string): Promise<HttpServing> {
  const expected = Buffer.from(token);
  let allowedHosts: Set<string> | undefined;

  const server = createHttpServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      runtime.logger.error(`http: ${(error as Error).message}`);
      if (!res.headersSent) reply(res, 500, "Internal error");
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
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
    res.on("close", () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
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
  };
}

/** A browser page may call only from the server's own origin (any scheme), never from another site. */
function originAllowed(origin: string, host: string): boolean {
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

function reply(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));
}
