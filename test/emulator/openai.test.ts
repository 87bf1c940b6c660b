import OpenAI from 'openai';
import OpenAIv5 from 'openai-v5';
import { describe, expect, it } from 'vitest';

import { expectedUsage } from '../../src/testing/index.js';
import { collect, useEmulator } from './harness.js';

const emulator = useEmulator();
const client = (): OpenAI => new OpenAI({ apiKey: 'sk-test', baseURL: emulator().openaiBaseURL });
const MODEL = 'gpt-4o-mini';

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Get the weather',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  },
};

describe('OpenAI chat completions (openai 6.x)', () => {
  it('answers a non-streaming create with deterministic text, usage and request id', async () => {
    const { data, request_id } = await client()
      .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe(MODEL);
    expect(data.choices).toHaveLength(1);
    expect(data.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Emulated reply to "hi".' });
    expect(data.choices[0]?.finish_reason).toBe('stop');
    // 10 per request + 4 per message + "user" (1) + "hi" (1); the reply is 7 emulator tokens.
    expect(data.usage).toMatchObject({ prompt_tokens: 16, completion_tokens: 7, total_tokens: 23 });
    expect(data.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    expect(data.usage?.completion_tokens_details?.reasoning_tokens).toBe(0);
    const [recorded] = emulator().requests;
    expect(request_id).toMatch(/^req_/);
    expect(recorded?.reply?.usage).toEqual({
      inputTokens: 16,
      outputTokens: 7,
      cachedInputTokens: 0,
      cacheCreationInputTokens: 0,
      reasoningTokens: 0,
      totalTokens: 23,
    });
    expect(recorded).toMatchObject({ provider: 'openai', endpoint: 'chat.completions', method: 'POST', path: '/v1/chat/completions', model: MODEL, stream: false });
    expect(recorded?.headers['authorization']).toBe('Bearer sk-test');
  });

  it('gives byte-identical bodies for identical requests', async () => {
    const params = { model: MODEL, messages: [{ role: 'user' as const, content: 'same question' }] };
    const first = await client().chat.completions.create(params).asResponse();
    const second = await client().chat.completions.create(params).asResponse();
    expect(await first.text()).toBe(await second.text());
    expect(first.headers.get('x-request-id')).not.toBe(second.headers.get('x-request-id'));
  });

  it('streams with include_usage: usage:null on every chunk and a final choices:[] usage chunk', async () => {
    const stream = await client().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'tell me something' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await collect(stream);
    const last = chunks[chunks.length - 1];
    expect(last?.choices).toEqual([]);
    const expected = expectedUsage(emulator().requests[0]!);
    expect(last?.usage).toMatchObject({ prompt_tokens: expected.inputTokens, completion_tokens: expected.outputTokens, total_tokens: expected.totalTokens });
    for (const chunk of chunks.slice(0, -1)) expect(chunk.usage).toBeNull();
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const contentChunks = chunks.filter((c) => (c.choices[0]?.delta.content ?? '') !== '');
    expect(contentChunks.length).toBeGreaterThanOrEqual(3);
    expect(contentChunks.map((c) => c.choices[0]?.delta.content).join('')).toBe('Emulated reply to "tell me something".');
    expect(chunks[chunks.length - 2]?.choices[0]?.finish_reason).toBe('stop');
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it('pads every chunk with a last obfuscation member, as OpenAI does, unless include_obfuscation is false', async () => {
    const raw = async (streamOptions: Record<string, unknown>) => {
      const response = await fetch(`${emulator().openaiBaseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer test' },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: streamOptions }),
      });
      return (await response.text()).split('\n').filter((l) => l.startsWith('data: {'));
    };
    const padded = await raw({ include_usage: true });
    expect(padded.length).toBeGreaterThanOrEqual(4);
    // After "usage": null, last: the order in which the real API writes them.
    for (const line of padded.slice(0, -1)) expect(line).toMatch(/,"usage":null,"obfuscation":"[A-Za-z0-9]+"\}$/);
    expect(padded.at(-1)).toContain('"usage":{"prompt_tokens":');
    expect(padded.at(-1)).toMatch(/\},"obfuscation":"[A-Za-z0-9]+"\}$/);
    for (const line of await raw({ include_usage: true, include_obfuscation: false })) expect(line).not.toContain('obfuscation');
  });

  it('streams without include_usage: no usage key and no usage chunk', async () => {
    const stream = await client().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], stream: true });
    const chunks = await collect(stream);
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    for (const chunk of chunks) {
      expect('usage' in chunk).toBe(false);
      expect(chunk.choices).toHaveLength(1);
    }
    const raw = emulator().requests[0];
    expect(raw?.reply?.usage).toBeUndefined();
  });

  it('works with chat.completions.stream() and finalChatCompletion()', async () => {
    const withoutUsage = client().chat.completions.stream({ model: MODEL, messages: [{ role: 'user', content: 'stream helper' }] });
    const deltas: string[] = [];
    withoutUsage.on('content', (delta) => deltas.push(delta));
    const final = await withoutUsage.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe('Emulated reply to "stream helper".');
    expect(deltas.join('')).toBe('Emulated reply to "stream helper".');
    expect(final.usage).toBeUndefined();

    const withUsage = client().chat.completions.stream({
      model: MODEL,
      messages: [{ role: 'user', content: 'stream helper' }],
      stream_options: { include_usage: true },
    });
    const finalWithUsage = await withUsage.finalChatCompletion();
    const expected = expectedUsage(emulator().requests[1]!);
    expect(finalWithUsage.usage?.prompt_tokens).toBe(expected.inputTokens);
    expect(finalWithUsage.usage?.completion_tokens).toBe(expected.outputTokens);
    expect(emulator().requests[1]?.headers['x-stainless-helper-method']).toBe('stream');
  });

  it('answers parse() with JSON that satisfies the schema', async () => {
    const completion = await client().chat.completions.parse({
      model: MODEL,
      messages: [{ role: 'user', content: 'Extract the person' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'person',
          strict: true,
          schema: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              age: { type: 'integer', minimum: 18 },
              role: { type: 'string', enum: ['admin', 'user'] },
              tags: { type: 'array', items: { type: 'string' } },
              address: {
                type: 'object',
                properties: { city: { type: 'string' }, zip: { type: ['string', 'null'] } },
                required: ['city', 'zip'],
                additionalProperties: false,
              },
            },
            required: ['name', 'age', 'role', 'tags', 'address'],
            additionalProperties: false,
          },
        },
      },
    });
    expect(completion.choices[0]?.message.parsed).toEqual({
      name: 'example name',
      age: 18,
      role: 'admin',
      tags: ['example tags'],
      address: { city: 'example city', zip: 'example zip' },
    });
  });

  it('drives runTools through exactly two requests', async () => {
    const calls: unknown[] = [];
    const runner = client().chat.completions.runTools({
      model: MODEL,
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [
        {
          type: 'function',
          function: {
            ...weatherTool.function,
            parse: JSON.parse,
            function: (args: unknown) => {
              calls.push(args);
              return 'sunny and 21 degrees';
            },
          },
        },
      ],
    });
    const content = await runner.finalContent();
    expect(calls).toEqual([{ city: 'example city', unit: 'celsius' }]);
    expect(content).toBe('Emulated answer using the tool result: sunny and 21 degrees.');
    expect(emulator().requests).toHaveLength(2);
    const [first, second] = emulator().requests.map((r) => expectedUsage(r));
    const total = await runner.totalUsage();
    expect(total.prompt_tokens).toBe(first!.inputTokens + second!.inputTokens);
    expect(total.completion_tokens).toBe(first!.outputTokens + second!.outputTokens);
  });

  it('answers a tool call with finish_reason tool_calls, streamed too', async () => {
    const completion = await client().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'weather?' }], tools: [weatherTool] });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    expect(call?.type === 'function' ? JSON.parse(call.function.arguments) : undefined).toEqual({ city: 'example city', unit: 'celsius' });

    const stream = client().chat.completions.stream({ model: MODEL, messages: [{ role: 'user', content: 'weather?' }], tools: [weatherTool] });
    const final = await stream.finalChatCompletion();
    const streamedCall = final.choices[0]?.message.tool_calls?.[0];
    expect(streamedCall?.type === 'function' ? streamedCall.function.arguments : undefined).toBe(call?.type === 'function' ? call.function.arguments : 'x');
  });

  it('honours n and max_completion_tokens', async () => {
    const completion = await client().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'two answers please' }],
      n: 2,
      max_completion_tokens: 3,
    });
    expect(completion.choices).toHaveLength(2);
    expect(completion.choices.map((c) => c.finish_reason)).toEqual(['length', 'length']);
    expect(completion.choices[0]?.message.content).toBe('Emulated repl');
    expect(completion.usage?.completion_tokens).toBe(6);
  });
});

describe('OpenAI responses', () => {
  it('answers a non-streaming create with output_text and usage', async () => {
    const response = await client().responses.create({ model: 'gpt-4.1', input: 'Hello responses', instructions: 'Be brief' });
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe('Emulated reply to "Hello responses".');
    const expected = expectedUsage(emulator().requests[0]!);
    // 10 + (4 + "Be| brie|f" = 3) + (4 + "Hell|o| resp|onse|s" = 5)
    expect(expected.inputTokens).toBe(26);
    expect(response.usage).toMatchObject({ input_tokens: 26, output_tokens: expected.outputTokens, total_tokens: expected.totalTokens });
  });

  it('answers background: true at once, queued, with no output and no usage (billed when it has run)', async () => {
    const response = await client().responses.create({ model: 'gpt-4.1', input: 'Hello responses', background: true, max_output_tokens: 50 });
    expect(response).toMatchObject({ status: 'queued', background: true, usage: null, output: [], max_output_tokens: 50 });
    expect(expectedUsage(emulator().requests[0]!).outputTokens).toBeGreaterThan(0);
    const streamed = await collect(await client().responses.create({ model: 'gpt-4.1', input: 'Hello responses', background: true, stream: true }));
    expect(streamed[streamed.length - 1]).toMatchObject({ type: 'response.completed', response: { status: 'completed', background: true } });
  });

  it('streams events with sequence numbers from response.created to response.completed', async () => {
    const stream = await client().responses.create({ model: 'gpt-4.1', input: 'stream me', stream: true });
    const events = await collect(stream);
    expect(events[0]?.type).toBe('response.created');
    const last = events[events.length - 1];
    expect(last?.type).toBe('response.completed');
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const deltas = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : []));
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    expect(deltas.join('')).toBe('Emulated reply to "stream me".');
    expect(last?.type === 'response.completed' ? last.response.usage?.output_tokens : undefined).toBe(expectedUsage(emulator().requests[0]!).outputTokens);
  });

  it('works with responses.stream() and finalResponse()', async () => {
    const stream = client().responses.stream({ model: 'gpt-4.1', input: 'helper stream' });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('Emulated reply to "helper stream".');
    expect(final.usage?.input_tokens).toBe(expectedUsage(emulator().requests[0]!).inputTokens);
  });

  it('answers responses.parse() with JSON that satisfies the schema', async () => {
    const response = await client().responses.parse({
      model: 'gpt-4.1',
      input: 'Give me a list',
      text: {
        format: {
          type: 'json_schema',
          name: 'list',
          strict: true,
          schema: {
            type: 'object',
            properties: { items: { type: 'array', items: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] } }, done: { type: 'boolean' } },
            required: ['items', 'done'],
            additionalProperties: false,
          },
        },
      },
    });
    expect(response.output_parsed).toEqual({ items: [{ n: 1.5 }], done: true });
  });

  it('answers with a function_call item when tools are given, and text after its output', async () => {
    const tools = [{ type: 'function' as const, name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] }, strict: false }];
    const first = await client().responses.create({ model: 'gpt-4.1', input: 'look it up', tools });
    const call = first.output[0];
    expect(call?.type).toBe('function_call');
    if (call?.type !== 'function_call') return;
    expect(JSON.parse(call.arguments)).toEqual({ q: 'example q' });
    const second = await client().responses.create({
      model: 'gpt-4.1',
      tools,
      input: [{ role: 'user', content: 'look it up' }, call, { type: 'function_call_output', call_id: call.call_id, output: 'found it' }],
    });
    expect(second.output_text).toBe('Emulated answer using the tool result: found it.');
  });

  it('counts input tokens like a create with the same body', async () => {
    const body = { model: 'gpt-4.1', input: 'count these words please' };
    const counted = await client().responses.inputTokens.count(body);
    const created = await client().responses.create(body);
    expect(counted.input_tokens).toBe(created.usage?.input_tokens);
    expect(emulator().requests[0]?.endpoint).toBe('responses.input_tokens');
  });

  it('compacts a conversation: the user messages and one compaction item, with the usage expectedUsage gives', async () => {
    const body = { model: 'gpt-5', input: [{ role: 'user' as const, content: 'hello there' }, { role: 'assistant' as const, content: 'hi' }] };
    const compacted = await client().responses.compact(body);
    expect(compacted.object).toBe('response.compaction');
    expect(compacted.output.map((item) => item.type)).toEqual(['message', 'compaction']);
    const expected = expectedUsage(emulator().requests[0]!);
    expect(emulator().requests[0]?.endpoint).toBe('responses.compact');
    expect(compacted.usage).toMatchObject({ input_tokens: expected.inputTokens, output_tokens: expected.outputTokens, total_tokens: expected.totalTokens });
    expect(expected.inputTokens).toBe((await client().responses.inputTokens.count(body)).input_tokens);
  });
});

describe('OpenAI legacy completions and embeddings', () => {
  it('answers completions, truncating at max_tokens', async () => {
    const completion = await client().completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this is a test', max_tokens: 5 });
    expect(completion.object).toBe('text_completion');
    expect(completion.choices[0]?.text).toBe(' and so the emulated');
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage).toEqual({ prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 });
  });

  it('streams completions with a usage chunk when asked', async () => {
    const stream = await client().completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt: 'Say this',
      max_tokens: 100,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await collect(stream);
    const text = chunks.map((c) => c.choices[0]?.text ?? '').join('');
    expect(text).toBe(' and so the emulated text goes on after "Say this".');
    const last = chunks[chunks.length - 1];
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBe(expectedUsage(emulator().requests[0]!).outputTokens);
  });

  it('answers embeddings in base64 by default (decoded by the SDK) and as floats', async () => {
    const fromBase64 = await client().embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] });
    expect((emulator().requests[0]?.body as { encoding_format?: string }).encoding_format).toBe('base64');
    const asFloat = await client().embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'], encoding_format: 'float' });
    expect(fromBase64.data).toHaveLength(2);
    expect(fromBase64.data[0]?.embedding).toHaveLength(8);
    expect(fromBase64.data.map((d) => d.embedding)).toEqual(asFloat.data.map((d) => d.embedding));
    expect(fromBase64.data[0]?.embedding).not.toEqual(fromBase64.data[1]?.embedding);
    expect(fromBase64.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    const withDims = await client().embeddings.create({ model: 'text-embedding-3-small', input: 'x', dimensions: 4 });
    expect(withDims.data[0]?.embedding).toHaveLength(4);
  });
});

describe('openai 5.x (alias openai-v5)', () => {
  it('creates and streams a chat completion', async () => {
    const v5 = new OpenAIv5({ apiKey: 'sk-test', baseURL: emulator().openaiBaseURL });
    const completion = await v5.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'from v5' }] });
    expect(completion.choices[0]?.message.content).toBe('Emulated reply to "from v5".');
    expect(completion.usage?.prompt_tokens).toBe(expectedUsage(emulator().requests[0]!).inputTokens);
    const stream = await v5.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'from v5' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await collect(stream);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Emulated reply to "from v5".');
    expect(chunks[chunks.length - 1]?.usage?.completion_tokens).toBe(completion.usage?.completion_tokens);
    expect(emulator().requests[1]?.headers['user-agent']).toMatch(/OpenAI\/JS 5\./);
  });
});
