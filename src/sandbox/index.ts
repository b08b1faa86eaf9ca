import { DCI_SANDBOX, DciEmulator } from "./dci.js";
import type { Emulator } from "./emulator.js";
import { NETPROFILER_SANDBOX, NetprofilerEmulator } from "./netprofiler.js";

export interface Sandbox {
  dci: DciEmulator;
  netprofiler: NetprofilerEmulator;
  /** Environment variables pointing every service at its emulator, with sandbox credentials. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Variable prefixes replaced by the sandbox, so no real appliance is ever mixed in. */
export const SERVICE_PREFIXES = ["SSMCM_", "DCI_", "SQUONK2_", "OVC_", "NETPROFILER_"];

/** Starts every emulator on 127.0.0.1 (ephemeral ports) and returns the configuration for them. */
export async function startSandbox(): Promise<Sandbox> {
  const dci = new DciEmulator();
  const netprofiler = new NetprofilerEmulator();
  const emulators: Emulator[] = [dci, netprofiler];
  await Promise.all(emulators.map((emulator) => emulator.start()));
  return {
    dci,
    netprofiler,
    env: {
      DCI_URL: dci.url,
      DCI_EMAIL: DCI_SANDBOX.email,
      DCI_PASSWORD: DCI_SANDBOX.password,
      NETPROFILER_URL: netprofiler.url,
      NETPROFILER_ACCESS_CODE: netprofiler.accessCode,
      INFRA_MCP_SECRET_SANDBOX_AWS: "sandbox-aws-secret-from-the-environment",
    },
    stop: async () => {
      await Promise.all(emulators.map((emulator) => emulator.stop()));
    },
  };
}

export { DCI_SANDBOX, NETPROFILER_SANDBOX };
