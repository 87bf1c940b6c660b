import { DateTime, IANAZone } from 'luxon';
import type { CalendarPeriod } from '../kernel/types.js';

/**
 * Period arithmetic. Boundaries are computed here, in TypeScript, because only here are IANA time
 * zones known; the store then picks among three consecutive windows with its own clock (see
 * `candidateBoundaries`), so one clock decides which window is current.
 */

export type NormalizedPeriod =
  | { kind: 'calendar'; unit: CalendarPeriod }
  | { kind: 'days'; count: number; anchor: number | null }
  | { kind: 'months'; count: number; anchor: number | null };

export interface PeriodWindow {
  start: number;
  end: number;
}

export const CALENDAR_PERIODS: readonly CalendarPeriod[] = ['minute', 'hour', 'day', 'week', 'month', 'year'];

export function isValidTimeZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

/** Does the period count from an anchor (the rule's, or else the user's period start date)? */
export function needsAnchor(period: NormalizedPeriod): boolean {
  return period.kind !== 'calendar';
}

/**
 * The anchor a rule counts from: its own, else the start of the local day (in the rule's zone) of
 * the user's period start date, so that periods renew at midnight rather than at the minute the
 * user first called.
 */
export function effectiveAnchor(period: NormalizedPeriod, zone: string, userAnchor: number | null): number | null {
  if (period.kind === 'calendar') return null;
  if (period.anchor !== null) return period.anchor;
  if (userAnchor === null) return null;
  return startOfUnit(DateTime.fromMillis(userAnchor, { zone }), 'day').toMillis();
}

/**
 * What an account's rule without an anchor of its own counts from: an account has no first call
 * of its own to start from (its members come and go), so it counts from local midnight of
 * 1970-01-01 in the rule's zone: `{ months: 1 }` is then the calendar month, `{ months: 3 }` the
 * calendar quarter, `{ days: 7 }` weeks from a Thursday. The same instant in every process.
 */
export function accountAnchor(zone: string): number {
  return startOfUnit(DateTime.fromObject({ year: 1970, month: 1, day: 1 }, { zone }), 'day').toMillis();
}

/** The window of `period` that contains instant `t` (ms since epoch). */
export function windowAt(period: NormalizedPeriod, zone: string, anchor: number | null, t: number): PeriodWindow {
  if (period.kind === 'calendar') return calendarWindow(period.unit, zone, t);
  if (anchor === null) throw new Error('an anchored period needs an anchor');
  const step = anchoredSteps(period, zone, anchor);
  // First guess from the mean length, then walk to the exact window (DST and month lengths vary).
  const meanMs = period.kind === 'days' ? period.count * 86_400_000 : period.count * 30.436875 * 86_400_000;
  let k = Math.floor((t - anchor) / meanMs);
  while (step(k) > t) k -= 1;
  while (step(k + 1) <= t) k += 1;
  return { start: step(k), end: step(k + 1) };
}

/**
 * The start of window `k` of an anchored period (window 0 starts at the anchor), counted from the
 * anchor each time, never from the window before. An anchor at the first instant of its local date
 * (a date-only anchor, the user's period start date) renews at the first instant of each date: where
 * the anchor's own midnight did not exist (America/Santiago's 2026-09-06 starts at 01:00), the
 * anchor is 01:00, and adding days or months to it kept 01:00 for every later window.
 */
function anchoredSteps(period: Extract<NormalizedPeriod, { kind: 'days' | 'months' }>, zone: string, anchor: number): (k: number) => number {
  const base = DateTime.fromMillis(anchor, { zone });
  const units = (k: number) => (period.kind === 'days' ? { days: k * period.count } : { months: k * period.count });
  if (startOfUnit(base, 'day').toMillis() !== anchor) return (k) => base.plus(units(k)).toMillis();
  // Date arithmetic on the local date alone (clamped to shorter months as luxon does), then the first instant of that date.
  const date = DateTime.fromObject({ year: base.year, month: base.month, day: base.day }, { zone: 'UTC' });
  return (k) => {
    const d = date.plus(units(k));
    return startOfUnit(DateTime.fromObject({ year: d.year, month: d.month, day: d.day }, { zone }), 'day').toMillis();
  };
}

function calendarWindow(unit: CalendarPeriod, zone: string, t: number): PeriodWindow {
  if (unit === 'minute') return clockWindow(60_000, zone, t);
  if (unit === 'hour') return clockWindow(3_600_000, zone, t);
  const start = startOfUnit(DateTime.fromMillis(t, { zone }), unit);
  // Adding one unit at the wall clock can land in a DST gap or on a shifted hour; the next window
  // starts where the local calendar says it does, so take the start of the unit that follows.
  let end = startOfUnit(start.plus({ [unit]: 1 }), unit);
  if (end.toMillis() <= start.toMillis()) end = startOfUnit(start.plus({ [unit]: 1, hours: 1 }), unit);
  return { start: start.toMillis(), end: end.toMillis() };
}

/**
 * A minute or hour window: from the last wall-clock start of the unit (:00) or change of the zone's
 * offset at or before `t`, to the first after it. A change of offset starts a unit of its own where
 * it does not fall on a unit's start: clocks that jump into the middle of an hour (Pacific/Chatham,
 * 02:45 to 03:45) begin hour 3 at the jump, and clocks set back by half an hour (Australia/
 * Lord_Howe, 02:00 to 01:30) begin a half hour of their own. Luxon's `startOf('hour')` moves a
 * start that falls in a jump past the jump's end (04:00 for the Chatham case, after `t`), and the
 * windows were then empty or did not hold `t`.
 */
function clockWindow(unitMs: number, zone: string, t: number): PeriodWindow {
  const iana = IANAZone.create(zone);
  const offsetAt = (x: number): number => iana.offset(x);
  const offset = offsetAt(t);
  const local = t + offset * 60_000;
  let start = t - (((local % unitMs) + unitMs) % unitMs);
  let end = start + unitMs;
  // At most one change of offset falls in a unit: find it where the ends of the unit say there is one.
  if (offsetAt(start) !== offset) start = firstInstant(start, t, (x) => offsetAt(x) === offset);
  if (offsetAt(end - 1) !== offset) end = firstInstant(t, end - 1, (x) => offsetAt(x) !== offset);
  return { start, end };
}

/** The first instant of (`after`, `last`] at which `holds` is true, `holds(last)` being true and `holds` monotonic there. */
function firstInstant(after: number, last: number, holds: (x: number) => boolean): number {
  let low = after;
  let high = last;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (holds(middle)) high = middle;
    else low = middle;
  }
  return high;
}

/** The first instant of the local day, week, month or year that holds `dt`. */
function startOfUnit(dt: DateTime, unit: CalendarPeriod): DateTime {
  // Where local midnight does not exist (a DST change at 00:00, as in America/Santiago), luxon moves
  // the wall time forward to the first instant of the local date, which is the boundary we want.
  const start = dt.startOf(unit);
  // Where clocks are set back at midnight (America/Havana, Atlantic/Azores: 01:00 back to 00:00),
  // midnight happens twice, and luxon takes the offset of `dt`: from the second pass of that hour it
  // gives the second midnight, an hour after the date began. The unit starts at the first.
  const earlier = DateTime.fromMillis(start.toMillis() - 1, { zone: dt.zone }).startOf(unit);
  return earlier.toMillis() < start.toMillis() && earlier.toISODate() === start.toISODate() ? earlier : start;
}

/**
 * Four boundaries delimiting the window before, the window containing and the window after `t`:
 * the store chooses among them with its own clock, so app servers whose clocks are off by less than
 * a window still agree.
 */
export function candidateBoundaries(
  period: NormalizedPeriod,
  zone: string,
  anchor: number | null,
  t: number,
): [number, number, number, number] {
  const current = windowAt(period, zone, anchor, t);
  const previous = windowAt(period, zone, anchor, current.start - 1);
  const next = windowAt(period, zone, anchor, current.end);
  return [previous.start, current.start, current.end, next.end];
}
