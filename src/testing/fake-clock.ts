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
   * @throws TypeError if `ms` is not a number; RangeError if it is NaN, infinite or negative
   */
  advance(ms: number): void;
  /**
   * Jump to `t` (ms since the epoch, or a Date); may move backwards, to test clock skew.
   * @throws TypeError if `t` is neither a number nor a Date; RangeError if it is NaN, infinite,
   *   negative or an invalid Date
   */
  set(t: number | Date): void;
}

function toMillis(value: unknown, what: string): number {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else throw new TypeError(`${what} must be a number of milliseconds or a Date, got ${value === null ? 'null' : typeof value}`);
  if (!Number.isFinite(ms)) throw new RangeError(`${what} must be finite, got ${String(ms)}`);
  if (ms < 0) throw new RangeError(`${what} must not be negative, got ${ms}`);
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
      current += toMillis(ms, 'advance: ms');
    },
    set: (t: number | Date) => {
      current = toMillis(t, 'set: t');
    },
  };
}
