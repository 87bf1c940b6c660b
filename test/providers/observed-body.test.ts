import { describe, expect, it } from 'vitest';
import { observedBody, type BodyObserver } from '../../src/providers/shared/observed-body.js';
import type { SseEvent } from '../../src/providers/shared/sse.js';

const bytes = (text: string) => new TextEncoder().encode(text);

/** A source whose chunks the test pushes, with a record of its cancellation. */
function source() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const state = { cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    start: (c) => {
      controller = c;
    },
    cancel: () => {
      state.cancelled = true;
    },
  });
  return { stream, push: (text: string) => controller.enqueue(bytes(text)), end: () => controller.close(), fail: (e: Error) => controller.error(e), state };
}

function recorder(terminal = '[DONE]') {
  const seen: string[] = [];
  const outcomes: string[] = [];
  const observer: BodyObserver = {
    onEvent: (event: SseEvent) => seen.push(event.data),
    finished: () => seen.includes(terminal),
    settle: (outcome) => outcomes.push(outcome),
  };
  return { observer, seen, outcomes };
}

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

/** A source, a recording observer and the caller's body over them. */
function start(rewrite?: (event: SseEvent) => string | null | undefined, abandon?: { signal: AbortSignal; graceMs: number }) {
  const src = source();
  const rec = recorder();
  return { src, rec, body: observedBody(src.stream, rec.observer, rewrite, abandon) };
}

describe('observedBody', () => {
  it('without a rewrite, hands on the provider bytes unchanged; ends after the call is settled', async () => {
    const { src, rec, body } = start();
    const sent = 'data: {"a":1}\n\n: keep-alive\n\ndata: [DO';
    src.push(sent);
    src.push('NE]\n\n');
    src.end();
    const text = await new Response(body).text();
    expect(text).toBe(`${sent}NE]\n\n`);
    expect(rec.seen).toEqual(['{"a":1}', '[DONE]']);
    expect(rec.outcomes).toEqual(['ended']);
  });

  it('rewrites, drops or keeps each event for the caller; every event reaches the observer once', async () => {
    const rewrite = (event: SseEvent) => (event.data === 'drop' ? null : event.data === 'edit' ? 'data: edited\n\n' : undefined);
    const { src, rec, body } = start(rewrite);
    src.push('data: keep\n\ndata: drop\n\ndata: ed');
    src.push('it\n\ndata: [DONE]\n\n');
    src.end();
    expect(await new Response(body).text()).toBe('data: keep\n\ndata: edited\n\ndata: [DONE]\n\n');
    expect(rec.seen).toEqual(['keep', 'drop', 'edit', '[DONE]']);
  });

  it('reads the whole stream and settles even if the caller never reads', async () => {
    const { src, rec } = start();
    src.push('data: 1\n\ndata: 2\n\n');
    src.end();
    await tick();
    expect(rec.seen).toEqual(['1', '2']);
    expect(rec.outcomes).toEqual(['ended']);
  });

  it('settles at the terminal event, before the body ends', async () => {
    const { src, rec } = start();
    src.push('data: 1\n\ndata: [DONE]\n\n');
    await tick();
    expect(rec.outcomes).toEqual(['ended']);
    expect(src.state.cancelled).toBe(false);
  });

  it('a caller that cancels early: reading goes on until the call is settled, then the provider body is cancelled', async () => {
    const { src, rec, body } = start();
    src.push('data: 1\n\n');
    const reader = body.getReader();
    await reader.read();
    await reader.cancel();
    src.push('data: 2\n\n');
    await tick();
    expect(rec.seen).toEqual(['1', '2']);
    expect(src.state.cancelled).toBe(false);
    src.push('data: [DONE]\n\n');
    await tick();
    expect(rec.outcomes).toEqual(['ended']);
    expect(src.state.cancelled).toBe(true);
  });

  it('a failing provider body fails the caller body with its error and settles as failed', async () => {
    const { src, rec, body } = start();
    src.push('data: 1\n\n');
    const failure = new Error('connection reset');
    await tick();
    src.fail(failure);
    await expect(new Response(body).text()).rejects.toBe(failure);
    expect(rec.outcomes).toEqual(['failed']);
  });

  it('after an abort, gives up on a body that never ends, once the grace has passed', async () => {
    const abort = new AbortController();
    const { src, rec, body } = start(undefined, { signal: abort.signal, graceMs: 20 });
    src.push('data: 1\n\n');
    await tick();
    abort.abort(new Error('aborted by the caller'));
    await expect(new Response(body).text()).rejects.toThrow('aborted by the caller');
    expect(rec.seen).toEqual(['1']);
    expect(rec.outcomes).toEqual(['failed']);
    expect(src.state.cancelled).toBe(true);
  });

  it('an abort signalled before reading starts still lets what is buffered through, then gives up', async () => {
    const abort = new AbortController();
    abort.abort(new Error('caller aborted'));
    const { src, rec, body } = start(undefined, { signal: abort.signal, graceMs: 20 });
    src.push('data: x\n\n');
    await expect(new Response(body).text()).rejects.toThrow('caller aborted');
    expect(rec.seen).toEqual(['x']);
    expect(rec.outcomes).toEqual(['failed']);
  });

  it('an observer that throws settles the call as failed and never breaks the caller body', async () => {
    const src = source();
    const outcomes: string[] = [];
    const observer: BodyObserver = {
      onEvent: (event) => {
        if (event.data === 'bad') throw new Error('observer bug');
      },
      finished: () => false,
      settle: (outcome) => {
        outcomes.push(outcome);
        throw new Error('settle bug');
      },
    };
    const body = observedBody(src.stream, observer, (event) => (event.data === 'x' ? 'data: y\n\n' : undefined), undefined);
    src.push('data: x\n\ndata: bad\n\ndata: z\n\n');
    src.end();
    expect(await new Response(body).text()).toBe('data: y\n\ndata: bad\n\ndata: z\n\n');
    expect(outcomes).toEqual(['failed']);
  });
});
