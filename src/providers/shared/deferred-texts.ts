/**
 * The texts of a stream's content events, kept as the events' data and parsed only when asked for.
 * They are needed only for an estimate when a stream ends without its usage, so a stream that
 * reports its usage never has its content events parsed here (the caller's SDK parses them anyway):
 * JSON parsing was the largest cost a wrapped stream added per event. Pending data is bounded:
 * past {@link MAX_PENDING_CHARS} it is parsed and only its texts are kept, as before.
 */
import { parseJsonOrUndefined } from './sse.js';

/** Unparsed data kept per stream (a 20-chunk answer is about 4 KB). */
export const MAX_PENDING_CHARS = 65_536;

export class DeferredTexts {
  /** Event data not parsed yet, or the text of an event parsed already, in stream order. */
  #pending: Array<string | { text: string }> = [];
  #pendingChars = 0;
  #texts: string[] = [];

  /** @param textOf the text of one event's parsed data ('' for none or for malformed data). */
  constructor(readonly textOf: (data: unknown) => string) {}

  /** An event's data, to parse if its text is ever asked for. */
  add(data: string): void {
    this.#pending.push(data);
    this.#pendingChars += data.length;
    if (this.#pendingChars > MAX_PENDING_CHARS) this.#parsePending();
  }

  /** The text of an event whose data was parsed for another reason. */
  addParsed(data: unknown): void {
    const text = this.textOf(data);
    if (text.length > 0) this.#pending.push({ text });
  }

  /** Every text so far, in stream order. */
  text(): string {
    this.#parsePending();
    return this.#texts.join('');
  }

  #parsePending(): void {
    for (const item of this.#pending) {
      const text = typeof item === 'string' ? this.textOf(parseJsonOrUndefined(item)) : item.text;
      if (text.length > 0) this.#texts.push(text);
    }
    this.#pending = [];
    this.#pendingChars = 0;
  }
}
