/**
 * The rewrite that hides the usage the wrapper asked an OpenAI stream for: each chunk's
 * `"usage":null` and the extra final usage chunk. Most chunks are edited as text (no JSON round
 * trip); whatever the path, the caller's chunk parses to the provider's chunk without `usage`.
 */
import { describe, expect, it } from 'vitest';
import type { Binding } from '../../src/providers/shared/binding.js';
import { askForStreamUsage, usageNullAtEnd, usageNullBeforeObfuscation } from '../../src/providers/openai/stream-usage.js';
import type { SseEvent } from '../../src/providers/shared/sse.js';

const { rewrite } = askForStreamUsage({ stream: true }, { options: {} } as unknown as Binding);
const event = (data: string, name?: string): SseEvent => ({ event: name, data, raw: `${name === undefined ? '' : `event: ${name}\n`}data: ${data}\n\n` });
/** The JSON the caller's SDK reads from a rewritten event. */
const delivered = (out: string | null | undefined, original: SseEvent): unknown => {
  if (out === null) return null;
  const text = out ?? original.raw;
  const data = text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => line.slice(6))
    .join('\n');
  return JSON.parse(data);
};

describe('askForStreamUsage: hiding the usage the wrapper asked for', () => {
  it.each([
    ['usage null, last member (the common chunk)', '{"id":"c1","choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null}'],
    ['with spaces around it', '{"id":"c1","choices":[{"index":0,"delta":{"content":"Hi"}}], "usage" : null }'],
    ['usage null, not the last member', '{"id":"c1","usage":null,"choices":[{"index":0,"delta":{"content":"Hi"}}]}'],
    ['a nested usage null stays (only the top-level one is hidden)', '{"id":"c1","choices":[{"index":0,"delta":{"content":"Hi"},"meta":{"usage":null}}],"usage":null}'],
    ['text that looks like it, inside a string', '{"id":"c1","choices":[{"index":0,"delta":{"content":"x,\\"usage\\":null}"}}],"usage":null}'],
    ['escapes kept as sent', '{"id":"c1","choices":[{"index":0,"delta":{"content":"caf\\u00e9 \\/ \\n"}}],"usage":null}'],
  ])('%s', (_name, data) => {
    const original = event(data);
    const expected = JSON.parse(data) as Record<string, unknown>;
    delete expected.usage;
    const out = rewrite!(original);
    expect(out).not.toBeUndefined();
    expect(delivered(out, original)).toEqual(expected);
  });

  // OpenAI adds `"obfuscation": "<random characters>"` after `"usage": null` in every chunk by
  // default (`stream_options.include_obfuscation`): such chunks are edited as text too, so their
  // escapes reach the caller as sent (a JSON round trip rewrote `\u00e9` as `é`, on every chunk).
  it.each([
    ['usage null before the obfuscation member', '{"id":"c1","choices":[{"index":0,"delta":{"content":"caf\\u00e9"}}],"usage":null,"obfuscation":"kJ0w"}'],
    ['with spaces', '{"id":"c1","choices":[{"index":0,"delta":{"content":"caf\\u00e9"}}] , "usage" : null , "obfuscation" : "ZGF" } '],
    ['an empty obfuscation', '{"id":"c1","choices":[{"index":0,"delta":{"content":"caf\\u00e9"}}],"usage":null,"obfuscation":""}'],
  ])('%s: cut as text', (_name, data) => {
    const out = rewrite!(event(data));
    expect(out).toEqual(expect.stringContaining('caf\\u00e9'));
    const expected = JSON.parse(data) as Record<string, unknown>;
    delete expected.usage;
    expect(delivered(out, event(data))).toEqual(expected);
  });

  it.each([
    ['a nested usage null before it stays', '{"id":"c1","choices":[{"index":0,"meta":{"usage":null}}],"obfuscation":"kJ"}', undefined],
    ['an escaped quote in the obfuscation: through the parse', '{"id":"c1","choices":[],"usage":null,"obfuscation":"a\\"b"}', { id: 'c1', choices: [], obfuscation: 'a"b' }],
    ['another last member: through the parse', '{"id":"c1","choices":[],"usage":null,"other":"x"}', { id: 'c1', choices: [], other: 'x' }],
  ])('%s', (_name, data, expected) => {
    const out = rewrite!(event(data));
    if (expected === undefined) expect(out).toBeUndefined();
    else expect(delivered(out, event(data))).toEqual(expected);
  });

  it('keeps the event name', () => {
    const original = event('{"id":"c1","choices":[],"usage":null}', 'chunk');
    expect(rewrite!(original)).toBe('event: chunk\ndata: {"id":"c1","choices":[]}\n\n');
  });

  it('drops the final usage chunk, and passes chunks without usage and [DONE] untouched', () => {
    expect(rewrite!(event('{"id":"c1","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}'))).toBeNull();
    expect(rewrite!(event('{"id":"c1","choices":[{"index":0,"delta":{"content":"Hi"}}]}'))).toBeUndefined();
    expect(rewrite!(event('[DONE]'))).toBeUndefined();
  });

  it('a nested usage null alone is left as it was', () => {
    expect(rewrite!(event('{"id":"c1","choices":[{"index":0,"meta":{"usage":null}}]}'))).toBeUndefined();
  });

  it('data over several lines goes through the parse', () => {
    const original = event('{"id":"c1",\n"choices":[],\n"usage":null}');
    expect(delivered(rewrite!(original), original)).toEqual({ id: 'c1', choices: [] });
  });

  it('the caller who asked for usage gets the stream untouched', () => {
    expect(askForStreamUsage({ stream: true, stream_options: { include_usage: true } }, { options: {} } as unknown as Binding).rewrite).toBeUndefined();
  });
});

describe('usageNullAtEnd', () => {
  it('finds a last `"usage": null` member exactly where the JSON grammar puts one', () => {
    const cases: Array<[string, number]> = [
      ['{"a":1,"usage":null}', 6],
      ['{"a":1, "usage" : null }  ', 6],
      ['{"a":1,\n"usage":\tnull\r}', 6],
      [',"usage":null}', 0],
      ['{"usage":null}', -1],
      ['{"a":1,"usage":null}x', -1],
      ['{"a":"x,\\"usage\\":null}"}', -1],
      ['{"a":1,"usage":nul}', -1],
      ['{"a":[1,"usage"],"b":null}', -1],
      ['{"a":1,"usage":{"prompt_tokens":3}}', -1],
      ['"usage":null}', -1],
      ['', -1],
    ];
    for (const [data, at] of cases) expect(usageNullAtEnd(data), data).toBe(at);
  });

  it('usageNullBeforeObfuscation: the range from the comma before `"usage"` to the one before `"obfuscation"`', () => {
    const cases: Array<[string, [number, number] | undefined]> = [
      ['{"a":1,"usage":null,"obfuscation":"x"}', [6, 19]],
      ['{"a":1, "usage" : null , "obfuscation" : "" } ', [6, 23]],
      ['{"a":1,"obfuscation":"x"}', undefined],
      ['{"a":{"usage":null},"obfuscation":"x"}', undefined],
      ['{"a":1,"usage":null,"obfuscation":"x\\"y"}', undefined],
      ['{"a":1,"usage":null,"other":"x"}', undefined],
      ['{"a":1,"usage":null,"obfuscation":1}', undefined],
      ['"obfuscation":"x"}', undefined],
      ['', undefined],
    ];
    for (const [data, range] of cases) expect(usageNullBeforeObfuscation(data), data).toEqual(range);
  });
});
