import { CancelledError, UpstreamError } from "../errors.js";
import type { ToolContext } from "./define.js";

export interface PollOptions<T> {
  /** Reads the current state (one upstream request). */
  read: () => Promise<T>;
  /** True when the wait is over. */
  done: (value: T) => boolean;
  /** A short progress message for the current state. */
  describe: (value: T) => string;
  /** Epoch ms by which the wait must be over: the call's deadline (`ctx.deadline`) or sooner. */
  deadline: number;
  signal: AbortSignal;
  progress: ToolContext["progress"];
  /**
   * The state to report if the deadline cuts off even the first read, when the tool knows it (a task it
   * has just started is running): an action that happened is never reported as a failure.
   */
  unread?: T;
  /** First pause between reads; it grows by half each time, up to `maxIntervalMs`. */
  intervalMs?: number;
  maxIntervalMs?: number;
}

/**
 * Polls until `done`, the time limit or cancellation, sending a progress notification per read so the
 * client shows the wait is alive. Returns the last state and whether the wait ended because it was done.
 */
export async function pollUntil<T>(options: PollOptions<T>): Promise<{ value: T; finished: boolean }> {
  const { deadline } = options;
  let interval = options.intervalMs ?? 250;
  const maxInterval = options.maxIntervalMs ?? 2_000;
  let last: T | undefined;
  for (let reads = 1; ; reads += 1) {
    let value: T;
    try {
      value = await options.read();
    } catch (error) {
      // A read cut off by the call's deadline ends the wait with the state seen last, not with an error.
      if (error instanceof UpstreamError && error.details.outOfTime) {
        if (reads > 1) return { value: last as T, finished: false };
        if ("unread" in options) return { value: options.unread as T, finished: false };
      }
      throw error;
    }
    last = value;
    const finished = options.done(value);
    await options.progress(reads, undefined, options.describe(value));
    if (finished || Date.now() + interval >= deadline) return { value, finished };
    await sleep(interval, options.signal);
    interval = Math.min(maxInterval, Math.round(interval * 1.5));
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new CancelledError("Cancelled while waiting."));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError("Cancelled while waiting."));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
