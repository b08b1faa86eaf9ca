import { request as httpRequest } from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type HttpServing, parseListen, serveHttp } from "../src/http.js";
import { NetprofilerEmulator } from "../src/platforms/netprofiler/emulator.js";
import { createRuntime } from "../src/server.js";
import { loadConfig, PLATFORMS } from "./helpers.js";

const TOKEN = "http-bearer-token-for-tests-0123456789";
let emulator: NetprofilerEmulator;
let serving: HttpServing;

beforeEach(async () => {
  emulator = new NetprofilerEmulator();
  await emulator.start();
  const config = loadConfig({
    ...emulator.sandboxEnv(),
    INFRA_MCP_HTTP_TOKEN: TOKEN,
    INFRA_MCP_LOG_LEVEL: "error",
  });
  serving = await serveHttp(
    createRuntime(config, PLATFORMS, { writeLog: () => undefined }),
    { host: "127.0.0.1", port: 0 },
    TOKEN,
  );
});

afterEach(async () => {
  await serving.close();
  await emulator.stop();
});

async function connect(token = TOKEN): Promise<Client> {
  const client = new Client({ name: "http-test", version: "1" });
  const transport = new StreamableHTTPClientTransport(new URL(serving.url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

/** A raw request, to set headers a client library would not let us forge. */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const url = new URL(serving.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      let body = "";
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(method === "POST" ? JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) : undefined);
  });
}

const JSON_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

describe("Streamable HTTP (--http)", () => {
  it("serves tools statelessly to a client with the bearer token", async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("netprofiler_get_aws_status");
    const result = await client.callTool({
      name: "netprofiler_list_aws_accounts",
      arguments: { fields: ["acc_id"] },
    });
    expect(result.structuredContent).toEqual({
      items: [{ acc_id: "prod-eu" }, { acc_id: "prod-us" }, { acc_id: "staging" }],
    });
    // Stateless: confirmation goes through the token, which works across separate HTTP requests.
    const first = await client.callTool({
      name: "netprofiler_delete_aws_accounts",
      arguments: { acc_ids: ["staging"] },
    });
    const token = (first.structuredContent as { confirmation_token: string }).confirmation_token;
    const done = await client.callTool({
      name: "netprofiler_delete_aws_accounts",
      arguments: { acc_ids: ["staging"], confirmation_token: token },
    });
    expect(done.structuredContent).toMatchObject({ ok: true });
    expect(emulator.accountIds()).not.toContain("staging");
    await client.close();
  });

  it("refuses a missing or wrong token with 401", async () => {
    await expect(connect("wrong-token")).rejects.toThrow(/Missing or wrong bearer token/);
    const missing = await raw("POST", "/mcp", { ...JSON_HEADERS, host: new URL(serving.url).host });
    expect(missing.status).toBe(401);
    expect(missing.body).toContain("INFRA_MCP_HTTP_TOKEN");
    expect(emulator.requests).toHaveLength(0);
  });

  it("accepts the Bearer scheme in any case (RFC 7235)", async () => {
    const host = new URL(serving.url).host;
    for (const scheme of ["bearer", "BEARER", "Bearer"]) {
      const answer = await raw("POST", "/mcp", {
        ...JSON_HEADERS,
        host,
        authorization: `${scheme} ${TOKEN}`,
      });
      expect(answer.status, scheme).toBe(200);
    }
    const wrong = await raw("POST", "/mcp", { ...JSON_HEADERS, host, authorization: `bearer ${TOKEN}x` });
    expect(wrong.status).toBe(401);
  });

  it("refuses a foreign Host (DNS rebinding) and a foreign Origin with 403", async () => {
    const auth = { ...JSON_HEADERS, authorization: `Bearer ${TOKEN}` };
    const host = new URL(serving.url).host;
    expect((await raw("POST", "/mcp", { ...auth, host: "attacker.example:80" })).status).toBe(403);
    expect((await raw("POST", "/mcp", { ...auth, host, origin: "https://attacker.example" })).status).toBe(
      403,
    );
    expect((await raw("POST", "/mcp", { ...auth, host, origin: `http://${host}` })).status).toBe(200);
  });

  it("answers 405 to GET and DELETE, 404 off /mcp", async () => {
    const auth = { authorization: `Bearer ${TOKEN}`, host: new URL(serving.url).host };
    expect((await raw("GET", "/mcp", auth)).status).toBe(405);
    expect((await raw("DELETE", "/mcp", auth)).status).toBe(405);
    expect((await raw("POST", "/other", { ...auth, ...JSON_HEADERS })).status).toBe(404);
  });

  it("parses [HOST:]PORT", () => {
    expect(parseListen("8080")).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(parseListen("0.0.0.0:9000")).toEqual({ host: "0.0.0.0", port: 9000 });
    expect(parseListen("[::1]:9000")).toEqual({ host: "::1", port: 9000 });
    expect(parseListen("localhost:80")).toEqual({ host: "localhost", port: 80 });
    expect(parseListen("99999")).toBeUndefined();
    expect(parseListen("http://x:80")).toBeUndefined();
  });
});
