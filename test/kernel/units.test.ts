import { describe, expect, it } from 'vitest';
import { toMicroUsd } from '../../src/kernel/units.js';

/** The definition: the product rounded to 15 significant digits, then to an integer. */
function reference(usd: number, rounding: 'up' | 'nearest' | 'down'): number {
  const scaled = Number((usd * 1_000_000).toPrecision(15));
  return rounding === 'up' ? Math.ceil(scaled) : rounding === 'down' ? Math.floor(scaled) : Math.round(scaled);
}

describe('toMicroUsd', () => {
  it('dodges binary fractions', () => {
    expect(toMicroUsd(0.1)).toBe(100_000);
    expect(toMicroUsd(0.1, 'up')).toBe(100_000);
    expect(toMicroUsd(0.000004 * 3, 'up')).toBe(12);
    expect(toMicroUsd(0.0000015, 'up')).toBe(2);
    expect(toMicroUsd(0.0000015, 'down')).toBe(1);
    expect(toMicroUsd(0)).toBe(0);
  });

  it('equals its definition on prices times token counts and on random values, in every rounding', () => {
    const prices = [0.05, 0.1, 0.15, 0.25, 0.3, 0.4, 0.6, 1.1, 1.25, 2.5, 3, 4.4, 10, 15, 60, 75].map((p) => p / 1_000_000);
    let state = 7;
    const random = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    const values: number[] = [];
    for (const price of prices) for (let tokens = 0; tokens < 5000; tokens += 1) values.push(price * tokens, price * tokens * 1.0000000001);
    for (let i = 0; i < 50_000; i += 1) values.push(random() * 10 ** Math.floor(random() * 12 - 6));
    for (let i = 0; i < 2_000; i += 1) values.push(Math.round(random() * 2 ** 30) / 1_000_000, 999_999_999 + random(), 9_007_199_254 * random());
    // Around half-integers and integers of micro-dollars, where rounding first to 15 digits decides.
    for (let i = 0; i < 20_000; i += 1) {
      const micro = Math.floor(random() * 10 ** Math.floor(random() * 14)) + (random() < 0.5 ? 0.5 : 0);
      const offset = (random() - 0.5) * micro * 10 ** -Math.floor(12 + random() * 5);
      values.push((micro + offset) / 1_000_000, micro / 1_000_000 + offset);
    }
    let checked = 0;
    for (const usd of values) {
      for (const rounding of ['up', 'nearest', 'down'] as const) {
        if (toMicroUsd(usd, rounding) !== reference(usd, rounding)) throw new Error(`toMicroUsd(${usd}, ${rounding}) = ${toMicroUsd(usd, rounding)}, expected ${reference(usd, rounding)}`);
        checked += 1;
      }
    }
    expect(checked).toBe(values.length * 3);
  });
});
