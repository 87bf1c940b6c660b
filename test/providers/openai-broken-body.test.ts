/**
 * A non-stream answer whose body breaks after its headers arrived (the connection cut, or the
 * caller aborting while the body is read). OpenAI sends a non-stream body once the whole response
 * is generated: it has billed the call by then, whatever reaches the caller. The usage is lost with
 * the body, so the call is charged its hold (the most it can have billed), never the input alone.
 */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, estimateOpenAIRequest, withTokenLimits } from '../../src/index.js';
import { useEmulator } from '../emulator/harness.js';
import { loggedAtLeast } from './helpers.js';

const emulator = useEmulator();

function setup() {
  const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] });
  const wrapped = withTokenLimits(new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL, maxRetries: 0 }), 'alice', { limiter });
  return { limiter, wrapped };
}

const messages = [{ role: 'user' as const, content: 'Write a long story about Lisbon' }];
const chat = { model: 'gpt-4.1', messages, max_completion_tokens: 500 };

describe('withTokenLimits(openai): a non-stream body that breaks after its headers', () => {
  it('charges the hold, status error, when the connection is cut while the SDK reads the body', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ disconnectAfterChunks: 1 });
    await expect(wrapped.chat.completions.create(chat)).rejects.toThrow();
    const [record] = await loggedAtLeast(limiter, 1);
    const hold = await estimateOpenAIRequest('chat.completions', chat);
    expect(record).toMatchObject({ estimated: true, status: 'error', inputTokens: hold.inputTokens, outputTokens: 500 });
    expect(await limiter.admin.getUsage('alice')).toMatchObject({ used: hold.inputTokens + 500, reserved: 0 });
  });

  it('charges the hold of a Responses call too', async () => {
    const { limiter, wrapped } = setup();
    const params = { model: 'gpt-4.1', input: 'Write a long story about Lisbon', max_output_tokens: 300 };
    emulator().enqueue({ disconnectAfterChunks: 1 });
    await expect(wrapped.responses.create(params)).rejects.toThrow();
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: true, status: 'error', outputTokens: 300 });
  });

  it('charges the hold of a body taken with .asResponse() that breaks, whether or not the caller reads it', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ disconnectAfterChunks: 1 }, { times: 2 });
    const response = await wrapped.chat.completions.create(chat).asResponse();
    await expect(response.text()).rejects.toThrow();
    await wrapped.chat.completions.create(chat).asResponse();
    const records = await loggedAtLeast(limiter, 2);
    expect(records).toHaveLength(2);
    for (const record of records) expect(record).toMatchObject({ estimated: true, status: 'error', outputTokens: 500 });
  });

  it('a body read whole is charged its usage, whatever its content type says', async () => {
    const { limiter, wrapped } = setup();
    emulator().enqueue({ headers: { 'content-type': 'text/plain' } });
    const text = await wrapped.chat.completions.create(chat);
    expect(typeof text).toBe('string');
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: false, status: 'ok' });
  });
});
