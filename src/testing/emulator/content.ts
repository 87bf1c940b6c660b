/**
 * Deterministic content: the emulator's toy tokenizer, its input count, its reply text, ids and
 * embedding vectors. Everything here is a pure function of its arguments.
 *
 * The tokenizer is deliberately NOT a real BPE: a token is a run of at most four non-whitespace
 * characters together with the whitespace before it. Tests can therefore tell a usage figure the
 * provider (emulator) reported from one a library estimated itself.
 */

import { createHash } from 'node:crypto';

/** Fixed cost of every request with turns (chat-like endpoints). */
export const REQUEST_OVERHEAD_TOKENS = 10;
/** Fixed cost of every turn (message, content, system prompt). */
export const TURN_OVERHEAD_TOKENS = 4;

const TOKEN_RE = /\s*\S{1,4}/gu;

/** Split `text` into the emulator's tokens (concatenated they give `text` without trailing whitespace). */
export function tokenize(text: string): string[] {
  return text.match(TOKEN_RE) ?? [];
}

/** Number of the emulator's tokens in `text`. */
export function countTokens(text: string): number {
  // Public as emulatorTokenCount: say what is wrong rather than "text.match is not a function".
  if (typeof text !== 'string') throw new TypeError(`emulatorTokenCount: expected a string, got ${text === null ? 'null' : typeof text}`);
  return tokenize(text).length;
}

/** Tokens of every string value inside `value` (object keys are not counted). */
export function countValueTokens(value: unknown): number {
  if (typeof value === 'string') return countTokens(value);
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + countValueTokens(item), 0);
  if (typeof value === 'object' && value !== null) {
    let sum = 0;
    for (const item of Object.values(value)) sum += countValueTokens(item);
    return sum;
  }
  return 0;
}

/** Tokens of the JSON text of `value` (tool definitions, schemas); 0 when absent. */
export function countJsonTokens(value: unknown): number {
  if (value === undefined || value === null) return 0;
  return countTokens(JSON.stringify(value));
}

/**
 * The input count of a chat-like request: {@link REQUEST_OVERHEAD_TOKENS} + for every turn
 * {@link TURN_OVERHEAD_TOKENS} + the tokens of every string in it, + the tokens of the JSON of the
 * tool definitions and the response schema.
 */
export function countTurnsInput(turns: readonly unknown[], definitions: readonly unknown[] = []): number {
  let total = REQUEST_OVERHEAD_TOKENS;
  for (const turn of turns) total += TURN_OVERHEAD_TOKENS + countValueTokens(turn);
  for (const definition of definitions) total += countJsonTokens(definition);
  return total;
}

/** All text strings inside a message content (string, array of parts, nested parts). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map(contentText).filter((t) => t.length > 0).join(' ');
  if (typeof content === 'object' && content !== null) {
    const record = content as Record<string, unknown>;
    if (typeof record['text'] === 'string') return record['text'];
    if (record['content'] !== undefined) return contentText(record['content']);
    if (record['parts'] !== undefined) return contentText(record['parts']);
  }
  return '';
}

/** Keep at most `max` whitespace-separated words of `text`. */
function firstWords(text: string, max: number): string {
  const words = text.trim().split(/\s+/u).filter((w) => w.length > 0);
  return words.slice(0, max).join(' ');
}

/**
 * The reply text for a prompt: `Emulated reply to "<first 8 words of the prompt>".`, with
 * ` (choice N)` appended for choices after the first.
 */
export function replyText(prompt: string, choiceIndex = 0): string {
  const snippet = firstWords(prompt, 8);
  const base = snippet.length > 0 ? `Emulated reply to "${snippet}".` : 'Emulated reply.';
  return choiceIndex === 0 ? base : `${base} (choice ${choiceIndex + 1})`;
}

/** The reply text of a legacy completion: ` and so the emulated text goes on after "<first 6 words>".` */
export function completionText(prompt: string, choiceIndex = 0): string {
  const snippet = firstWords(prompt, 6);
  const base = ` and so the emulated text goes on after "${snippet}".`;
  return choiceIndex === 0 ? base : `${base} (choice ${choiceIndex + 1})`;
}

/** The text shown after a tool result: `Emulated answer using the tool result: <first 8 words>.` */
export function toolResultReplyText(result: string): string {
  const snippet = firstWords(result, 8);
  return `Emulated answer using the tool result: ${snippet.length > 0 ? snippet : '(empty)'}.`;
}

/** Output tokens of a reply, truncated to `maxTokens` when given. */
export interface TruncatedText {
  text: string;
  tokens: string[];
  /** Whether `maxTokens` cut the reply. */
  truncated: boolean;
}

/** Cut `text` to at most `maxTokens` of the emulator's tokens. */
export function truncateToTokens(text: string, maxTokens: number | undefined): TruncatedText {
  const tokens = tokenize(text);
  if (maxTokens === undefined || tokens.length <= maxTokens) return { text: tokens.join(''), tokens, truncated: false };
  const kept = tokens.slice(0, Math.max(0, maxTokens));
  return { text: kept.join(''), tokens: kept, truncated: true };
}

/** The first candidate that is a non-negative integer, or `undefined` (absent or invalid limits). */
export function maxTokensOf(...candidates: unknown[]): number | undefined {
  for (const value of candidates) {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  }
  return undefined;
}

/** Hex SHA-256 of a canonical JSON form of `value` (object keys sorted). */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Deterministic ids for one request: `prefix` + 24 characters derived from the request hash and a label. */
export class IdFactory {
  readonly #hash: string;
  constructor(hash: string) {
    this.#hash = hash;
  }
  /** e.g. `make('chatcmpl-')` → `chatcmpl-3f2a…`; the same label gives the same id. */
  make(prefix: string, label = ''): string {
    const digest = label === '' ? this.#hash : createHash('sha256').update(`${this.#hash}:${label}`).digest('hex');
    return `${prefix}${digest.slice(0, 24)}`;
  }
}

/**
 * A deterministic embedding of `text`: `dimensions` float32-exact numbers in [-1, 1), derived
 * from SHA-256 of the text (so `float` and `base64` answers decode to the same numbers).
 */
export function embeddingOf(text: string, dimensions: number): number[] {
  const values: number[] = [];
  let block = 0;
  while (values.length < dimensions) {
    const digest = createHash('sha256').update(`${block}:${text}`).digest();
    for (let i = 0; i + 1 < digest.length && values.length < dimensions; i += 2) {
      // 16 bits → a multiple of 2^-15 in [-1, 1): exactly representable as float32.
      values.push(((digest[i] ?? 0) * 256 + (digest[i + 1] ?? 0) - 32768) / 32768);
    }
    block++;
  }
  return values;
}

/** Little-endian float32 base64, the OpenAI `encoding_format: "base64"` format. */
export function float32Base64(values: readonly number[]): string {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => buffer.writeFloatLE(v, i * 4));
  return buffer.toString('base64');
}
