/**
 * Keeps secrets out of the conversation: upstream fields that hold secrets are masked, and the server's
 * own credentials and live tokens are scrubbed from every string that leaves the process.
 */

/** Upstream field names whose values are secrets, whatever their type (TOOLS.md section 4). */
const SECRET_FIELDS: ReadonlySet<string> = new Set([
  "password",
  "secret_key",
  "token",
  "access_token",
  "refresh_token",
  "authkey",
  "session_key",
]);

/** A field whose name contains one of these holds a secret when its value is a string (TOOLS.md section 4). */
const SECRET_NAME_PARTS = /password|passwd|secret|token|private_key|api_key|credentials/;

export const REDACTED = "[redacted]";

/** Values shorter than this are not scrubbed from text: masking "a" or "1" would garble every result. */
const MIN_SCRUB_LENGTH = 6;

/** Whether a field's value is a secret, by the field's name (separators `-` and `_` alike) and the value. */
export function isSecretField(name: string, value: unknown): boolean {
  if (value === null || value === "" || value === undefined) return false;
  const key = name.toLowerCase().replace(/-/g, "_");
  if (SECRET_FIELDS.has(key)) return true;
  // A boolean or a number (`has_valid_callback_token`, `token_ttl`) says something about a secret; it is not one.
  return typeof value === "string" && SECRET_NAME_PARTS.test(key);
}

/**
 * The ways a secret can appear in text that leaves the process: as it is, JSON-escaped (an error that
 * stringifies a body), URL-encoded as a path or query part and as a form value (an upstream echoing a
 * request).
 */
function spellings(secret: string): string[] {
  const forms = new Set([
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
  ]);
  return [...forms].filter((form) => form.length >= MIN_SCRUB_LENGTH);
}

export class Redactor {
  readonly #secrets = new Set<string>();
  #pattern: RegExp | undefined;

  constructor(secrets: Iterable<string> = []) {
    for (const secret of secrets) this.add(secret);
  }

  /** Registers a value (a configured credential, a freshly issued token) to scrub from now on, in every spelling. */
  add(secret: string | undefined): void {
    if (secret === undefined || secret.length < MIN_SCRUB_LENGTH || this.#secrets.has(secret)) return;
    const before = this.#secrets.size;
    for (const form of spellings(secret)) this.#secrets.add(form);
    if (this.#secrets.size === before) return;
    // Longest first, so a token that contains another secret is masked whole.
    const alternatives = [...this.#secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.#pattern = new RegExp(alternatives.join("|"), "g");
  }

  /** Replaces every known secret in a string. Scrub before shortening: a cut can split a secret. */
  scrub(text: string): string {
    if (this.#pattern === undefined) return text;
    this.#pattern.lastIndex = 0;
    return this.#pattern.test(text) ? text.replace(this.#pattern, REDACTED) : text;
  }

  /**
   * Masks secret fields and scrubs known secrets, in values and keys, of a JSON-like value. `reveal` lists
   * field names whose values are returned as they are because handing them out is the tool's purpose.
   */
  value(input: unknown, reveal: ReadonlySet<string> = EMPTY): unknown {
    if (typeof input === "string") return this.scrub(input);
    if (Array.isArray(input)) return input.map((item) => this.value(item, reveal));
    if (input !== null && typeof input === "object") {
      const output: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(input)) {
        const masked = isSecretField(key, item) && !reveal.has(key);
        output[this.scrub(key)] = masked ? REDACTED : this.value(item, reveal);
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
