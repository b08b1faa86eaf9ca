import { readFileSync } from "node:fs";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLATFORMS_END, PLATFORMS_START, renderPlatformReference } from "../src/readme.js";
import { markdownText, renderToolReference, TABLE_END, TABLE_START } from "../src/tools/docs.js";
import { computeSchemas } from "../src/tools/schemas.js";
import { allTools, type Harness, PLATFORMS, startHarness } from "./helpers.js";

let harness: Harness;
let tools: Tool[];

beforeAll(async () => {
  harness = await startHarness({ env: { INFRA_MCP_LOG_LEVEL: "error" } });
  ({ tools } = await harness.client.listTools());
});
afterAll(async () => {
  await harness.close();
});

describe("tool inventory", () => {
  it("serves every tool of the enabled services", () => {
    const enabled = allTools.filter((t) => t.toolset === "infra" || harness.config.toolsets.has(t.toolset));
    expect(tools.map((t) => t.name)).toEqual(enabled.map((t) => t.name));
    expect(new Set(tools.map((t) => t.name)).size).toBe(tools.length);
  });

  it("names are snake_case <service>_<verb>_<noun>, at most 64 characters", () => {
    const TOOL_NAME = new RegExp(
      `^(infra|${PLATFORMS.map((platform) => platform.name).join("|")})(_[a-z0-9]+)+$`,
    );
    for (const tool of tools) {
      expect(tool.name.length, tool.name).toBeLessThanOrEqual(64);
      expect(tool.name, tool.name).toMatch(TOOL_NAME);
    }
  });

  it("every tool has a title, a description and all four annotations", () => {
    for (const tool of tools) {
      expect(tool.title, tool.name).toBeTruthy();
      expect(tool.description?.length, tool.name).toBeGreaterThan(20);
      const annotations = tool.annotations ?? {};
      for (const hint of ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"] as const) {
        expect(typeof annotations[hint], `${tool.name}.${hint}`).toBe("boolean");
      }
      if (annotations.readOnlyHint) expect(annotations.destructiveHint, tool.name).toBe(false);
    }
  });

  it("every parameter is snake_case and described for the model", () => {
    for (const tool of tools) {
      for (const [name, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
        expect(name, `${tool.name}.${name}`).toMatch(/^[a-z][a-z0-9_]*$/);
        expect((schema as { description?: string }).description, `${tool.name}.${name}`).toBeTruthy();
      }
    }
  });

  it("tools that can need confirmation accept confirmation_token; read-only tools do not", () => {
    for (const tool of tools) {
      const accepts = "confirmation_token" in (tool.inputSchema.properties ?? {});
      // Destructive tools, and tools that mint credentials, confirm under the default policy.
      const confirms = tool.annotations?.destructiveHint === true || tool.name === "dci_create_login_key";
      expect(accepts, tool.name).toBe(confirms);
    }
  });

  it("list tools take limit, offset and fields and return the list shape", () => {
    const lists = tools.filter((t) => t.name.includes("_list_"));
    expect(lists.length).toBeGreaterThan(0);
    for (const tool of lists) {
      expect(Object.keys(tool.inputSchema.properties ?? {}), tool.name).toEqual(
        expect.arrayContaining(["limit", "offset", "fields"]),
      );
      expect(tool.outputSchema?.required, tool.name).toEqual(["items"]);
    }
  });

  it("tool schemas are portable: one type per schema, and none that accepts anything", () => {
    // What the MCP Inspector's --strict check reports as warnings (CI runs it too, on Node 22): a client
    // that maps schemas onto a single-type dialect rejects `type: [...]`, and `{}` documents nothing.
    const constraining = ["type", "enum", "const", "anyOf", "oneOf", "allOf", "not", "$ref"];
    const problems: string[] = [];
    const walk = (schema: unknown, path: string): void => {
      if (schema === null || typeof schema !== "object") return;
      const node = schema as Record<string, unknown>;
      if (Array.isArray(node.type)) problems.push(`${path}: type is an array`);
      if (!constraining.some((keyword) => keyword in node)) problems.push(`${path}: constrains nothing`);
      for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, unknown>)) {
        walk(child, `${path}.${name}`);
      }
      for (const key of ["items", "additionalProperties", "not"]) {
        if (typeof node[key] === "object") walk(node[key], `${path}.${key}`);
      }
      for (const key of ["anyOf", "oneOf", "allOf"]) {
        for (const [index, child] of ((node[key] ?? []) as unknown[]).entries()) {
          walk(child, `${path}.${key}[${index}]`);
        }
      }
    };
    for (const tool of tools) {
      walk(tool.inputSchema, `${tool.name}.inputSchema`);
      if (tool.outputSchema) walk(tool.outputSchema, `${tool.name}.outputSchema`);
    }
    expect(problems).toEqual([]);
  });

  it("keeps tools/list compact", () => {
    const bytes = JSON.stringify({ tools }).length;
    // A regression guard, not the bench target: see `npm run bench` for the per-tool figures. Raised from
    // 760 for the output fields that accept null, as real platforms send it (about 430 B in all).
    expect(bytes / tools.length).toBeLessThan(770);
  });

  it("matches the schema snapshot of every tool (update on purpose with vitest -u)", async () => {
    for (const tool of tools) {
      await expect(`${JSON.stringify(tool, null, 2)}\n`).toMatchFileSnapshot(
        `__snapshots__/tools/${tool.name}.json`,
      );
    }
  });

  it("serves from the build's schema cache exactly what the definitions say", () => {
    // npm test builds first; the built server reads these instead of converting every schema at start-up.
    const cache = JSON.parse(
      readFileSync(new URL("../dist/tools/schemas.json", import.meta.url), "utf8"),
    ) as {
      tools: Record<string, unknown>;
    };
    const cacheable = allTools.filter((tool) => tool.inputFor === undefined);
    expect(Object.keys(cache.tools).sort()).toEqual(cacheable.map((tool) => tool.name).sort());
    for (const tool of cacheable) expect(cache.tools[tool.name], tool.name).toEqual(computeSchemas(tool));
  });

  it("the README's tool reference is generated from the definitions (run npm run docs)", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const block = readme.slice(readme.indexOf(TABLE_START), readme.indexOf(TABLE_END) + TABLE_END.length);
    expect(block).toBe(renderToolReference(PLATFORMS));
  });

  it("the README's toolsets, platform variables and TLS prefixes are generated from the registry (run npm run docs)", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const block = readme.slice(
      readme.indexOf(PLATFORMS_START),
      readme.indexOf(PLATFORMS_END) + PLATFORMS_END.length,
    );
    expect(block).toBe(renderPlatformReference(PLATFORMS));
    for (const platform of PLATFORMS) {
      expect(block).toContain(`| \`${platform.name}\` |`);
      for (const variable of platform.variables) expect(block).toContain(`| \`${variable.name}\` |`);
      expect(block).toContain(`\`${platform.prefix}\``);
    }
  });

  it("the tool reference gives every tool's title, annotations and every parameter it lists, described", () => {
    const reference = renderToolReference(PLATFORMS);
    for (const tool of tools) {
      const start = reference.indexOf(`#### \`${tool.name}\``);
      expect(start, tool.name).toBeGreaterThanOrEqual(0);
      const next = reference.indexOf("\n#### ", start + 1);
      const own = reference.slice(start, next < 0 ? undefined : next);
      expect(own, tool.name).toContain(`#### \`${tool.name}\`: ${tool.title}`);
      const hints = tool.annotations ?? {};
      expect(own, tool.name).toContain(hints.readOnlyHint ? "read-only" : "changes things");
      if (!hints.readOnlyHint)
        expect(own, tool.name).toContain(hints.destructiveHint ? "destructive" : "not destructive");
      expect(own, tool.name).toContain(hints.idempotentHint ? "idempotent" : "not idempotent");
      expect(own, tool.name).toContain(
        hints.openWorldHint ? "reaches the platform" : "answers from the server",
      );
      for (const [name, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
        const { description } = schema as { description: string };
        expect(own, `${tool.name}.${name}`).toContain(`- \`${name}\` (`);
        expect(own, `${tool.name}.${name}`).toContain(markdownText(description));
      }
    }
  });
});
