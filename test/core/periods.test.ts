import { IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import { candidateBoundaries, windowAt, type NormalizedPeriod } from '../../src/engine/periods.js';

/** The instants of 2026 at which `zone` changes its offset (found hour by hour, then to the ms). */
function offsetChanges(zone: string): number[] {
  const iana = IANAZone.create(zone);
  const changes: number[] = [];
  const start = Date.parse('2026-01-01T00:00:00Z');
  for (let t = start; t < start + 366 * 86_400_000; t += 3_600_000) {
    if (iana.offset(t) === iana.offset(t + 3_600_000)) continue;
    let low = t;
    let high = t + 3_600_000;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (iana.offset(middle) === iana.offset(t)) low = middle;
      else high = middle;
    }
    changes.push(high);
  }
  return changes;
}

describe('minute and hour windows around every change of offset of 2026', () => {
  // Whole hours (New York, London), a quarter of an hour off (Chatham jumps 02:45 to 03:45), half an
  // hour of change (Lord Howe sets back 02:00 to 01:30), offsets off the hour without changes (Kathmandu).
  const zones = ['America/New_York', 'Europe/London', 'Pacific/Chatham', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/Sao_Paulo'];
  for (const zone of zones) {
    it(`${zone}: each window holds its instant, is not empty, lasts at most its unit, and meets its neighbours`, () => {
      const changes = offsetChanges(zone);
      const instants = changes.length > 0 ? changes : [Date.parse('2026-06-01T12:00:00Z')];
      for (const [unit, unitMs, step] of [
        ['hour', 3_600_000, 7 * 60_000 + 13_000],
        ['minute', 60_000, 17_000],
      ] as const) {
        const period: NormalizedPeriod = { kind: 'calendar', unit };
        for (const change of instants) {
          for (let t = change - 3 * unitMs; t <= change + 3 * unitMs; t += step) {
            for (const at of [t, change - 1, change, change + 1]) {
              const w = windowAt(period, zone, null, at);
              expect(w.start, `${unit} ${new Date(at).toISOString()}`).toBeLessThanOrEqual(at);
              expect(w.end, `${unit} ${new Date(at).toISOString()}`).toBeGreaterThan(at);
              expect(w.end - w.start).toBeLessThanOrEqual(unitMs);
              expect(windowAt(period, zone, null, w.start - 1).end).toBe(w.start);
              expect(windowAt(period, zone, null, w.end).start).toBe(w.end);
              const [b1, b2, b3, b4] = candidateBoundaries(period, zone, null, at);
              expect(b1 < b2 && b2 < b3 && b3 < b4).toBe(true);
            }
          }
        }
      }
      // Kathmandu and Sao Paulo (no DST since 2019) keep one offset all year.
      expect(changes.length > 0).toBe(zone !== 'Asia/Kathmandu' && zone !== 'America/Sao_Paulo');
    });
  }

  it('starts a unit where the offset changes off the unit, and at the wall-clock :00 elsewhere', () => {
    const hour: NormalizedPeriod = { kind: 'calendar', unit: 'hour' };
    // Chatham, 2026-09-27: 02:45 (+12:45) jumps to 03:45 (+13:45) at 14:00Z.
    expect(windowAt(hour, 'Pacific/Chatham', null, Date.parse('2026-09-26T14:09:39Z'))).toEqual({ start: Date.parse('2026-09-26T14:00:00Z'), end: Date.parse('2026-09-26T14:15:00Z') });
    expect(windowAt(hour, 'Pacific/Chatham', null, Date.parse('2026-09-26T13:59:59Z'))).toEqual({ start: Date.parse('2026-09-26T13:15:00Z'), end: Date.parse('2026-09-26T14:00:00Z') });
    // Lord Howe, 2026-04-05: 02:00 (+11) sets back to 01:30 (+10:30) at 15:00Z.
    expect(windowAt(hour, 'Australia/Lord_Howe', null, Date.parse('2026-04-04T15:10:00Z'))).toEqual({ start: Date.parse('2026-04-04T15:00:00Z'), end: Date.parse('2026-04-04T15:30:00Z') });
    // New York, 2026-11-01: the repeated hour 01:00-02:00 is two windows of an hour each.
    expect(windowAt(hour, 'America/New_York', null, Date.parse('2026-11-01T05:30:00Z'))).toEqual({ start: Date.parse('2026-11-01T05:00:00Z'), end: Date.parse('2026-11-01T06:00:00Z') });
    expect(windowAt(hour, 'America/New_York', null, Date.parse('2026-11-01T06:30:00Z'))).toEqual({ start: Date.parse('2026-11-01T06:00:00Z'), end: Date.parse('2026-11-01T07:00:00Z') });
    // Kathmandu (+05:45): hours start at :15 UTC.
    expect(windowAt(hour, 'Asia/Kathmandu', null, Date.parse('2026-03-10T12:20:00Z'))).toEqual({ start: Date.parse('2026-03-10T12:15:00Z'), end: Date.parse('2026-03-10T13:15:00Z') });
  });
});
