import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { type Config, loadConfig } from "../src/config.js";
import { DCI_SANDBOX, DciEmulator } from "../src/sandbox/dci.js";
import { NetprofilerEmulator } from "../src/sandbox/netprofiler.js";
import { createRuntime, createServer, type Runtime } from "../src/server.js";

export interface Harness {
  client: Client;
  runtime: Runtime;
  config: Config;
  netprofiler: NetprofilerEmulator;
  dci: DciEmulator;
  /** Everything the server logged (it would have gone to stderr). */
  logs: string[];
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Extra or overriding environment variables; a value of "" removes the variable. */
  env?: Record<string, string>;
  /** Client capabilities, e.g. `{ elicitation: {} }`. */
  capabilities?: ConstructorParameters<typeof Client>[1];
  /** Runs before the client connects, e.g. to install an elicitation handler. */
  prepareClient?: (client: Client) => void;
  netprofiler?: NetprofilerEmulator;
  /** A DCImanager emulator the test started (and stops) itself. */
  dci?: DciEmulator;
}

/** The default environment: every emulator, sandbox credentials, debug logs captured. */
export function sandboxEnv(netprofiler: NetprofilerEmulator, dci?: DciEmulator): Record<string, string> {
  return {
    NETPROFILER_URL: netprofiler.url,
    NETPROFILER_ACCESS_CODE: netprofiler.accessCode,
    ...(dci ? { DCI_URL: dci.url, DCI_EMAIL: DCI_SANDBOX.email, DCI_PASSWORD: DCI_SANDBOX.password } : {}),
    INFRA_MCP_LOG_LEVEL: "debug",
    INFRA_MCP_TIMEOUT_MS: "5000",
  };
}

/** A real SDK Client connected to createServer() over linked in-memory transports, with live emulators. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const netprofiler = options.netprofiler ?? new NetprofilerEmulator();
  if (!options.netprofiler) await netprofiler.start();
  const dci = options.dci ?? new DciEmulator();
  if (!options.dci) await dci.start();
  const env: Record<string, string | undefined> = { ...sandboxEnv(netprofiler, dci), ...options.env };
  for (const [key, value] of Object.entries(env)) if (value === "") delete env[key];
  const config = loadConfig(env);
  const logs: string[] = [];
  const runtime = createRuntime(config, { writeLog: (line) => logs.push(line) });
  const server = createServer(runtime);
  const client = new Client({ name: "test-client", version: "1.0.0" }, options.capabilities);
  options.prepareClient?.(client);
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  return {
    client,
    runtime,
    config,
    netprofiler,
    dci,
    logs,
    call: (name, args = {}) => client.callTool({ name, arguments: args }) as Promise<CallToolResult>,
    close: async () => {
      await client.close();
      await server.close();
      if (!options.netprofiler) await netprofiler.stop();
      if (!options.dci) await dci.stop();
    },
  };
}

/** The text of a tool result. */
export function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === "text" ? part.text : "")).join("\n");
}
