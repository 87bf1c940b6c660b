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
  return DateTime.fromMillis(userAnchor, { zone }).startOf('day').toMillis();
}

/** The window of `period` that contains instant `t` (ms since epoch). */
export function windowAt(period: NormalizedPeriod, zone: string, anchor: number | null, t: number): PeriodWindow {
  if (period.kind === 'calendar') return calendarWindow(period.unit, zone, t);
  if (anchor === null) throw new Error('an anchored period needs an anchor');
  const base = DateTime.fromMillis(anchor, { zone });
  const step = (k: number): number =>
    (period.kind === 'days' ? base.plus({ days: k * period.count }) : base.plus({ months: k * period.count })).toMillis();
  // First guess from the mean length, then walk to the exact window (DST and month lengths vary).
  const meanMs = period.kind === 'days' ? period.count * 86_400_000 : period.count * 30.436875 * 86_400_000;
  let k = Math.floor((t - anchor) / meanMs);
  while (step(k) > t) k -= 1;
  while (step(k + 1) <= t) k += 1;
  return { start: step(k), end: step(k + 1) };
}

function calendarWindow(unit: CalendarPeriod, zone: string, t: number): PeriodWindow {
  const start = startOfUnit(DateTime.fromMillis(t, { zone }), unit);
  // Adding one unit at the wall clock can land in a DST gap or on a shifted hour; the next window
  // starts where the local calendar says it does, so take the start of the unit that follows.
  let end = startOfUnit(start.plus({ [unit]: 1 }), unit);
  if (end.toMillis() <= start.toMillis()) end = startOfUnit(start.plus({ [unit]: 1, hours: 1 }), unit);
  return { start: start.toMillis(), end: end.toMillis() };
}

function startOfUnit(dt: DateTime, unit: CalendarPeriod): DateTime {
  // Where local midnight does not exist (a DST change at 00:00, as in America/Santiago), luxon moves
  // the wall time forward to the first instant of the local date, which is the boundary we want.
  return dt.startOf(unit);
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
