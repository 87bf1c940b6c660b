/**
 * openai 7 (needs Node 22; installed as `openai-v7`): wrap, create, stream, helpers and responses
 * through the real SDK over HTTP; the usage recorded equals the emulator's, and the wrapped client
 * reads back as the bare one.
 */
import OpenAI, { AzureOpenAI } from 'openai-v7';
import { describe, expect, it, vi } from 'vitest';
import { createTokenLimiter, withTokenLimits } from '../../src/index.js';
import { collect, useEmulator } from '../emulator/harness.js';
import { emulatorTotals, usageLog } from '../providers/helpers.js';

const emulator = useEmulator();
const messages = [{ role: 'user' as const, content: 'What is the weather in Lisbon today?' }];

function setup() {
  const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 10_000_000, period: 'month' }] });
  const raw = new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL });
  return { limiter, raw, wrapped: withTokenLimits(raw, 'alice', { limiter }) };
}

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Get the weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    function: (args: { city: string }) => ({ city: args.city, celsius: 21 }),
    parse: JSON.parse,
  },
};

interface Case {
  name: string;
  requests: number;
  run(client: OpenAI): Promise<unknown>;
}

const cases: Case[] = [
  { name: 'chat.completions.create', requests: 1, run: (c) => c.chat.completions.create({ model: 'gpt-4o-mini', messages }) },
  { name: 'chat.completions.create (stream)', requests: 1, run: async (c) => collect(await c.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true })) },
  {
    name: 'chat.completions.stream (helper)',
    requests: 1,
    run: async (c) => c.chat.completions.stream({ model: 'gpt-4o-mini', messages }).finalChatCompletion(),
  },
  { name: 'chat.completions.runTools', requests: 2, run: (c) => c.chat.completions.runTools({ model: 'gpt-4o-mini', messages, tools: [weatherTool] }).finalContent() },
  { name: 'responses.create', requests: 1, run: (c) => c.responses.create({ model: 'gpt-4.1', input: 'Hello there' }) },
  { name: 'responses.create (stream)', requests: 1, run: async (c) => collect(await c.responses.create({ model: 'gpt-4.1', input: 'Hello there', stream: true })) },
  { name: 'responses.stream (helper)', requests: 1, run: (c) => c.responses.stream({ model: 'gpt-4.1', input: 'Hello there' }).finalResponse() },
  { name: 'embeddings.create', requests: 1, run: (c) => c.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] }) },
];

/** Results without the fields that differ between two identical calls (ids, timestamps). */
function comparable(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, v: unknown) => (['id', 'created', 'created_at', 'call_id', 'item_id', 'tool_call_id', 'system_fingerprint', 'sequence_number'].includes(key) ? undefined : v)));
}

describe('withTokenLimits(openai 7)', () => {
  it('runs on Node 22', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
  });

  for (const c of cases) {
    it(`${c.name}: same result as unwrapped; usage recorded exactly`, async () => {
      const { limiter, raw, wrapped } = setup();
      const bare = await c.run(raw);
      emulator().clearRequests();
      const result = await c.run(wrapped);
      expect(comparable(result)).toEqual(comparable(bare));
      await limiter.flush();
      const records = await usageLog(limiter);
      expect(records).toHaveLength(c.requests);
      expect(records.every((r) => !r.estimated && r.userId === 'alice')).toBe(true);
      const totals = emulatorTotals(emulator().requests);
      expect(records.reduce((n, r) => n + r.inputTokens, 0)).toBe(totals.input);
      expect(records.reduce((n, r) => n + r.outputTokens, 0)).toBe(totals.output);
    });
  }

  it('a non-stream body is settled from the SDK read of it (text() in openai 7), never cloned', async () => {
    const { limiter, wrapped } = setup();
    const clone = vi.spyOn(Response.prototype, 'clone');
    try {
      const completion = await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages });
      await limiter.flush();
      expect(clone).not.toHaveBeenCalled();
      const [record] = await usageLog(limiter);
      expect(record).toMatchObject({ estimated: false, inputTokens: completion.usage!.prompt_tokens, outputTokens: completion.usage!.completion_tokens });
    } finally {
      clone.mockRestore();
    }
  });

  it('reads back as the bare client: constructor, statics, spies, a key rotated after wrapping', async () => {
    const { raw, wrapped, limiter } = setup();
    expect(wrapped.constructor).toBe(OpenAI);
    expect((wrapped.constructor as typeof OpenAI).APIError).toBe(OpenAI.APIError);
    expect(wrapped).toBeInstanceOf(OpenAI);
    const spy = vi.spyOn(wrapped.chat.completions, 'create');
    expect(wrapped.chat.completions.create).toBe(spy);
    wrapped.apiKey = 'rotated';
    await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(emulator().requests.at(-1)!.headers.authorization).toBe('Bearer rotated');
    expect(raw.apiKey).toBe('rotated');
    await limiter.flush();
    expect(await usageLog(limiter)).toHaveLength(1);
  });

  it('AzureOpenAI 7: billing calls go to the client-level deployment and api-version', async () => {
    const limiter = createTokenLimiter();
    const raw = new AzureOpenAI({ endpoint: emulator().url, apiKey: 'azure-key', apiVersion: '2025-04-01-preview', deployment: 'my-deployment' });
    const wrapped = withTokenLimits(raw, 'alice', { limiter });
    await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const request = emulator().requests.at(-1)!;
    expect(request.path).toBe('/openai/deployments/my-deployment/chat/completions');
    expect(request.query['api-version']).toBe('2025-04-01-preview');
    await limiter.flush();
    expect((await usageLog(limiter))[0]).toMatchObject({ estimated: false });
  });
});
