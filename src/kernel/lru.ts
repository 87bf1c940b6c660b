/**
 * A bounded map that forgets a least recently used entry first (second chance: a read marks an
 * entry instead of moving it, which keeps reads as cheap as a plain Map lookup; an eviction skips
 * marked entries once).
 */
export class LruMap<K, V> {
  readonly #map = new Map<K, { value: V; used: boolean }>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get(key: K): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.value;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): void {
    const entry = this.#map.get(key);
    if (entry) {
      entry.value = value;
      entry.used = true;
      return;
    }
    this.#map.set(key, { value, used: false });
    if (this.#map.size > this.#capacity) this.#evict();
  }

  delete(key: K): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }

  get size(): number {
    return this.#map.size;
  }

  #evict(): void {
    for (const [key, entry] of this.#map) {
      this.#map.delete(key);
      if (!entry.used) return;
      // Second chance: a used entry goes to the back once, unmarked.
      entry.used = false;
      this.#map.set(key, entry);
    }
  }
}
