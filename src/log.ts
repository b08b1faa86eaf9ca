import { AsyncLocalStorage } from "node:async_hooks";
import type { LogLevel } from "./config.js";
import type { Redactor } from "./safety/redact.js";

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  enabled(level: LogLevel): boolean;
}

/** Where log lines go besides stderr (the MCP logging notification, once a client is connected). */
export type LogSink = (level: LogLevel, message: string) => void;

/**
 * The sink of the request being served, for lines logged on its behalf (a 2026-07-28 request that asked for
 * log notifications: it has no session to hold a sink). Entered only for such requests, so that other calls
 * pay nothing for it.
 */
const requestSink = new AsyncLocalStorage<LogSink>();

/** Runs `work` with every line logged on its behalf (by it and by what it awaits) also handed to `sink`. */
export function logWithin<T>(sink: LogSink, work: () => T): T {
  return requestSink.run(sink, work);
}

/**
 * Logs to stderr only: stdout belongs to JSON-RPC. Every line goes through the redactor, so a token that
 * slipped into an upstream error text never reaches a log.
 */
export function createLogger(
  level: LogLevel,
  redactor: Redactor,
  sinks: Iterable<LogSink> = [],
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const threshold = RANK[level];
  const log = (at: LogLevel, message: string) => {
    if (RANK[at] > threshold) return;
    const clean = redactor.scrub(message);
    write(`${new Date().toISOString()} ${at.toUpperCase()} ${clean}\n`);
    for (const sink of sinks) sink(at, clean);
    requestSink.getStore()?.(at, clean);
  };
  return {
    error: (message) => log("error", message),
    warn: (message) => log("warn", message),
    info: (message) => log("info", message),
    debug: (message) => log("debug", message),
    enabled: (at) => RANK[at] <= threshold,
  };
}
