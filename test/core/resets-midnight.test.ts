import { describe, expect, it } from 'vitest';
import { windowAt, type NormalizedPeriod } from '../../src/engine/periods.js';
import { createTokenLimiter } from '../../src/index.js';
import { bothStores } from '../helpers/both-stores.js';
import { manualClock } from '../helpers/clock.js';

// Where clocks are set back at midnight (America/Havana: 01:00 back to 00:00 on the first Sunday of
// November; Atlantic/Azores: the same at 01:00 UTC on the last Sunday of October), the hour after
// midnight happens twice. A day, month or year window computed from the second pass of that hour
// started at the second midnight, an hour after the date began: its reported start was wrong, and
// the window before it no longer met it.

const stores = await bothStores('resets-midnight');
const at = (iso: string) => Date.parse(iso);

describe('calendar windows where midnight happens twice', () => {
  const cases: Array<{ zone: string; unit: 'day' | 'month'; t: string; start: string; end: string }> = [
    // Havana, 2026-11-01: 00:00 -04 (04:00Z), then 01:00 -04 goes back to 00:00 -05 (05:00Z).
    { zone: 'America/Havana', unit: 'day', t: '2026-11-01T05:30:00Z', start: '2026-11-01T04:00:00Z', end: '2026-11-02T05:00:00Z' },
    { zone: 'America/Havana', unit: 'day', t: '2026-11-01T05:00:00Z', start: '2026-11-01T04:00:00Z', end: '2026-11-02T05:00:00Z' },
    { zone: 'America/Havana', unit: 'day', t: '2026-11-01T04:30:00Z', start: '2026-11-01T04:00:00Z', end: '2026-11-02T05:00:00Z' },
    { zone: 'America/Havana', unit: 'month', t: '2026-11-01T05:30:00Z', start: '2026-11-01T04:00:00Z', end: '2026-12-01T05:00:00Z' },
    // Azores, 2026-10-25: 00:00 +00 (00:00Z), then 01:00 +00 goes back to 00:00 -01 (01:00Z).
    { zone: 'Atlantic/Azores', unit: 'day', t: '2026-10-25T01:30:00Z', start: '2026-10-25T00:00:00Z', end: '2026-10-26T01:00:00Z' },
  ];
  for (const c of cases) {
    it(`${c.zone} ${c.unit} at ${c.t}: starts at the first midnight and meets the window before`, () => {
      const period: NormalizedPeriod = { kind: 'calendar', unit: c.unit };
      const w = windowAt(period, c.zone, null, at(c.t));
      expect({ start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() }).toEqual({
        start: new Date(at(c.start)).toISOString(),
        end: new Date(at(c.end)).toISOString(),
      });
      expect(windowAt(period, c.zone, null, w.start - 1).end).toBe(w.start);
      expect(windowAt(period, c.zone, null, w.end).start).toBe(w.end);
    });
  }
});

for (const store of stores) {
  describe(`${store.name}: a first call in the repeated hour after midnight (America/Havana)`, () => {
    it('reports the day and the user period start date from the first midnight', async () => {
      const clock = manualClock('2026-11-01T05:30:00Z');
      const limiter = createTokenLimiter({
        store: store.create(),
        clock: clock.now,
        defaultLimits: [
          { id: 'daily', tokens: 100, period: 'day', timeZone: 'America/Havana' },
          { id: 'rolling', tokens: 100, period: { days: 7 }, timeZone: 'America/Havana' },
        ],
      });
      const r = await limiter.reserve('u', { tokens: 10 });
      expect(r.windows.map((w) => [w.ruleId, w.periodStart.toISOString(), w.resetAt.toISOString()])).toEqual([
        ['daily', '2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z'],
        ['rolling', '2026-11-01T04:00:00.000Z', '2026-11-08T05:00:00.000Z'],
      ]);
      await limiter.close();
    });
  });
}
