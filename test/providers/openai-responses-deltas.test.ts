/**
 * A Responses stream that breaks off is charged the input estimate and the tokens of the output it
 * received (an answer without usage, the output it shows): every kind of output the model writes
 * counts, the code it writes for the code interpreter and the arguments of an MCP call as much as
 * text. A server of the test's own sends
 * those events (the emulator has no hosted tools), then cuts the connection.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, withTokenLimits } from '../../src/index.js';
import { countText } from '../../src/tokenizer/count.js';
import { loggedAtLeast } from './helpers.js';

const CODE = 'import math\nfor n in range(1, 200):\n    print(n, math.sqrt(n), math.factorial(n) % 1000003)\n'.repeat(8);
let server: Server;
let baseURL: string;
let deltaType = 'response.code_interpreter_call_code.delta';

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      if ((JSON.parse(raw) as { stream?: boolean }).stream !== true) {
        // A whole answer without usage: its output is counted instead.
        const output = [{ type: 'code_interpreter_call', id: 'ci_1', status: 'completed', code: CODE, container_id: 'cntr_1', outputs: null }];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'resp_1', object: 'response', model: 'gpt-4.1', status: 'completed', output, usage: null }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const send = (type: string, data: Record<string, unknown>, n: number) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n, ...data })}\n\n`);
      send('response.created', { response: { id: 'resp_1', object: 'response', model: 'gpt-4.1', status: 'in_progress', output: [], usage: null } }, 0);
      const pieces = CODE.match(/[\s\S]{1,40}/g)!;
      pieces.forEach((delta, i) => send(deltaType, { item_id: 'ci_1', output_index: 0, delta }, i + 1));
      // The connection closes before the response completes (no last chunk: the body is cut short).
      setTimeout(() => res.socket?.end(), 20);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/**
 * The output counted is the code's: its exact count, or more where the count ran past its time
 * budget (the rest is then bounded by its bytes, on a loaded machine), never nothing.
 */
function expectCounted(outputTokens: number): void {
  expect(outputTokens).toBeGreaterThanOrEqual(countText(CODE, 'o200k_base').tokens);
  expect(outputTokens).toBeLessThanOrEqual(Buffer.byteLength(CODE));
}

/** A limiter with its encoders loaded: an output counted before they are is bounded by its bytes. */
async function warmLimiter() {
  const limiter = createTokenLimiter({ defaultLimits: [{ id: 'm', tokens: 10_000_000, period: 'month' }] });
  await limiter.warmup();
  return limiter;
}

describe('withTokenLimits(openai): a broken Responses stream counts every output it received', () => {
  for (const type of ['response.code_interpreter_call_code.delta', 'response.mcp_call_arguments.delta']) {
    it(type, async () => {
      deltaType = type;
      const limiter = await warmLimiter();
      const wrapped = withTokenLimits(new OpenAI({ apiKey: 'test', baseURL, maxRetries: 0 }), 'alice', { limiter });
      const stream = await wrapped.responses.create({ model: 'gpt-4.1', input: 'Compute some numbers', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }], max_output_tokens: 5000, stream: true });
      await expect((async () => { for await (const _event of stream); })()).rejects.toThrow();
      const [record] = await loggedAtLeast(limiter, 1);
      expect(record).toMatchObject({ estimated: true, status: 'aborted' });
      expectCounted(record!.outputTokens);
    });
  }

  it('a whole answer without usage counts the code of its code interpreter call', async () => {
    const limiter = await warmLimiter();
    const wrapped = withTokenLimits(new OpenAI({ apiKey: 'test', baseURL, maxRetries: 0 }), 'alice', { limiter });
    await wrapped.responses.create({ model: 'gpt-4.1', input: 'Compute some numbers', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }], max_output_tokens: 5000 });
    const [record] = await loggedAtLeast(limiter, 1);
    expect(record).toMatchObject({ estimated: true, status: 'ok' });
    expectCounted(record!.outputTokens);
  });
});
