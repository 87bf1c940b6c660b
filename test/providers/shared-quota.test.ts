import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { GoogleGenerativeAI } from '@google/generative-ai';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, runWithUser, TokenLimitExceededError } from '../../src/index.js';
import { useEmulator } from '../emulator/harness.js';
import { emulatorTotals, usageLog } from './helpers.js';

const emulator = useEmulator();

function clients(limiter: ReturnType<typeof createTokenLimiter>) {
  const e = emulator();
  return {
    openai: limiter.wrap(new OpenAI({ apiKey: 'test', baseURL: e.openaiBaseURL })),
    anthropic: limiter.wrap(new Anthropic({ apiKey: 'test', baseURL: e.anthropicBaseURL })),
    gemini: limiter.wrap(new GoogleGenerativeAI('test')).getGenerativeModel({ model: 'gemini-2.5-flash' }, { baseUrl: e.googleBaseUrl }),
    genai: limiter.wrap(new GoogleGenAI({ apiKey: 'test', httpOptions: { baseUrl: e.googleBaseUrl } })),
  };
}

const ask = 'Name one city in Portugal.';
const calls = {
  openai: (c: ReturnType<typeof clients>) => c.openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: ask }], max_completion_tokens: 30 }),
  anthropic: (c: ReturnType<typeof clients>) => c.anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 30, messages: [{ role: 'user', content: ask }] }),
  gemini: (c: ReturnType<typeof clients>) => c.gemini.generateContent({ contents: [{ role: 'user', parts: [{ text: ask }] }], generationConfig: { maxOutputTokens: 30 } }),
  genai: (c: ReturnType<typeof clients>) => c.genai.models.generateContent({ model: 'gemini-2.5-flash', contents: ask, config: { maxOutputTokens: 30 } }),
};

describe('one quota shared by every provider', () => {
  it('charges calls through four SDK clients to one user and one limit, exactly', async () => {
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'monthly', tokens: 100_000, period: 'month' }] });
    const c = clients(limiter);
    await runWithUser('ana', async () => {
      for (const call of Object.values(calls)) await call(c);
    });
    const records = await usageLog(limiter);
    expect(records.map((r) => r.provider).sort()).toEqual(['anthropic', 'google', 'google', 'openai']);
    const want = emulatorTotals(emulator().requests);
    expect(await limiter.admin.getUsage('ana')).toMatchObject({ used: want.input + want.output, reserved: 0 });
  });

  it('a quota used up through one provider refuses the others before they send anything', async () => {
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'daily', requests: 2, period: 'day' }] });
    const c = clients(limiter);
    await runWithUser('bruno', async () => {
      await calls.openai(c);
      await calls.anthropic(c);
      emulator().clearRequests();
      for (const name of ['openai', 'anthropic', 'gemini', 'genai'] as const) {
        await expect(calls[name](c), name).rejects.toBeInstanceOf(TokenLimitExceededError);
      }
    });
    expect(emulator().requests).toHaveLength(0);
    expect(await limiter.admin.getUsage('bruno')).toMatchObject({ used: 2, reserved: 0 });
  });

  it('never overspends under concurrent calls spread over the providers', async () => {
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'hourly', requests: 9, period: 'hour' }] });
    const c = clients(limiter);
    const names = Object.keys(calls) as Array<keyof typeof calls>;
    const outcomes = await runWithUser('carla', () =>
      Promise.allSettled(Array.from({ length: 40 }, (_, i) => calls[names[i % names.length]!](c))),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(9);
    expect(emulator().requests).toHaveLength(9);
    expect((await limiter.admin.getUsage('carla')).used).toBe(9);
  });
});
