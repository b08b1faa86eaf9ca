import type { ApiProfile, AuthStrategy } from "./auth/types.js";
import type { ConfigurablePlatform } from "./config.js";
import type { AnyTool, PlatformTool } from "./tools/define.js";

/** One upstream API a platform opens: a Session is made for each. */
export interface ApiPlan {
  url: string;
  profile: ApiProfile;
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
 * know by name. `Settings` is what its reader makes of its variables (the configuration's part of the
 * contract, in config.ts); `Emulator` is its sandbox.
 */
export interface Platform<Settings = unknown, Emulator extends SandboxEmulator = SandboxEmulator>
  extends ConfigurablePlatform<Settings> {
  /** Human name, as `--help` and the README show it. */
  readonly title: string;
  /** The product's own short name, as the package's descriptions list what is served (no edition words). */
  readonly product: string;
  /** One line for `--help`: its variables and ways to log in. */
  readonly usage: string;
  /** Ids of the APIs it can open, as the generic tools' `service` names them. */
  readonly apiIds: readonly string[];
  /** The APIs these settings open, each with its profile and way of logging in. */
  apis(settings: Settings): ApiPlan[];
  /** Its tools, each stamped with this platform's name as its toolset (and its API, if it names none). */
  readonly tools: readonly AnyTool[];
  /** Creates (does not start) its emulator; loaded only when the sandbox is used. */
  emulator(): Promise<Emulator>;
}

/**
 * A registry entry, with inference so that its reader, APIs and emulator agree on their types and its name
 * stays a literal (the test harness names each platform's emulator by it). It stamps what every tool of the
 * platform shares, so that no tool repeats it: the toolset (the platform's name) and, for a tool that
 * names no API, the platform's first.
 */
export function definePlatform<Name extends string, Settings, Emulator extends SandboxEmulator>(
  platform: Omit<Platform<Settings, Emulator>, "tools"> & {
    readonly name: Name;
    readonly tools: readonly PlatformTool[];
  },
): Platform<Settings, Emulator> & { readonly name: Name } {
  const api = platform.apiIds[0];
  const tools = platform.tools.map((tool): AnyTool => ({ api, ...tool, toolset: platform.name }));
  return { ...platform, tools };
}
