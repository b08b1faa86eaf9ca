import type { Readable, Writable } from "node:stream";
import {
  type JSONRPCMessage,
  STDIO_DEFAULT_MAX_BUFFER_SIZE,
  serializeMessage,
  type Transport,
} from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import { createServer, type Runtime } from "./server.js";

/**
 * The message, if it is JSON-RPC 2.0 in shape: a request or notification (a method), or a response (an id
 * with a result or an error). The protocol layer checks each request's own parameters against its method's
 * schema, so a full schema parse here would only do that work twice on every message.
 */
function jsonRpcMessage(value: unknown): JSONRPCMessage {
  const message = value as Record<string, unknown> | null;
  const shaped =
    message !== null &&
    typeof message === "object" &&
    message.jsonrpc === "2.0" &&
    (typeof message.method === "string" ||
      ((typeof message.id === "string" || typeof message.id === "number") &&
        ("result" in message || "error" in message)));
  if (!shaped) throw new Error("not a JSON-RPC 2.0 request, notification or response");
  return message as unknown as JSONRPCMessage;
}

/** JSON-RPC's codes for a body that is not JSON, and for a request the server will not read. */
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;

/**
 * The request id at the very start of a message as clients write it (`{"jsonrpc":"2.0","id":7,...}`), so
 * that a message too large to read can still be answered to the request that sent it. Only the first two
 * keys are looked at: an `id` nested in the parameters is never taken for the request's.
 */
const LEADING_ID = /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.){0,200}")/;

/**
 * MCP over stdio, newline-delimited JSON-RPC, as the SDK's transport does it, except for what happens to a
 * message too large or malformed to read: the SDK's transport closes and the process ends silently with
 * status 0. This one discards that message, answers it with a JSON-RPC error (to its request when the id
 * can be read from its start), says why on stderr, and keeps serving.
 */
export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #input: Readable;
  readonly #output: Writable;
  readonly #maxMessageBytes: number;
  readonly #warn: (message: string) => void;
  #parts: Buffer[] = [];
  #size = 0;
  /** The head of a message being discarded for its size, kept to find its id. */
  #oversized: { head: string; size: number } | undefined;

  constructor(
    options: {
      input?: Readable;
      output?: Writable;
      maxMessageBytes?: number;
      warn?: (message: string) => void;
    } = {},
  ) {
    this.#input = options.input ?? process.stdin;
    this.#output = options.output ?? process.stdout;
    this.#maxMessageBytes = options.maxMessageBytes ?? STDIO_DEFAULT_MAX_BUFFER_SIZE;
    this.#warn = options.warn ?? ((message) => process.stderr.write(`${message}\n`));
  }

  async start(): Promise<void> {
    this.#input.on("data", this.#onData);
    this.#input.on("error", this.#onError);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.#output.write(serializeMessage(message))) resolve();
      else this.#output.once("drain", resolve);
    });
  }

  async close(): Promise<void> {
    this.#input.off("data", this.#onData);
    this.#input.off("error", this.#onError);
    if (this.#input.listenerCount("data") === 0) this.#input.pause();
    this.#parts = [];
    this.#size = 0;
    this.onclose?.();
  }

  readonly #onError = (error: Error) => this.onerror?.(error);

  readonly #onData = (chunk: Buffer) => {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, start)) {
      this.#append(chunk.subarray(start, newline));
      this.#endOfMessage();
      start = newline + 1;
    }
    if (start < chunk.length) this.#append(chunk.subarray(start));
  };

  #append(part: Buffer): void {
    if (this.#oversized) {
      this.#oversized.size += part.length;
      return;
    }
    if (this.#size + part.length > this.#maxMessageBytes) {
      const head = Buffer.concat([...this.#parts, part])
        .subarray(0, 1024)
        .toString("utf8");
      this.#oversized = { head, size: this.#size + part.length };
      this.#parts = [];
      this.#size = 0;
      return;
    }
    this.#parts.push(part);
    this.#size += part.length;
  }

  #endOfMessage(): void {
    if (this.#oversized) {
      const { head, size } = this.#oversized;
      this.#oversized = undefined;
      this.#refuseOversized(head, size);
      return;
    }
    const line = Buffer.concat(this.#parts).toString("utf8").replace(/\r$/, "");
    this.#parts = [];
    this.#size = 0;
    if (line.trim() === "") return;
    let message: JSONRPCMessage;
    try {
      message = jsonRpcMessage(JSON.parse(line));
    } catch (error) {
      this.#warn(
        `infra-mcp: a message on stdin is not JSON-RPC (${(error as Error).message.split("\n")[0]}); answered with a parse error.`,
      );
      void this.#reply(null, PARSE_ERROR, "Parse error: the message is not a JSON-RPC 2.0 message.");
      return;
    }
    this.onmessage?.(message);
  }

  #refuseOversized(head: string, size: number): void {
    const limit = this.#maxMessageBytes;
    const text =
      `A message of ${size} bytes is larger than the ${limit} bytes this server reads; it was discarded and ` +
      "nothing was done. Send smaller arguments (a path or a filter, not the data itself).";
    this.#warn(`infra-mcp: ${text}`);
    const match = LEADING_ID.exec(head);
    const id = match?.[1] === undefined ? null : (JSON.parse(match[1]) as string | number);
    void this.#reply(id, id === null ? PARSE_ERROR : INVALID_REQUEST, text);
  }

  async #reply(id: string | number | null, code: number, message: string): Promise<void> {
    // Written directly: JSON-RPC's answer to an unreadable message carries `id: null`, which the SDK's own
    // message types do not describe.
    const line = `${JSON.stringify({ jsonrpc: "2.0", id, error: { code, message } })}\n`;
    await new Promise<void>((resolve) => {
      if (this.#output.write(line)) resolve();
      else this.#output.once("drain", resolve);
    });
  }
}

/**
 * Serves one client over `transport` (stdin and stdout by default), in the generation it opens with: an
 * `initialize` pins the connection to a 2025-era server, a 2026-07-28 request (or `server/discover`, then
 * one) to a 2026-07-28 one. The SDK's entry makes that choice; the transport stays ours.
 */
export function serveConnection(runtime: Runtime, transport: Transport): { close(): Promise<void> } {
  // One server for the connection's lifetime, so it is told of policy reloads (stdio's principal is `local`).
  return serveStdio(({ era }) => createServer(runtime, { connection: era }), {
    transport,
    onerror: (error) => runtime.logger.debug(`stdio: ${error.message}`),
  });
}
