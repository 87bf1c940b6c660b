import { describe, expect, it } from 'vitest';
import { createTokenLimiter, InvalidArgumentError, type AlertEvent } from '../../src/index.js';

describe('alert thresholds finer than a thousandth of the limit', () => {
  it.each([0.0001, 0.0004])('%s is refused naming it, rather than kept as 0 (an alert at the first token)', (t) => {
    const error = (() => {
      try {
        createTokenLimiter({ alertThresholds: [0.5, t] });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ parameter: 'options.alertThresholds[1]', value: t });
  });

  it('0.0005 and above are kept to the thousandth: 0.001 fires at 1 of 1,000 tokens, not before', async () => {
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }], alertThresholds: [0.0005] });
    const alerts: AlertEvent[] = [];
    limiter.on('alert', (a) => alerts.push(a));
    await limiter.commit(await limiter.reserve('u', { tokens: 0 }), { inputTokens: 0, outputTokens: 0 });
    expect(alerts).toEqual([]);
    await limiter.commit(await limiter.reserve('u', { tokens: 1 }), { inputTokens: 1, outputTokens: 0 });
    expect(alerts).toMatchObject([{ threshold: 0.001, used: 1 }]);
  });
});
