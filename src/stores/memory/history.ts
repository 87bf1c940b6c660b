import type { HistoryBucket } from '../protocol/types.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Hourly usage buckets per model, kept for a retention period. */
export class HourlyHistory {
  readonly #hours = new Map<number, Map<string, HistoryBucket>>();

  add(now: number, model: string, delta: { requests: number; inputTokens: number; outputTokens: number; cost: number }): void {
    const hour = now - (((now % HOUR_MS) + HOUR_MS) % HOUR_MS);
    let models = this.#hours.get(hour);
    if (!models) {
      models = new Map();
      this.#hours.set(hour, models);
    }
    let bucket = models.get(model);
    if (!bucket) {
      bucket = { time: hour, model, requests: 0, inputTokens: 0, outputTokens: 0, cost: 0 };
      models.set(model, bucket);
    }
    bucket.requests += delta.requests;
    bucket.inputTokens += delta.inputTokens;
    bucket.outputTokens += delta.outputTokens;
    bucket.cost += delta.cost;
  }

  get empty(): boolean {
    return this.#hours.size === 0;
  }

  /** Drops hours that start before `oldest`. */
  prune(oldest: number): void {
    for (const hour of this.#hours.keys()) if (hour < oldest) this.#hours.delete(hour);
  }

  /** Buckets per hour or UTC day in [from, to), in time then model order. */
  read(from: number, to: number, granularity: 'hour' | 'day'): HistoryBucket[] {
    const step = granularity === 'hour' ? HOUR_MS : DAY_MS;
    const merged = new Map<string, HistoryBucket>();
    // Bounded by the engine's range cap: at most 31 days of hours, or 366 days of 24 hours.
    for (let hour = from - (((from % HOUR_MS) + HOUR_MS) % HOUR_MS); hour < to; hour += HOUR_MS) {
      const models = this.#hours.get(hour);
      if (!models || hour < from) continue;
      const time = hour - (((hour % step) + step) % step);
      for (const b of models.values()) {
        const key = `${time}\u0000${b.model}`;
        const m = merged.get(key);
        if (m) {
          m.requests += b.requests;
          m.inputTokens += b.inputTokens;
          m.outputTokens += b.outputTokens;
          m.cost += b.cost;
        } else merged.set(key, { ...b, time });
      }
    }
    return [...merged.values()].sort((a, b) => a.time - b.time || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  }
}
