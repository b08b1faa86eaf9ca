import { createHash, randomBytes } from "node:crypto";
import { open } from "node:fs/promises";

/**
 * The audit trail (TOOLS.md section 6): one JSON object per line, appended, hash-chained so that editing,
 * removing or reordering a line shows. One writer per process: records are queued, written in order and
 * flushed to disk (fdatasync) before the call that made them returns; records that arrive while a flush
 * is under way go out together in the next one (a group commit), which keeps concurrent calls from
 * paying one disk flush each.
 */

/** What a call decided, as the trail records it. `asked`: a confirmation token was issued. */
export type AuditDecision = "allowed" | "confirmed" | "denied" | "declined" | "refused" | "asked";

/** One upstream request a call sent: no query string, the status of its answer (null: none came). */
export interface AuditRequest {
  method: string;
  path: string;
  status: number | null;
}

/** A request the policy kept from being sent, in the session. */
export interface AuditDenial {
  method: string;
  path: string;
  rule: string;
}

/** A record as a call makes it; the trail adds the time, the sequence number and the chain. */
export interface AuditEntry {
  /** Names the call: its records (the one before it acts, the one after) share it. */
  call: string;
  principal: string;
  /** The client's name and version, as it said in `initialize`; empty when it did not. */
  client: string;
  tool: string;
  services: string[];
  args_sha256: string;
  targets: Record<string, unknown>;
  decision: AuditDecision;
  rule?: string;
  confirmation?: "elicitation" | "token";
  upstream: AuditRequest[];
  denied?: AuditDenial[];
  /** `started`: the record written before a change is sent; `ok` or `error`: how the call ended. */
  outcome: "started" | "ok" | "error";
  error?: string;
  duration_ms: number;
}

/** A record as it stands on its line, keys in this order. */
export type AuditRecord = { time: string; seq: number } & AuditEntry & { prev: string; hash: string };

/** The file the trail writes, so that tests can stand in for a disk that fails. */
export interface TrailFile {
  size(): Promise<number>;
  read(position: number, length: number): Promise<Buffer>;
  /** Appends and flushes to stable storage: resolves once the bytes are on disk. */
  append(data: Buffer): Promise<void>;
  truncate(size: number): Promise<void>;
  close(): Promise<void>;
}

/** A record could not be written: the call that needed it must not change anything. */
export class AuditWriteError extends Error {
  override name = "AuditWriteError";
}

/** SHA-256, hex, of a record's compact JSON without `hash`, keys in the order the line has them. */
export function recordHash(record: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = record;
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex");
}

/** A fresh call id: short, random, enough to pair a call's records within one trail. */
export function newCallId(): string {
  return randomBytes(8).toString("hex");
}

/** The trail's file on disk: opened for appending, created private to its owner. */
export async function openTrailFile(path: string): Promise<TrailFile> {
  const handle = await open(path, "a+", 0o600);
  return {
    size: async () => (await handle.stat()).size,
    read: async (position, length) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      return buffer.subarray(0, bytesRead);
    },
    append: async (data) => {
      let written = 0;
      while (written < data.length) {
        written += (await handle.write(data, written, data.length - written)).bytesWritten;
      }
      await handle.datasync();
    },
    truncate: (size) => handle.truncate(size),
    close: () => handle.close(),
  };
}

/** Where the chain stands: the last record on disk. */
interface ChainState {
  seq: number;
  hash: string;
  /** The file's size once that record (and anything left after it) was there. */
  size: number;
}

/** How much of the file's end the start-up scan reads first; it reads more only for a longer last line. */
const TAIL_WINDOW = 64 * 1024;

/**
 * Finds the last whole record at the end of a file, reading back only as far as it must, and what lies
 * after it: a torn last line (the process was stopped while writing it) or lines that are not records.
 */
async function readTail(
  file: TrailFile,
): Promise<{ seq: number; hash: string; torn: number; skipped: number }> {
  const size = await file.size();
  for (let window = TAIL_WINDOW; ; window *= 2) {
    const start = Math.max(0, size - window);
    const buffer = await file.read(start, size - start);
    const torn =
      buffer.length === 0 || buffer.at(-1) === 0x0a ? 0 : buffer.length - (buffer.lastIndexOf(0x0a) + 1);
    let skipped = 0;
    let lineEnd = buffer.length - torn;
    let cut = torn === buffer.length && start > 0;
    while (!cut && lineEnd > 0) {
      // `lineEnd - 1` is the line's newline; the one before it ends the previous line.
      const before = lineEnd >= 2 ? buffer.lastIndexOf(0x0a, lineEnd - 2) : -1;
      if (before < 0 && start > 0) {
        cut = true;
        break;
      }
      const record = parseRecord(buffer.subarray(before + 1, lineEnd - 1).toString("utf8"));
      if (record !== undefined) return { seq: record.seq, hash: record.hash, torn, skipped };
      skipped += 1;
      lineEnd = before + 1;
    }
    if (!cut) return { seq: 0, hash: "", torn, skipped };
  }
}

/** A line's record, when it is one (an object with a sequence number and a hash). */
function parseRecord(line: string): { seq: number; hash: string; prev: string } | undefined {
  try {
    const value = JSON.parse(line) as unknown;
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    const { seq, hash, prev } = value as Record<string, unknown>;
    if (!Number.isSafeInteger(seq) || typeof hash !== "string" || typeof prev !== "string") return undefined;
    return { seq: seq as number, hash, prev };
  } catch {
    return undefined;
  }
}

interface Pending {
  entry: AuditEntry;
  time: string;
  resolve(): void;
  reject(error: Error): void;
}

export interface AuditTrailOptions {
  /** The file to write (tests give one that fails); default: the path, opened for appending. */
  file?: TrailFile;
  /** Runs over every record before it is chained: no secret may reach the file. */
  scrub(record: AuditEntry): AuditEntry;
  /** Says that another process appended to the file meanwhile (the chain is continued from its record). */
  warn(message: string): void;
}

export class AuditTrail {
  readonly #file: TrailFile;
  readonly #options: AuditTrailOptions;
  #state: ChainState;
  #queue: Pending[] = [];
  /** The writer at work, until the queue is empty; cleared in the same turn as its last look at the queue. */
  #draining: Promise<void> | undefined;
  #closed = false;

  private constructor(
    readonly path: string,
    file: TrailFile,
    state: ChainState,
    options: AuditTrailOptions,
  ) {
    this.#file = file;
    this.#state = state;
    this.#options = options;
  }

  /**
   * Opens (or creates) a trail and finds where its chain stands, so that a file left by an earlier run is
   * continued. `notes` says what is wrong at its end (a torn last line), for the operator.
   */
  static async open(
    path: string,
    options: AuditTrailOptions,
  ): Promise<{ trail: AuditTrail; notes: string[] }> {
    const file = options.file ?? (await openTrailFile(path));
    const { seq, hash, torn, skipped } = await readTail(file);
    const notes: string[] = [];
    if (torn > 0) {
      // The torn bytes stay (evidence of a call that was being recorded); the newline puts the next record
      // on a line of its own, and the chain goes on from the last whole record.
      await file.append(Buffer.from("\n"));
      notes.push(
        `${path}: the last line (${torn} bytes) is torn: the process was stopped while writing it. It is kept as ` +
          `it is, and the trail continues after it from seq ${seq}; infra-mcp audit verify reports it.`,
      );
    }
    if (skipped > 0) {
      notes.push(
        `${path}: ${skipped} line(s) after the last record (seq ${seq}) are not records; the trail continues from it.`,
      );
    }
    const state = { seq, hash, size: await file.size() };
    return { trail: new AuditTrail(path, file, state, options), notes };
  }

  /** Appends a record; resolves once it is on disk, rejects (AuditWriteError) when it could not be. */
  write(entry: AuditEntry): Promise<void> {
    if (this.#closed) return Promise.reject(new AuditWriteError(`the audit trail ${this.path} is closed`));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ entry, time: new Date().toISOString(), resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  /** Waits for every queued record, then closes the file. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#draining) await this.#draining;
    await this.#file.close();
  }

  /**
   * Writes batches until the queue is empty. It marks itself done in the same synchronous step that finds
   * the queue empty: a record queued by a caller resumed from the last batch starts a new drain.
   */
  async #drain(): Promise<void> {
    // Yield first, so that `#draining` is set before this can ever clear it.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0);
      try {
        await this.#followOtherWriters();
        let { seq, hash } = this.#state;
        const lines: string[] = [];
        for (const pending of batch) {
          seq += 1;
          const record: Record<string, unknown> = {
            time: pending.time,
            seq,
            ...this.#options.scrub(pending.entry),
            prev: hash,
          };
          hash = recordHash(record);
          record.hash = hash;
          lines.push(`${JSON.stringify(record)}\n`);
        }
        const data = Buffer.from(lines.join(""));
        await this.#append(data);
        this.#state = { seq, hash, size: this.#state.size + data.length };
        for (const pending of batch) pending.resolve();
      } catch (error) {
        const failure = new AuditWriteError(
          `the audit trail ${this.path} could not be written (${describeFsError(error)})`,
        );
        for (const pending of batch) pending.reject(failure);
      }
    }
    this.#draining = undefined;
  }

  /** Appends, or leaves the file as it was: a write cut short (a full disk) is cut off again. */
  async #append(data: Buffer): Promise<void> {
    try {
      await this.#file.append(data);
    } catch (error) {
      await this.#file.truncate(this.#state.size).catch(() => undefined);
      throw error;
    }
  }

  /** Another process appending to the same file would fork the chain: continue from its last record instead. */
  async #followOtherWriters(): Promise<void> {
    const size = await this.#file.size();
    if (size === this.#state.size) return;
    const { seq, hash } = await readTail(this.#file);
    this.#options.warn(
      `the audit trail ${this.path} changed under this process (another writer?): continuing its chain from seq ${seq}. Give each process its own INFRA_MCP_AUDIT_FILE.`,
    );
    this.#state = { seq, hash, size };
  }
}

function describeFsError(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  return code ?? message ?? String(error);
}

// ------------------------------------------------------------------------------------- verification

export interface TrailReport {
  /** Lines that are records. */
  records: number;
  /** The last record's sequence number and hash: what an auditor compares with a copy kept elsewhere. */
  last?: { line: number; seq: number; hash: string };
  /** What breaks the trail, first bad line first: any makes `audit verify` exit 1. */
  problems: { line: number; problem: string }[];
  /** What an auditor should know that does not break it (a call that started and never finished). */
  notes: string[];
}

/**
 * Checks a trail: every line parses, each record's hash matches its contents, and each names the previous
 * record's hash and the next sequence number. A line that is not a record is reported, and the chain is
 * checked across it, so a write torn by a kill (which the next run skips) reads as exactly that.
 */
export function verifyTrail(content: string): TrailReport {
  const lines = content.split("\n");
  const unterminated = lines.at(-1) !== "";
  if (!unterminated) lines.pop();
  const report: TrailReport = { records: 0, problems: [], notes: [] };
  let previous: { line: number; seq: number; hash: string } | undefined;
  let skipped: number[] = [];
  const started = new Map<string, number>();
  lines.forEach((text, index) => {
    const line = index + 1;
    const record = parseRecord(text);
    if (record === undefined) {
      const last = index === lines.length - 1;
      const call = /"call":"([0-9a-f]+)"/.exec(text)?.[1];
      const whose =
        call === undefined
          ? ""
          : ` It was the record of call ${call}${started.has(call) ? `, started at line ${started.get(call)}` : ""}.`;
      report.problems.push({
        line,
        problem:
          last && unterminated
            ? `torn: the last line is unfinished (${Buffer.byteLength(text)} bytes, no newline): the process was stopped while writing it.${whose}`
            : text.trim() === ""
              ? "empty line"
              : `not a record (does not parse as JSON with seq, prev and hash)${looksTorn(text) ? ": an unfinished write, cut short" : ""}.${whose}`,
      });
      skipped.push(line);
      return;
    }
    report.records += 1;
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const expectedHash = recordHash(parsed);
    const wrong: string[] = [];
    if (expectedHash !== record.hash) wrong.push("its hash does not match its contents: the line was edited");
    const expectedPrev = previous?.hash ?? "";
    const expectedSeq = (previous?.seq ?? 0) + 1;
    if (record.prev !== expectedPrev) {
      wrong.push(
        previous === undefined
          ? `prev is not "" although it is the first record: lines before it were removed`
          : `prev does not name the hash of line ${previous.line} (seq ${previous.seq}): a line was removed, inserted or moved`,
      );
    }
    if (record.seq !== expectedSeq) wrong.push(`seq is ${record.seq} where ${expectedSeq} comes next`);
    if (wrong.length > 0) report.problems.push({ line, problem: wrong.join("; ") });
    else if (skipped.length > 0) {
      report.notes.push(
        `line ${line} continues the chain from line ${previous?.line ?? "(start)"} across line(s) ${skipped.join(", ")}, which never joined it (a write cut short and skipped by the next run).`,
      );
    }
    skipped = [];
    const call = typeof parsed.call === "string" ? parsed.call : undefined;
    if (call !== undefined) {
      if (parsed.outcome === "started") started.set(call, line);
      else started.delete(call);
    }
    previous = { line, seq: record.seq, hash: record.hash };
  });
  for (const [call, line] of started) {
    report.notes.push(
      `call ${call} (line ${line}) started a change and has no closing record: the server stopped before it finished, so whether it took effect upstream is unknown.`,
    );
  }
  if (previous !== undefined) report.last = previous;
  report.problems.sort((a, b) => a.line - b.line);
  return report;
}

/** A record's beginning without its end: what a write cut short leaves. */
function looksTorn(text: string): boolean {
  return text.startsWith('{"time":') && !text.trimEnd().endsWith("}");
}
