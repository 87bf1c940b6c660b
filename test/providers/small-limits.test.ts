import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, TokenLimitExceededError, withTokenLimits } from '../../src/index.js';
import { expectedUsage } from '../../src/testing/index.js';
import { useEmulator } from '../emulator/harness.js';
import { usageLog } from './helpers.js';

/**
 * A small limit, as a new user sets one: 2,000 tokens per 30 days, calls without an output maximum.
 * By default the first call is refused, and the refusal says how much the request needs; with
 * `onInsufficientQuota: 'shrink'` the request's output maximum is lowered to what is left, for every
 * provider, and the call goes through charged exactly.
 */
const emulator = useEmulator();
const LIMIT = 2_000;
const question = 'What is the weather in Lisbon today? Answer in a few words.';

interface Case {
  name: string;
  /** Makes the call through a wrapped client. */
  call(limiter: ReturnType<typeof createTokenLimiter>, user: string): Promise<unknown>;
  /** The output maximum the provider received. */
  sentMaximum(body: Record<string, any>): number | undefined;
}

const cases: Case[] = [
  {
    name: 'openai chat.completions (no max_completion_tokens)',
    call: (limiter, user) =>
      withTokenLimits(new OpenAI({ apiKey: 't', baseURL: emulator().openaiBaseURL }), user, { limiter }).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: question }],
      }),
    sentMaximum: (b) => b.max_completion_tokens ?? b.max_tokens,
  },
  {
    name: 'openai responses (no max_output_tokens)',
    call: (limiter, user) =>
      withTokenLimits(new OpenAI({ apiKey: 't', baseURL: emulator().openaiBaseURL }), user, { limiter }).responses.create({ model: 'gpt-4.1-mini', input: question }),
    sentMaximum: (b) => b.max_output_tokens,
  },
  {
    name: 'anthropic messages (max_tokens above what is left)',
    call: (limiter, user) =>
      withTokenLimits(new Anthropic({ apiKey: 't', baseURL: emulator().anthropicBaseURL }), user, { limiter }).messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 8_000,
        messages: [{ role: 'user', content: question }],
      }),
    sentMaximum: (b) => b.max_tokens,
  },
  {
    name: '@google/genai models.generateContent (no maxOutputTokens)',
    call: (limiter, user) =>
      withTokenLimits(new GoogleGenAI({ apiKey: 't', httpOptions: { baseUrl: emulator().googleBaseUrl } }), user, { limiter }).models.generateContent({
        model: 'gemini-2.0-flash',
        contents: question,
      }),
    sentMaximum: (b) => b.generationConfig?.maxOutputTokens,
  },
];

describe('small limits: 2,000 tokens per 30 days, no output maximum in the request', () => {
  for (const c of cases) {
    describe(c.name, () => {
      it('refuses by default, and the error says how much the request needs and how much is left', async () => {
        const limiter = createTokenLimiter({ defaultLimits: [{ id: 'small', tokens: LIMIT, period: { days: 30 } }] });
        const error = await c.call(limiter, 'newcomer').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TokenLimitExceededError);
        const refused = error as TokenLimitExceededError;
        expect(refused.requested).toBeGreaterThan(LIMIT);
        expect(refused.remaining).toBe(LIMIT);
        expect(refused.message).toContain(`needs about ${refused.requested}`);
        expect(emulator().requests).toHaveLength(0);
        await limiter.close();
      });

      it("with onInsufficientQuota: 'shrink', lowers the output maximum to what is left and charges the exact usage", async () => {
        const limiter = createTokenLimiter({ defaultLimits: [{ id: 'small', tokens: LIMIT, period: { days: 30 } }], onInsufficientQuota: 'shrink' });
        await c.call(limiter, 'newcomer');
        expect(emulator().requests).toHaveLength(1);
        const request = emulator().requests[0]!;
        const sent = c.sentMaximum(request.body as Record<string, any>);
        expect(sent).toBeGreaterThanOrEqual(16); // minShrunkOutput
        expect(sent).toBeLessThan(LIMIT);
        await limiter.flush();
        const [record] = await usageLog(limiter);
        const want = expectedUsage(request);
        expect(record).toMatchObject({ estimated: false, inputTokens: want.inputTokens, outputTokens: want.outputTokens });
        const usage = await limiter.admin.getUsage('newcomer');
        expect(usage.used).toBe(want.inputTokens + want.outputTokens);
        expect(usage.used + usage.reserved).toBeLessThanOrEqual(LIMIT);
        await limiter.close();
      });

      it("with 'shrink', still refuses when less than minShrunkOutput would be left for the output", async () => {
        const limiter = createTokenLimiter({ defaultLimits: [{ id: 'small', tokens: LIMIT, period: { days: 30 } }], onInsufficientQuota: 'shrink', minShrunkOutput: LIMIT });
        await expect(c.call(limiter, 'newcomer')).rejects.toBeInstanceOf(TokenLimitExceededError);
        expect(emulator().requests).toHaveLength(0);
        await limiter.close();
      });
    });
  }
});

describe("small limits with 'shrink': requests that cannot be lowered are refused, never sent with a smaller hold", () => {
  const rules = [{ id: 'small', tokens: LIMIT, period: { days: 30 } }] as const;

  it('a streamed chat completion is lowered too, and its exact usage charged', async () => {
    const limiter = createTokenLimiter({ defaultLimits: [...rules], onInsufficientQuota: 'shrink' });
    const openai = withTokenLimits(new OpenAI({ apiKey: 't', baseURL: emulator().openaiBaseURL }), 'streamer', { limiter });
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: question }], stream: true });
    for await (const _ of stream) void _;
    const body = emulator().requests[0]!.body as Record<string, any>;
    expect(body.max_completion_tokens).toBeGreaterThanOrEqual(16);
    expect(body.max_completion_tokens).toBeLessThan(LIMIT);
    await limiter.flush();
    const usage = await limiter.admin.getUsage('streamer');
    const want = expectedUsage(emulator().requests[0]!);
    expect(usage.used).toBe(want.inputTokens + want.outputTokens);
    await limiter.close();
  });

  it('a chat completion with n: 2 (the maximum applies to each choice) is refused', async () => {
    const limiter = createTokenLimiter({ defaultLimits: [...rules], onInsufficientQuota: 'shrink' });
    const openai = withTokenLimits(new OpenAI({ apiKey: 't', baseURL: emulator().openaiBaseURL }), 'twice', { limiter });
    await expect(openai.chat.completions.create({ model: 'gpt-4o-mini', n: 2, messages: [{ role: 'user', content: question }] })).rejects.toBeInstanceOf(TokenLimitExceededError);
    expect(emulator().requests).toHaveLength(0);
    await limiter.close();
  });

  it('an @google/genai chat message goes through the models it wraps, lowered like theirs', async () => {
    const limiter = createTokenLimiter({ defaultLimits: [...rules], onInsufficientQuota: 'shrink' });
    const ai = withTokenLimits(new GoogleGenAI({ apiKey: 't', httpOptions: { baseUrl: emulator().googleBaseUrl } }), 'chatter', { limiter });
    const chat = ai.chats.create({ model: 'gemini-2.0-flash', config: { systemInstruction: 'Answer briefly.' } });
    await chat.sendMessage({ message: question });
    const body = emulator().requests[0]!.body as Record<string, any>;
    expect(body.generationConfig.maxOutputTokens).toBeGreaterThanOrEqual(16);
    expect(body.generationConfig.maxOutputTokens).toBeLessThan(LIMIT);
    expect(JSON.stringify(body.systemInstruction)).toContain('Answer briefly.'); // the chat's config is kept
    await limiter.flush();
    const usage = await limiter.admin.getUsage('chatter');
    expect(usage.used).toBeLessThanOrEqual(LIMIT);
    await limiter.close();
  });
});
