/**
 * User ids kept sorted (by UTF-16 code units), so that a page of `listUsers` costs a binary search
 * and the page itself, not a sort of every id.
 */
export class SortedIds {
  readonly #ids: string[] = [];

  get size(): number {
    return this.#ids.length;
  }

  add(id: string): void {
    const i = this.#lowerBound(id);
    if (this.#ids[i] !== id) this.#ids.splice(i, 0, id);
  }

  delete(id: string): void {
    const i = this.#lowerBound(id);
    if (this.#ids[i] === id) this.#ids.splice(i, 1);
  }

  page(query: { cursor?: string; limit: number; prefix?: string }): { userIds: string[]; next?: string } {
    const prefix = query.prefix ?? '';
    let i = this.#lowerBound(query.cursor !== undefined && query.cursor >= prefix ? query.cursor : prefix);
    if (query.cursor !== undefined && this.#ids[i] === query.cursor) i += 1;
    const userIds: string[] = [];
    for (; i < this.#ids.length && userIds.length < query.limit; i += 1) {
      const id = this.#ids[i]!;
      if (!id.startsWith(prefix)) break;
      userIds.push(id);
    }
    const more = i < this.#ids.length && this.#ids[i]!.startsWith(prefix);
    return more && userIds.length > 0 ? { userIds, next: userIds.at(-1)! } : { userIds };
  }

  #lowerBound(id: string): number {
    let lo = 0;
    let hi = this.#ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#ids[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
