/**
 * A streamed body observed and handed on in one pass. The provider's body is read eagerly, by us,
 * whether or not the caller reads (so the usage of a stream the caller drops or stops early is
 * still seen); each chunk is decoded and its events parsed once; every event goes to the observer
 * and, rewritten or as it came, to the caller's body, which queues what the caller has not read
 * yet. It replaces a tee of the body whose branches were each decoded and parsed (one for the
 * observer, one to rewrite the caller's events): one reader, one parse, no transform stream.
 */
import { abandonableReader, SseParser, type AbandonOnAbort, type SseEvent } from './sse.js';

export interface BodyObserver {
  onEvent(event: SseEvent): void;
  /** True once the stream's terminal event was seen: the call settles then, not at the body's end. */
  finished(): boolean;
  /** Called once: 'ended' at the terminal event or the body's end, 'failed' when reading failed. */
  settle(outcome: 'ended' | 'failed'): void;
}

/** Encoding keeps no state between calls: one encoder serves every stream. */
const encoder = new TextEncoder();

/**
 * The caller's body over `source`. `rewrite` returns an event's new text, null to drop it, or
 * undefined to keep it; without `rewrite` the caller gets the provider's bytes unchanged. The
 * caller's body ends after the call is settled, so a caller that read it to its end sees its usage
 * recorded; it fails with the provider body's error. When the caller cancels it, reading goes on
 * until the call is settled, then the provider's body is cancelled.
 */
export function observedBody(
  source: ReadableStream<Uint8Array>,
  observer: BodyObserver,
  rewrite: ((event: SseEvent) => string | null | undefined) | undefined,
  abandon: AbandonOnAbort | undefined,
): ReadableStream<Uint8Array> {
  const reader = abandonableReader(source, abandon);
  let settled = false;
  let callerGone = false;
  // The observer's failures stay ours: they settle the call as failed and never break the
  // caller's body, which the provider's bytes keep flowing to.
  const settle = (outcome: 'ended' | 'failed'): void => {
    if (settled) return;
    settled = true;
    try {
      observer.settle(outcome);
    } catch {
      // nothing to add: the call is settled as far as this body is concerned
    }
  };
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      callerGone = true;
      if (settled) reader.cancel();
    },
  });
  const decoder = new TextDecoder();
  const parser = new SseParser();
  const pass = (chunk: Uint8Array | undefined, events: SseEvent[]): void => {
    for (const event of events) {
      if (settled) break;
      try {
        observer.onEvent(event);
        if (observer.finished()) settle('ended');
      } catch {
        settle('failed');
      }
    }
    if (callerGone) return;
    if (rewrite === undefined) {
      if (chunk !== undefined) controller.enqueue(chunk);
      return;
    }
    let text = '';
    for (const event of events) {
      const replaced = rewrite(event);
      if (replaced !== null) text += replaced ?? event.raw;
    }
    if (text.length > 0) controller.enqueue(encoder.encode(text));
  };
  void (async () => {
    try {
      for (;;) {
        const result = await reader.read();
        if (result.done) break;
        pass(result.value, parser.push(decoder.decode(result.value, { stream: true })));
        if (settled && callerGone) {
          reader.cancel();
          return;
        }
      }
      pass(undefined, [...parser.push(decoder.decode()), ...parser.flush()]);
      settle('ended');
      if (!callerGone) controller.close();
    } catch (error) {
      settle('failed');
      if (!callerGone) controller.error(error);
    } finally {
      reader.close();
    }
  })();
  return body;
}
