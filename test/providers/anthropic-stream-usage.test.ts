/**
 * Anthropic streams whose usage events differ from Anthropic's own API but come from servers the
 * SDK is pointed at (Anthropic-compatible endpoints of other vendors and self-hosted servers,
 * gateways): the real SDK over real HTTP, against a server that writes exactly the given events
 * (the emulator always writes Anthropic's own shape).
 */
import Anthropic from '@anthropic-ai/sdk';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenLimiter, withTokenLimits } from '../../src/index.js';
import { outputTokensOf } from '../../src/providers/anthropic/endpoints.js';
import { collect } from '../emulator/harness.js';
import { loggedAtLeast } from './helpers.js';

const MODEL = 'claude-sonnet-4-5';
const request = { model: MODEL, max_tokens: 400, messages: [{ role: 'user' as const, content: 'Tell me about Lisbon.' }] };
const TEXT = 'Lisbon is the capital of Portugal, on the Tagus estuary. '.repeat(6);

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server that answers every request with these SSE events; its base URL. */
async function serving(events: Array<[type: string, data: Record<string, unknown>]>): Promise<string> {
  const body = events.map(([type, data]) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`).join('');
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': 'req_compat' });
      res.end(body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** A text reply's events, with `start` as message_start's usage and `delta` as the final message_delta's (none when undefined). */
function reply(start: Record<string, unknown>, delta: Record<string, unknown> | undefined): Array<[string, Record<string, unknown>]> {
  return [
    ['message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: MODEL, content: [], stop_reason: null, stop_sequence: null, usage: start } }],
    ['content_block_start', { index: 0, content_block: { type: 'text', text: '' } }],
    ['content_block_delta', { index: 0, delta: { type: 'text_delta', text: TEXT } }],
    ['content_block_stop', { index: 0 }],
    ['message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, ...(delta === undefined ? {} : { usage: delta }) }],
    ['message_stop', {}],
  ];
}

function setup(baseURL: string) {
  const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] });
  return { limiter, client: withTokenLimits(new Anthropic({ apiKey: 'test', baseURL }), 'alice', { limiter }) };
}

const ways = [
  { name: 'messages.create({ stream: true })', run: async (c: Anthropic) => collect(await c.messages.create({ ...request, stream: true })) },
  { name: 'messages.stream()', run: (c: Anthropic) => c.messages.stream(request).done() },
];

describe('withTokenLimits(anthropic): stream usage from Anthropic-compatible servers', () => {
  for (const way of ways) {
    it(`${way.name}: a final message_delta that repeats the input side as 0 does not erase the input of message_start`, async () => {
      // Cumulative counts never go down: a 0 after message_start's count is a placeholder
      // (servers that report only output in message_delta write the input fields as 0).
      const start = { input_tokens: 1200, output_tokens: 1, cache_creation_input_tokens: 300, cache_read_input_tokens: 5000 };
      const { limiter, client } = setup(await serving(reply(start, { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 77 })));
      await way.run(client);
      const [record] = await loggedAtLeast(limiter, 1);
      expect(record).toMatchObject({ inputTokens: 6500, cachedInputTokens: 5000, outputTokens: 77, estimated: false, status: 'ok' });
    });

    it(`${way.name}: an input reported only in the final message_delta (message_start says 0) is charged`, async () => {
      const { limiter, client } = setup(await serving(reply({ input_tokens: 0, output_tokens: 0 }, { input_tokens: 1200, output_tokens: 77 })));
      await way.run(client);
      const [record] = await loggedAtLeast(limiter, 1);
      expect(record).toMatchObject({ inputTokens: 1200, outputTokens: 77, estimated: false, status: 'ok' });
    });
  }

  it('a stream whose final message_delta carries no usage is charged an estimate of its text, not the output count of message_start, with message_start\'s input', async () => {
    // The SDK's MessageStream fails on such a stream; a raw stream of create() reads to its end.
    const { limiter, client } = setup(await serving(reply({ input_tokens: 1200, output_tokens: 1 }, undefined)));
    const events = await collect(await client.messages.create({ ...request, stream: true }));
    expect(events.at(-1)).toMatchObject({ type: 'message_stop' });
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: true, status: 'ok' });
    expect(record!.outputTokens).toBeGreaterThanOrEqual(outputTokensOf(TEXT, MODEL));
    // The input message_start reported, not the estimate of the request.
    expect(record!.inputTokens).toBe(1200);
  });
});

describe('withTokenLimits(anthropic): a compacting stream cut before its usage', () => {
  it("charges the summary it streamed (compaction_delta content) as output, since no usage says otherwise", async () => {
    const summary = 'Summary of the conversation so far: the user is planning a trip to Lisbon and asked about trams. '.repeat(6);
    const { limiter, client } = setup(
      await serving([
        ['message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: MODEL, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1200, output_tokens: 1 } } }],
        ['content_block_start', { index: 0, content_block: { type: 'compaction', content: null } }],
        ['content_block_delta', { index: 0, delta: { type: 'compaction_delta', content: summary, encrypted_content: null } }],
        ['content_block_stop', { index: 0 }],
      ]),
    );
    await collect(await client.beta.messages.create({ ...request, stream: true } as never) as unknown as AsyncIterable<unknown>).catch(() => undefined);
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: true });
    expect(record!.outputTokens).toBeGreaterThanOrEqual(outputTokensOf(summary, MODEL));
  });
});

describe('withTokenLimits(anthropic): a stream the provider ends with an error event', () => {
  // Anthropic sends `event: error` (overloaded_error, api_error...) in place of the message's end.
  const broken: Array<[string, Record<string, unknown>]> = [
    ...reply({ input_tokens: 1200, output_tokens: 1 }, undefined).slice(0, 3),
    ['error', { error: { type: 'overloaded_error', message: 'Overloaded' } }],
  ];

  it('is settled as broken whether or not the caller reads it, with the input message_start reported', async () => {
    const records = [];
    for (const reads of [true, false]) {
      const { limiter, client } = setup(await serving(broken));
      const stream = await client.messages.create({ ...request, stream: true });
      if (reads) await expect(collect(stream)).rejects.toThrow(/Overloaded/);
      const [record] = await loggedAtLeast(limiter, 1);
      records.push(record);
    }
    for (const record of records) expect(record).toMatchObject({ status: 'aborted', estimated: true, inputTokens: 1200 });
    // The same charge either way: the caller's reading does not decide it.
    expect(records[0]!.outputTokens).toBe(records[1]!.outputTokens);
  });
});
