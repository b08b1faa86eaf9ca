import { readFileSync } from "node:fs";

/**
 * Environment -> typed configuration. Every problem is collected (not just the first) so a user fixing
 * their Claude Desktop config sees the whole list at once.
 */

export const SERVICE_NAMES = ["ssmcm", "dci", "squonk", "ovc", "netprofiler"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Services whose tools exist in this build; the others are accepted in configuration and ignored. */
export const IMPLEMENTED_SERVICES: readonly ServiceName[] = ["netprofiler", "dci"];

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

export type NetprofilerAuth =
  | { kind: "oauth"; accessCode: string }
  | { kind: "cookie"; username: string; password: string }
  | { kind: "basic"; username: string; password: string };

export interface NetprofilerConfig {
  url: string;
  auth: NetprofilerAuth;
  tls: TlsConfig;
}

export type DciAuth =
  | { kind: "password"; email: string; password: string }
  | { kind: "token"; token: string }
  | { kind: "key"; key: string };

export interface DciConfig {
  url: string;
  auth: DciAuth;
  tls: TlsConfig;
}

export interface Config {
  /** Enabled toolsets (configured services, narrowed by INFRA_MCP_TOOLSETS / --toolsets). */
  toolsets: ReadonlySet<ServiceName>;
  readOnly: boolean;
  confirm: ConfirmMode;
  /** Budget for one upstream call, retries included. */
  timeoutMs: number;
  maxOutputChars: number;
  logLevel: LogLevel;
  httpToken?: string;
  /** `INFRA_MCP_SECRET_<NAME>` values by NAME: the only variables `secret_key_ref` can read. */
  secrets: ReadonlyMap<string, string>;
  netprofiler?: NetprofilerConfig;
  dci?: DciConfig;
}

export interface ConfigProblem {
  variable: string;
  problem: string;
  example: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: ConfigProblem[]) {
    super(formatProblems(problems));
  }
}

/** One readable block for stderr: which variable, what is wrong, an example. */
export function formatProblems(problems: ConfigProblem[]): string {
  const lines = ["infra-mcp: the configuration has problems:"];
  for (const { variable, problem, example } of problems) {
    lines.push(`  - ${variable}: ${problem}`, `      example: ${example}`);
  }
  lines.push("Set these in the environment, in .env, or in the MCP client's server config, then restart.");
  return lines.join("\n");
}

export interface ConfigFlags {
  toolsets?: string;
  readOnly?: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off", ""]);

class Reader {
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

const SERVICE_VARIABLES: Record<ServiceName, readonly string[]> = {
  ssmcm: ["SSMCM_URL", "SSMCM_API_KEY"],
  dci: ["DCI_URL", "DCI_EMAIL", "DCI_PASSWORD", "DCI_TOKEN", "DCI_LOGIN_KEY"],
  squonk: [
    "SQUONK2_DMAPI_URL",
    "SQUONK2_ASAPI_URL",
    "SQUONK2_KEYCLOAK_URL",
    "SQUONK2_KEYCLOAK_REALM",
    "SQUONK2_KEYCLOAK_DM_CLIENT_ID",
    "SQUONK2_KEYCLOAK_AS_CLIENT_ID",
    "SQUONK2_KEYCLOAK_CLIENT_SECRET",
    "SQUONK2_USERNAME",
    "SQUONK2_PASSWORD",
  ],
  ovc: ["OVC_URL", "OVC_IYO_CLIENT_ID", "OVC_IYO_CLIENT_SECRET", "OVC_USERNAME", "OVC_PASSWORD", "OVC_JWT"],
  netprofiler: [
    "NETPROFILER_URL",
    "NETPROFILER_ACCESS_CODE",
    "NETPROFILER_USERNAME",
    "NETPROFILER_PASSWORD",
    "NETPROFILER_AUTH",
  ],
};

const URL_VARIABLE: Record<ServiceName, string> = {
  ssmcm: "SSMCM_URL",
  dci: "DCI_URL",
  squonk: "SQUONK2_DMAPI_URL",
  ovc: "OVC_URL",
  netprofiler: "NETPROFILER_URL",
};

function readNetprofiler(r: Reader, readFile: (path: string) => string): NetprofilerConfig | undefined {
  const url = r.url("NETPROFILER_URL", "https://netprofiler.example.com");
  const accessCode = r.get("NETPROFILER_ACCESS_CODE");
  const username = r.get("NETPROFILER_USERNAME");
  const password = r.get("NETPROFILER_PASSWORD");
  const mode = r.oneOf("NETPROFILER_AUTH", ["cookie", "basic", "oauth"] as const, "cookie");
  const tls = r.tls("NETPROFILER", readFile);
  if (accessCode !== undefined && (username !== undefined || password !== undefined)) {
    r.problem(
      "NETPROFILER_ACCESS_CODE",
      "set together with NETPROFILER_USERNAME/PASSWORD; choose one way to log in",
      "NETPROFILER_ACCESS_CODE=<code from the OAuth Access page> (and no username/password)",
    );
    return undefined;
  }
  if (accessCode !== undefined) {
    return url === undefined ? undefined : { url, tls, auth: { kind: "oauth", accessCode } };
  }
  if (username === undefined || password === undefined) {
    r.problem(
      username === undefined ? "NETPROFILER_USERNAME" : "NETPROFILER_PASSWORD",
      "missing: NetProfiler needs NETPROFILER_ACCESS_CODE, or NETPROFILER_USERNAME with NETPROFILER_PASSWORD",
      username === undefined ? "NETPROFILER_USERNAME=admin" : "NETPROFILER_PASSWORD=<password>",
    );
    return undefined;
  }
  if (mode === "oauth") {
    r.problem("NETPROFILER_AUTH", "oauth needs NETPROFILER_ACCESS_CODE", "NETPROFILER_AUTH=basic");
    return undefined;
  }
  return url === undefined ? undefined : { url, tls, auth: { kind: mode, username, password } };
}

function readDci(r: Reader, readFile: (path: string) => string): DciConfig | undefined {
  const url = r.url("DCI_URL", "https://dci.example.com");
  const email = r.get("DCI_EMAIL");
  const password = r.get("DCI_PASSWORD");
  const token = r.get("DCI_TOKEN");
  const key = r.get("DCI_LOGIN_KEY");
  const tls = r.tls("DCI", readFile);
  const ways = [email !== undefined || password !== undefined, token !== undefined, key !== undefined];
  const chosen = ways.filter(Boolean).length;
  const example = "DCI_EMAIL=admin@example.com with DCI_PASSWORD=<password>, or DCI_TOKEN=<token>";
  if (chosen !== 1) {
    r.problem(
      "DCI_EMAIL/DCI_TOKEN/DCI_LOGIN_KEY",
      chosen === 0 ? "no credentials: set exactly one way to log in" : "more than one way to log in is set",
      example,
    );
    return undefined;
  }
  if (url === undefined) return undefined;
  if (token !== undefined) return { url, tls, auth: { kind: "token", token } };
  if (key !== undefined) return { url, tls, auth: { kind: "key", key } };
  if (email === undefined || password === undefined) {
    r.problem(
      email === undefined ? "DCI_EMAIL" : "DCI_PASSWORD",
      "missing: password login needs both DCI_EMAIL and DCI_PASSWORD",
      example,
    );
    return undefined;
  }
  return { url, tls, auth: { kind: "password", email, password } };
}

export interface LoadOptions {
  /** Reads a CA file; injectable so tests need no files. */
  readFile?: (path: string) => string;
  /** Where to report services configured but not available in this build. */
  warn?: (message: string) => void;
}

/** Builds the configuration or throws a ConfigError listing every problem. */
export function loadConfig(env: Env, flags: ConfigFlags = {}, options: LoadOptions = {}): Config {
  const readText = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const r = new Reader(env);

  const configured = new Set<ServiceName>();
  for (const service of SERVICE_NAMES) {
    const present = r.present(SERVICE_VARIABLES[service]);
    if (present.length === 0) continue;
    if (r.get(URL_VARIABLE[service]) === undefined) {
      r.problem(
        URL_VARIABLE[service],
        `missing, but ${present.join(", ")} ${present.length === 1 ? "is" : "are"} set`,
        `${URL_VARIABLE[service]}=https://${service}.example.com`,
      );
      continue;
    }
    configured.add(service);
  }

  const netprofiler = configured.has("netprofiler") ? readNetprofiler(r, readText) : undefined;
  const dci = configured.has("dci") ? readDci(r, readText) : undefined;

  for (const service of configured) {
    if (!IMPLEMENTED_SERVICES.includes(service)) {
      options.warn?.(`infra-mcp: ${service} is configured but not available in this version; it is ignored.`);
      configured.delete(service);
    }
  }

  const toolsetsRaw = flags.toolsets ?? r.get("INFRA_MCP_TOOLSETS");
  const toolsetsVariable = flags.toolsets !== undefined ? "--toolsets" : "INFRA_MCP_TOOLSETS";
  let toolsets = new Set(configured);
  if (toolsetsRaw !== undefined && toolsetsRaw.trim().toLowerCase() !== "all") {
    const requested = toolsetsRaw
      .split(",")
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean);
    toolsets = new Set();
    for (const name of requested) {
      if (!(SERVICE_NAMES as readonly string[]).includes(name)) {
        r.problem(
          toolsetsVariable,
          `unknown toolset "${name}"`,
          `${toolsetsVariable}=${SERVICE_NAMES.join(",")}`,
        );
      } else if (configured.has(name as ServiceName)) {
        toolsets.add(name as ServiceName);
      } else if (IMPLEMENTED_SERVICES.includes(name as ServiceName)) {
        r.problem(
          toolsetsVariable,
          `toolset "${name}" is requested but ${URL_VARIABLE[name as ServiceName]} is not set`,
          `${URL_VARIABLE[name as ServiceName]}=https://${name}.example.com`,
        );
      }
    }
  }

  const secrets = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith("INFRA_MCP_SECRET_") && value !== undefined && value !== "") {
      secrets.set(name.slice("INFRA_MCP_SECRET_".length), value);
    }
  }

  const config: Config = {
    toolsets,
    readOnly: flags.readOnly === true || r.bool("INFRA_MCP_READ_ONLY", false),
    confirm: r.oneOf("INFRA_MCP_CONFIRM", ["destructive", "mutating", "off"] as const, "destructive"),
    timeoutMs: r.int("INFRA_MCP_TIMEOUT_MS", 30_000, 100, "30000"),
    maxOutputChars: r.int("INFRA_MCP_MAX_OUTPUT_CHARS", 20_000, 500, "20000"),
    logLevel: r.oneOf("INFRA_MCP_LOG_LEVEL", ["error", "warn", "info", "debug"] as const, "warn"),
    secrets,
  };
  const httpToken = r.get("INFRA_MCP_HTTP_TOKEN");
  if (httpToken !== undefined) config.httpToken = httpToken;
  if (netprofiler && toolsets.has("netprofiler")) config.netprofiler = netprofiler;
  if (dci && toolsets.has("dci")) config.dci = dci;

  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}

/** Every credential value in the configuration, so they can be scrubbed from any output. */
export function configSecrets(config: Config): string[] {
  const values: string[] = [...config.secrets.values()];
  if (config.httpToken) values.push(config.httpToken);
  const np = config.netprofiler?.auth;
  if (np?.kind === "oauth") values.push(np.accessCode);
  else if (np) values.push(np.password);
  const dci = config.dci?.auth;
  if (dci?.kind === "password") values.push(dci.password);
  else if (dci?.kind === "token") values.push(dci.token);
  else if (dci?.kind === "key") values.push(dci.key);
  return values;
}
