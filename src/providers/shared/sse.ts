/**
 * Server-sent events: a byte-level parser that keeps each event's raw text, so that events passed
 * through unchanged stay byte-identical (see observed-body.ts, which may drop or rewrite events).
 */

export interface SseEvent {
  /** The `event:` field, if any. */
  event: string | undefined;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The event's exact text, terminating blank line included. */
  raw: string;
  /**
   * The data parsed as JSON, once something asked for it ({@link eventJson}): an event is read by
   * the usage observer and by the rewrite of the caller's events, and is parsed once for both.
   */
  json?: { value: unknown } | undefined;
}

/**
 * Incremental SSE parser over decoded text. Streams from the providers end their lines with `\n`
 * only: while the text holds no `\r`, events are found and split with `indexOf` (a regular
 * expression over the buffer and a split per event took most of a stream's parsing time); any `\r`
 * sends the text through the general rules of the SSE format, which give the same events.
 */
export class SseParser {
  #buffer = '';

  /** Feeds text; returns the events completed by it. */
  push(text: string): SseEvent[] {
    const buffer = this.#buffer + text;
    const events: SseEvent[] = [];
    if (buffer.indexOf('\r') >= 0) {
      let rest = buffer;
      for (;;) {
        const end = findEventEnd(rest);
        if (end < 0) break;
        const event = parseEvent(rest.slice(0, end));
        rest = rest.slice(end);
        if (event) events.push(event);
      }
      this.#buffer = rest;
      return events;
    }
    let start = 0;
    for (;;) {
      const end = buffer.indexOf('\n\n', start);
      if (end < 0) break;
      const event = parseLfEvent(buffer.slice(start, end + 2));
      start = end + 2;
      if (event) events.push(event);
    }
    this.#buffer = start === 0 ? buffer : buffer.slice(start);
    return events;
  }

  /** What is left when the stream ends (an event without its terminating blank line). */
  flush(): SseEvent[] {
    const rest = this.#buffer;
    this.#buffer = '';
    const event = rest.trim().length > 0 ? parseEvent(rest) : undefined;
    return event ? [event] : [];
  }
}

/** Index just past the blank line that ends the first event, or -1. */
function findEventEnd(text: string): number {
  const match = /\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n/.exec(text);
  return match ? match.index + match[0].length : -1;
}

/** One event's fields by the general rules of the SSE format (any line ending). */
export function parseEvent(raw: string): SseEvent | undefined {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of raw.split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (event === undefined && data.length === 0) return undefined;
  return { event, data: data.join('\n'), raw, json: undefined };
}

const COLON = 58;
const SPACE = 32;

/** {@link parseEvent} for an event whose lines end with `\n` only (no `\r` anywhere). */
function parseLfEvent(raw: string): SseEvent | undefined {
  let event: string | undefined;
  let data: string | undefined;
  for (let at = 0; at < raw.length; ) {
    let eol = raw.indexOf('\n', at);
    if (eol < 0) eol = raw.length;
    if (eol > at && raw.charCodeAt(at) !== COLON) {
      let colon = raw.indexOf(':', at);
      if (colon > eol) colon = -1;
      const fieldEnd = colon < 0 ? eol : colon;
      let valueAt = colon < 0 ? eol : colon + 1;
      if (valueAt < eol && raw.charCodeAt(valueAt) === SPACE) valueAt += 1;
      if (fieldEnd - at === 4 && raw.startsWith('data', at)) {
        const value = raw.slice(valueAt, eol);
        data = data === undefined ? value : `${data}\n${value}`;
      } else if (fieldEnd - at === 5 && raw.startsWith('event', at)) {
        event = raw.slice(valueAt, eol);
      }
    }
    at = eol + 1;
  }
  if (event === undefined && data === undefined) return undefined;
  return { event, data: data ?? '', raw, json: undefined };
}

/** When to give up on a stream whose request was aborted (see {@link abandonableReader}). */
export interface AbandonOnAbort {
  signal: AbortSignal;
  /** How long to keep reading after the abort (what is already buffered still arrives). */
  graceMs: number;
}

/** A reader whose `read()` gives up some time after an abort (see {@link abandonableReader}). */
export interface AbandonableReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  /** Cancels the stream (ignoring a failure to). */
  cancel(): void;
  /** Stops watching the signal; releases the stream, or cancels it if reading gave up after an abort. */
  close(): void;
}

/**
 * A reader of `stream`. With `abandon`: once its signal aborts, reading goes on for `graceMs` at
 * most, then `read()` rejects with the abort reason (and `close()` cancels the stream). An aborted
 * fetch does not always end its body: when the abort lands after the last byte but before the end
 * of the body was signalled, a tee'd branch of the body is left open forever (observed with Node's
 * fetch), and a reader waiting on it would never settle.
 */
export function abandonableReader(stream: ReadableStream<Uint8Array>, abandon?: AbandonOnAbort): AbandonableReader {
  const reader = stream.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let arm: (() => void) | undefined;
  let gaveUp = false;
  const abandoned = new Promise<never>((_, reject) => {
    if (!abandon) return;
    arm = () => {
      timer = setTimeout(() => reject(abandon.signal.reason ?? new Error('The request was aborted')), abandon.graceMs);
      timer.unref?.();
    };
    if (abandon.signal.aborted) arm();
    else abandon.signal.addEventListener('abort', arm, { once: true });
  });
  abandoned.catch(() => {});
  return {
    async read() {
      if (!abandon) return reader.read();
      try {
        return await Promise.race([reader.read(), abandoned]);
      } catch (error) {
        gaveUp = abandon.signal.aborted;
        throw error;
      }
    },
    cancel() {
      reader.cancel().catch(() => {});
    },
    close() {
      clearTimeout(timer);
      if (arm) abandon?.signal.removeEventListener('abort', arm);
      if (gaveUp) reader.cancel().catch(() => {});
      else reader.releaseLock();
    },
  };
}

/**
 * An event's data parsed as JSON, or undefined (see {@link parseJsonOrUndefined}); parsed on the
 * first call only. The value is shared by every reader of the event: none may change it.
 */
export function eventJson(event: SseEvent): unknown {
  event.json ??= { value: parseJsonOrUndefined(event.data) };
  return event.json.value;
}

/** Parses event data as JSON: undefined when empty, `[DONE]` or malformed. */
export function parseJsonOrUndefined(data: string): unknown {
  if (data.length === 0 || data === '[DONE]') return undefined;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}
