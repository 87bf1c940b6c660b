/**
 * A controllable clock for tests: pass `clock.now` wherever the library takes a `clock`
 * (`createTokenLimiter({ clock: clock.now })`) or the emulator takes one. Pure: no timers.
 */

/** A clock that only moves when told to. */
export interface FakeClock {
  /** The current time in ms since the epoch. A bound function: pass `clock.now` around freely. */
  now(): number;
  /**
   * Move forward by `ms` milliseconds (0 is allowed).
   * @throws TypeError if `ms` is not a number; RangeError if it is NaN, infinite or negative, or
   *   would move the clock past the last time a Date holds (8.64e15)
   */
  advance(ms: number): void;
  /**
   * Jump to `t` (ms since the epoch, or a Date); may move backwards, to test clock skew.
   * @throws TypeError if `t` is neither a number nor a Date; RangeError if it is NaN, infinite,
   *   negative, past the last time a Date holds (8.64e15) or an invalid Date
   */
  set(t: number | Date): void;
}

/**
 * The last time a Date can hold (+275760-09-13). A clock past it made `new Date(clock.now())` an
 * Invalid Date, and the limiter's windows NaN, far from the `advance()` that caused it.
 */
const MAX_TIME_MS = 8.64e15;

function toMillis(value: unknown, what: string): number {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else throw new TypeError(`${what} must be a number of milliseconds or a Date, got ${value === null ? 'null' : typeof value}`);
  if (!Number.isFinite(ms)) throw new RangeError(`${what} must be finite, got ${String(ms)}`);
  if (ms < 0) throw new RangeError(`${what} must not be negative, got ${ms}`);
  if (ms > MAX_TIME_MS) throw new RangeError(`${what} must be at most ${MAX_TIME_MS} (the last time a Date holds), got ${ms}`);
  return ms;
}

/**
 * Create a fake clock starting at `start` (ms since the epoch or a Date).
 * @param start @default 2025-01-01T00:00:00Z
 * @throws TypeError/RangeError for a start that is not a finite, non-negative time
 */
export function createFakeClock(start: number | Date = Date.UTC(2025, 0, 1)): FakeClock {
  let current = toMillis(start, 'createFakeClock: start');
  return {
    now: () => current,
    advance: (ms: number) => {
      const next = current + toMillis(ms, 'advance: ms');
      if (next > MAX_TIME_MS) throw new RangeError(`advance: ms would move the clock past ${MAX_TIME_MS} (the last time a Date holds), got ${ms}`);
      current = next;
    },
    set: (t: number | Date) => {
      current = toMillis(t, 'set: t');
    },
  };
}
