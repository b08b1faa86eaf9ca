import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { ConfirmMode } from "../config.js";
import type { Annotations } from "../tools/define.js";

/** How long a confirmation token stays valid (TOOLS.md section 4). */
export const CONFIRMATION_TTL_MS = 5 * 60_000;

/** Whether a tool needs the user's confirmation under the configured mode. */
export function needsConfirmation(
  tool: { annotations: Annotations; mintsCredentials?: boolean },
  mode: ConfirmMode,
): boolean {
  if (tool.annotations.readOnly || mode === "off") return false;
  return tool.annotations.destructive || tool.mintsCredentials === true || mode === "mutating";
}

export type Redemption = { ok: true } | { ok: false; reason: string };

/** How a token comes back: as a tool's `confirmation_token`, or as a 2026-07-28 input request's state. */
export type Presented = "confirmation_token" | "requestState";

/** The words a refusal uses for each way a token comes back. */
const WORDS: Record<
  Presented,
  { again: string; it: string; instead: string; expired: string; spent: string; storeDown: string }
> = {
  confirmation_token: {
    again: "Call the tool again without confirmation_token to get a new one.",
    it: "the token",
    instead: "call again without it",
    expired: "The confirmation_token has expired (tokens last 5 minutes)",
    spent: "The confirmation_token was already used",
    storeDown:
      "Repeat the call with the same confirmation_token once it is back (the token lasts 5 minutes); if it " +
      "is then refused as already used, call the tool again without confirmation_token to get a new one.",
  },
  requestState: {
    again: "Call the tool again to be asked again.",
    it: "it",
    instead: "call the tool again to be asked about these",
    expired: "The confirmation has expired (the user's answer is good for 5 minutes)",
    spent: "This confirmation (its requestState) was already used",
    storeDown: "Call the tool again once it is back, to be asked again.",
  },
};

/**
 * Where spent tokens are remembered until they expire, so that each acts once. In one process a map does;
 * replicas share one (Redis) so that a token spent on one is refused on every other.
 */
export interface SpentTokens {
  /**
   * Marks the token's nonce spent; false when it already was. Atomic: two claims never both succeed.
   * Rejects when the store cannot be reached: the token is then neither spent nor honoured.
   */
  claim(nonce: string, expiresAt: number): Promise<boolean>;
  /** Resolves when claims can be made (a shared store answers); rejects saying what was tried. */
  check(): Promise<void>;
  /** How many spent tokens this process holds in memory (for tests and status). */
  size(): number;
  /** Lets go of connections, at shutdown. */
  close(): Promise<void>;
}

/** Spent tokens in this process's memory, each forgotten once it has expired anyway. */
export class LocalSpentTokens implements SpentTokens {
  readonly #spent = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}

  async claim(nonce: string, expiresAt: number): Promise<boolean> {
    this.#sweep();
    if (this.#spent.has(nonce)) return false;
    this.#spent.set(nonce, expiresAt);
    return true;
  }

  async check(): Promise<void> {}

  size(): number {
    return this.#spent.size;
  }

  async close(): Promise<void> {}

  #sweep(): void {
    const now = this.now();
    for (const [nonce, expiresAt] of this.#spent) if (now > expiresAt) this.#spent.delete(nonce);
  }
}

/**
 * What a token says about itself, signed: the tool, digests of its arguments and of the preview the user was
 * shown, when it expires, a nonce.
 */
interface Claims {
  tool: string;
  args: string;
  preview: string;
  expiresAt: number;
  nonce: string;
}

export interface ConfirmationOptions {
  /** The signing key (INFRA_MCP_CONFIRM_KEY, shared by replicas); default a random key per process. */
  key?: string;
  spent?: SpentTokens;
  now?: () => number;
}

/**
 * One-time tokens bound to a tool and its exact arguments, for clients without elicitation. The first call
 * gets a token and a preview; the same call plus the token acts. Nothing is sent upstream before.
 *
 * A token carries its own claims, signed with HMAC-SHA256: nothing is stored for a call that is never
 * confirmed (however large its arguments), and any replica holding the same key can verify it. Only spent
 * tokens are remembered, until they expire.
 */
export class ConfirmationStore {
  readonly #key: Buffer;
  readonly #spent: SpentTokens;
  readonly #now: () => number;

  constructor(options: ConfirmationOptions = {}) {
    this.#key = options.key !== undefined ? Buffer.from(options.key, "utf8") : randomBytes(32);
    this.#now = options.now ?? Date.now;
    this.#spent = options.spent ?? new LocalSpentTokens(this.#now);
  }

  issue(
    tool: string,
    args: Record<string, unknown>,
    preview = "",
  ): { token: string; expiresInSeconds: number } {
    const claims: Claims = {
      tool,
      args: digest(args),
      preview: digest(preview),
      expiresAt: this.#now() + CONFIRMATION_TTL_MS,
      nonce: randomBytes(12).toString("base64url"),
    };
    const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
    return { token: `${payload}.${this.#sign(payload)}`, expiresInSeconds: CONFIRMATION_TTL_MS / 1000 };
  }

  /**
   * Spends the token if it was issued for exactly this call, and the call's preview (computed again now)
   * still says what the user confirmed. A refusal says which case it is, and a token presented with another
   * tool or other arguments stays valid for the call it was issued for. `presented` names how the token came
   * back, for the refusal's words: as `confirmation_token`, or as a 2026-07-28 input request's `requestState`.
   */
  async redeem(
    token: string,
    tool: string,
    args: Record<string, unknown>,
    preview = "",
    presented: Presented = "confirmation_token",
  ): Promise<Redemption> {
    const words = WORDS[presented];
    const claims = this.#verify(token);
    if (claims === undefined) {
      return {
        ok: false,
        reason: `The ${presented} was not issued by this server (or was altered); nothing was done. ${words.again}`,
      };
    }
    if (this.#now() > claims.expiresAt) {
      return { ok: false, reason: `${words.expired}; nothing was done. ${words.again}` };
    }
    if (claims.tool !== tool) {
      return {
        ok: false,
        reason: `The ${presented} was issued for ${claims.tool}, not ${tool}; nothing was done. It stays valid for that call.`,
      };
    }
    if (claims.args !== digest(args)) {
      return {
        ok: false,
        reason:
          `The ${presented} was issued for ${tool} with other arguments; nothing was done. Repeat the call ` +
          `with exactly the arguments it was issued for (${words.it} stays valid for them), or ${words.instead}.`,
      };
    }
    if (claims.preview !== digest(preview)) {
      // What the call would act on has changed (a preview that reads upstream): the user confirmed the old.
      return {
        ok: false,
        reason: `What ${tool} would do has changed since it was confirmed; nothing was done. It would now: ${preview}. ${words.again}`,
      };
    }
    let claimed: boolean;
    try {
      claimed = await this.#spent.claim(claims.nonce, claims.expiresAt);
    } catch (error) {
      // Acting on a token whose spending was not recorded would let another replica act on it too.
      return {
        ok: false,
        reason:
          `The confirmation could not be recorded as used, so nothing was done: ${(error as Error).message}. ` +
          words.storeDown,
      };
    }
    if (!claimed) {
      return { ok: false, reason: `${words.spent}; nothing was done again. ${words.again}` };
    }
    return { ok: true };
  }

  /** How many tokens are remembered: only spent ones, until they expire. */
  remembered(): number {
    return this.#spent.size();
  }

  #sign(payload: string): string {
    return createHmac("sha256", this.#key).update(payload).digest("base64url");
  }

  #verify(token: string): Claims | undefined {
    const [payload, signature, extra] = token.split(".");
    if (payload === undefined || signature === undefined || extra !== undefined) return undefined;
    const expected = Buffer.from(this.#sign(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Claims;
      return typeof claims.tool === "string" && typeof claims.nonce === "string" ? claims : undefined;
    } catch {
      return undefined;
    }
  }
}

/** A digest of the canonical arguments (or a preview): the token binds them without carrying or storing them. */
function digest(value: Record<string, unknown> | string): string {
  return (typeof value === "string" ? sha256(value) : argumentsDigest(value))
    .toString("base64url")
    .slice(0, 22);
}

/**
 * SHA-256 of the canonical arguments: what a confirmation token binds and what the audit trail records
 * (`args_sha256`), so that both name the same arguments the same way.
 */
export function argumentsDigest(args: Record<string, unknown>): Buffer {
  return sha256(canonical(args));
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** JSON with sorted keys, so `{a, b}` and `{b, a}` are the same arguments. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) return item;
    return Object.fromEntries(
      Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  });
}
