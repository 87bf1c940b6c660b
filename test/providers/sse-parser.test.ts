import { describe, expect, it } from 'vitest';
import { parseEvent, SseParser, type SseEvent } from '../../src/providers/shared/sse.js';
import { prng } from '../tokenizer/adversarial-corpus.js';

/**
 * The parser as the SSE rules state it: each event's end found by a regular expression over the
 * buffer (any line ending), its fields by `parseEvent`, the general path the fast one must match.
 */
class ReferenceParser {
  #buffer = '';
  push(text: string): SseEvent[] {
    this.#buffer += text;
    const events: SseEvent[] = [];
    for (;;) {
      const match = /\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n/.exec(this.#buffer);
      if (!match) break;
      const end = match.index + match[0].length;
      const event = parseEvent(this.#buffer.slice(0, end));
      this.#buffer = this.#buffer.slice(end);
      if (event) events.push(event);
    }
    return events;
  }
  flush(): SseEvent[] {
    const rest = this.#buffer;
    this.#buffer = '';
    const event = rest.trim().length > 0 ? parseEvent(rest) : undefined;
    return event ? [event] : [];
  }
}

/** Uniform in [0, 1), seeded (the corpus generator's LCG). */
function random(seed: number): () => number {
  const next = prng(seed);
  return () => next() / 2 ** 32;
}

const PIECES = ['data', 'data:', 'data: ', 'event', 'event:', 'event: ', 'id: 7', ': comment', 'retry: 10', 'dat', 'datas: x', ' data: x', '{"a":1}', '[DONE]', ':', ' ', 'x', 'é', '😀'];

function stream(next: () => number, lineEndings: readonly string[]): string {
  let text = '';
  const lines = 5 + Math.floor(next() * 40);
  for (let i = 0; i < lines; i += 1) {
    const parts = 1 + Math.floor(next() * 3);
    for (let j = 0; j < parts; j += 1) text += PIECES[Math.floor(next() * PIECES.length)];
    text += lineEndings[Math.floor(next() * lineEndings.length)];
    if (next() < 0.3) text += lineEndings[Math.floor(next() * lineEndings.length)];
  }
  return text;
}

function run(parser: { push(t: string): SseEvent[]; flush(): SseEvent[] }, text: string, cuts: number[]): SseEvent[] {
  const out: SseEvent[] = [];
  let at = 0;
  for (const cut of [...cuts, text.length]) {
    out.push(...parser.push(text.slice(at, cut)));
    at = cut;
  }
  out.push(...parser.flush());
  return out;
}

describe('SseParser', () => {
  it('parses OpenAI-style chunks as they come, whole or cut anywhere', () => {
    const text = 'data: {"id":"a","choices":[{"delta":{"content":"Hi"}}],"usage":null}\n\ndata: {"id":"a","choices":[],"usage":{"prompt_tokens":3}}\n\ndata: [DONE]\n\n';
    for (let cut = 0; cut <= text.length; cut += 1) {
      const events = run(new SseParser(), text, [cut]);
      expect(events.map((e) => e.data)).toEqual(['{"id":"a","choices":[{"delta":{"content":"Hi"}}],"usage":null}', '{"id":"a","choices":[],"usage":{"prompt_tokens":3}}', '[DONE]']);
      expect(events.map((e) => e.raw).join('')).toBe(text);
    }
  });

  it('gives the events the SSE rules give, for any line endings and any cuts', () => {
    const next = random(42);
    for (const endings of [['\n'], ['\r\n'], ['\r'], ['\n', '\r\n', '\r']]) {
      for (let round = 0; round < 300; round += 1) {
        const text = stream(next, endings);
        const cuts = Array.from({ length: Math.floor(next() * 6) }, () => Math.floor(next() * text.length)).sort((a, b) => a - b);
        expect(run(new SseParser(), text, cuts)).toEqual(run(new ReferenceParser(), text, cuts));
      }
    }
  });
});
