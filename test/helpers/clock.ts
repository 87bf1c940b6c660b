import { createFakeClock } from '../../src/testing/index.js';

/** The public fake clock, taking ISO strings too (shorter tests). */
export function manualClock(start: number | string) {
  const toDate = (v: number | string) => (typeof v === 'string' ? new Date(v) : v);
  const clock = createFakeClock(toDate(start));
  return { now: clock.now, advance: clock.advance, set: (v: number | string) => clock.set(toDate(v)) };
}
