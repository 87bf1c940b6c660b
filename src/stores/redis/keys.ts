import { createHash } from 'node:crypto';

/**
 * Key layout. Every key of one user carries the user's hash tag, so a script on a user touches one
 * Redis Cluster slot. The tag is library-built, never the raw id: a raw id can break hash tags
 * (`""`, `"}"`, `"}x"` give CROSSSLOT or client/server slot disagreement) or pick a slot (`"{hot}"`).
 *
 *   tag  = "b" + base64url(UTF-8 bytes)        when the id is at most 48 bytes
 *        | "h" + base64url(SHA-256(UTF-8))     otherwise (keys stay short for 10 KB ids)
 *
 * Per user (expiry in brackets; a key disappears on its own once it has nothing left to count):
 *   <prefix>:{<tag>}:c          hash  config: v version, r own rules (JSON), a anchor, x '0' if disabled  [none]
 *   <prefix>:{<tag>}:w          hash  current windows, live holds, TTL horizons (lua/prelude.ts)
 *                                     [past the last window end and the lease]
 *   <prefix>:{<tag>}:d:<bucket> hash  outcomes of the reservations of one 10-minute bucket (replays)
 *                                     [the idempotency time after the last outcome]
 *   <prefix>:{<tag>}:log        zset  the user's usage log  [log retention after the last call]
 *   <prefix>:{<tag>}:hm:<YYYYMM> hash hourly history of a UTC month: "<hour>|<model>|r|i|o|c"
 *                                     [history retention after the month's end]
 *   <prefix>:{<tag>}:rf         list  the user's newest refusals, at their own tag whatever their
 *                                     account  [7 days after the last]
 *   <prefix>:{<tag>}:ml         string the move lock of setAccount and deleteUser (user-homes.ts)
 *                                     [10 s]
 * A member of an account lives under the account's tag, so that one script checks both:
 *   <prefix>:{<account tag>}:m:<user tag>:c|w|d:<bucket>|log|hm:<YYYYMM>   as above
 *   <prefix>:{<account tag>}:a:c      hash  the account's config: v, r own rules, p plan
 *   <prefix>:{<account tag>}:a:w      hash  the account's windows and its members' holds
 *   <prefix>:{<account tag>}:a:members zset  member user ids (lexicographic paging)
 *   <...user's home...>:mv            list  the state a user left when moving (1 day)
 *   account tag = "A" + base64url(UTF-8 bytes) | "K" + base64url(SHA-256) beyond 48 bytes
 * Shared (tag `g`):
 *   <prefix>:{g}:users          zset  user ids (lexicographic paging)
 *   <prefix>:{g}:log            zset  everyone's usage log  [log retention]
 *   <prefix>:{g}:hm:<YYYYMM>    hash  everyone's hourly history of a month  [global history retention]
 *   <prefix>:{g}:totals         hash  tokens, requests, cost since the start
 *   <prefix>:{g}:active:<YYYY-MM> set tags of the users active in a month  [until the next month ends]
 *   <prefix>:{g}:applied:<src> string the number of the last aggregate batch applied from one
 *                                      store instance (replay guard)  [1 day after its last batch]
 *   <prefix>:{g}:epoch          hash  epoch marker: id, created, previous, ack (detects lost data)
 *   <prefix>:{g}:plans          hash  plan id -> JSON {v, rules}
 *   <prefix>:{g}:planuse        hash  "<plan>|u" / "<plan>|a": users and accounts on a plan;
 *                                     "<plan>|v": the version a deleted plan had
 *   <prefix>:{g}:accounts       zset  account ids (lexicographic paging)
 *   <prefix>:{g}:lqs            set   the ledger streams (added before a stream's first record)
 * Per Cluster slot (tag `l<base 36>`, the first such string in the slot: slots.ts), with a ledger:
 *   <prefix>:{<slot tag>}:lq    stream records committed in the slot, until a drainer wrote them
 *                                      to the ledger (consumer group `g`)  [none]
 *   <prefix>:{<slot tag>}:lqd   stream the dead letters of `:lq`: entries that are no records, and
 *                                      records the ledger refused, moved there unwritten with
 *                                      where they were and why (docs/ledger.md)  [none: an
 *                                      operator reads and deletes it]
 * The prefix itself may not contain braces, so no tag can be smuggled in.
 */
export const MAX_RAW_TAG_BYTES = 48;

export function userTag(userId: string): string {
  return tagOf(userId, 'b', 'h');
}

export function accountTag(accountId: string): string {
  return tagOf(accountId, 'A', 'K');
}

function tagOf(id: string, raw: string, hashed: string): string {
  const bytes = Buffer.from(id, 'utf8');
  if (bytes.length <= MAX_RAW_TAG_BYTES) return `${raw}${bytes.toString('base64url')}`;
  return `${hashed}${createHash('sha256').update(bytes).digest('base64url')}`;
}

export interface UserKeys {
  /** The hash tag of the user's keys (the account's, for a member). */
  tag: string;
  config: string;
  windows: string;
  outcomes(bucket: string): string;
  log: string;
  historyMonth(month: string): string;
  /** The state the user left behind when moving away from this home. */
  snapshot: string;
  /** Refused calls (a capped list), kept at the user's own home whatever their account. */
  refusals: string;
}

/**
 * The keys of a user at a home: on their own (`account` null), or as a member of an account. The
 * outcome and history keys of the last bucket and month asked for are kept (calls ask for the same
 * ones for 10 minutes and a month).
 */
export function userKeys(prefix: string, userId: string, account: string | null = null): UserKeys {
  const tag = account === null ? userTag(userId) : accountTag(account);
  const base = account === null ? `${prefix}:{${tag}}` : `${prefix}:{${tag}}:m:${userTag(userId)}`;
  let bucketOf = '';
  let outcomesKey = '';
  let monthOf = '';
  let historyKey = '';
  return {
    tag,
    snapshot: `${base}:mv`,
    refusals: `${prefix}:{${userTag(userId)}}:rf`,
    config: `${base}:c`,
    windows: `${base}:w`,
    outcomes: (bucket) => {
      if (bucket !== bucketOf) {
        bucketOf = bucket;
        outcomesKey = `${base}:d:${bucket}`;
      }
      return outcomesKey;
    },
    log: `${base}:log`,
    historyMonth: (month) => {
      if (month !== monthOf) {
        monthOf = month;
        historyKey = `${base}:hm:${month}`;
      }
      return historyKey;
    },
  };
}

export function accountKeys(prefix: string, accountId: string) {
  const base = `${prefix}:{${accountTag(accountId)}}:a`;
  return { config: `${base}:c`, windows: `${base}:w`, members: `${base}:members` };
}

export function globalKeys(prefix: string) {
  const base = `${prefix}:{g}`;
  return {
    users: `${base}:users`,
    log: `${base}:log`,
    totals: `${base}:totals`,
    /** The number of the last aggregate batch applied from `source` (aggregator.ts). */
    applied: (source: string) => `${base}:applied:${source}`,
    epoch: `${base}:epoch`,
    ledgerIndex: `${base}:lqs`,
    plans: `${base}:plans`,
    planUse: `${base}:planuse`,
    accounts: `${base}:accounts`,
    historyMonth: (month: string) => `${base}:hm:${month}`,
    activeMonth: (month: string) => `${base}:active:${month}`,
  };
}

export const HOUR_MS = 3_600_000;
/** Reservations are grouped in outcome keys by 10 minutes of their creation time. */
export const BUCKET_MS = 600_000;

/**
 * The outcome bucket of a reservation id: the engine's ids start with their creation time in base
 * 36 (`<time>-<random>`); any other id goes to bucket `x`.
 */
export function outcomeBucket(reservationId: string): string {
  const dash = reservationId.indexOf('-');
  const time = dash > 0 && dash <= 11 ? parseInt(reservationId.slice(0, dash), 36) : Number.NaN;
  return Number.isSafeInteger(time) && time >= 0 ? Math.floor(time / BUCKET_MS).toString(36) : 'x';
}

/** The outcome buckets a user may have around `now` (for deletions). */
export function recentBuckets(now: number, spanMs: number): string[] {
  const out = ['x'];
  for (let t = now - spanMs - BUCKET_MS; t <= now + BUCKET_MS; t += BUCKET_MS) out.push(Math.floor(t / BUCKET_MS).toString(36));
  return out;
}
export const DAY_MS = 86_400_000;

/** `YYYYMM` of a UTC time: the history key of its month. */
export function monthKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Start of the UTC month after the one holding `ms`. */
export function nextMonthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** The months ([YYYYMM]) whose history may hold hours in [from, to). */
export function monthsCovering(from: number, to: number): string[] {
  const months: string[] = [];
  for (let t = from; t < to; t = nextMonthStart(t)) months.push(monthKey(t));
  return months;
}

/** `YYYY-MM` (the active-users set of a month). */
export function monthName(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}
