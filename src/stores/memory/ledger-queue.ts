import type { LedgerFeed, LedgerFeedEntry } from '../protocol/types.js';

/** The default bound of the queue, until a drainer sets its own. */
const DEFAULT_MAX = 100_000;

/**
 * MemoryStore's ledger feed: records committed with a ledger note wait here until a drainer has
 * written them to the ledger. It lives in this process: what it holds when the process dies is lost
 * (the ledger then lacks those records; `ledger.reconcile` shows it). Bounded: beyond `max`
 * records (plus the batch a drainer is writing), the oldest are dropped and counted (the drainer
 * reports them as `ledger-error`).
 */
export class MemoryLedgerQueue implements LedgerFeed {
  readonly inProcess = true;
  readonly #entries = new Map<string, { entry: LedgerFeedEntry; readAt: number }>();
  #next = 0;
  #max = DEFAULT_MAX;
  #dropped = 0;

  push(timestamp: number, record: string, note: string): void {
    const ref = String((this.#next += 1));
    this.#entries.set(ref, { entry: { ref, timestamp, record, note }, readAt: -Infinity });
    // Drop the oldest records no drainer holds (a batch being written is never dropped under it).
    while (this.#entries.size > this.#max) {
      let victim: string | undefined;
      for (const [key, item] of this.#entries) {
        if (item.readAt === -Infinity) {
          victim = key;
          break;
        }
      }
      if (victim === undefined) break;
      this.#entries.delete(victim);
      this.#dropped += 1;
    }
  }

  async read(_consumer: string, count: number, claimIdleMs: number): Promise<LedgerFeedEntry[]> {
    const now = Date.now();
    const out: LedgerFeedEntry[] = [];
    for (const item of this.#entries.values()) {
      if (out.length >= count) break;
      if (now - item.readAt < claimIdleMs) continue;
      item.readAt = now;
      out.push(item.entry);
    }
    return out;
  }

  async ack(entries: readonly LedgerFeedEntry[]): Promise<void> {
    for (const e of entries) this.#entries.delete(e.ref);
  }

  async lag(): Promise<{ pending: number; oldest: number | null }> {
    const first = this.#entries.values().next().value;
    return { pending: this.#entries.size, oldest: first === undefined ? null : first.entry.timestamp };
  }

  bound(maxQueue: number): number {
    this.#max = maxQueue;
    const dropped = this.#dropped;
    this.#dropped = 0;
    return dropped;
  }
}
