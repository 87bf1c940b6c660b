import { describe, expect, it } from 'vitest';

import { createFakeClock } from '../../src/testing/index.js';

describe('createFakeClock', () => {
  it('starts at the given time and moves only when told', () => {
    const clock = createFakeClock(new Date('2026-03-01T00:00:00Z'));
    const start = Date.UTC(2026, 2, 1);
    expect(clock.now()).toBe(start);
    clock.advance(1500);
    clock.advance(0);
    expect(clock.now()).toBe(start + 1500);
    clock.set(1000);
    expect(clock.now()).toBe(1000);
    clock.set(new Date(5000));
    const { now } = clock;
    expect(now()).toBe(5000);
    expect(createFakeClock().now()).toBe(Date.UTC(2025, 0, 1));
  });

  it('rejects bad input with TypeError or RangeError and keeps its time', () => {
    const clock = createFakeClock(10);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(NaN)).toThrow(RangeError);
    expect(() => clock.advance(Infinity)).toThrow(RangeError);
    expect(() => clock.advance('5' as unknown as number)).toThrow(TypeError);
    expect(() => clock.set(new Date('nope'))).toThrow(RangeError);
    expect(() => clock.set(-5)).toThrow(RangeError);
    expect(() => clock.set(null as unknown as number)).toThrow(TypeError);
    expect(() => createFakeClock(NaN)).toThrow(RangeError);
    expect(() => createFakeClock('2025' as unknown as number)).toThrow(TypeError);
    expect(clock.now()).toBe(10);
  });

  it('refuses a time past the last one a Date holds, and keeps its time', () => {
    // It went there, and new Date(clock.now()) was an Invalid Date in the code under test.
    const clock = createFakeClock(8.64e15 - 10);
    expect(() => clock.advance(11)).toThrow(new RangeError('advance: ms would move the clock past 8640000000000000 (the last time a Date holds), got 11'));
    expect(() => clock.advance(Number.MAX_VALUE)).toThrow(RangeError);
    expect(clock.now()).toBe(8.64e15 - 10);
    clock.advance(10);
    expect(new Date(clock.now()).toISOString()).toBe('+275760-09-13T00:00:00.000Z');
    expect(() => clock.set(8.64e15 + 1)).toThrow(RangeError);
    expect(() => createFakeClock(Number.MAX_SAFE_INTEGER)).toThrow(RangeError);
    expect(clock.now()).toBe(8.64e15);
  });
});
