import type { AuthStrategy, ServiceProfile } from "./auth/types.js";
import type { ConfigReader } from "./config.js";
import type { AnyTool } from "./tools/define.js";

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

/** One upstream API a platform opens: a Session is made for each. */
export interface ApiPlan {
  url: string;
  profile: ServiceProfile;
  strategy: AuthStrategy;
}

/** What an emulator offers the sandbox: a loopback server and the variables that point at it. */
export interface SandboxEmulator {
  start(): Promise<string>;
  stop(): Promise<void>;
  /** The platform's variables, pointing at this (started) emulator with the sandbox credentials. */
  sandboxEnv(): Record<string, string>;
}

/**
 * A platform's registry entry: everything the core needs to know about it, and nothing the core has to
 * know by name. `Settings` is what its reader makes of its variables; `Emulator` is its sandbox.
 */
export interface Platform<Settings = unknown, Emulator extends SandboxEmulator = SandboxEmulator> {
  /** Toolset name (`INFRA_MCP_TOOLSETS`, `--toolsets`) and tool-name prefix. */
  readonly name: string;
  /** Human name, as `--help` and the README show it. */
  readonly title: string;
  /** The product's own short name, as the package's descriptions list what is served (no edition words). */
  readonly product: string;
  /** Prefix of its variables without the underscore; its TLS variables are `<prefix>_CA_FILE` and
   * `<prefix>_TLS_INSECURE`. */
  readonly prefix: string;
  /** The variable that enables it: a platform is enabled when it is set (TOOLS.md section 2). */
  readonly urlVariable: string;
  /** Every variable it reads besides the TLS ones, the URL variable included. */
  readonly variables: readonly PlatformVariable[];
  /** One line for `--help`: its variables and ways to log in. */
  readonly usage: string;
  /** Ids of the APIs it can open, as the generic tools' `service` names them. */
  readonly apiIds: readonly string[];
  /** Reads and checks its variables, recording problems on the reader; undefined when they are wrong. */
  read(reader: ConfigReader): Settings | undefined;
  /** The APIs these settings open, each with its profile and way of logging in. */
  apis(settings: Settings): ApiPlan[];
  readonly tools: readonly AnyTool[];
  /** Creates (does not start) its emulator; loaded only when the sandbox is used. */
  emulator(): Promise<Emulator>;
}

/**
 * Identity with inference, so an entry's reader, APIs and emulator agree on their types, and its name stays
 * a literal (the test harness names each platform's emulator by it).
 */
export function definePlatform<Name extends string, Settings, Emulator extends SandboxEmulator>(
  platform: Platform<Settings, Emulator> & { readonly name: Name },
): Platform<Settings, Emulator> & { readonly name: Name } {
  return platform;
}
