import { existsSync, readFileSync } from "node:fs";
import { join, normalize } from "node:path";
import { VERSIONED_MANIFEST_SCHEMAS } from "@anthropic-ai/mcpb/schemas";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  bundleManifest,
  type PackageInfo,
  packageDescription,
  registryEntry,
  servedProducts,
  userConfigKey,
} from "../src/packaging.js";
import { NetprofilerEmulator } from "../src/platforms/netprofiler/emulator.js";
import { builtCli, root } from "./built.js";
import { PLATFORMS } from "./helpers.js";

const read = (file: string) => JSON.parse(readFileSync(join(root, file), "utf8"));
const pkg = read("package.json") as PackageInfo;
const manifest = read("manifest.json");
const server = read("server.json");

type UserConfigEntry = {
  type: string;
  title: string;
  description: string;
  required?: boolean;
  sensitive?: boolean;
};

describe("README", () => {
  it("stands on its own: every document it names is in the repository", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const named = [...new Set(readme.match(/[\w./-]+\.md\b/g) ?? [])];
    expect(named.filter((file) => !existsSync(join(root, file)))).toEqual([]);
  });
});

describe("install packages", () => {
  it("package.json's description, manifest.json and server.json say what the generator makes of the registry (run npm run docs)", () => {
    expect(pkg.description).toBe(packageDescription(PLATFORMS));
    expect(manifest).toEqual(bundleManifest(pkg, PLATFORMS));
    expect(server).toEqual(registryEntry(pkg, PLATFORMS));
  });

  it("package.json, the bundle and the registry entry name exactly the products served", () => {
    const served = servedProducts(PLATFORMS);
    // Every product of the registry, in its order.
    const places = PLATFORMS.map((platform) => served.indexOf(platform.product));
    expect(places.every((place) => place >= 0)).toBe(true);
    expect([...places].sort((a, b) => a - b)).toEqual(places);
    expect(pkg.description).toContain(`platforms: ${served}.`);
    expect(manifest.description).toBe(pkg.description);
    // The registry's 100 characters hold the list while it fits, and the count after.
    expect([
      `Operate ${served} from an AI assistant.`,
      `Operate ${PLATFORMS.length} infrastructure platforms from an AI assistant.`,
    ]).toContain(server.description);
  });

  it("the bundle passes the MCP Bundle tools' own manifest schema (@anthropic-ai/mcpb)", () => {
    const parsed = VERSIONED_MANIFEST_SCHEMAS["0.3"].safeParse(manifest);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(manifest.version).toBe(pkg.version);
    expect(manifest.server.entry_point).toBe("dist/cli.js");
  });

  it("the bundle asks for every platform variable, optional, secrets marked sensitive, each mapped to its variable", () => {
    const userConfig = manifest.user_config as Record<string, UserConfigEntry>;
    const env = manifest.server.mcp_config.env as Record<string, string>;
    for (const platform of PLATFORMS) {
      const variables = [
        ...platform.variables,
        { name: `${platform.prefix}_CA_FILE`, secret: false },
        { name: `${platform.prefix}_TLS_INSECURE`, secret: false },
      ];
      for (const variable of variables) {
        const key = userConfigKey(variable.name);
        const entry = userConfig[key];
        expect(entry, variable.name).toBeDefined();
        expect(entry?.required, variable.name).toBe(false);
        expect(entry?.sensitive === true, variable.name).toBe(variable.secret === true);
        expect(entry?.description.length, variable.name).toBeGreaterThan(10);
        expect(env[variable.name], variable.name).toBe(`\${user_config.${key}}`);
      }
    }
    // Nothing is asked that the server does not read.
    expect(Object.keys(env).sort()).toEqual(
      Object.keys(userConfig)
        .map((key) => key.toUpperCase())
        .sort(),
    );
  });

  it("the registry entry keeps the MCP Registry's rules for server.json (schema 2025-12-11)", () => {
    // The rules of the registry's published schema that this entry touches, in our own words: names are
    // reverse-DNS with one slash, descriptions at most 100 characters, versions exact, npm packages by name.
    const exactVersion = z
      .string()
      .min(1)
      .max(255)
      .refine((v) => v !== "latest" && !/^[\^~><=]|\.x$|\*/.test(v), "an exact version, not a range");
    const input = z.object({
      name: z.string().min(1),
      description: z.string().optional(),
      isRequired: z.boolean().optional(),
      isSecret: z.boolean().optional(),
      format: z.enum(["string", "number", "boolean", "filepath"]).optional(),
      placeholder: z.string().optional(),
      default: z.string().optional(),
    });
    const entry = z.object({
      $schema: z.literal("https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"),
      name: z
        .string()
        .min(3)
        .max(200)
        .regex(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/),
      description: z.string().min(1).max(100),
      version: exactVersion,
      packages: z
        .array(
          z.strictObject({
            registryType: z.literal("npm"),
            identifier: z.literal(pkg.name),
            version: exactVersion,
            runtimeHint: z.string().optional(),
            transport: z.strictObject({ type: z.literal("stdio") }),
            environmentVariables: z.array(input.strict()),
          }),
        )
        .length(1),
    });
    const parsed = entry.safeParse(server);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(server.name).toBe(pkg.mcpName);
    expect(server.version).toBe(pkg.version);
    expect(server.packages[0].version).toBe(pkg.version);
    const variables = server.packages[0].environmentVariables as { name: string; isRequired: boolean }[];
    expect(variables.map((v) => v.name)).toEqual(Object.keys(manifest.server.mcp_config.env));
    expect(variables.every((v) => v.isRequired === false)).toBe(true);
  });

  it("the built server, launched as the bundle says with one platform filled in and the rest left empty, serves that platform", async () => {
    const netprofiler = new NetprofilerEmulator();
    await netprofiler.start();
    const filled = netprofiler.sandboxEnv();
    // What Claude Desktop does: a field the user filled in becomes its value; one left empty stays the
    // placeholder text. `${__dirname}` is the unpacked bundle, here the repository.
    const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
    for (const [variable, template] of Object.entries(
      manifest.server.mcp_config.env as Record<string, string>,
    )) {
      env[variable] = filled[variable] ?? template;
    }
    const args = (manifest.server.mcp_config.args as string[]).map((arg) =>
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the bundle's own placeholder, filled in here.
      normalize(arg.replace("${__dirname}", root)),
    );
    expect(args).toEqual([builtCli()]);
    let stderr = "";
    const transport = new StdioClientTransport({ command: process.execPath, args, env, stderr: "pipe" });
    transport.stderr?.on("data", (chunk) => {
      stderr += chunk;
    });
    const client = new Client({ name: "bundle-host", version: "1.0.0" });
    try {
      await client.connect(transport);
      const { tools } = await client.listTools();
      const services = new Set(tools.map((tool) => tool.name.split("_")[0]));
      expect([...services]).toEqual(["infra", "netprofiler"]);
      const accounts = await client.callTool({ name: "netprofiler_list_aws_accounts", arguments: {} });
      expect(accounts.isError).toBeFalsy();
      expect(accounts.structuredContent).toMatchObject({
        items: expect.arrayContaining([expect.objectContaining({ acc_id: "prod-eu" })]),
      });
      expect(netprofiler.requestsTo("/api/npm.aws_config/1.0/auth_codes")).toHaveLength(1);
      expect(stderr).not.toContain("user_config");
    } finally {
      await client.close();
      await netprofiler.stop();
    }
  });
});
