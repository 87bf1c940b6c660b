/**
 * Server-side compaction (beta `compact-2026-01-12`): when the input reaches its trigger, Anthropic
 * runs an extra sampling step that summarises the conversation, billed at the model's rates, and
 * reports it only as a `compaction` entry of `usage.iterations`: "A compaction entry's tokens are
 * not included in the top-level usage fields" (@anthropic-ai/sdk 1.12 `BetaIterationsUsage`).
 */
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, TokenLimitExceededError, withTokenLimits } from '../../src/index.js';
import { estimateAnthropicMessage } from '../../src/providers/anthropic/estimate.js';
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

  describe('the hold of a request that may compact', () => {
    /** A limit that fits the request's own estimate and max_tokens, with room to spare, and no more. */
    async function fitting(params: Record<string, unknown>) {
      const estimate = await estimateAnthropicMessage(params as never);
      return estimate.inputTokens + estimate.outputTokens + 100;
    }
    const compacting = (trigger: number) => ({ ...request, context_management: { edits: [{ type: 'compact_20260112', trigger: { type: 'input_tokens', value: trigger } }] } });
    const cases = [
      { name: 'a compact edit whose trigger the input reaches', params: compacting(10), refused: true },
      { name: 'the compaction parameter (it always compacts)', params: { ...request, context_management: undefined, betas: ['compact-2026-09-04'], compaction: { type: 'summarize' } }, refused: true },
      { name: 'a compact edit whose trigger the input estimate stays below', params: compacting(1_000_000), refused: false },
      { name: 'no compaction', params: { ...request, context_management: undefined, betas: undefined }, refused: false },
    ];
    for (const estimator of ['local', 'provider'] as const) {
      for (const c of cases) {
        it(`estimator '${estimator}', ${c.name}: ${c.refused ? 'holds the compaction step too, so a call it could overspend is refused before it is sent' : 'is held at its own estimate'}`, async () => {
          const params = JSON.parse(JSON.stringify(c.params)) as Record<string, unknown>;
          const limiter = createTokenLimiter({ defaultLimits: [{ id: 'd', tokens: await fitting(params), period: 'day' }] });
          const client = withTokenLimits(new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL }), 'alice', { limiter, estimator });
          const outcome = await client.beta.messages.create(params as never).then(
            () => 'sent',
            (error: unknown) => error,
          );
          if (c.refused) {
            expect(outcome).toBeInstanceOf(TokenLimitExceededError);
            expect(emulator().requests.filter((r) => r.endpoint === 'messages')).toHaveLength(0);
            expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
          } else {
            expect(outcome).toBe('sent');
          }
        });
      }
    }
  });
});

/**
 * The advisor tool (beta `advisor-tool-2026-03-01`): the executor consults a stronger model inside
 * the same request; each consultation is reported as an `advisor_message` entry of
 * `usage.iterations`, and its tokens are not in the top-level fields.
 */
describe('withTokenLimits(anthropic): advisor sub-inferences', () => {
  const advisor = { type: 'advisor_message', model: 'claude-opus-4-8', input_tokens: 9_000, cache_creation_input_tokens: 0, cache_read_input_tokens: 1_000, cache_creation: null, output_tokens: 1_600 };
  const advised = {
    ...request,
    betas: ['advisor-tool-2026-03-01'],
    context_management: undefined,
    tools: [{ type: 'advisor_20260301', name: 'advisor', model: 'claude-opus-4-8' }],
  };
  for (const way of [
    { name: 'beta.messages.create', run: (c: Anthropic) => c.beta.messages.create(advised as never) },
    { name: 'beta.messages.stream()', run: (c: Anthropic) => c.beta.messages.stream(advised as never).finalMessage() },
  ]) {
    it(`${way.name}: the tokens of each consultation are charged on top of the executor's`, async () => {
      const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 10_000_000, period: 'month' }] });
      const client = withTokenLimits(new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL }), 'alice', { limiter });
      emulator().enqueue({ usage: { iterations: [sampling, advisor, advisor] } });
      await way.run(client);
      const top = emulatorTotals(emulator().requests, ['messages']);
      const [record] = await loggedAtLeast(limiter, 1);
      expect(record).toMatchObject({ inputTokens: top.input + 20_000, cachedInputTokens: 2_000, outputTokens: top.output + 3_200, estimated: false });
    });
  }

  it('a request with the advisor tool is held at the context window, as with other server tools: the advisor reads the whole conversation', async () => {
    const estimate = await estimateAnthropicMessage(advised as never);
    const plain = await estimateAnthropicMessage({ ...advised, tools: undefined } as never);
    expect(estimate.inputTokens).toBeGreaterThan(plain.inputTokens + 100_000);
  });
});
