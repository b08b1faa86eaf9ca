/**
 * Keeps secrets out of the conversation: upstream fields that hold secrets are masked, and the server's
 * own credentials and live tokens are scrubbed from every string that leaves the process.
 */

/** Upstream field names whose values are secrets (TOOLS.md section 4). */
export const SECRET_FIELDS: ReadonlySet<string> = new Set([
  "password",
  "secret_key",
  "token",
  "access_token",
  "refresh_token",
  "authkey",
  "session_key",
]);

export const REDACTED = "[redacted]";

/** Values shorter than this are not scrubbed from text: masking "a" or "1" would garble every result. */
const MIN_SCRUB_LENGTH = 6;

export class Redactor {
  readonly #secrets = new Set<string>();
  #pattern: RegExp | undefined;

  constructor(secrets: Iterable<string> = []) {
    for (const secret of secrets) this.add(secret);
  }

  /** Registers a value (a configured credential, a freshly issued token) to scrub from now on. */
  add(secret: string | undefined): void {
    if (secret === undefined || secret.length < MIN_SCRUB_LENGTH || this.#secrets.has(secret)) return;
    this.#secrets.add(secret);
    // Longest first, so a token that contains another secret is masked whole.
    const alternatives = [...this.#secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.#pattern = new RegExp(alternatives.join("|"), "g");
  }

  /** Replaces every known secret in a string. */
  scrub(text: string): string {
    if (this.#pattern === undefined) return text;
    this.#pattern.lastIndex = 0;
    return this.#pattern.test(text) ? text.replace(this.#pattern, REDACTED) : text;
  }

  /**
   * Masks secret fields and scrubs known secrets in a JSON-like value. `reveal` lists field names whose
   * values are returned as they are because handing them out is the tool's purpose.
   */
  value(input: unknown, reveal: ReadonlySet<string> = EMPTY): unknown {
    if (typeof input === "string") return this.scrub(input);
    if (Array.isArray(input)) return input.map((item) => this.value(item, reveal));
    if (input !== null && typeof input === "object") {
      const output: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(input)) {
        const masked =
          SECRET_FIELDS.has(key.toLowerCase()) && !reveal.has(key) && item !== null && item !== "";
        output[key] = masked ? REDACTED : this.value(item, reveal);
      }
      return output;
    }
    return input;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
