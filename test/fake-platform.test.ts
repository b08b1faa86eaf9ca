import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { ApiProfile, AuthStrategy } from "../src/auth/types.js";
import { ConfigError, type ConfigReader, loadConfig } from "../src/config.js";
import { bundleManifest, registryEntry, servedProducts, userSettings } from "../src/packaging.js";
import { definePlatform } from "../src/platform.js";
import { reviewReplicaSettings } from "../src/replicas.js";
import {
  authorization,
  Emulator,
  type EmulatorResponse,
  type RecordedRequest,
} from "../src/sandbox/emulator.js";
import { type Sandbox, sandboxPrefixes, startSandbox } from "../src/sandbox/index.js";
import { createRuntime, createServer } from "../src/server.js";
import { defineTool, READ_ONLY } from "../src/tools/define.js";
import { renderToolReference } from "../src/tools/docs.js";
import { toolsOf } from "../src/tools/index.js";

/**
 * The core is handed its platforms: config, runtime, server, tool list, infra tools, sandbox, packaging,
 * replicas and docs all work with a platform that is not in the registry, and this file never imports it.
 */

const TOKEN = "fake-sandbox-token-0123456789";

/** A one-route upstream: `GET /widgets/{id}` with a bearer token. */
class WidgetEmulator extends Emulator {
  protected faultBody(status: number): unknown {
    return { error: `HTTP ${status}` };
  }
  protected handle(request: RecordedRequest): EmulatorResponse {
    if (authorization(request)?.value !== TOKEN) return { status: 401, body: { error: "no token" } };
    const widget = /^\/widgets\/(\d+)$/.exec(request.path);
    if (request.method === "GET" && widget)
      return { status: 200, body: { id: Number(widget[1]), name: "cog" } };
    return { status: 404, body: { error: "no such route" } };
  }
  sandboxEnv(): Record<string, string> {
    return { WIDGETS_URL: this.url, WIDGETS_TOKEN: TOKEN };
  }
}

const profile: ApiProfile = {
  api: "widgets",
  probe: { method: "GET", path: "/widgets/1" },
  operations: [{ method: "GET", path: "/widgets/{id}", summary: "One widget" }],
  interpret: ({ status, body }) =>
    status < 300
      ? { ok: true, data: body }
      : { ok: false, authExpired: status === 401, message: JSON.stringify(body) },
};

const fixedToken = (token: string): AuthStrategy => ({
  method: "fixed token",
  renewable: false,
  login: async () => ({ headers: { authorization: `Bearer ${token}` }, secrets: [token] }),
});

const widgets = definePlatform({
  name: "widgets",
  title: "Widget store",
  product: "Widgets",
  prefix: "WIDGETS",
  urlVariable: "WIDGETS_URL",
  variables: [
    { name: "WIDGETS_URL", example: "https://widgets.example.com", description: "Where the store is." },
    {
      name: "WIDGETS_TOKEN",
      example: "<token>",
      secret: true,
      description: "A token that works once.",
      usableOnce: { instead: "a token replicas can share" },
    },
  ],
  usage: "WIDGETS_URL + WIDGETS_TOKEN",
  apiIds: ["widgets"],
  read(r: ConfigReader) {
    const url = r.url("WIDGETS_URL", "https://widgets.example.com");
    const token = r.get("WIDGETS_TOKEN");
    if (token === undefined) r.problem("WIDGETS_TOKEN", "missing", "WIDGETS_TOKEN=<token>");
    return url === undefined || token === undefined ? undefined : { url, token };
  },
  apis: ({ url, token }) => [{ url, profile, strategy: fixedToken(token) }],
  tools: [
    defineTool({
      name: "widgets_get_widget",
      title: "Get a widget",
      description: "One widget of the store, by its id.",
      input: { widget_id: z.number().int().describe("The widget's id") },
      annotations: READ_ONLY,
      handler: ({ widget_id }, { session }) =>
        session.request({ method: "GET", path: `/widgets/${widget_id}` }),
    }),
  ],
  emulator: async () => new WidgetEmulator(),
});
const platforms = [widgets];

let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.stop();
  sandbox = undefined;
});

describe("a core handed one platform that is not in the registry", () => {
  it("starts its emulator, reads its settings and serves its tools and the infra tools for it", async () => {
    sandbox = await startSandbox(platforms);
    expect(sandboxPrefixes(platforms)).toEqual(["WIDGETS_"]);
    const emulator = sandbox.emulators.get("widgets") as WidgetEmulator;
    const config = loadConfig(platforms, { ...sandbox.env, WIDGETS_TOKN: "x" });
    expect([...config.toolsets]).toEqual(["widgets"]);
    expect(config.warnings).toEqual([
      "WIDGETS_TOKN is not a variable infra-mcp reads; did you mean WIDGETS_TOKEN?",
    ]);
    expect(() => loadConfig(platforms, { WIDGETS_URL: "https://w" })).toThrow(ConfigError);

    const runtime = createRuntime(config, platforms, { writeLog: () => undefined });
    const server = createServer(runtime);
    const client = new Client({ name: "fake-platform-test", version: "1.0.0" });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual([
        "infra_status",
        "infra_list_operations",
        "infra_api_get",
        "infra_api_call",
        "widgets_get_widget",
      ]);
      const service = tools.find((tool) => tool.name === "infra_api_get")?.inputSchema.properties?.service;
      expect(service).toMatchObject({ enum: ["widgets"] });

      const widget = (await client.callTool({
        name: "widgets_get_widget",
        arguments: { widget_id: 7 },
      })) as CallToolResult;
      expect(widget.structuredContent).toEqual({ id: 7, name: "cog" });
      const read = (await client.callTool({
        name: "infra_api_get",
        arguments: { service: "widgets", path: "/widgets/8" },
      })) as CallToolResult;
      expect(read.structuredContent).toEqual({ data: { id: 8, name: "cog" } });
      expect(emulator.requests.map((r) => `${r.method} ${r.path} ${r.headers.authorization}`)).toEqual([
        `GET /widgets/7 Bearer ${TOKEN}`,
        `GET /widgets/8 Bearer ${TOKEN}`,
      ]);
      const status = (await client.callTool({ name: "infra_status", arguments: {} })) as CallToolResult;
      expect(status.structuredContent).toMatchObject({
        services: [{ service: "widgets", base_url: emulator.url, auth: "fixed token" }],
      });
      // The sandbox's token never reaches a result.
      expect(JSON.stringify([widget, read, status])).not.toContain(TOKEN);

      const review = await reviewReplicaSettings(runtime, sandbox.env, { http: true });
      expect(review.warnings.join("\n")).toContain("WIDGETS_TOKEN can be used once");
    } finally {
      await client.close();
      await server.close();
    }
  });

  it("documents and packages it: the tool reference, the install settings and the descriptions", () => {
    expect(toolsOf(platforms).map((tool) => tool.name)).toContain("widgets_get_widget");
    const reference = renderToolReference(platforms);
    expect(reference).toContain("### Widget store (`widgets`)");
    expect(reference).toContain("#### `widgets_get_widget`: Get a widget");
    expect(servedProducts(platforms)).toBe("Widgets");
    expect(userSettings(platforms).map((setting) => setting.variable)).toEqual([
      "INFRA_MCP_READ_ONLY",
      "INFRA_MCP_POLICY",
      "INFRA_MCP_AUDIT_FILE",
      "WIDGETS_URL",
      "WIDGETS_TOKEN",
      "WIDGETS_CA_FILE",
      "WIDGETS_TLS_INSECURE",
    ]);
    const pkg = { name: "x", version: "1.0.0", description: "d", mcpName: "io.github.x/x" };
    expect(bundleManifest(pkg, platforms)).toMatchObject({
      keywords: ["infrastructure", "widgets"],
      tools: expect.arrayContaining([expect.objectContaining({ name: "widgets_get_widget" })]),
    });
    expect(registryEntry(pkg, platforms)).toMatchObject({
      description: "Operate Widgets from an AI assistant.",
    });
  });
});
