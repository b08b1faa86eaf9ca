import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Client as ModernClient,
  InMemoryTransport as ModernInMemoryTransport,
} from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { type Config, ConfigError, loadConfig as loadConfigOf } from "../src/config.js";
import { PLATFORMS } from "../src/platforms/index.js";
import type { AuditRecord } from "../src/safety/audit.js";
import { attachAuditTrail, createRuntime, createServer, type Runtime } from "../src/server.js";
import { serveConnection } from "../src/stdio.js";
import { toolsOf } from "../src/tools/index.js";

/** The test harness, like the composition root, hands the registry to the core. */
export { PLATFORMS };

/** Every tool of the registry's platforms, in listing order. */
export const allTools = toolsOf(PLATFORMS);

/** The configuration of the registry's platforms, as the composition root reads it. */
export function loadConfig(...args: DropFirst<Parameters<typeof loadConfigOf>>): Config {
  return loadConfigOf(PLATFORMS, ...args);
}
type DropFirst<T extends unknown[]> = T extends [unknown, ...infer Rest] ? Rest : never;

type Entry = (typeof PLATFORMS)[number];
type PlatformName = Entry["name"];
/** Each platform's emulator, by platform name, typed as its registry entry makes it. */
export type Emulators = { [P in Entry as P["name"]]: Awaited<ReturnType<P["emulator"]>> };

export interface Harness extends Emulators {
  client: Client;
  runtime: Runtime;
  config: Config;
  /** Everything the server logged (it would have gone to stderr). */
  logs: string[];
  /** What opening the audit trail had to say about the file's end (a torn last line). */
  auditNotes: string[];
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
  /** Emulators the test started (and stops) itself; the others are started and stopped here. */
  emulators?: Partial<Emulators>;
  /** Who the server takes the caller for (default `local`, as on stdio). */
  principal?: string;
}

/** Starts an emulator of every platform in the registry (or takes the test's own) and reads their env. */
export async function startEmulators(
  given: Partial<Emulators> = {},
): Promise<{ emulators: Emulators; env: Record<string, string>; stop(): Promise<void> }> {
  const emulators: Record<string, unknown> = {};
  const started: { stop(): Promise<void> }[] = [];
  const env: Record<string, string> = {};
  await Promise.all(
    PLATFORMS.map(async (platform) => {
      const own = given[platform.name as PlatformName];
      const emulator = own ?? (await platform.emulator());
      if (own === undefined) {
        await emulator.start();
        started.push(emulator);
      }
      emulators[platform.name] = emulator;
      Object.assign(env, emulator.sandboxEnv());
    }),
  );
  return {
    emulators: emulators as Emulators,
    env,
    stop: async () => {
      await Promise.all(started.map((emulator) => emulator.stop()));
    },
  };
}

/** Emulators, configuration and runtime for one test, before any client connects. */
async function startRuntime(options: { env?: Record<string, string>; emulators?: Partial<Emulators> }) {
  const upstreams = await startEmulators(options.emulators);
  const env: Record<string, string | undefined> = {
    ...upstreams.env,
    INFRA_MCP_LOG_LEVEL: "debug",
    INFRA_MCP_TIMEOUT_MS: "5000",
    ...options.env,
  };
  for (const [key, value] of Object.entries(env)) if (value === "") delete env[key];
  const config = loadConfig(env);
  const logs: string[] = [];
  const runtime = createRuntime(config, PLATFORMS, { writeLog: (line) => logs.push(line) });
  const auditNotes = await attachAuditTrail(runtime);
  return { upstreams, config, logs, runtime, auditNotes };
}

/**
 * A real SDK Client connected to createServer() over linked in-memory transports, with live emulators: one
 * long-lived 2025-era connection, as on stdio.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const { upstreams, config, logs, runtime, auditNotes } = await startRuntime(options);
  const server = createServer(runtime, {
    connection: "legacy",
    ...(options.principal === undefined ? {} : { principal: options.principal }),
  });
  const client = new Client({ name: "test-client", version: "1.0.0" }, options.capabilities);
  options.prepareClient?.(client);
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  return {
    ...upstreams.emulators,
    client,
    runtime,
    config,
    logs,
    auditNotes,
    call: (name, args = {}) => client.callTool({ name, arguments: args }) as Promise<CallToolResult>,
    close: async () => {
      await client.close();
      await server.close();
      await runtime.audit?.close();
      await upstreams.stop();
    },
  };
}

/** The 2026-07-28 revision, which a client pinned to it speaks from its first request. */
export const MODERN = "2026-07-28";

export interface ModernHarness extends Emulators {
  /** The SDK's v2 client, pinned to 2026-07-28: it connects through server/discover, never `initialize`. */
  client: ModernClient;
  runtime: Runtime;
  logs: string[];
  /** A tools/call, with `_meta` beside the arguments when given (a trace context, a log level). */
  call(name: string, args?: Record<string, unknown>, meta?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

export interface ModernHarnessOptions {
  env?: Record<string, string>;
  /** Client capabilities, e.g. `{ elicitation: { form: {} } }`. */
  capabilities?: NonNullable<ConstructorParameters<typeof ModernClient>[1]>["capabilities"];
  /** Runs before the client connects, e.g. to install an elicitation handler. */
  prepareClient?: (client: ModernClient) => void;
}

/**
 * The SDK's v2 client pinned to 2026-07-28 (it opens with `server/discover`, never `initialize`). With
 * `answer`, it declares form elicitation and answers every confirmation so, noting each message in `asked`.
 */
export function pinnedModernClient(
  name: string,
  answer?: "accept" | "decline",
  asked: string[] = [],
): ModernClient {
  const client = new ModernClient(
    { name, version: "2" },
    {
      versionNegotiation: { mode: { pin: MODERN } },
      ...(answer ? { capabilities: { elicitation: { form: {} } } } : {}),
    },
  );
  if (answer) {
    client.setRequestHandler("elicitation/create", async (request) => {
      asked.push(request.params.message);
      return answer === "accept" ? { action: "accept", content: { confirm: true } } : { action: "decline" };
    });
  }
  return client;
}

/**
 * The v2 client pinned to 2026-07-28, connected to the server the way stdio serves it (the SDK's stdio
 * entry over an in-memory transport: one connection, its generation chosen by its first message).
 */
export async function startModernHarness(options: ModernHarnessOptions = {}): Promise<ModernHarness> {
  const { upstreams, logs, runtime } = await startRuntime(options);
  const [clientTransport, serverTransport] = ModernInMemoryTransport.createLinkedPair();
  const serving = serveConnection(runtime, serverTransport);
  const client = new ModernClient(
    { name: "modern-test-client", version: "2.0.0" },
    {
      versionNegotiation: { mode: { pin: MODERN } },
      ...(options.capabilities ? { capabilities: options.capabilities } : {}),
    },
  );
  options.prepareClient?.(client);
  await client.connect(clientTransport);
  return {
    ...upstreams.emulators,
    client,
    runtime,
    logs,
    call: (name, args = {}, meta) =>
      client.callTool({ name, arguments: args, ...(meta ? { _meta: meta } : {}) }) as Promise<CallToolResult>,
    close: async () => {
      await client.close();
      await serving.close();
      await runtime.audit?.close();
      await upstreams.stop();
    },
  };
}

/** The text of a tool result. */
export function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === "text" ? part.text : "")).join("\n");
}

/** The problems a configuration is refused for, as `VARIABLE: problem (example)`; none when it loads. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => `${p.variable}: ${p.problem} (${p.example})`);
  }
  return [];
}

/** A fresh directory of its own under the system's temporary one. */
export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), "infra-mcp-test-"));
}

/** Writes a policy file of these rules in a fresh directory; returns its path. */
export function policyFile(rules: unknown[], dir = scratchDir()): string {
  const path = join(dir, "policy.json");
  writeFileSync(path, JSON.stringify({ rules }));
  return path;
}

/** The records of an audit trail file, line by line. */
export function auditRecords(file: string): AuditRecord[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as AuditRecord);
}
