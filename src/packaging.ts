import type { Platform } from "./platform.js";
import { listOf } from "./tools/docs.js";
import { toolsOf } from "./tools/index.js";

/**
 * What the install packages say about the server, generated from the registry so that they cannot drift
 * from it: the MCP Bundle's `manifest.json` (Claude Desktop's one-click install) and the MCP Registry's
 * `server.json`. `npm run docs` writes both; a test fails when either is stale.
 */

/** The fields of package.json the generators read. */
export interface PackageInfo {
  name: string;
  version: string;
  description: string;
  /** The MCP Registry name (`io.github.<owner>/<name>`); the registry checks it against the npm package. */
  mcpName: string;
  license?: string;
  engines?: { node?: string };
}

/** The products served, as a phrase for descriptions: "A, B and C", in registry order. */
export function servedProducts(platforms: readonly Platform[]): string {
  return listOf(
    platforms.map((platform) => platform.product),
    "and",
  );
}

const COUNTS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];

/** package.json's description (which the bundle repeats): how many platforms, and which. */
export function packageDescription(platforms: readonly Platform[]): string {
  const count = COUNTS[platforms.length] ?? String(platforms.length);
  const noun = platforms.length === 1 ? "platform" : "platforms";
  return `One MCP server for ${count} infrastructure ${noun}: ${servedProducts(platforms)}.`;
}

/** One setting a user may fill in when installing: a platform's variable, one of its TLS options, or a switch. */
export interface UserSetting {
  variable: string;
  /** The product it configures; absent for the server's own switches. */
  product?: string;
  title: string;
  description: string;
  kind: "string" | "file" | "boolean";
  secret: boolean;
  /** A value that would work, as a hint in the form (absent where the example is itself a description). */
  placeholder?: string;
}

/**
 * Every setting, the server's own switches first (read-only mode, the operator's policy, the audit trail),
 * then each platform's variables and TLS options in registry order.
 * All are optional: a platform whose variables are all left empty is simply not enabled.
 */
export function userSettings(platforms: readonly Platform[]): UserSetting[] {
  const settings: UserSetting[] = [
    {
      variable: "INFRA_MCP_READ_ONLY",
      title: "Read-only mode",
      description: "Offer only the tools that read, and never send a request that changes anything.",
      kind: "boolean",
      secret: false,
    },
    {
      variable: "INFRA_MCP_POLICY",
      title: "Operator policy",
      description:
        "A JSON file of your own rules: what may run, what must be confirmed, what is refused, on every platform.",
      kind: "file",
      secret: false,
    },
    {
      variable: "INFRA_MCP_AUDIT_FILE",
      title: "Audit trail",
      description:
        "A file to append the audit trail to: one tamper-evident line per change, refusal and confirmation.",
      kind: "string",
      secret: false,
      placeholder: "/var/log/infra-mcp/audit.jsonl",
    },
  ];
  for (const platform of platforms) {
    for (const variable of platform.variables) {
      const setting: UserSetting = {
        variable: variable.name,
        product: platform.product,
        title: `${platform.product}: ${variable.name}`,
        description: variable.description,
        kind: "string",
        secret: variable.secret === true,
      };
      // `<password>` says what goes there, not what it looks like: the description does that better.
      if (!variable.example.startsWith("<")) setting.placeholder = variable.example;
      settings.push(setting);
    }
    settings.push(
      {
        variable: `${platform.prefix}_CA_FILE`,
        product: platform.product,
        title: `${platform.product}: ${platform.prefix}_CA_FILE`,
        description:
          "A PEM file of the CA that signed the appliance's certificate, when it is not a public one.",
        kind: "file",
        secret: false,
      },
      {
        variable: `${platform.prefix}_TLS_INSECURE`,
        product: platform.product,
        title: `${platform.product}: ${platform.prefix}_TLS_INSECURE`,
        description: "Accept any certificate (a self-signed appliance); prefer the CA file.",
        kind: "boolean",
        secret: false,
      },
    );
  }
  return settings;
}

/** The `user_config` key of a variable, as the bundle's `${user_config.<key>}` placeholders name it. */
export function userConfigKey(variable: string): string {
  return variable.toLowerCase();
}

/**
 * The MCP Bundle manifest (format 0.3): Node runs `dist/cli.js` from the unpacked bundle, and each setting
 * the user fills in reaches the server as its environment variable. An empty field arrives as its
 * placeholder, which the server reads as unset.
 */
export function bundleManifest(pkg: PackageInfo, platforms: readonly Platform[]): Record<string, unknown> {
  const settings = userSettings(platforms);
  const userConfig: Record<string, Record<string, unknown>> = {};
  const env: Record<string, string> = {};
  for (const setting of settings) {
    const key = userConfigKey(setting.variable);
    userConfig[key] = {
      type: setting.kind,
      title: setting.title,
      description: setting.placeholder
        ? `${setting.description} e.g. ${setting.placeholder}`
        : setting.description,
      required: false,
      ...(setting.kind === "boolean" ? { default: false } : {}),
      ...(setting.secret ? { sensitive: true } : {}),
    };
    env[setting.variable] = `\${user_config.${key}}`;
  }
  return {
    manifest_version: "0.3",
    name: pkg.name,
    display_name: "Infrastructure (infra-mcp)",
    version: pkg.version,
    description: pkg.description,
    long_description:
      `Typed, annotated tools for ${servedProducts(platforms)}. Fill in the settings of the platforms you use and ` +
      "leave the others empty. The server logs in, renews sessions, retries what is safe to retry, asks " +
      "before anything destructive, and keeps credentials out of the conversation.",
    author: { name: "The infra-mcp authors" },
    ...(pkg.license ? { license: pkg.license } : {}),
    keywords: ["infrastructure", ...platforms.map((platform) => platform.name)],
    server: {
      type: "node",
      entry_point: "dist/cli.js",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the bundle host fills in ${__dirname}.
      mcp_config: { command: "node", args: ["${__dirname}/dist/cli.js"], env },
    },
    tools: toolsOf(platforms).map((tool) => ({ name: tool.name, description: tool.description })),
    compatibility: {
      platforms: ["darwin", "win32", "linux"],
      runtimes: { node: pkg.engines?.node ?? ">=20" },
    },
    user_config: userConfig,
  };
}

/** The server.json schema the registry entry follows. */
export const REGISTRY_SCHEMA = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";

/** The registry takes at most 100 characters: the products while they fit, how many there are after. */
function registryDescription(platforms: readonly Platform[]): string {
  const named = `Operate ${servedProducts(platforms)} from an AI assistant.`;
  return named.length <= 100
    ? named
    : `Operate ${platforms.length} infrastructure platforms from an AI assistant.`;
}

/** The MCP Registry entry: the npm package, run over stdio, with every setting as an optional variable. */
export function registryEntry(pkg: PackageInfo, platforms: readonly Platform[]): Record<string, unknown> {
  const formats = { string: "string", file: "filepath", boolean: "boolean" } as const;
  return {
    $schema: REGISTRY_SCHEMA,
    name: pkg.mcpName,
    description: registryDescription(platforms),
    version: pkg.version,
    packages: [
      {
        registryType: "npm",
        identifier: pkg.name,
        version: pkg.version,
        runtimeHint: "npx",
        transport: { type: "stdio" },
        environmentVariables: userSettings(platforms).map((setting) => ({
          name: setting.variable,
          description: setting.product ? `${setting.product}: ${setting.description}` : setting.description,
          isRequired: false,
          isSecret: setting.secret,
          format: formats[setting.kind],
          ...(setting.placeholder ? { placeholder: setting.placeholder } : {}),
        })),
      },
    ],
  };
}
