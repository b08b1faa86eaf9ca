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
  };
  return {
    error: (message) => log("error", message),
    warn: (message) => log("warn", message),
    info: (message) => log("info", message),
    debug: (message) => log("debug", message),
    enabled: (at) => RANK[at] <= threshold,
  };
}
