import type { StoredLogEntry } from '../protocol/types.js';

/**
 * A bounded usage log: a ring buffer, so that appending never moves the other entries (an array
 * spliced at the front costs time proportional to its length on every commit).
 */
export class RingLog {
  readonly #entries: (StoredLogEntry | undefined)[];
  #next = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    this.#entries = new Array<StoredLogEntry | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(entry: StoredLogEntry): void {
    this.#entries[this.#next] = entry;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size += 1;
  }

  /** Newest first, within [since, until], at most `limit`, none older than `oldest`. */
  read(query: { since?: number; until?: number; limit: number }, oldest: number): StoredLogEntry[] {
    const out: StoredLogEntry[] = [];
    for (let i = 1; i <= this.#size && out.length < query.limit; i += 1) {
      const entry = this.#entries[(this.#next - i + this.capacity) % this.capacity]!;
      if (entry.timestamp < oldest) continue;
      if (query.until !== undefined && entry.timestamp > query.until) continue;
      if (query.since !== undefined && entry.timestamp < query.since) continue;
      out.push(entry);
    }
    return out;
  }

  /** Forgets entries older than `oldest` at the old end (they are never read again anyway). */
  prune(oldest: number): void {
    while (this.#size > 0) {
      const first = (this.#next - this.#size + this.capacity) % this.capacity;
      if (this.#entries[first]!.timestamp >= oldest) return;
      this.#entries[first] = undefined;
      this.#size -= 1;
    }
  }
}
