import { expect, it } from 'vitest';
import { createTokenLimiter } from '../../src/index.js';

it('a model glob matches any characters, line breaks included: a crafted model name does not escape the rule', async () => {
  const limiter = createTokenLimiter({ defaultLimits: [{ id: 'all', tokens: 1_000_000, period: 'month' }] });
  await limiter.admin.setLimits('u', [
    { id: 'all', tokens: 1_000_000, period: 'month' },
    { id: 'premium', tokens: 100, period: 'month', models: ['gpt-4o*'] },
  ]);
  for (const model of ['gpt-4o-mini', 'GPT-4O', 'gpt-4o\n-mini', 'gpt-4o\r', 'gpt-4o\u2028x', 'gpt-4o\u2029']) {
    expect(await limiter.check('u', { tokens: 101, model }), JSON.stringify(model)).toMatchObject({ allowed: false });
  }
  expect(await limiter.check('u', { tokens: 101, model: 'gpt-4\n' })).toMatchObject({ allowed: true });
});
