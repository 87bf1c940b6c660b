import { LruMap } from '../../kernel/lru.js';
import { accountKeys, monthKey, nextMonthStart, userKeys, userTag, type UserKeys } from './keys.js';

/**
 * Users whose keys are kept. Keys were built again on every call: a tag (the id's UTF-8 in
 * base64url) and a handful of concatenated strings, each of which ioredis then flattened and
 * measured. An entry is about 1 KB; past the bound the least recently used go first.
 */
export const CALL_KEYS_CACHE_SIZE = 2_048;

/**
 * Longest user id (with its account id) whose keys are kept. An id may be 65,536 characters: the
 * map's key is the id itself, so 4,096 entries of such ids would hold hundreds of megabytes. Keys
 * of longer ids are built on each call, as before.
 */
export const MAX_KEPT_ID_LENGTH = 256;

/** The keys one call of a user touches, at the user's home. */
export interface CallKeys {
  user: UserKeys;
  /** The account's keys, for a member of an account. */
  account: ReturnType<typeof accountKeys> | undefined;
  /** The user's own tag (the all-users aggregates list the users active in a month by it). */
  ownTag: string;
}

/** A UTC month: its history key name and where it ends. */
export interface MonthOf {
  key: string;
  start: number;
  end: number;
}

/** The keys of the hot path's calls, kept per store (one prefix) for the users seen lately. */
export class CallKeysCache {
  readonly #own = new LruMap<string, CallKeys>(CALL_KEYS_CACHE_SIZE);
  readonly #members = new LruMap<string, CallKeys>(CALL_KEYS_CACHE_SIZE);
  #month: MonthOf = { key: '', start: 0, end: 0 };

  constructor(readonly prefix: string) {}

  /** The keys of `userId` at `home` (null: on their own). */
  of(userId: string, home: string | null): CallKeys {
    // A member's entry is found by home and id: the home's length first keeps the pair unambiguous.
    const map = home === null ? this.#own : this.#members;
    const id = home === null ? userId : `${home.length}:${home}${userId}`;
    if (id.length > MAX_KEPT_ID_LENGTH) return keysOf(this.prefix, userId, home);
    let keys = map.get(id);
    if (keys === undefined) {
      keys = keysOf(this.prefix, userId, home);
      map.set(id, keys);
    }
    return keys;
  }

  /** The UTC month holding `ms` (calls ask for the same one all month). */
  monthOf(ms: number): MonthOf {
    if (ms < this.#month.start || ms >= this.#month.end) {
      const end = nextMonthStart(ms);
      const d = new Date(ms);
      this.#month = { key: monthKey(ms), start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end };
    }
    return this.#month;
  }
}

function keysOf(prefix: string, userId: string, home: string | null): CallKeys {
  return { user: userKeys(prefix, userId, home), account: home === null ? undefined : accountKeys(prefix, home), ownTag: userTag(userId) };
}
