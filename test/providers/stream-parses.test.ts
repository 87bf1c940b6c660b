/**
 * A wrapped stream adds as little JSON parsing as it can to what the caller's SDK does anyway:
 * each event is parsed at most once by the wrapper, however many of its parts read it (the usage
 * observer, the rewrite that hides the usage it asked for), and of an OpenAI chat stream that
 * reports its usage only the usage chunk is parsed.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, withTokenLimits } from '../../src/index.js';
import { eventJson, SseParser } from '../../src/providers/shared/sse.js';
import { collect, useEmulator } from '../emulator/harness.js';
import { parsesDuring, totalParses as total, usageLog } from './helpers.js';

const emulator = useEmulator();
const messages = [{ role: 'user' as const, content: 'What is the weather in Lisbon today?' }];



describe('eventJson', () => {
  it("parses an event's data once, whoever asks", () => {
    const [event] = new SseParser().push('data: {"usage":{"prompt_tokens":3}}\n\n');
    const counts = new Map<string, number>();
    const original = JSON.parse;
    JSON.parse = ((text: string) => {
      counts.set(text, (counts.get(text) ?? 0) + 1);
      return original(text) as unknown;
    }) as typeof JSON.parse;
    let first: unknown;
    let second: unknown;
    try {
      first = eventJson(event!);
      second = eventJson(event!);
    } finally {
      JSON.parse = original;
    }
    expect(first).toEqual({ usage: { prompt_tokens: 3 } });
    expect(second).toBe(first);
    expect(total(counts)).toBe(1);
  });

  it('remembers malformed data as undefined, parsed once too', () => {
    const [event] = new SseParser().push('data: {"usage":\n\n');
    expect(eventJson(event!)).toBeUndefined();
    expect(eventJson(event!)).toBeUndefined();
    expect(event!.json).toEqual({ value: undefined });
  });
});

describe('an OpenAI chat stream, wrapped', () => {
  it('adds one parse per call to what the bare SDK parses: its usage chunk, read by the observer and the rewrite', async () => {
    const bare = new OpenAI({ apiKey: 'k', baseURL: emulator().openaiBaseURL, maxRetries: 0 });
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] });
    const wrapped = withTokenLimits(new OpenAI({ apiKey: 'k', baseURL: emulator().openaiBaseURL, maxRetries: 0 }), 'alice', { limiter });
    const stream = (client: OpenAI) => async () => collect(await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }));
    // Both once before counting: module-level parses of a first call are not the call's.
    await stream(bare)();
    await stream(wrapped)();
    await limiter.flush();
    const bareParses = await parsesDuring(stream(bare));
    const wrappedParses = await parsesDuring(async () => {
      await stream(wrapped)();
      await limiter.flush();
    });
    expect(total(bareParses)).toBeGreaterThan(3);
    expect(total(wrappedParses) - total(bareParses)).toBe(1);
    // The caller's SDK sees the chunks without their "usage": every parse of a text that has one
    // is the wrapper's, and it parses the usage chunk only, once.
    const withUsage = [...wrappedParses].filter(([text]) => text.includes('"usage"'));
    expect(withUsage).toHaveLength(1);
    expect(withUsage[0]![0]).toContain('"usage":{');
    expect(withUsage[0]![1]).toBe(1);
    const [record] = await usageLog(limiter);
    expect(record).toMatchObject({ model: 'gpt-4o-mini', estimated: false, status: 'ok' });
    await limiter.close();
  });
});

describe('an OpenAI chat stream whose usage chunk names no model', () => {
  it('is recorded with the model of its first chunks, parsed only then, and its exact usage', async () => {
    const chunk = (model: string, delta: Record<string, unknown>, usage: unknown = null) => ({ id: 'c1', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: null }], usage });
    const events = [
      chunk('gpt-4o-mini-2024-07-18', { role: 'assistant', content: '' }),
      chunk('gpt-4o-mini-2024-07-18', { content: 'Sunny in Lisbon.' }),
      { id: 'c1', object: 'chat.completion.chunk', created: 1, model: '', choices: [], usage: { prompt_tokens: 14, completion_tokens: 5, total_tokens: 19 } },
    ];
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end([...events.map((e) => `data: ${JSON.stringify(e)}\n\n`), 'data: [DONE]\n\n'].join(''));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'cost', costUsd: 100, period: 'month' }] });
    try {
      const { port } = server.address() as AddressInfo;
      const client = withTokenLimits(new OpenAI({ apiKey: 'k', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 }), 'alice', { limiter });
      const got = await collect(await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }));
      expect(got).toHaveLength(2);
      await limiter.flush();
      const [record] = await usageLog(limiter);
      expect(record).toMatchObject({ model: 'gpt-4o-mini-2024-07-18', inputTokens: 14, outputTokens: 5, estimated: false, status: 'ok' });
      // Priced by the model of the first chunks (gpt-4o-mini: $0.15 / $0.60 per million), in whole micro-dollars.
      expect(record!.costUsd).toBeCloseTo((14 * 0.15 + 5 * 0.6) / 1_000_000, 6);
    } finally {
      await limiter.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
