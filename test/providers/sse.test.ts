import { describe, expect, it } from 'vitest';
import { readSse } from '../../src/providers/shared/sse.js';

const encode = (text: string) => new TextEncoder().encode(text);

/** A body that delivers its bytes and then never ends (what an aborted fetch can leave behind). */
function openBody(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(encode(text));
    },
  });
}

describe('readSse', () => {
  it('gives up on a body left open after its request was aborted: buffered events still arrive, then it throws within the grace period', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const started = Date.now();
    const reading = (async () => {
      for await (const event of readSse(openBody('data: {"a":1}\n\ndata: [DONE]\n\n'), { signal: controller.signal, graceMs: 50 })) seen.push(event.data);
    })();
    await new Promise((resolve) => setTimeout(resolve, 30));
    controller.abort();
    await expect(reading).rejects.toThrow(/abort/i);
    expect(seen).toEqual(['{"a":1}', '[DONE]']);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('an abort signalled before reading starts still lets buffered events through', async () => {
    const controller = new AbortController();
    controller.abort(new Error('caller aborted'));
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const event of readSse(openBody('data: x\n\n'), { signal: controller.signal, graceMs: 20 })) seen.push(event.data);
      })(),
    ).rejects.toThrow('caller aborted');
    expect(seen).toEqual(['x']);
  });

  it('without an abort it reads to the end of the body, and a body that ends is read completely', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(encode('data: 1\n\nda'));
        c.enqueue(encode('ta: 2\n\n'));
        c.close();
      },
    });
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const event of readSse(body, { signal: controller.signal, graceMs: 10 })) seen.push(event.data);
    expect(seen).toEqual(['1', '2']);
  });
});
