/**
 * Polling helpers with a deadline. Every wait in the harness goes through {@link waitFor}, so no
 * helper can hang a test: when the deadline passes, the error says what was awaited and what the
 * last attempt saw.
 */

/** Resolves after `ms` milliseconds. The timer is `unref()`ed. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });
}

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** What is awaited, for the error message (e.g. `"cluster_state:ok on every node"`). */
  what: string;
  /** Give up after this many milliseconds. */
  timeoutMs: number;
  /**
   * Pause between attempts.
   * @default 50
   */
  intervalMs?: number;
  /** Extra text for the timeout error, computed only when the wait fails (e.g. a log tail). */
  details?: () => string | Promise<string>;
}

/**
 * Calls `probe` until it returns a value other than `undefined`, and returns that value.
 *
 * `probe` returns `undefined` to keep waiting. It may also throw: the error is remembered, shown
 * in the timeout error if the deadline passes, and the next attempt is made.
 *
 * @throws Error `Timed out after <n> ms waiting for <what>` with the last probe error or state.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  options: WaitForOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 50;
  let last: unknown = 'no attempt finished';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = 'probe returned no value yet';
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())));
  }
  const lastText = last instanceof Error ? last.message : String(last);
  const extra = options.details === undefined ? '' : `\n${await options.details()}`;
  throw new Error(
    `Timed out after ${options.timeoutMs} ms waiting for ${options.what}. Last attempt: ${lastText}${extra}`,
    last instanceof Error ? { cause: last } : undefined,
  );
}

/**
 * Rejects with `Timed out after <ms> ms: <what>` if `promise` does not settle in time.
 * The timer is cleared as soon as the promise settles.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
