import { describe, expect, it } from 'vitest';

import { countTokens, embeddingOf, float32Base64, replyText, tokenize, truncateToTokens } from '../../src/testing/emulator/content.js';
import { mergeUsage, rawJson, toJson } from '../../src/testing/emulator/json.js';
import { parseUsageHeader } from '../../src/testing/emulator/knobs.js';
import { sampleFromSchema } from '../../src/testing/emulator/schema.js';
import { emulatorTokenCount } from '../../src/testing/index.js';

describe('emulator tokenizer', () => {
  it('splits into runs of at most four non-space characters with their leading whitespace', () => {
    expect(tokenize('Hello responses!')).toEqual(['Hell', 'o', ' resp', 'onse', 's!']);
    expect(tokenize('  ')).toEqual([]);
    expect(countTokens('日本語のテキスト')).toBe(2);
    // tikt|oken| is| grea|t! (a real BPE gives 6)
    expect(emulatorTokenCount('tiktoken is great!')).toBe(5);
  });

  it('truncates to a token budget', () => {
    expect(truncateToTokens('one two three', 2)).toEqual({ text: 'one two', tokens: ['one', ' two'], truncated: true });
    expect(truncateToTokens('one two', 5).truncated).toBe(false);
    expect(replyText('  a  b ', 1)).toBe('Emulated reply to "a b". (choice 2)');
  });

  it('makes float32-exact embeddings that survive base64', () => {
    const values = embeddingOf('x', 5);
    const decoded = Buffer.from(float32Base64(values), 'base64');
    expect(Array.from({ length: 5 }, (_, i) => decoded.readFloatLE(i * 4))).toEqual(values);
    expect(embeddingOf('x', 40)).toHaveLength(40);
    expect(embeddingOf('y', 5)).not.toEqual(values);
  });
});

describe('JSON schema sampler', () => {
  it('follows $ref, anyOf, allOf, const, formats and bounds', () => {
    const schema = {
      type: 'object',
      $defs: { point: { type: 'object', properties: { x: { type: 'number', exclusiveMinimum: 3 } }, required: ['x'] } },
      properties: {
        p: { $ref: '#/$defs/point' },
        maybe: { anyOf: [{ type: 'null' }, { type: 'integer', maximum: 0 }] },
        both: { allOf: [{ type: 'object', properties: { a: { type: 'boolean' } } }, { properties: { b: { const: 'fixed' } } }] },
        when: { type: 'string', format: 'date-time' },
        code: { type: 'string', minLength: 20, maxLength: 20 },
        list: { type: 'array', items: { type: 'integer' }, minItems: 3 },
      },
    };
    expect(sampleFromSchema(schema)).toEqual({
      p: { x: 4 },
      maybe: 0,
      both: { a: true, b: 'fixed' },
      when: '2025-01-01T00:00:00Z',
      code: 'example codexxxxxxxx',
      list: [1, 1, 1],
    });
  });

  it('accepts Gemini upper-case types and propertyOrdering, and tolerates garbage', () => {
    expect(sampleFromSchema({ type: 'OBJECT', propertyOrdering: ['b', 'a'], properties: { a: { type: 'STRING' }, b: { type: 'BOOLEAN' } } })).toEqual({
      b: true,
      a: 'example a',
    });
    expect(sampleFromSchema(undefined)).toEqual({});
    expect(sampleFromSchema({ $ref: '#/nowhere' })).toBeNull();
    const recursive = { type: 'object', properties: { child: { $ref: '#' } } };
    expect(JSON.stringify(sampleFromSchema(recursive))).toContain('null');
  });
});

describe('raw JSON and usage overrides', () => {
  it('writes raw values, NaN and infinities verbatim', () => {
    expect(toJson({ a: rawJson('1e309'), b: NaN, c: -Infinity, d: 'NaN', e: [1] })).toBe('{"a":1e309,"b":NaN,"c":-1e309,"d":"NaN","e":[1]}');
    expect(() => rawJson('1\n2')).toThrow(RangeError);
    expect(() => rawJson('')).toThrow(RangeError);
  });

  it('merges overrides deeply; undefined removes a field', () => {
    const merged = mergeUsage({ a: 1, nested: { x: 1, y: 2 }, gone: 3 }, { a: '1', nested: { y: null }, gone: undefined, added: 4 });
    expect(merged).toEqual({ a: '1', nested: { x: 1, y: null }, added: 4 });
    expect('gone' in merged).toBe(false);
  });

  it('parses the x-emulator-usage header', () => {
    const parsed = parseUsageHeader('x-emulator-usage', 'prompt_tokens=-1, note="a,b", details.cached_tokens=1.5, total_tokens=');
    expect(toJson(mergeUsage({ total_tokens: 3 }, parsed))).toBe('{"prompt_tokens":-1,"note":"a,b","details":{"cached_tokens":1.5}}');
    expect(() => parseUsageHeader('x-emulator-usage', 'novalue')).toThrow(/field=value/);
  });
});
