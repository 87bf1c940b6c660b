/**
 * User ids kept sorted (by Unicode code point, which is the byte order of their UTF-8 form: the
 * order RedisStore's sorted sets keep), so that a page of `listUsers` costs a binary search and the
 * page itself, not a sort of every id.
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
    let i = this.#lowerBound(query.cursor !== undefined && compareIds(query.cursor, prefix) >= 0 ? query.cursor : prefix);
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
      if (compareIds(this.#ids[mid]!, id) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Orders two ids by code point. JavaScript's `<` compares UTF-16 code units, which puts an id with a
 * character above U+FFFF (a surrogate pair, 0xD800-0xDFFF) before one with a character in
 * U+E000-U+FFFF: the opposite of UTF-8's byte order, so MemoryStore listed such users (and accounts)
 * in another order than RedisStore.
 */
export function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 code unit's place in code point order: surrogates after every other BMP unit. */
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  return unit >= 0xe000 ? unit - 0x800 : unit;
}
