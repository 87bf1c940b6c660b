import type { RuleSpec, StoreSettings } from './types.js';

/**
 * Which window of a rule is current, by the store's clock. The Redis scripts run the same steps
 * (stores/redis/lua); the contract suite holds both stores to them.
 *
 * 1. The stored window of the same definition stays current while the store's time is before its
 *    end, even if the time is before its start (a clock that moved back): never backwards, and never
 *    a refusal because of a clock.
 * 2. Otherwise the candidate window whose [start, end) holds the time is current, from zero.
 * 3. No candidate holds it (the engine's boundaries were computed for another time): the engine
 *    recomputes them around the store's time and asks again.
 */
export interface PickedWindow {
  start: number;
  end: number;
  /** A new window: its used and held figures start at zero. */
  rollover: boolean;
}

export interface StoredWindow {
  fingerprint: string;
  start: number;
  end: number;
}

export function pickWindow(spec: RuleSpec, now: number, stored: StoredWindow | undefined): PickedWindow | { at: number } {
  if (stored && stored.fingerprint === spec.fingerprint && now < stored.end) {
    return { start: stored.start, end: stored.end, rollover: false };
  }
  const b = spec.boundaries;
  for (let i = 0; i < 3; i += 1) {
    if (b[i]! <= now && now < b[i + 1]!) return { start: b[i]!, end: b[i + 1]!, rollover: true };
  }
  return { at: now };
}

/** The defaults the engine derives from its own defaults; stores start with them. */
export const DEFAULT_STORE_SETTINGS: StoreSettings = {
  logMaxLength: 10_000,
  userLogMaxLength: 100,
  logRetentionMs: 30 * 86_400_000,
  userHistoryRetentionMs: 62 * 86_400_000,
  globalHistoryRetentionMs: 400 * 86_400_000,
  idempotencyTtlMs: 20 * 60_000,
  operationTimeoutMs: 2000,
};
