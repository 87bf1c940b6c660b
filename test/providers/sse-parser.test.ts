import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from '../../src/providers/shared/sse.js';

/** The parser as the SSE rules state it (regular expressions, any line ending): the reference. */
class ReferenceParser {
  #buffer = '';
  push(text: string): SseEvent[] {
    this.#buffer += text;
    const events: SseEvent[] = [];
    for (;;) {
      const match = /\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n/.exec(this.#buffer);
      if (!match) break;
      const end = match.index + match[0].length;
      const raw = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end);
      const event = parse(raw);
      if (event) events.push(event);
    }
    return events;
  }
  flush(): SseEvent[] {
    const rest = this.#buffer;
    this.#buffer = '';
    const event = rest.trim().length > 0 ? parse(rest) : undefined;
    return event ? [event] : [];
  }
}

function parse(raw: string): SseEvent | undefined {
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
  return { event, data: data.join('\n'), raw };
}

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
