/** Units: costs are kept as integer micro-dollars so that stores add integers, never floats. */

/** Largest cost accepted, in US dollars: its micro-dollar value stays a safe integer. */
export const MAX_COST_USD = Math.floor(Number.MAX_SAFE_INTEGER / 1_000_000);


/** US dollars to integer micro-dollars. `up` rounds holds and limits conservatively. */
export function toMicroUsd(usd: number, rounding: 'up' | 'nearest' | 'down' = 'nearest'): number {
  const product = usd * 1_000_000;
  // Taken directly where the definition below (rounding to 15 significant digits first) cannot
  // give another result, since toPrecision costs microseconds:
  // - most products are within float error of an integer below 1e15: closer to it than half a
  //   unit of their 15th significant digit (5e-16 of the value is less than that), so rounding
  //   them to 15 digits gives that integer;
  // - a product farther than 1e-14 of its value from every integer (up, down) or half-integer
  //   (nearest) rounds as its 15-digit form does, which is within 5e-15 of it: no boundary of
  //   the rounding lies between the two.
  if (Math.abs(product) < 1e15) {
    const nearest = Math.round(product);
    const distance = Math.abs(product - nearest);
    const margin = Math.abs(product) * 1e-14;
    if (distance < Math.abs(product) * 5e-16) return nearest;
    if (distance > margin) {
      if (rounding === 'up') return Math.ceil(product);
      if (rounding === 'down') return Math.floor(product);
      if (0.5 - distance > margin) return nearest;
    }
  }
  // Scale in two steps to dodge binary fractions: 0.1 * 1e6 = 100000.00000000001.
  const scaled = Number(product.toPrecision(15));
  if (rounding === 'up') return Math.ceil(scaled);
  if (rounding === 'down') return Math.floor(scaled);
  return Math.round(scaled);
}

export function fromMicroUsd(micro: number): number {
  return micro / 1_000_000;
}

/**
 * What a rule has left: `limit − used − reserved`, never below 0. Cost figures are whole
 * micro-dollars in the stores, so they are subtracted as such: a $0.30 limit with $0.25 used leaves
 * 0.05, not 0.04999999999999999.
 */
export function remainingOf(metric: string, limit: number, used: number, reserved: number): number {
  if (metric !== 'costUsd') return Math.max(0, limit - used - reserved);
  return fromMicroUsd(Math.max(0, toMicroUsd(limit) - toMicroUsd(used) - toMicroUsd(reserved)));
}
