import type { PickedWindow } from './window.js';
import type { RuleSpec } from './types.js';

/**
 * What a commit does to one rule's window (see `CommitReply` in types.ts). MemoryStore runs this
 * function; the Redis commit script runs the same steps in Lua, and the contract suite holds both to
 * them.
 */

/** A rule's share of a hold, as the store recorded it at reserve time. */
export interface HeldShare {
  ruleId: string;
  fingerprint: string;
  /** Start of the window the hold was made in. */
  start: number;
  /** Amount held, in store units. */
  amount: number;
}

export interface WindowCounters {
  used: number;
  held: number;
}

/**
 * The counters of the current window after charging `amount`:
 * - the hold was made in this very window: `amount` is charged, the held part released;
 * - the hold was made in an earlier window of the same definition (the period rolled over during
 *   the call): only the part beyond the hold is charged here;
 * - no hold for this window definition (it expired, the rule is new or changed): all of `amount`.
 */
export function chargeWindow(
  spec: RuleSpec,
  window: PickedWindow,
  counters: WindowCounters,
  hold: HeldShare | undefined,
  amount: number,
): WindowCounters {
  let { used, held } = window.rollover ? { used: 0, held: 0 } : counters;
  if (hold && hold.fingerprint === spec.fingerprint && hold.start === window.start) {
    held = Math.max(0, held - hold.amount);
    used += amount;
  } else if (hold && hold.fingerprint === spec.fingerprint && hold.start < window.start) {
    used += Math.max(0, amount - hold.amount);
  } else {
    used += amount;
  }
  return { used, held };
}

/** Thresholds (per mille of the limit) crossed by `used`, among those not fired yet (a bitmask). */
export function crossedThresholds(used: number, limit: number, thresholds: readonly number[], fired: number): number[] {
  const crossed: number[] = [];
  if (used <= 0) return crossed;
  for (let k = 0; k < thresholds.length; k += 1) {
    const bit = 2 ** k;
    if ((fired & bit) === 0 && used * 1000 >= limit * thresholds[k]!) crossed.push(k);
  }
  return crossed;
}
