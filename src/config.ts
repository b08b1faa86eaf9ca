import { readFileSync } from "node:fs";
import { loadPolicyFile, type Policy } from "./safety/policy.js";

/**
 * Environment -> typed configuration: the shared settings here, each platform's own through its registry
 * entry. Every problem is collected (not just the first) so a user fixing their Claude Desktop config sees
 * the whole list at once.
 */

export type ConfirmMode = "destructive" | "mutating" | "off";
export type LogLevel = "error" | "warn" | "info" | "debug";

/** TLS options shared by every service: verification stays on unless the user turns it off. */
export interface TlsConfig {
  /** `<P>_TLS_INSECURE=true`: accept any certificate (self-signed appliances). */
  insecure: boolean;
  /** `<P>_CA_FILE`: PEM contents of an extra CA, read at start-up so a bad path fails early. */
  ca?: string;
  caFile?: string;
}

/** An enabled platform's settings, as its registry entry read them, with its TLS options. */
export interface PlatformSettings {
  settings: unknown;
  tls: TlsConfig;
}

export interface Config {
  /** Enabled toolsets (configured platforms, narrowed by INFRA_MCP_TOOLSETS / --toolsets). */
  toolsets: ReadonlySet<string>;
  readOnly: boolean;
  confirm: ConfirmMode;
  /** Budget for one upstream call, retries included. */
  timeoutMs: number;
  maxOutputChars: number;
  /** Largest upstream body read; past it the request is aborted (INFRA_MCP_MAX_RESPONSE_BYTES). */
  maxResponseBytes: number;
  logLevel: LogLevel;
  httpToken?: string;
  /** Signs confirmation tokens (INFRA_MCP_CONFIRM_KEY), so replicas sharing it verify each other's. */
  confirmKey?: string;
  /** Redis that replicas share to spend each confirmation token once (INFRA_MCP_REDIS_URL); a secret. */
  redisUrl?: string;
  /** How long SIGTERM waits for in-flight calls before the process exits (INFRA_MCP_SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
  /** The operator's policy as loaded at start-up (INFRA_MCP_POLICY); SIGHUP reads the file again. */
  policy?: { path: string; policy: Policy };
  /** The audit trail (INFRA_MCP_AUDIT_FILE); `reads`: INFRA_MCP_AUDIT=all records reads too. */
  audit?: { path: string; reads: boolean };
  /** `INFRA_MCP_SECRET_<NAME>` values by NAME: the only variables `secret_key_ref` can read. */
  secrets: ReadonlyMap<string, string>;
  /** The enabled platforms' settings, by toolset name. */
  platforms: ReadonlyMap<string, PlatformSettings>;
  /** The values of the platforms' secret variables, scrubbed from every output. */
  credentials: readonly string[];
  /** Things worth telling the user that do not stop the server (a misspelt variable). */
  warnings: readonly string[];
}

/** One environment variable of a platform, as `--help` and the configuration errors show it. */
export interface PlatformVariable {
  name: string;
  /** A value that would work, shown in configuration errors (`<NAME>=<example>`). */
  example: string;
  /**
   * What it holds, in a sentence for a person filling in a settings form (the MCP bundle's and the MCP
   * Registry entry's, both generated from the registry).
   */
  description: string;
  /** Its value is a credential: scrubbed from every output. */
  secret?: boolean;
  /** Names people set by mistake for this one (`DCI_USER` for `DCI_EMAIL`), to suggest it when they do. */
  aliases?: readonly string[];
  /**
   * Its value can be used once (a one-time login key): it yields one session, for one process, so a set
   * of replicas cannot share it. `--http` says so; with a shared Redis it is refused. `instead` names
   * credentials that replicas can share.
   */
  usableOnce?: { instead: string };
}

/**
 * What the configuration reads of a platform's registry entry (the rest of the entry is in platform.ts):
 * its name, its variables and the reader that makes its settings of them.
 */
export interface ConfigurablePlatform<Settings = unknown> {
  /** Toolset name (`INFRA_MCP_TOOLSETS`, `--toolsets`) and tool-name prefix. */
  readonly name: string;
  /** Prefix of its variables without the underscore; its TLS variables are `<prefix>_CA_FILE` and
   * `<prefix>_TLS_INSECURE`. */
  readonly prefix: string;
  /** The variable that enables it: a platform is enabled when it is set (TOOLS.md section 2). */
  readonly urlVariable: string;
  /** Every variable it reads besides the TLS ones, the URL variable included. */
  readonly variables: readonly PlatformVariable[];
  /** Reads and checks its variables, recording problems on the reader; undefined when they are wrong. */
  read(reader: ConfigReader): Settings | undefined;
}

export interface ConfigProblem {
  variable: string;
  problem: string;
  example: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly problems: ConfigProblem[],
    readonly warnings: readonly string[] = [],
  ) {
    super(formatProblems(problems, warnings));
  }
}

/** One readable block for stderr: which variable, what is wrong, an example; then what may explain it. */
export function formatProblems(problems: ConfigProblem[], warnings: readonly string[] = []): string {
  const lines = ["infra-mcp: the configuration has problems:"];
  for (const { variable, problem, example } of problems) {
    lines.push(`  - ${variable}: ${problem}`, `      example: ${example}`);
  }
  for (const warning of warnings) lines.push(`  note: ${warning}`);
  lines.push("Set these in the environment, in .env, or in the MCP client's server config, then restart.");
  return lines.join("\n");
}

/** 4 MiB: far more than any list page a model can use, far less than what would strain the process. */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export interface ConfigFlags {
  toolsets?: string;
  readOnly?: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off", ""]);

/** Reads variables for the core and for each platform's registry entry, collecting every problem. */
export class ConfigReader {
  readonly problems: ConfigProblem[] = [];
  constructor(private readonly env: Env) {}

  get(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.get(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (TRUE.has(raw)) return true;
    if (FALSE.has(raw)) return false;
    this.problem(name, `"${raw}" is not a boolean`, `${name}=true`);
    return fallback;
  }

  int(name: string, fallback: number, min: number, example: string): number {
    const raw = this.get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      this.problem(name, `"${raw}" is not a whole number >= ${min}`, `${name}=${example}`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.get(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problem(name, `"${raw}" is not one of ${allowed.join(", ")}`, `${name}=${fallback}`);
    return fallback;
  }

  url(name: string, example: string): string | undefined {
    const raw = this.get(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new Error("scheme");
      return raw.replace(/\/+$/, "");
    } catch {
      this.problem(name, `"${raw}" is not an http(s) URL`, `${name}=${example}`);
      return undefined;
    }
  }

  tls(prefix: string, readFile: (path: string) => string): TlsConfig {
    const insecure = this.bool(`${prefix}_TLS_INSECURE`, false);
    const caFile = this.get(`${prefix}_CA_FILE`);
    if (caFile === undefined) return { insecure };
    try {
      return { insecure, ca: readFile(caFile), caFile };
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
      this.problem(
        `${prefix}_CA_FILE`,
        `cannot read "${caFile}" (${reason})`,
        `${prefix}_CA_FILE=/etc/ssl/my-ca.pem`,
      );
      return { insecure };
    }
  }

  problem(variable: string, problem: string, example: string): void {
    this.problems.push({ variable, problem, example });
  }

  /** Names of the variables with this prefix that are set, to tell "absent" from "partial". */
  present(names: readonly string[]): string[] {
    return names.filter((name) => this.get(name) !== undefined);
  }
}

export interface LoadOptions {
  /** Reads a CA file; injectable so tests need no files. */
  readFile?: (path: string) => string;
}

/**
 * A setting an MCP bundle host left unfilled. Claude Desktop passes an optional `user_config` field the user
 * left empty as the placeholder text itself (`${user_config.dci_url}`), not as an empty string.
 */
const UNFILLED_BUNDLE_FIELD = /^\$\{user_config\.[^}]*\}$/;

/** The environment without the fields a bundle host left unfilled: they are unset, not values. */
function withoutUnfilledFields(env: Env): Env {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([, value]) => value === undefined || !UNFILLED_BUNDLE_FIELD.test(value.trim()),
    ),
  );
}

/**
 * Builds the configuration of the given platforms (the registry, handed in by the composition root) or
 * throws a ConfigError listing every problem.
 */
export function loadConfig(
  platforms: readonly ConfigurablePlatform[],
  given: Env,
  flags: ConfigFlags = {},
  options: LoadOptions = {},
): Config {
  const env = withoutUnfilledFields(given);
  const readText = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const r = new ConfigReader(env);

  // A platform whose variables are all absent is simply not enabled; some but not its URL is an error.
  const configured: ConfigurablePlatform[] = [];
  for (const platform of platforms) {
    const present = r.present(platform.variables.map((variable) => variable.name));
    if (present.length === 0) continue;
    if (r.get(platform.urlVariable) === undefined) {
      const example = platform.variables.find((v) => v.name === platform.urlVariable)?.example;
      r.problem(
        platform.urlVariable,
        `missing, but ${present.join(", ")} ${present.length === 1 ? "is" : "are"} set`,
        `${platform.urlVariable}=${example ?? "https://..."}`,
      );
      continue;
    }
    configured.push(platform);
  }

  const toolsetsRaw = flags.toolsets ?? r.get("INFRA_MCP_TOOLSETS");
  const toolsetsVariable = flags.toolsets !== undefined ? "--toolsets" : "INFRA_MCP_TOOLSETS";
  let chosen = configured;
  if (toolsetsRaw !== undefined && toolsetsRaw.trim().toLowerCase() !== "all") {
    const requested = new Set(
      toolsetsRaw
        .split(",")
        .map((name) => name.trim().toLowerCase())
        .filter(Boolean),
    );
    for (const name of requested) {
      const platform = platforms.find((p) => p.name === name);
      if (platform === undefined) {
        r.problem(
          toolsetsVariable,
          `unknown toolset "${name}"`,
          `${toolsetsVariable}=${platforms.map((p) => p.name).join(",")}`,
        );
      } else if (!configured.includes(platform)) {
        const example = platform.variables.find((v) => v.name === platform.urlVariable)?.example;
        r.problem(
          toolsetsVariable,
          `toolset "${name}" is requested but ${platform.urlVariable} is not set`,
          `${platform.urlVariable}=${example ?? "https://..."}`,
        );
      }
    }
    chosen = configured.filter((platform) => requested.has(platform.name));
  }

  const enabled = new Map<string, PlatformSettings>();
  const credentials: string[] = [];
  for (const platform of chosen) {
    const tls = r.tls(platform.prefix, readText);
    const settings = platform.read(r);
    if (settings === undefined) continue;
    enabled.set(platform.name, { settings, tls });
    for (const variable of platform.variables) {
      const value = variable.secret ? r.get(variable.name) : undefined;
      if (value !== undefined) credentials.push(value);
    }
  }

  const secrets = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith("INFRA_MCP_SECRET_") && value !== undefined && value !== "") {
      secrets.set(name.slice("INFRA_MCP_SECRET_".length), value);
    }
  }

  const warnings = unknownVariables(env, platforms);
  const config: Config = {
    toolsets: new Set(enabled.keys()),
    readOnly: flags.readOnly === true || r.bool("INFRA_MCP_READ_ONLY", false),
    confirm: r.oneOf("INFRA_MCP_CONFIRM", ["destructive", "mutating", "off"] as const, "destructive"),
    timeoutMs: r.int("INFRA_MCP_TIMEOUT_MS", 30_000, 100, "30000"),
    maxOutputChars: r.int("INFRA_MCP_MAX_OUTPUT_CHARS", 20_000, 500, "20000"),
    maxResponseBytes: r.int("INFRA_MCP_MAX_RESPONSE_BYTES", DEFAULT_MAX_RESPONSE_BYTES, 1024, "4194304"),
    logLevel: r.oneOf("INFRA_MCP_LOG_LEVEL", ["error", "warn", "info", "debug"] as const, "warn"),
    // Under Kubernetes' default 30 s between SIGTERM and SIGKILL, with room for the exit itself.
    shutdownTimeoutMs: r.int("INFRA_MCP_SHUTDOWN_TIMEOUT_MS", 25_000, 0, "25000"),
    secrets,
    platforms: enabled,
    credentials,
    warnings,
  };
  const httpToken = r.get("INFRA_MCP_HTTP_TOKEN");
  if (httpToken !== undefined) config.httpToken = httpToken;
  const confirmKey = r.get("INFRA_MCP_CONFIRM_KEY");
  if (confirmKey !== undefined && confirmKey.length < 32) {
    r.problem(
      "INFRA_MCP_CONFIRM_KEY",
      `too short (${confirmKey.length} characters): a signing key needs at least 32`,
      "INFRA_MCP_CONFIRM_KEY=$(openssl rand -hex 32)",
    );
  } else if (confirmKey !== undefined) {
    config.confirmKey = confirmKey;
  }

  const redisUrl = readRedisUrl(r);
  if (redisUrl !== undefined) config.redisUrl = redisUrl;
  const policy = readPolicy(r);
  if (policy !== undefined) config.policy = policy;
  const audit = readAudit(r);
  if (audit !== undefined) config.audit = audit;

  if (r.problems.length > 0) throw new ConfigError(r.problems, warnings);
  return config;
}

/** A rule that works, for the examples of policy problems. */
export const POLICY_EXAMPLE =
  '{"rules": [{"id": "settings-need-a-human", "effect": "confirm", "tools": ["dci_update_setting"]}]}';

/** INFRA_MCP_POLICY: the file is read and checked now, so that a mistake stops the start, not a call. */
function readPolicy(r: ConfigReader): Config["policy"] {
  const path = r.get("INFRA_MCP_POLICY");
  if (path === undefined) return undefined;
  const loaded = loadPolicyFile(path);
  if (loaded.ok) return { path, policy: loaded.policy };
  for (const problem of loaded.problems) r.problem("INFRA_MCP_POLICY", `${path}: ${problem}`, POLICY_EXAMPLE);
  return undefined;
}

/** INFRA_MCP_AUDIT_FILE and INFRA_MCP_AUDIT (`changes`, the default, or `all` for reads too). */
function readAudit(r: ConfigReader): Config["audit"] {
  const path = r.get("INFRA_MCP_AUDIT_FILE");
  const mode = r.oneOf("INFRA_MCP_AUDIT", ["changes", "all"] as const, "changes");
  if (path === undefined) {
    if (r.get("INFRA_MCP_AUDIT") !== undefined) {
      r.problem(
        "INFRA_MCP_AUDIT",
        "set, but INFRA_MCP_AUDIT_FILE (where the trail is written) is not",
        "INFRA_MCP_AUDIT_FILE=/var/log/infra-mcp/audit.jsonl",
      );
    }
    return undefined;
  }
  return { path, reads: mode === "all" };
}

/** INFRA_MCP_REDIS_URL, checked for shape only (start-up checks that Redis answers); never echoed whole. */
function readRedisUrl(r: ConfigReader): string | undefined {
  const raw = r.get("INFRA_MCP_REDIS_URL");
  if (raw === undefined) return undefined;
  let scheme: string | undefined;
  try {
    scheme = new URL(raw).protocol;
  } catch {
    // The value may hold a password: the problem describes it without quoting it.
  }
  if (scheme === "redis:" || scheme === "rediss:") return raw;
  r.problem(
    "INFRA_MCP_REDIS_URL",
    scheme === undefined ? "not a URL" : `scheme ${scheme} is not redis: or rediss: (TLS)`,
    "INFRA_MCP_REDIS_URL=redis://:<password>@redis.internal:6379/0",
  );
  return undefined;
}

/**
 * Variables that carry a platform's prefix but that no platform reads (`DCI_USER`, `NETPROFILER_TOKEN`): a
 * misspelling that would otherwise pass silently. Each names the closest real variable.
 */
function unknownVariables(env: Env, platforms: readonly ConfigurablePlatform[]): string[] {
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    const platform = platforms.find((p) => name.startsWith(`${p.prefix}_`));
    if (platform === undefined) continue;
    const known = [
      ...platform.variables.map((variable) => variable.name),
      `${platform.prefix}_TLS_INSECURE`,
      `${platform.prefix}_CA_FILE`,
    ];
    if (known.includes(name)) continue;
    const alias = platform.variables.find((variable) => variable.aliases?.includes(name));
    const closest = alias?.name ?? nearest(name, known);
    warnings.push(
      `${name} is not a variable infra-mcp reads${closest === undefined ? "" : `; did you mean ${closest}?`}`,
    );
  }
  return warnings;
}

/** The candidate within a few edits of `name`, if one is clearly closest. */
function nearest(name: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (best === undefined || distance < best.distance) best = { candidate, distance };
  }
  return best !== undefined && best.distance <= 3 ? best.candidate : undefined;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Every credential value in the configuration, so they can be scrubbed from any output. */
export function configSecrets(config: Config): string[] {
  const values: string[] = [...config.secrets.values(), ...config.credentials];
  if (config.httpToken) values.push(config.httpToken);
  if (config.confirmKey) values.push(config.confirmKey);
  if (config.redisUrl) values.push(config.redisUrl, ...redisPassword(config.redisUrl));
  return values;
}

/** The password of a Redis URL as written (percent-encoded) and as sent, to scrub both. */
function redisPassword(url: string): string[] {
  const { password } = new URL(url);
  if (password === "") return [];
  try {
    return [password, decodeURIComponent(password)];
  } catch {
    return [password];
  }
}
