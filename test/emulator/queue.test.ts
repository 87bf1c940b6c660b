import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';

import { startEmulator, type Emulator, type EmulatorBehavior } from '../../src/testing/index.js';
import { useEmulator } from './harness.js';

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };

/** The status the emulator answers a chat call with, through the real SDK (no retries). */
async function statusOf(e: Emulator): Promise<number> {
  const client = new OpenAI({ apiKey: 'sk-test', baseURL: e.openaiBaseURL, maxRetries: 0 });
  try {
    await client.chat.completions.create(chat);
    return 200;
  } catch (error) {
    if (error instanceof OpenAI.APIError && error.status !== undefined) return error.status;
    throw error;
  }
}

describe('reset() keeps the configuration the emulator was started with', () => {
  let own: Emulator | undefined;
  afterEach(async () => {
    await own?.close();
    own = undefined;
  });

  it('restores the defaultBehavior of startEmulator(), undoing setDefault(), and clears the rest', async () => {
    const defaultBehavior: EmulatorBehavior = { status: 429, headers: { 'x-configured': 'yes' } };
    own = await startEmulator({ defaultBehavior });
    own.setDefault({ status: 503 });
    own.enqueue({ status: 500 }, { times: Infinity });
    expect(await statusOf(own)).toBe(500);

    own.reset();
    expect(own.requests).toEqual([]);
    // Neither the queue nor setDefault() survive; the configured default does.
    expect(await statusOf(own)).toBe(429);
    expect(own.requests[0]?.behavior).toEqual({ status: 429, headers: { 'x-configured': 'yes' } });

    // The caller's object, changed after start, is not the configuration.
    defaultBehavior.status = 400;
    (defaultBehavior.headers as Record<string, string>)['x-configured'] = 'changed';
    own.reset();
    expect(await statusOf(own)).toBe(429);
    expect(own.requests[0]?.behavior).toEqual({ status: 429, headers: { 'x-configured': 'yes' } });
  });

  it('setDefault() and enqueue() keep what they were given, not the caller\'s object', async () => {
    own = await startEmulator();
    const headers: Record<string, string> = { 'x-set': 'first' };
    own.setDefault({ headers });
    headers['x-set'] = 'changed';
    expect(await statusOf(own)).toBe(200);
    expect(own.requests[0]?.behavior).toEqual({ headers: { 'x-set': 'first' } });
    // enqueue() too.
    const usage = { prompt_tokens: 3 };
    own.setDefault({});
    own.enqueue({ usage });
    usage.prompt_tokens = 4;
    await statusOf(own);
    expect(own.requests[1]?.behavior).toEqual({ usage: { prompt_tokens: 3 } });
  });

  it('an emulator started without one goes back to plain answers', async () => {
    own = await startEmulator();
    own.setDefault({ status: 529 });
    own.reset();
    expect(await statusOf(own)).toBe(200);
  });
});

describe('a suite that calls reset() in beforeEach keeps its defaultBehavior', () => {
  // The harness resets before each test, as a user's suite would.
  const emulator = useEmulator({ defaultBehavior: { status: 503, retryAfterMs: null } });

  it('in its first test', async () => {
    expect(await statusOf(emulator())).toBe(503);
  });

  it('and in the next', async () => {
    emulator().setDefault({});
    expect(await statusOf(emulator())).toBe(200);
  });

  it('after a test that changed it', async () => {
    expect(await statusOf(emulator())).toBe(503);
  });
});

describe('enqueue() times', () => {
  const emulator = useEmulator();

  it.each([
    ['0', 0],
    ['negative', -1],
    ['fractional', 1.5],
    ['NaN', Number.NaN],
    ['-Infinity', Number.NEGATIVE_INFINITY],
  ])('refuses %s with a RangeError and queues nothing', async (_name, times) => {
    expect(() => emulator().enqueue({ status: 500 }, { times })).toThrow(RangeError);
    expect(() => emulator().enqueue({ status: 500 }, { times })).toThrow(`enqueue(): times must be a whole number from 1, or Infinity, got ${String(times)}`);
    expect(await statusOf(emulator())).toBe(200);
  });

  it('refuses a non-number with a TypeError and queues nothing', async () => {
    expect(() => emulator().enqueue({ status: 500 }, { times: '2' as unknown as number })).toThrow(new TypeError('enqueue(): times must be a number, got string'));
    expect(await statusOf(emulator())).toBe(200);
  });

  it('applies a whole number to that many matching requests, 1 by default', async () => {
    emulator().enqueue({ status: 500 });
    emulator().enqueue({ status: 502 }, { times: 2 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await statusOf(emulator()));
    expect(statuses).toEqual([500, 502, 502, 200]);
  });

  it('applies Infinity to every matching request until reset()', async () => {
    emulator().enqueue({ status: 500 }, { times: Infinity });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push(await statusOf(emulator()));
    expect(statuses).toEqual([500, 500, 500, 500, 500]);
    emulator().reset();
    expect(await statusOf(emulator())).toBe(200);
  });
});

describe('enqueue() match.endpoint', () => {
  const emulator = useEmulator();

  it('refuses a name no request has, or none, and queues nothing', async () => {
    expect(() => emulator().enqueue({ status: 500 }, { match: { endpoint: 'chat.completion' as never } })).toThrow(
      new TypeError(
        'enqueue(): match.endpoint "chat.completion" is no endpoint of the emulator (known: chat.completions, responses, responses.input_tokens, responses.compact, completions, embeddings, messages, messages.count_tokens, generateContent, streamGenerateContent, countTokens, embedContent, batchEmbedContents)',
      ),
    );
    expect(() => emulator().enqueue({ status: 500 }, { match: { endpoint: ['chat.completions', 'message'] as never } })).toThrow(/"message" is no endpoint/);
    expect(() => emulator().enqueue({ status: 500 }, { match: { endpoint: [] } })).toThrow(new TypeError('enqueue(): match.endpoint must name at least one endpoint'));
    expect(await statusOf(emulator())).toBe(200);
  });

  it('applies to the endpoints named', async () => {
    emulator().enqueue({ status: 503, retryAfterMs: null }, { match: { endpoint: ['embeddings', 'chat.completions'] } });
    expect(await statusOf(emulator())).toBe(503);
  });
});
