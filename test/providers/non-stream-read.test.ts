/**
 * A non-stream answer is settled from the body the SDK reads anyway (its `json()` or `text()`),
 * not from a clone of it; a body the caller takes raw (`.asResponse()`) is cloned. Either way the
 * usage recorded is the provider's, and a body that is not JSON is charged an estimate.
 */
import Anthropic from '@anthropic-ai/sdk';
import AnthropicV0 from 'anthropic-sdk-v0';
import OpenAI from 'openai';
import OpenAIv5 from 'openai-v5';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTokenLimiter, withTokenLimits } from '../../src/index.js';
import { settleOnRead } from '../../src/providers/shared/stainless.js';
import { useEmulator } from '../emulator/harness.js';
import { emulatorTotals, usageLog } from './helpers.js';

const emulator = useEmulator();
const messages = [{ role: 'user' as const, content: 'What is the weather in Lisbon today?' }];

/** A fetch that answers with the provider's real answer cut short: a JSON content type, a broken body. */
const truncating: typeof fetch = async (input, init) => {
  const real = await fetch(input, init);
  const text = await real.text();
  const headers = new Headers(real.headers);
  headers.delete('content-length');
  return new Response(text.slice(0, 25), { status: real.status, headers });
};

interface Sdk {
  name: string;
  make(options: { fetch?: typeof fetch }): object;
  create(client: any): any;
}

const sdks: Sdk[] = [
  {
    name: 'openai 6',
    make: (o) => new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL, maxRetries: 0, ...o }),
    create: (c) => c.chat.completions.create({ model: 'gpt-4o-mini', messages }),
  },
  {
    name: 'openai 5',
    make: (o) => new OpenAIv5({ apiKey: 'test', baseURL: emulator().openaiBaseURL, maxRetries: 0, ...o }),
    create: (c) => c.chat.completions.create({ model: 'gpt-4o-mini', messages }),
  },
  {
    name: 'anthropic 1',
    make: (o) => new Anthropic({ apiKey: 'test', baseURL: emulator().anthropicBaseURL, maxRetries: 0, ...o }),
    create: (c) => c.messages.create({ model: 'claude-sonnet-5', max_tokens: 200, messages }),
  },
  {
    name: 'anthropic 0.x',
    make: (o) => new AnthropicV0({ apiKey: 'test', baseURL: emulator().anthropicBaseURL, maxRetries: 0, ...o }),
    create: (c) => c.messages.create({ model: 'claude-sonnet-5', max_tokens: 200, messages }),
  },
];

afterEach(() => {
  vi.restoreAllMocks();
});

describe.each(sdks)('$name: a non-stream body', (sdk) => {
  const setup = (options: { fetch?: typeof fetch } = {}) => {
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] });
    return { limiter, wrapped: withTokenLimits(sdk.make(options), 'alice', { limiter }) };
  };

  it('awaited: settled from the SDK read of it, never cloned; the usage is the provider reported', async () => {
    const { limiter, wrapped } = setup();
    const clone = vi.spyOn(Response.prototype, 'clone');
    await sdk.create(wrapped);
    await limiter.flush();
    expect(clone).not.toHaveBeenCalled();
    const [record] = await usageLog(limiter);
    const expected = emulatorTotals(emulator().requests);
    expect(record).toMatchObject({ estimated: false, inputTokens: expected.input, outputTokens: expected.output, status: 'ok' });
    expect((await limiter.admin.getUsage('alice')).reserved).toBe(0);
  });

  it('taken raw with .asResponse(): cloned, so the caller still reads all of it', async () => {
    const { limiter, wrapped } = setup();
    const clone = vi.spyOn(Response.prototype, 'clone');
    const response: Response = await sdk.create(wrapped).asResponse();
    const body = (await response.json()) as { usage?: unknown };
    await limiter.flush();
    expect(clone).toHaveBeenCalledTimes(1);
    expect(body.usage).toBeDefined();
    const [record] = await usageLog(limiter);
    const expected = emulatorTotals(emulator().requests);
    expect(record).toMatchObject({ estimated: false, inputTokens: expected.input, outputTokens: expected.output });
  });

  it('cut short (not JSON): the SDK error reaches the caller, an estimate is charged and nothing stays held', async () => {
    const { limiter, wrapped } = setup({ fetch: truncating });
    await expect(sdk.create(wrapped)).rejects.toThrow();
    await limiter.flush();
    const [record] = await usageLog(limiter);
    expect(record).toMatchObject({ estimated: true });
    expect(record!.inputTokens).toBeGreaterThan(0);
    expect((await limiter.admin.getUsage('alice')).reserved).toBe(0);
  });
});

describe('settleOnRead', () => {
  const json = () => new Response('{"usage":{"total_tokens":7}}', { headers: { 'content-type': 'application/json' } });

  it('settles with the body read by json(), before the reader continues', async () => {
    const response = json();
    const seen: unknown[] = [];
    expect(settleOnRead(response, (body) => seen.push(body), new Promise(() => {}))).toBe(true);
    const body = await response.json();
    expect(seen).toEqual([{ usage: { total_tokens: 7 } }]);
    expect(body).toEqual(seen[0]);
  });

  it('settles with the body read by text(), parsed; with undefined when it is not JSON', async () => {
    const seen: unknown[] = [];
    const response = json();
    settleOnRead(response, (body) => seen.push(body), new Promise(() => {}));
    expect(await response.text()).toBe('{"usage":{"total_tokens":7}}');
    const broken = new Response('{"usage":', { headers: { 'content-type': 'application/json' } });
    settleOnRead(broken, (body) => seen.push(body), new Promise(() => {}));
    await broken.text();
    expect(seen).toEqual([{ usage: { total_tokens: 7 } }, undefined]);
  });

  it('read some other way: settles once, with what the SDK parsed', async () => {
    const response = json();
    const seen: unknown[] = [];
    let parse!: (value: unknown) => void;
    settleOnRead(response, (body) => seen.push(body), new Promise((resolve) => (parse = resolve)));
    await response.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(seen).toEqual([]);
    parse({ usage: { total_tokens: 9 } });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(seen).toEqual([{ usage: { total_tokens: 9 } }]);
  });

  it('a failed read settles with undefined, once, even if the SDK parse settles after', async () => {
    const response = new Response(new ReadableStream({ start: (c) => c.error(new Error('connection reset')) }));
    const seen: unknown[] = [];
    settleOnRead(response, (body) => seen.push(body), Promise.resolve({ late: true }).then((v) => new Promise((r) => setTimeout(() => r(v), 20))));
    await expect(response.json()).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(seen).toEqual([undefined]);
  });

  it('leaves a response that cannot take the wrappers alone', () => {
    const response = Object.preventExtensions(json());
    expect(settleOnRead(response, () => {}, Promise.resolve())).toBe(false);
    expect(Object.hasOwn(response, 'json')).toBe(false);
  });
});
