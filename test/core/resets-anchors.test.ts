import { describe, expect, it } from 'vitest';
import { windowAt, type NormalizedPeriod } from '../../src/engine/periods.js';
import { parseAnchor } from '../../src/engine/rules.js';
import { createTokenLimiter } from '../../src/index.js';
import { bothStores } from '../helpers/both-stores.js';
import { manualClock } from '../helpers/clock.js';

// America/Santiago's 2026-09-06 has no midnight (00:00 -04 jumps to 01:00 -03): the date starts at
// 01:00. An anchor on that date (a date-only anchor, or the period start date of a user whose first
// call fell on it) is 01:00, and every later window of the rule renewed at 01:00 instead of at
// midnight, for good.

const stores = await bothStores('resets-anchors');
const iso = (ms: number) => new Date(ms).toISOString();
const SANTIAGO = 'America/Santiago';

function windows(period: NormalizedPeriod, zone: string, anchor: number, from: string, n: number): string[] {
  const out: string[] = [];
  let t = Date.parse(from);
  for (let i = 0; i < n; i += 1) {
    const w = windowAt(period, zone, anchor, t);
    out.push(`${iso(w.start)} ${iso(w.end)}`);
    t = w.end;
  }
  return out;
}

describe('anchored windows from an anchor on a date without a midnight', () => {
  const anchor = parseAnchor('2026-09-06', SANTIAGO, 'anchor');

  it('the anchor is the first instant of the date; later windows start at midnight', () => {
    expect(iso(anchor)).toBe('2026-09-06T04:00:00.000Z');
    expect(windows({ kind: 'days', count: 1, anchor }, SANTIAGO, anchor, '2026-09-06T12:00:00Z', 3)).toEqual([
      '2026-09-06T04:00:00.000Z 2026-09-07T03:00:00.000Z',
      '2026-09-07T03:00:00.000Z 2026-09-08T03:00:00.000Z',
      '2026-09-08T03:00:00.000Z 2026-09-09T03:00:00.000Z',
    ]);
    expect(windows({ kind: 'months', count: 1, anchor }, SANTIAGO, anchor, '2026-09-06T12:00:00Z', 2)).toEqual([
      '2026-09-06T04:00:00.000Z 2026-10-06T03:00:00.000Z',
      '2026-10-06T03:00:00.000Z 2026-11-06T03:00:00.000Z',
    ]);
    // Counted backwards too: the window before the anchor started at midnight of Aug 6 (-04).
    expect(windowAt({ kind: 'months', count: 1, anchor }, SANTIAGO, anchor, anchor - 1)).toEqual({ start: Date.parse('2026-08-06T04:00:00Z'), end: anchor });
  });

  it('an anchor with a time of day keeps that local time', () => {
    const at = parseAnchor('2026-03-01T09:30', 'America/New_York', 'anchor');
    expect(windows({ kind: 'days', count: 7, anchor: at }, 'America/New_York', at, '2026-03-02T00:00:00Z', 2)).toEqual([
      '2026-03-01T14:30:00.000Z 2026-03-08T13:30:00.000Z',
      '2026-03-08T13:30:00.000Z 2026-03-15T13:30:00.000Z',
    ]);
  });
});

for (const store of stores) {
  describe(`${store.name}: a user whose first call fell on a date without a midnight`, () => {
    it('renews a 30-day rule at midnight, and is refused up to that instant and admitted from it', async () => {
      const clock = manualClock('2026-09-06T12:00:00Z');
      const limiter = createTokenLimiter({
        store: store.create(),
        clock: clock.now,
        defaultLimits: [{ id: 'r30', tokens: 100, period: { days: 30 }, timeZone: SANTIAGO }],
      });
      const r = await limiter.reserve('u', { tokens: 100 });
      expect([r.windows[0]!.periodStart, r.windows[0]!.resetAt].map((d) => d.toISOString())).toEqual(['2026-09-06T04:00:00.000Z', '2026-10-06T03:00:00.000Z']);
      await limiter.commit(r, { inputTokens: 100, outputTokens: 0 });
      clock.set('2026-10-06T02:59:59.999Z');
      await expect(limiter.reserve('u', { tokens: 1 })).rejects.toMatchObject({ resetAt: new Date('2026-10-06T03:00:00.000Z') });
      clock.set('2026-10-06T03:00:00.000Z');
      await limiter.release(await limiter.reserve('u', { tokens: 100 }));
      expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 0, periodStart: new Date('2026-10-06T03:00:00.000Z'), resetAt: new Date('2026-11-05T03:00:00.000Z') });
      await limiter.close();
    });

    it('renews a monthly rule anchored on that date at midnight of the 6th', async () => {
      const clock = manualClock('2026-10-10T12:00:00Z');
      const limiter = createTokenLimiter({
        store: store.create(),
        clock: clock.now,
        defaultLimits: [{ id: 'billing', tokens: 100, period: { months: 1, anchor: '2026-09-06' }, timeZone: SANTIAGO }],
      });
      expect(await limiter.admin.getUsage('u')).toMatchObject({ periodStart: new Date('2026-10-06T03:00:00.000Z'), resetAt: new Date('2026-11-06T03:00:00.000Z') });
      await limiter.close();
    });
  });
}
