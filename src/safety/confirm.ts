import { randomBytes } from "node:crypto";
import type { ConfirmMode } from "../config.js";
import type { Annotations } from "../tools/define.js";

/** How long a confirmation token stays valid (TOOLS.md section 4). */
export const CONFIRMATION_TTL_MS = 5 * 60_000;

/** Whether a tool needs the user's confirmation under the configured mode. */
export function needsConfirmation(annotations: Annotations, mode: ConfirmMode): boolean {
  if (annotations.readOnly || mode === "off") return false;
  return annotations.destructive || mode === "mutating";
}

interface Plan {
  tool: string;
  /** Canonical JSON of the arguments the token was issued for. */
  args: string;
  expiresAt: number;
}

export type Redemption = { ok: true } | { ok: false; reason: string };

/**
 * One-time tokens bound to a tool and its exact arguments, for clients without elicitation. The first
 * call gets a token and a preview; the same call plus the token acts. Nothing is sent upstream before.
 */
export class ConfirmationStore {
  readonly #plans = new Map<string, Plan>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  issue(tool: string, args: Record<string, unknown>): { token: string; expiresInSeconds: number } {
    this.#sweep();
    const token = randomBytes(16).toString("base64url");
    this.#plans.set(token, { tool, args: canonical(args), expiresAt: this.#now() + CONFIRMATION_TTL_MS });
    return { token, expiresInSeconds: CONFIRMATION_TTL_MS / 1000 };
  }

  /** Consumes the token if it matches; a token is spent by any attempt to use it, right or wrong. */
  redeem(token: string, tool: string, args: Record<string, unknown>): Redemption {
    const plan = this.#plans.get(token);
    this.#plans.delete(token);
    const again = "Call the tool again without confirmation_token to get a new one.";
    if (plan === undefined) {
      return { ok: false, reason: `The confirmation_token is unknown or was already used. ${again}` };
    }
    if (this.#now() > plan.expiresAt) {
      return { ok: false, reason: `The confirmation_token has expired (tokens last 5 minutes). ${again}` };
    }
    if (plan.tool !== tool || plan.args !== canonical(args)) {
      return {
        ok: false,
        reason: `The confirmation_token was issued for ${plan.tool} with other arguments; nothing was done. ${again}`,
      };
    }
    return { ok: true };
  }

  #sweep(): void {
    const now = this.#now();
    for (const [token, plan] of this.#plans) if (now > plan.expiresAt) this.#plans.delete(token);
  }
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
