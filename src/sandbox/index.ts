import type { Platform, SandboxEmulator } from "../platform.js";

export interface Sandbox {
  /** The running emulators, by platform name. */
  emulators: ReadonlyMap<string, SandboxEmulator>;
  /** Environment variables pointing every platform at its emulator, with sandbox credentials. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Variable prefixes the sandbox replaces, so that no real appliance is ever mixed in. */
export function sandboxPrefixes(platforms: readonly Platform[]): string[] {
  return platforms.map((platform) => `${platform.prefix}_`);
}

/** A secret the sandbox's tools may use by name (`secret_key_ref: "SANDBOX_AWS"`). */
const SANDBOX_SECRETS = { INFRA_MCP_SECRET_SANDBOX_AWS: "sandbox-aws-secret-from-the-environment" };

/**
 * Starts the emulator of every platform given (the registry) on 127.0.0.1, on ephemeral ports, and returns
 * the configuration for them.
 */
export async function startSandbox(platforms: readonly Platform[]): Promise<Sandbox> {
  const emulators = new Map<string, SandboxEmulator>();
  for (const platform of platforms) emulators.set(platform.name, await platform.emulator());
  const running = [...emulators.values()];
  await Promise.all(running.map((emulator) => emulator.start()));
  const env: Record<string, string> = { ...SANDBOX_SECRETS };
  for (const emulator of running) Object.assign(env, emulator.sandboxEnv());
  return {
    emulators,
    env,
    stop: async () => {
      await Promise.all(running.map((emulator) => emulator.stop()));
    },
  };
}
