import { describe, expect, it } from 'vitest';
import { createTokenLimiter, InvalidArgumentError, MemoryStore } from '../../src/index.js';
import { manualClock } from '../helpers/clock.js';

// luxon reads an ISO time without a date ("10:00") as that time today, by the machine's clock.
// Such an anchor was accepted, and moved every day: rules are read again from the store by every
// process, so each process and each day had its own anchor, its own windows and its own fingerprint,
// and usage started from zero whenever the day changed.

describe('an anchor string without a date', () => {
  for (const anchor of ['10:00', '10:00:00', '23:59:59.999']) {
    it(`refuses ${JSON.stringify(anchor)} naming the anchor, and changes nothing`, async () => {
      const clock = manualClock('2026-03-10T12:00:00Z');
      const limiter = createTokenLimiter({ store: new MemoryStore(), clock: clock.now });
      const rules = [{ id: 'r', tokens: 100, period: { days: 7, anchor: '2026-03-01' } }];
      await limiter.admin.setLimits('u', rules);
      const error = await limiter.admin.setLimits('u', [{ id: 'r', tokens: 100, period: { days: 7, anchor } }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ parameter: 'rules[0].period.anchor', value: anchor });
      expect(await limiter.admin.getLimits('u')).toEqual(rules);
      expect(() => createTokenLimiter({ defaultLimits: [{ id: 'r', tokens: 1, period: { months: 1, anchor } }] })).toThrow(
        expect.objectContaining({ parameter: 'options.defaultLimits[0].period.anchor' }),
      );
      await limiter.close();
    });
  }
});

// An app that sets luxon's `Settings.throwOnInvalid` (luxon's typings recommend it) shares that
// setting with this package: an invalid anchor then made luxon throw its own Error, which the admin
// API answered with a 500 rather than a 400 naming the anchor.
describe('an invalid anchor when the app set luxon to throw on invalid dates', () => {
  it('is refused with InvalidArgumentError naming the anchor', async () => {
    const { Settings } = await import('luxon');
    const before = Settings.throwOnInvalid;
    Settings.throwOnInvalid = true;
    try {
      for (const anchor of ['2026-02-30', '2026-13-01', '2026-01-15T25:00']) {
        expect(() => createTokenLimiter({ defaultLimits: [{ id: 'r', tokens: 1, period: { months: 1, anchor } }] })).toThrow(
          expect.objectContaining({ name: 'InvalidArgumentError', parameter: 'options.defaultLimits[0].period.anchor', value: anchor }),
        );
      }
    } finally {
      Settings.throwOnInvalid = before;
    }
  });
});
