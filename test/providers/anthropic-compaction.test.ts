/**
 * Server-side compaction (beta `compact-2026-01-12`): when the input reaches its trigger, Anthropic
 * runs an extra sampling step that summarises the conversation, billed at the model's rates, and
 * reports it only as a `compaction` entry of `usage.iterations`: "A compaction entry's tokens are
 * not included in the top-level usage fields" (@anthropic-ai/sdk 1.12 `BetaIterationsUsage`).
 */
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, withTokenLimits } from '../../src/index.js';
import { collect, useEmulator } from '../emulator/harness.js';
import { emulatorTotals, loggedAtLeast } from './helpers.js';

const emulator = useEmulator();
const MODEL = 'claude-sonnet-4-5';
const request = {
  model: MODEL,
  max_tokens: 300,
  betas: ['compact-2026-01-12'],
  context_management: { edits: [{ type: 'compact_20260112' }] },
  messages: [{ role: 'user' as const, content: 'Go on with the refactoring plan.' }],
};

/** The compaction step's own usage, and a sampling step's (already in the top-level fields). */
const compaction = {
  type: 'compaction',
  input_tokens: 150_000,
  cache_creation_input_tokens: 2_000,
  cache_read_input_tokens: 30_000,
  cache_creation: { ephemeral_5m_input_tokens: 2_000, ephemeral_1h_input_tokens: 0 },
  output_tokens: 3_500,
};
const sampling = { type: 'message', model: MODEL, input_tokens: 40, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, cache_creation: null, output_tokens: 20 };

const ways = [
  { name: 'beta.messages.create', run: (c: Anthropic) => c.beta.messages.create(request as never) },
  { name: 'beta.messages.create({ stream: true })', run: async (c: Anthropic) => collect((await c.beta.messages.create({ ...request, stream: true } as never)) as unknown as AsyncIterable<unknown>) },
  { name: 'beta.messages.stream()', run: (c: Anthropic) => c.beta.messages.stream(request as never).finalMessage() },
];

describe('withTokenLimits(anthropic): server-side compaction', () => {
  for (const way of ways) {
    it(`${way.name}: the compaction step's tokens are charged on top of the top-level usage (sampling steps are not counted twice)`, async () => {
      const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 10_000_000, period: 'month' }] });
      const client = withTokenLimits(new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL }), 'alice', { limiter });
      emulator().enqueue({ usage: { iterations: [compaction, sampling] } });
      await way.run(client);
      const top = emulatorTotals(emulator().requests, ['messages']);
      const [record] = await loggedAtLeast(limiter, 1);
      expect(record).toMatchObject({
        inputTokens: top.input + 182_000,
        cachedInputTokens: 30_000,
        outputTokens: top.output + 3_500,
        estimated: false,
        status: 'ok',
      });
      expect((await limiter.admin.getUsage('alice')).used).toBe(top.input + top.output + 185_500);
    });
  }

  it('a compaction entry with a malformed count makes the usage an estimate, never NaN', async () => {
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 10_000_000, period: 'month' }] });
    const client = withTokenLimits(new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL }), 'alice', { limiter });
    emulator().enqueue({ usage: { iterations: [{ ...compaction, output_tokens: '3500' }] } });
    await client.beta.messages.create(request as never);
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: true });
    expect(Number.isSafeInteger(record!.totalTokens)).toBe(true);
  });
});
