import type { Emulator } from "./emulator.js";
import { NETPROFILER_SANDBOX, NetprofilerEmulator } from "./netprofiler.js";

export interface Sandbox {
  netprofiler: NetprofilerEmulator;
  /** Environment variables pointing every service at its emulator, with sandbox credentials. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Variable prefixes replaced by the sandbox, so no real appliance is ever mixed in. */
export const SERVICE_PREFIXES = ["SSMCM_", "DCI_", "SQUONK2_", "OVC_", "NETPROFILER_"];

/** Starts every emulator on 127.0.0.1 (ephemeral ports) and returns the configuration for them. */
export async function startSandbox(): Promise<Sandbox> {
  const netprofiler = new NetprofilerEmulator();
  const emulators: Emulator[] = [netprofiler];
  await Promise.all(emulators.map((emulator) => emulator.start()));
  return {
    netprofiler,
    env: {
      NETPROFILER_URL: netprofiler.url,
      NETPROFILER_ACCESS_CODE: netprofiler.accessCode,
      INFRA_MCP_SECRET_SANDBOX_AWS: "sandbox-aws-secret-from-the-environment",
    },
    stop: async () => {
      await Promise.all(emulators.map((emulator) => emulator.stop()));
    },
  };
}

export { NETPROFILER_SANDBOX };
