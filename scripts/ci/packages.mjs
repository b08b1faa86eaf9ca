#!/usr/bin/env node
// npm run packages: builds what people install into release/, and checks each as a user gets it.
// - The npm tarball (npm pack): what it holds; then installed into an empty directory (npm install <tgz>)
//   and started as `npx infra-mcp --sandbox`, driven by the MCP SDK client: tools listed, one call made.
// - The MCP Bundle (.mcpb): the tarball's files with their production dependencies (npm ci --omit=dev),
//   validated and packed by the mcpb CLI, unpacked again and launched as its manifest says, with one
//   platform filled in and the others left empty as Claude Desktop leaves them.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { check, finish, root, run, step } from "./harness.mjs";

const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const manifest = JSON.parse(readFileSync(join(root, "manifest.json"), "utf8"));
const release = join(root, "release");
const scratch = mkdtempSync(join(tmpdir(), "infra-mcp-packages-"));
mkdirSync(release, { recursive: true });

/** Connects the SDK client to a server started over stdio, runs `use`, and always closes. */
async function drive(transportOptions, use) {
  let stderr = "";
  const transport = new StdioClientTransport({ ...transportOptions, stderr: "pipe" });
  transport.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const client = new Client({ name: "infra-mcp-packages-check", version: "1.0.0" });
  try {
    await client.connect(transport);
    await use(client);
  } catch (error) {
    check(false, "the server answers the MCP client", `${error.message}\n${stderr}`);
  } finally {
    await client.close();
  }
}

step("npm pack: the tarball holds the built server, its README and package.json, and nothing else");
const packed = await run("npm", ["pack", "--json", "--pack-destination", release]);
const [{ filename, files = [], size } = {}] = JSON.parse(
  packed.stdout.slice(packed.stdout.indexOf("[")) || "[{}]",
);
const tarball = join(release, filename ?? "missing.tgz");
const paths = files.map((file) => file.path);
check(
  packed.code === 0,
  `npm pack wrote release/${filename} (${size} bytes, ${paths.length} files)`,
  packed.stderr,
);
check(
  paths.includes("dist/cli.js") && paths.includes("dist/sandbox/index.js"),
  "it has dist/cli.js and the sandbox",
);
check(paths.includes("README.md") && paths.includes("package.json"), "it has README.md and package.json");
check(paths.includes("dist/tools/schemas.json"), "it has the build's tool schema cache");
const shipped = ["dist/tools/schemas.json", "README.md", "package.json"];
const extra = paths.filter((path) => !/^dist\/.+\.js$/.test(path) && !shipped.includes(path));
check(extra.length === 0, "nothing else: no sources, tests, source maps or fixtures", extra.join(", "));

step("npm install <tarball> into an empty directory, then `npx infra-mcp --sandbox` with the MCP SDK client");
const installDir = join(scratch, "install");
mkdirSync(installDir);
const installed = await run("npm", ["install", "--no-audit", "--no-fund", tarball], { cwd: installDir });
check(installed.code === 0, "npm install <tgz> succeeds", installed.stderr);
await drive(
  {
    command: "npx",
    args: ["infra-mcp", "--sandbox"],
    cwd: installDir,
    env: { PATH: process.env.PATH ?? "", INFRA_MCP_LOG_LEVEL: "warn" },
  },
  async (client) => {
    check(client.getServerVersion()?.version === pkg.version, `it is infra-mcp ${pkg.version}`);
    const { tools } = await client.listTools();
    check(tools.length >= 50, `it lists ${tools.length} tools`);
    const buckets = await client.callTool({ name: "ssmcm_list_s3_buckets", arguments: { limit: 2 } });
    check(
      buckets.isError !== true && buckets.structuredContent?.items?.length === 2,
      "ssmcm_list_s3_buckets limit=2 returns two buckets from the sandbox",
      JSON.stringify(buckets).slice(0, 300),
    );
  },
);

step("MCP Bundle: the tarball's files and production dependencies, validated and packed by mcpb");
const stage = join(scratch, "bundle");
mkdirSync(stage);
await run("tar", ["xzf", tarball, "-C", stage]);
const bundleRoot = join(stage, "package");
copyFileSync(join(root, "manifest.json"), join(bundleRoot, "manifest.json"));
copyFileSync(join(root, "package-lock.json"), join(bundleRoot, "package-lock.json"));
const deps = await run("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], {
  cwd: bundleRoot,
});
check(deps.code === 0, "npm ci --omit=dev installs the runtime dependencies, and only them", deps.stderr);
rmSync(join(bundleRoot, "package-lock.json"));
const devOnly = Object.keys(pkg.devDependencies).filter((name) => {
  try {
    return statSync(join(bundleRoot, "node_modules", name)).isDirectory();
  } catch {
    return false;
  }
});
check(devOnly.length === 0, "no development dependency is bundled", devOnly.join(", "));
const validated = await run("npx", ["mcpb", "validate", join(bundleRoot, "manifest.json")]);
check(validated.code === 0, "mcpb validate accepts manifest.json", `${validated.stdout}${validated.stderr}`);
const bundle = join(release, `${pkg.name}-${pkg.version}.mcpb`);
const bundled = await run("npx", ["mcpb", "pack", bundleRoot, bundle]);
check(
  bundled.code === 0,
  `mcpb pack wrote release/${pkg.name}-${pkg.version}.mcpb (${statSync(bundle, { throwIfNoEntry: false })?.size} bytes)`,
  `${bundled.stdout}${bundled.stderr}`,
);

step(
  "MCP Bundle, unpacked and launched as its manifest says: NetProfiler filled in, every other field empty",
);
const unpacked = join(scratch, "unpacked");
const opened = await run("npx", ["mcpb", "unpack", bundle, unpacked]);
check(opened.code === 0, "mcpb unpack opens the bundle", `${opened.stdout}${opened.stderr}`);
const { NetprofilerEmulator } = await import("../../dist/platforms/netprofiler/emulator.js");
const netprofiler = new NetprofilerEmulator();
await netprofiler.start();
const filled = netprofiler.sandboxEnv();
const env = { PATH: process.env.PATH ?? "" };
for (const [variable, template] of Object.entries(manifest.server.mcp_config.env)) {
  env[variable] = filled[variable] ?? template;
}
try {
  await drive(
    {
      command: manifest.server.mcp_config.command,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the bundle's own placeholder, filled in here.
      args: manifest.server.mcp_config.args.map((arg) => arg.replace("${__dirname}", unpacked)),
      env,
    },
    async (client) => {
      const { tools } = await client.listTools();
      const services = [...new Set(tools.map((tool) => tool.name.split("_")[0]))];
      check(
        services.join(",") === "infra,netprofiler",
        `it serves the infra and netprofiler tools (${tools.length})`,
      );
      const status = await client.callTool({ name: "netprofiler_get_aws_status", arguments: {} });
      check(
        status.isError !== true && netprofiler.requestsTo("/api/npm.aws_config/1.0/status").length === 1,
        "netprofiler_get_aws_status reaches the appliance and answers",
        JSON.stringify(status).slice(0, 300),
      );
    },
  );
} finally {
  await netprofiler.stop();
  rmSync(scratch, { recursive: true, force: true });
}
finish("packages");
