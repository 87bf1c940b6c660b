import { describe, expect, it } from 'vitest';
import { CallKeysCache, MAX_KEPT_ID_LENGTH } from '../../src/stores/redis/call-keys.js';
import { accountKeys, monthKey, nextMonthStart, userKeys, userTag } from '../../src/stores/redis/keys.js';

/** The keys kept for the hot path are the keys the store builds everywhere else. */
function plain(keys: ReturnType<typeof userKeys>) {
  return { ...keys, outcomes: keys.outcomes('b1'), historyMonth: keys.historyMonth('209901') };
}

describe('the keys kept per user for the hot path', () => {
  it('are the keys userKeys and accountKeys build, for a user on their own and for a member', () => {
    const cache = new CallKeysCache('p');
    const own = cache.of('ana', null);
    expect(plain(own.user)).toEqual(plain(userKeys('p', 'ana')));
    expect(own.account).toBeUndefined();
    expect(own.ownTag).toBe(userTag('ana'));
    const member = cache.of('ana', 'team');
    expect(plain(member.user)).toEqual(plain(userKeys('p', 'ana', 'team')));
    expect(member.account).toEqual(accountKeys('p', 'team'));
    expect(member.ownTag).toBe(userTag('ana'));
    expect(member.user.windows).not.toBe(own.user.windows);
    // Kept: the same entry answers again.
    expect(cache.of('ana', null)).toBe(own);
    expect(cache.of('ana', 'team')).toBe(member);
  });

  it('tells apart members whose home and id join into the same text', () => {
    const cache = new CallKeysCache('p');
    const first = cache.of('bc', 'a');
    const second = cache.of('c', 'ab');
    expect(first.user.windows).toBe(userKeys('p', 'bc', 'a').windows);
    expect(second.user.windows).toBe(userKeys('p', 'c', 'ab').windows);
    expect(first.user.windows).not.toBe(second.user.windows);
  });

  it('keeps no entry for an id past the kept length, and still gives its keys', () => {
    const cache = new CallKeysCache('p');
    const long = 'x'.repeat(MAX_KEPT_ID_LENGTH + 1);
    const first = cache.of(long, null);
    expect(plain(first.user)).toEqual(plain(userKeys('p', long)));
    expect(cache.of(long, null)).not.toBe(first);
    // An id that fits alone but not with its account's id.
    const member = 'y'.repeat(MAX_KEPT_ID_LENGTH - 2);
    const asMember = cache.of(member, 'team');
    expect(plain(asMember.user)).toEqual(plain(userKeys('p', member, 'team')));
    expect(cache.of(member, 'team')).not.toBe(asMember);
    // At the kept length, kept.
    const edge = 'z'.repeat(MAX_KEPT_ID_LENGTH);
    expect(cache.of(edge, null)).toBe(cache.of(edge, null));
  });

  it('gives the outcome and history keys of the bucket and month asked for, when they change and back', () => {
    const keys = new CallKeysCache('p').of('ana', null).user;
    const fresh = userKeys('p', 'ana');
    for (const bucket of ['b1', 'b2', 'b1', 'x']) expect(keys.outcomes(bucket)).toBe(fresh.outcomes(bucket));
    for (const month of ['209901', '209902', '209901']) expect(keys.historyMonth(month)).toBe(fresh.historyMonth(month));
  });

  it('gives the UTC month of a time, across month ends, in both directions', () => {
    const cache = new CallKeysCache('p');
    const times = [Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1), Date.UTC(2027, 0, 31, 12), Date.UTC(2026, 11, 1), Date.UTC(2026, 10, 30, 23, 59, 59, 999), Date.UTC(2028, 1, 29, 5)];
    for (const t of times) {
      const month = cache.monthOf(t);
      expect(month.key).toBe(monthKey(t));
      expect(month.end).toBe(nextMonthStart(t));
      expect(month.start).toBeLessThanOrEqual(t);
      expect(monthKey(month.start)).toBe(month.key);
      expect(monthKey(month.start - 1)).not.toBe(month.key);
    }
  });
});
