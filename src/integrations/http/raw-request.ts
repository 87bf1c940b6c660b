/**
 * What node:http received, carried beside the Fetch `Request` that `toRequest` built from it. Fetch
 * normalises the path (`/a/../b` -> `/b`) and cannot carry some methods at all (`TRACE`), while the
 * admin API must see both as sent. Keys are global symbols so that two copies of the package (ESM and
 * CJS) understand each other.
 */
export interface RawRequestLine {
  /** The method as received (`TRACE` included). */
  method: string;
  /** `req.url`: the request target as received. */
  target: string;
}

const RAW_LINE = Symbol.for('token-limits.raw-request-line');
const ANY_METHOD = Symbol.for('token-limits.accepts-any-method');

interface Tagged {
  line: RawRequestLine;
  /** The `request.url` the tag was made for: a Request rebuilt with another URL does not match it. */
  url: string;
}

export function tagRawRequestLine(request: Request, line: RawRequestLine): Request {
  Object.defineProperty(request, RAW_LINE, { value: { line, url: request.url } satisfies Tagged });
  return request;
}

/** The raw request line `toRequest` saw, if this very request came from it. */
export function rawRequestLineOf(request: Request): RawRequestLine | undefined {
  const tag = (request as unknown as { [RAW_LINE]?: Tagged })[RAW_LINE];
  return tag !== undefined && tag.url === request.url ? tag.line : undefined;
}

/**
 * Marks a Fetch handler that reads the method from `rawRequestLineOf` (the admin handler): for a
 * method Fetch cannot carry, `toNodeListener` calls it with a body-less `GET` tagged with the real
 * method, instead of answering 405 itself.
 */
export function markAcceptsAnyMethod<F extends object>(handler: F): F {
  Object.defineProperty(handler, ANY_METHOD, { value: true });
  return handler;
}

export function acceptsAnyMethod(handler: unknown): boolean {
  return typeof handler === 'function' && (handler as { [ANY_METHOD]?: unknown })[ANY_METHOD] === true;
}

/** Methods the Fetch standard refuses in a `Request` (compared case-insensitively, as it does). */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

export function isForbiddenFetchMethod(method: string): boolean {
  return FORBIDDEN_METHODS.has(method.toUpperCase());
}
