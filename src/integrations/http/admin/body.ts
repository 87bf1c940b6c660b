import type { IncomingMessage } from 'node:http';
import { InvalidArgumentError } from '../../../kernel/errors.js';

/** A request body as an adapter found it: not read yet, raw text, or parsed by the app already. */
export type BodySource = { kind: 'none' } | { kind: 'text'; text: string } | { kind: 'parsed'; value: unknown };

/** A body the API refuses before validating it. */
export class BodyRejectedError extends Error {
  override readonly name = 'BodyRejectedError';
  constructor(readonly reason: 'too_large' | 'not_json' | 'bad_json') {
    super(reason);
  }
}

export function isJsonContentType(value: string | null | undefined): boolean {
  if (!value) return false;
  const type = value.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * The `Request` given to the admin handler had its body read already (a framework middleware called
 * `request.json()`): a mistake of the app's set-up, not of the client, so it answers 500 and is
 * logged under this name, saying what to do.
 */
export class BodyAlreadyReadError extends Error {
  override readonly name = 'BodyAlreadyReadError';
  constructor() {
    super('the request body was read before the admin handler (a middleware called request.json()?): give the handler an unread Request, such as request.clone() taken before the body is read');
  }
}

/** Reads a Fetch API body, stopping (and refusing) as soon as it passes `maxBytes`. */
export async function readWebBody(request: Request, maxBytes: number): Promise<string> {
  checkDeclaredLength(request.headers.get('content-length'), maxBytes);
  if (request.bodyUsed || request.body?.locked === true) throw new BodyAlreadyReadError();
  if (request.body === null) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyRejectedError('too_large');
    }
    chunks.push(value);
  }
  return decodeUtf8(chunks, size);
}

/** Reads a `node:http` request body, stopping (and refusing) as soon as it passes `maxBytes`. */
export async function readNodeBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = req.headers['content-length'];
  checkDeclaredLength(typeof declared === 'string' ? declared : null, maxBytes);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.byteLength;
    if (size > maxBytes) throw new BodyRejectedError('too_large');
    chunks.push(bytes);
  }
  return decodeUtf8(chunks, size);
}

function checkDeclaredLength(header: string | null, maxBytes: number): void {
  if (header !== null && /^\d+$/.test(header) && Number(header) > maxBytes) throw new BodyRejectedError('too_large');
}

function decodeUtf8(chunks: Uint8Array[], size: number): string {
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(all);
  } catch {
    throw new BodyRejectedError('bad_json');
  }
}

/** Parses JSON text; refuses prototype-polluting keys (see `assertNoPrototypeKeys`). */
export function parseJsonBody(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BodyRejectedError('bad_json');
  }
  assertNoPrototypeKeys(value, '');
  assertNoDuplicateKeys(text);
  return value;
}

/**
 * Refuses a key given twice in one object (`{"rules": [...], "rules": null}`), naming its path:
 * `JSON.parse` keeps the last silently, so a client (or a proxy that checked the first) would
 * change what it did not mean to, where a query parameter given twice is refused. `text` is valid
 * JSON (it was parsed).
 */
function assertNoDuplicateKeys(text: string): void {
  /** An object (`keys`) or an array (`keys` null) being read, with the path of its members. */
  interface Frame {
    keys: Set<string> | null;
    path: string;
    index: number;
    key: string;
  }
  const stack: Frame[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (expectKey && top !== undefined && top.keys !== null) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) throw new InvalidArgumentError(join(top.path, key), undefined, 'given more than once');
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = end;
    } else if (c === '{' || c === '[') {
      const parent = stack.at(-1);
      const path = parent === undefined ? '' : parent.keys === null ? `${parent.path}[${parent.index}]` : join(parent.path, parent.key);
      stack.push({ keys: c === '{' ? new Set() : null, path, index: 0, key: '' });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',') {
      const top = stack.at(-1);
      if (top?.keys === null) top.index += 1;
      else if (top !== undefined) expectKey = true;
    }
  }
}

/**
 * Refuses `__proto__` keys, and `constructor` keys holding a `prototype`, at any depth: `JSON.parse`
 * makes them harmless own properties, but code that later merges the value (`Object.assign`,
 * deep merges) would set a prototype with them. The failing key's path is named (400).
 */
export function assertNoPrototypeKeys(value: unknown, path: string, depth = 0): void {
  if (depth > 64) throw new InvalidArgumentError(path || 'body', undefined, 'nested too deeply');
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertNoPrototypeKeys(item, `${path}[${i}]`, depth + 1));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    if (key === '__proto__' || (key === 'constructor' && typeof child === 'object' && child !== null && 'prototype' in child)) {
      throw new InvalidArgumentError(join(path, key), undefined, 'this key is not allowed');
    }
    assertNoPrototypeKeys(child, join(path, key), depth + 1);
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
