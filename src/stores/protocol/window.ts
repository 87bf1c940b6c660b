import type { RetentionSettings, RuleSpec } from './types.js';

/**
 * Which of a rule's candidate windows is current. The same steps run in the Redis Lua scripts
 * (stores/redis/lua); the contract suite holds both to them.
 *
 * 1. The window whose [start, end) holds `now`.
 * 2. Never backwards: if the stored window of the same definition starts later (another process
 *    with a faster clock rolled it over), keep the stored one.
 * 3. A different window (or definition) than the stored one starts afresh: used and held at 0.
 */
export interface PickedWindow {
  start: number;
  end: number;
  rollover: boolean;
}

export function pickWindow(
  spec: RuleSpec,
  now: number,
  stored: { fingerprint: string; start: number } | undefined,
): PickedWindow | { at: number } {
  const b = spec.boundaries;
  let index = -1;
  for (let i = 0; i < 3; i += 1) {
    if (b[i]! <= now && now < b[i + 1]!) index = i;
  }
  if (index < 0) return { at: now };
  let start = b[index]!;
  let end = b[index + 1]!;
  if (stored && stored.fingerprint === spec.fingerprint && stored.start > start) {
    const j = [b[0], b[1], b[2]].indexOf(stored.start);
    if (j < 0) return { at: stored.start };
    start = b[j]!;
    end = b[j + 1]!;
  }
  const rollover = !stored || stored.fingerprint !== spec.fingerprint || stored.start !== start;
  return { start, end, rollover };
}

export const DEFAULT_RETENTION: RetentionSettings = {
  logMaxLength: 10_000,
  userLogMaxLength: 100,
  logRetentionMs: 30 * 86_400_000,
  userHistoryRetentionMs: 62 * 86_400_000,
  globalHistoryRetentionMs: 400 * 86_400_000,
  idempotencyTtlMs: 86_400_000,
};
