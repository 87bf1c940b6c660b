import { describe, expect, it } from 'vitest';
import { DeferredTexts, MAX_PENDING_CHARS } from '../../src/providers/shared/deferred-texts.js';

/** Counts the parses, so a test can tell when the data was read. */
function counting() {
  let parses = 0;
  const texts = new DeferredTexts((data) => {
    parses += 1;
    const t = (data as { t?: unknown } | undefined)?.t;
    return typeof t === 'string' ? t : '';
  });
  return { texts, parses: () => parses };
}

describe('DeferredTexts', () => {
  it('parses nothing until the text is asked for, then gives the texts in stream order', () => {
    const { texts, parses } = counting();
    texts.add('{"t":"Hel"}');
    texts.addParsed({ t: 'lo' });
    texts.add('{"t":", "}');
    texts.add('not json');
    texts.add('[DONE]');
    texts.addParsed({ t: 'world' });
    expect(parses()).toBe(2);
    expect(texts.text()).toBe('Hello, world');
    expect(parses()).toBe(6);
    // Asked again: nothing parsed twice.
    expect(texts.text()).toBe('Hello, world');
    expect(parses()).toBe(6);
  });

  it('keeps at most MAX_PENDING_CHARS of unparsed data: beyond, it is parsed and only the texts kept', () => {
    const { texts, parses } = counting();
    const event = JSON.stringify({ t: 'x', pad: 'p'.repeat(1000) });
    const count = Math.ceil((MAX_PENDING_CHARS * 2.5) / event.length);
    for (let i = 0; i < count; i += 1) texts.add(event);
    expect(parses()).toBeGreaterThan(0);
    expect(parses()).toBeLessThan(count);
    expect(texts.text()).toBe('x'.repeat(count));
    expect(parses()).toBe(count);
  });
});
