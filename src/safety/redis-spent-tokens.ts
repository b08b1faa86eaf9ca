import type { SetOptions } from "redis";
import type { Logger } from "../log.js";
import type { SpentTokens } from "./confirm.js";

/** The part of a node-redis client the store uses. */
interface RedisClient {
  set(key: string, value: string, options: SetOptions): Promise<string | null>;
  ping(): Promise<string>;
  destroy(): void;
}

/** Where spent tokens live in Redis: one key per nonce, gone when the token would have expired anyway. */
export const SPENT_KEY_PREFIX = "infra-mcp:confirm:spent:";

/** How long connecting, and each command, may take before Redis counts as unreachable. */
const DEFAULT_TIMEOUT_MS = 2_000;

/** Redis is configured but could not be reached or did not answer in time. */
export class RedisUnavailableError extends Error {
  override name = "RedisUnavailableError";
}

/**
 * `redis://user:password@host:port/db` as it may be shown: without the password, and saying one was
 * given. The URL itself is a secret (the redactor scrubs it); this is what errors and logs name instead.
 */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username !== "" ? `${parsed.username}@` : "";
    const hidden = parsed.password !== "" ? " (password hidden)" : "";
    return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}${hidden}`;
  } catch {
    return "(not a URL)";
  }
}

export interface RedisSpentTokensOptions {
  logger?: Logger;
  /** Bound on connecting and on each command (default 2 s). */
  timeoutMs?: number;
  now?: () => number;
}

/**
 * Spent tokens in a Redis that replicas share (INFRA_MCP_REDIS_URL): spending is one `SET key 1 NX PX
 * <remaining lifetime>`, atomic in Redis, so of all the replicas exactly one spends a given token, and
 * the key expires when the token would have.
 *
 * The client (node-redis) is loaded and connected on first use. Once connected it reconnects on its
 * own after a loss; meanwhile, commands fail at once rather than queue (`disableOfflineQueue`), and a
 * command that gets no answer fails after `timeoutMs`, so a confirmation is refused, never left hanging
 * and never acted on unrecorded.
 */
export class RedisSpentTokens implements SpentTokens {
  readonly #url: string;
  readonly #where: string;
  readonly #timeoutMs: number;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  #client: Promise<RedisClient> | undefined;
  /** Whether the connection was ever ready: before, a failure ends the attempt; after, it reconnects. */
  #wasReady = false;
  /** Whether the loss of the connection was logged (once per outage, not once per reconnect attempt). */
  #lostLogged = false;

  constructor(url: string, options: RedisSpentTokensOptions = {}) {
    this.#url = url;
    this.#where = `Redis at ${describeRedisUrl(url)} (INFRA_MCP_REDIS_URL)`;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  async claim(nonce: string, expiresAt: number): Promise<boolean> {
    const client = await this.#connected();
    // At least 1 ms: PX 0 is an error, and a token checked as unexpired a moment ago is worth the key.
    const lifetimeMs = Math.max(1, Math.ceil(expiresAt - this.#now()));
    const answer = await this.#bounded(
      client.set(`${SPENT_KEY_PREFIX}${nonce}`, "1", {
        condition: "NX",
        expiration: { type: "PX", value: lifetimeMs },
      }),
    );
    return answer === "OK";
  }

  /** Resolves when Redis answers a PING; rejects with a RedisUnavailableError saying what was tried. */
  async check(): Promise<void> {
    await this.#bounded((await this.#connected()).ping());
  }

  /** Nothing is held in this process: every spent token is in Redis. */
  size(): number {
    return 0;
  }

  async close(): Promise<void> {
    const pending = this.#client;
    this.#client = undefined;
    const client = await pending?.catch(() => undefined);
    client?.destroy();
  }

  #connected(): Promise<RedisClient> {
    this.#client ??= this.#connect().catch((error: unknown) => {
      this.#client = undefined; // the next use tries again
      throw error;
    });
    return this.#client;
  }

  async #connect(): Promise<RedisClient> {
    // Loaded here: a server without INFRA_MCP_REDIS_URL never pays for the client.
    const { createClient } = await import("redis");
    const client = createClient({
      url: this.#url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.#timeoutMs,
        // Before the first connection a failure is the answer (start-up says so); after it, keep trying
        // with a capped backoff, so Redis coming back is noticed within a second.
        reconnectStrategy: (retries, cause) => (this.#wasReady ? Math.min(50 * 2 ** retries, 1_000) : cause),
      },
    });
    // Without a listener node-redis would throw each connection error at the process.
    client.on("error", (error: Error) => {
      if (!this.#wasReady || this.#lostLogged) return;
      this.#lostLogged = true;
      this.#logger?.warn(
        `${this.#where} is unreachable (${error.message}); confirmations are refused until it answers again.`,
      );
    });
    client.on("ready", () => {
      if (this.#lostLogged) this.#logger?.warn(`${this.#where} answers again.`);
      this.#wasReady = true;
      this.#lostLogged = false;
    });
    try {
      await client.connect();
    } catch (error) {
      client.destroy();
      throw this.#unavailable(error);
    }
    return client;
  }

  /**
   * node-redis bounds a command only until it is written; a Redis that accepts it and never answers
   * (stopped, overloaded) would hold the call forever. The command may still land later: the refusal
   * this leads to says so.
   */
  async #bounded<T>(command: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    try {
      return await Promise.race([command, timeout]);
    } catch (error) {
      throw this.#unavailable(error);
    } finally {
      clearTimeout(timer);
      // A late rejection of the raced command has nobody left to hear it.
      command.catch(() => undefined);
    }
  }

  #unavailable(error: unknown): RedisUnavailableError {
    if (error instanceof RedisUnavailableError) return error;
    // node-redis's words for a command sent while it reconnects: what it means to an operator.
    const reason =
      error instanceof Error && error.constructor.name === "ClientOfflineError"
        ? "the connection is lost and is being re-established"
        : error instanceof Error
          ? error.message
          : String(error);
    return new RedisUnavailableError(`${this.#where} failed: ${reason || "connection failed"}`);
  }
}
