/**
 * A wrapped Responses stream adds as little JSON parsing as it can to what the caller's SDK does
 * anyway: of its named events only those that carry the response (its model, tier and final usage:
 * `response.created`, `response.in_progress`, `response.completed`...) are parsed as they come; the
 * text deltas are kept unparsed (read only for an estimate, should the stream break off) and the
 * other events are not read at all.
 */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, withTokenLimits } from '../../src/index.js';
import { collect, useEmulator } from '../emulator/harness.js';
import { loggedAtLeast, parsesDuring, totalParses as total } from './helpers.js';

const emulator = useEmulator();


describe('an OpenAI Responses stream, wrapped', () => {
  it('adds a parse of its three lifecycle events only, and is charged its exact usage', async () => {
    const bare = new OpenAI({ apiKey: 'k', baseURL: emulator().openaiBaseURL, maxRetries: 0 });
    const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] });
    const wrapped = withTokenLimits(new OpenAI({ apiKey: 'k', baseURL: emulator().openaiBaseURL, maxRetries: 0 }), 'alice', { limiter });
    const stream = (client: OpenAI) => async () => collect(await client.responses.create({ model: 'gpt-4.1', input: 'Tell me about the trams of Lisbon', stream: true }));
    // Both once before counting: module-level parses of a first call are not the call's.
    await stream(bare)();
    await stream(wrapped)();
    await limiter.flush();
    const bareParses = await parsesDuring(stream(bare));
    emulator().clearRequests();
    const wrappedParses = await parsesDuring(async () => {
      await stream(wrapped)();
      await limiter.flush();
    });
    expect(total(bareParses)).toBeGreaterThan(8);
    // response.created, response.in_progress and response.completed.
    expect(total(wrappedParses) - total(bareParses)).toBe(3);
    const [record] = await loggedAtLeast(limiter, 2);
    const usage = emulator().requests[0]!.reply!.usage as { inputTokens: number; outputTokens: number };
    expect(record).toMatchObject({ model: 'gpt-4.1', estimated: false, status: 'ok', inputTokens: usage.inputTokens, outputTokens: usage.outputTokens });
    await limiter.close();
  });
});
