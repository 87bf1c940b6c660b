import { createHash } from 'node:crypto';

/**
 * Key layout. Every key of one user carries the user's hash tag, so a script on a user touches one
 * Redis Cluster slot. The tag is library-built, never the raw id: a raw id can break hash tags
 * (`""`, `"}"`, `"}x"` give CROSSSLOT or client/server slot disagreement) or pick a slot (`"{hot}"`).
 *
 *   tag  = "b" + base64url(UTF-8 bytes)        when the id is at most 48 bytes
 *        | "h" + base64url(SHA-256(UTF-8))     otherwise (keys stay short for 10 KB ids)
 *
 *   <prefix>:{<tag>}:u        hash   config (v, rules, anchor, active) and window state w:<rule>:*
 *   <prefix>:{<tag>}:h        hash   live holds: reservation id -> held windows
 *   <prefix>:{<tag>}:e        zset   hold expiries
 *   <prefix>:{<tag>}:d        hash   committed/released reservation ids (replay answers)
 *   <prefix>:{<tag>}:dz       zset   their expiries
 *   <prefix>:{<tag>}:log      zset   the user's usage log (score = time)
 *   <prefix>:{<tag>}:hd:<day> hash   the user's hourly history of one UTC day
 *   <prefix>:{g}:users        zset   every user id (lexicographic paging)
 *   <prefix>:{g}:log          zset   everyone's usage log
 *   <prefix>:{g}:hd:<day>     hash   everyone's hourly history of one UTC day
 *   <prefix>:{g}:totals       hash   tokens, requests, cost since the start
 *   <prefix>:{g}:active:<YYYY-MM> set  tags of users active in a month
 *   <prefix>:{g}:seen:<minute> set   record ids already aggregated (replay guard, 2 h)
 *   <prefix>:{g}:epoch        hash   epoch marker: id, created, previous, ack (detects lost data)
 * The prefix itself may not contain braces, so no tag can be smuggled in.
 */
export const MAX_RAW_TAG_BYTES = 48;

export function userTag(userId: string): string {
  const bytes = Buffer.from(userId, 'utf8');
  if (bytes.length <= MAX_RAW_TAG_BYTES) return `b${bytes.toString('base64url')}`;
  return `h${createHash('sha256').update(bytes).digest('base64url')}`;
}

export interface UserKeys {
  user: string;
  holds: string;
  expiries: string;
  done: string;
  doneExpiries: string;
  log: string;
  historyDay(dayStart: number): string;
}

export function userKeys(prefix: string, userId: string): UserKeys & { tag: string } {
  const tag = userTag(userId);
  const base = `${prefix}:{${tag}}`;
  return {
    tag,
    user: `${base}:u`,
    holds: `${base}:h`,
    expiries: `${base}:e`,
    done: `${base}:d`,
    doneExpiries: `${base}:dz`,
    log: `${base}:log`,
    historyDay: (day) => `${base}:hd:${day}`,
  };
}

export function globalKeys(prefix: string) {
  const base = `${prefix}:{g}`;
  return {
    users: `${base}:users`,
    log: `${base}:log`,
    totals: `${base}:totals`,
    historyDay: (day: number) => `${base}:hd:${day}`,
    activeMonth: (month: string) => `${base}:active:${month}`,
    seen: (minute: number) => `${base}:seen:${minute}`,
    epoch: `${base}:epoch`,
  };
}

export const DAY_MS = 86_400_000;

export function dayStart(ms: number): number {
  return ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
}

export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** End of the month after `ms`'s month: active-user sets expire then. */
export function activeSetExpiry(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 2, 1);
}
