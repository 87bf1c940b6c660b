import Anthropic from '@anthropic-ai/sdk';
import { betaTool } from '@anthropic-ai/sdk/helpers/beta/json-schema';
import AnthropicV0 from 'anthropic-sdk-v0';
import { describe, expect, it } from 'vitest';

import { expectedUsage } from '../../src/testing/index.js';
import { collect, useEmulator } from './harness.js';

const emulator = useEmulator();
const client = (): Anthropic => new Anthropic({ apiKey: 'sk-ant-test', baseURL: emulator().anthropicBaseURL });
const MODEL = 'claude-sonnet-4-6';

describe('Anthropic messages (@anthropic-ai/sdk 1.x)', () => {
  it('answers a non-streaming create with text, usage and request-id (Bearer auth)', async () => {
    const { data, request_id } = await client()
      .messages.create({ model: MODEL, max_tokens: 100, system: 'Be kind', messages: [{ role: 'user', content: 'Hello' }] })
      .withResponse();
    expect(data).toMatchObject({ type: 'message', role: 'assistant', model: MODEL, stop_reason: 'end_turn' });
    expect(data.content).toEqual([{ type: 'text', text: 'Emulated reply to "Hello".' }]);
    // 10 + (4 + "Be| kind" = 2) + (4 + "user" 1 + "Hell|o" 2)
    expect(data.usage).toMatchObject({ input_tokens: 23, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(request_id).toMatch(/^req_/);
    const [recorded] = emulator().requests;
    expect(recorded?.headers['authorization']).toBe('Bearer sk-ant-test');
    expect(recorded?.headers['anthropic-version']).toBe('2026-10-21');
    expect(recorded?.reply?.usage).toEqual(expectedUsage(recorded!));
  });

  it('streams with event lines, message_start usage and a final cumulative message_delta', async () => {
    const stream = await client().messages.create({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'stream please' }], stream: true });
    const events = await collect(stream);
    expect(events[0]?.type).toBe('message_start');
    expect(events[events.length - 1]?.type).toBe('message_stop');
    const expected = expectedUsage(emulator().requests[0]!);
    const start = events[0];
    expect(start?.type === 'message_start' ? start.message.usage.input_tokens : undefined).toBe(expected.inputTokens);
    const deltas = events.filter((e) => e.type === 'message_delta');
    expect(deltas).toHaveLength(1);
    expect(deltas[0]?.type === 'message_delta' ? deltas[0].usage.output_tokens : undefined).toBe(expected.outputTokens);
    const text = events.flatMap((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? [e.delta.text] : []));
    expect(text.length).toBeGreaterThanOrEqual(3);
    expect(text.join('')).toBe('Emulated reply to "stream please".');
  });

  it('sends several message_delta events with growing cumulative output_tokens when asked', async () => {
    emulator().enqueue({ messageDeltas: 3 });
    const stream = client().messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'count up slowly please' }] });
    const seen: number[] = [];
    stream.on('streamEvent', (event) => {
      if (event.type === 'message_delta') seen.push(event.usage.output_tokens);
    });
    const final = await stream.finalMessage();
    const expected = expectedUsage(emulator().requests[0]!);
    expect(seen).toHaveLength(3);
    expect(seen[2]).toBe(expected.outputTokens);
    expect(seen[0]!).toBeLessThan(seen[1]!);
    expect(seen[1]!).toBeLessThan(seen[2]!);
    // Cumulative: the SDK overwrites, so the final message has the last value, not the sum.
    expect(final.usage.output_tokens).toBe(expected.outputTokens);
  });

  it('works with messages.stream() and finalMessage()', async () => {
    const stream = client().messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'helper' }] });
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(texts.join('')).toBe('Emulated reply to "helper".');
    expect(final.usage.output_tokens).toBe(expectedUsage(emulator().requests[0]!).outputTokens);
    expect(await stream.finalText()).toBe('Emulated reply to "helper".');
    expect(emulator().requests[0]?.headers['x-stainless-helper-method']).toBe('stream');
  });

  it('reports cache tokens from the knobs, taken out of input_tokens', async () => {
    emulator().enqueue({ cachedInputTokens: 5, cacheCreationInputTokens: 3 });
    const message = await client().messages.create({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'cached prompt here' }] });
    const total = expectedUsage(emulator().requests[0]!).inputTokens;
    expect(message.usage.cache_read_input_tokens).toBe(5);
    expect(message.usage.cache_creation_input_tokens).toBe(3);
    expect(message.usage.input_tokens).toBe(total - 8);
    expect(emulator().requests[0]?.reply?.usage).toMatchObject({ inputTokens: total, cachedInputTokens: 5, cacheCreationInputTokens: 3 });
  });

  it('truncates at max_tokens with stop_reason max_tokens', async () => {
    const message = await client().messages.create({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'long answer' }] });
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.usage.output_tokens).toBe(2);
    expect(message.content).toEqual([{ type: 'text', text: 'Emulated' }]);
  });

  it('counts tokens like the input of a create', async () => {
    const params = { model: MODEL, messages: [{ role: 'user' as const, content: 'count me' }] };
    const counted = await client().messages.countTokens(params);
    const created = await client().messages.create({ ...params, max_tokens: 50 });
    expect(counted.input_tokens).toBe(created.usage.input_tokens);
    expect(emulator().requests[0]?.endpoint).toBe('messages.count_tokens');
  });

  it('answers tool_use and then text, so beta.messages.toolRunner() completes', async () => {
    const inputs: unknown[] = [];
    const runner = client().beta.messages.toolRunner({
      model: MODEL,
      max_tokens: 200,
      messages: [{ role: 'user', content: 'What time is it in Tokyo?' }],
      tools: [
        betaTool({
          name: 'get_time',
          description: 'Current time in a city',
          inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          run: (input) => {
            inputs.push(input);
            return '10:30';
          },
        }),
      ],
    });
    const final = await runner.runUntilDone();
    expect(inputs).toEqual([{ city: 'example city' }]);
    expect(final.content).toEqual([{ type: 'text', text: 'Emulated answer using the tool result: 10:30.' }]);
    expect(emulator().requests.map((r) => r.endpoint)).toEqual(['messages', 'messages']);
  });
});

describe('Anthropic 0.x (alias anthropic-sdk-v0)', () => {
  it('creates and streams with x-api-key and anthropic-version 2023-06-01', async () => {
    const v0 = new AnthropicV0({ apiKey: 'sk-ant-old', baseURL: emulator().anthropicBaseURL });
    const message = await v0.messages.create({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'old sdk' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'Emulated reply to "old sdk".' }]);
    const [recorded] = emulator().requests;
    expect(recorded?.headers['x-api-key']).toBe('sk-ant-old');
    expect(recorded?.headers['authorization']).toBeUndefined();
    expect(recorded?.headers['anthropic-version']).toBe('2023-06-01');
    expect(message.usage.input_tokens).toBe(expectedUsage(recorded!).inputTokens);

    const stream = v0.messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'old sdk' }] });
    const final = await stream.finalMessage();
    expect(final.content).toEqual(message.content);
    expect(final.usage.output_tokens).toBe(message.usage.output_tokens);
  });
});

describe('Anthropic credentials', () => {
  it('answers 401 in the Anthropic error format without credentials', async () => {
    const response = await fetch(`${emulator().url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { type: string; error: { type: string }; request_id: string };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('authentication_error');
    expect(body.request_id).toBe(response.headers.get('request-id'));
  });
});
