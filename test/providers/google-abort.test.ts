/**
 * `@google/genai` calls whose `config.abortSignal` is aborted before the request is sent (before
 * the call, or while its reservation is on its way to the store): the SDK rejects with its abort
 * error and sends nothing, so the call must charge nothing.
 */
import { GoogleGenAI } from '@google/genai';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, withTokenLimits } from '../../src/index.js';
import { useEmulator } from '../emulator/harness.js';
import { usageLog } from './helpers.js';
import { slowStore } from './matrix.js';

const emulator = useEmulator();
// A thinking model: an aborted call of it is charged its whole hold when the request was sent.
const MODEL = 'gemini-2.5-flash';

const ways = [
  { name: 'models.generateContent', run: (ai: GoogleGenAI, abortSignal: AbortSignal) => ai.models.generateContent({ model: MODEL, contents: 'Tell me about Lisbon.', config: { abortSignal } }) },
  {
    name: 'models.generateContentStream',
    run: async (ai: GoogleGenAI, abortSignal: AbortSignal) => {
      for await (const chunk of await ai.models.generateContentStream({ model: MODEL, contents: 'Tell me about Lisbon.', config: { abortSignal } })) void chunk;
    },
  },
  { name: 'chats.create().sendMessage', run: (ai: GoogleGenAI, abortSignal: AbortSignal) => ai.chats.create({ model: MODEL }).sendMessage({ message: 'Tell me about Lisbon.', config: { abortSignal } }) },
];

async function nothingCharged(limiter: ReturnType<typeof createTokenLimiter>): Promise<void> {
  await limiter.flush();
  expect(emulator().requests).toHaveLength(0);
  expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: 0, reserved: 0 });
  expect(await usageLog(limiter)).toHaveLength(0);
}

describe('withTokenLimits(@google/genai): a call aborted before its request is sent', () => {
  for (const way of ways) {
    it(`${way.name}, aborted before the call: the SDK's abort error, as from the bare client; nothing sent, nothing charged`, async () => {
      const controller = new AbortController();
      controller.abort();
      const bare = await way.run(new GoogleGenAI({ apiKey: 'test', httpOptions: { baseUrl: emulator().googleBaseUrl } }), controller.signal).catch((e: unknown) => e);
      expect(bare).toMatchObject({ name: 'AbortError' });
      const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] });
      const ai = withTokenLimits(new GoogleGenAI({ apiKey: 'test', httpOptions: { baseUrl: emulator().googleBaseUrl } }), 'alice', { limiter });
      const error = await way.run(ai, controller.signal).catch((e: unknown) => e);
      expect(error).toBeInstanceOf((bare as Error).constructor);
      expect(error).toMatchObject({ name: 'AbortError' });
      await nothingCharged(limiter);
    });

    it(`${way.name}, aborted while its reservation is on its way: nothing sent, nothing charged`, async () => {
      const limiter = createTokenLimiter({ store: slowStore(300), defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] });
      const ai = withTokenLimits(new GoogleGenAI({ apiKey: 'test', httpOptions: { baseUrl: emulator().googleBaseUrl } }), 'alice', { limiter });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 20);
      const error = await way.run(ai, controller.signal).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'AbortError' });
      await nothingCharged(limiter);
    });
  }
});
