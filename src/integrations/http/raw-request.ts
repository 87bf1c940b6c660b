/**
 * What node:http received, carried beside the Fetch `Request` that `toRequest` built from it. Fetch
 * normalises the path (`/a/../b` -> `/b`), while the admin API must see it as sent. Keys are global symbols so that two copies of the package (ESM and
 * CJS) understand each other.
 */
export interface RawRequestLine {
  /** The method as received (`TRACE` included). */
  method: string;
  /** `req.url`: the request target as received. */
  target: string;
}

const RAW_LINE = Symbol.for('token-limits.raw-request-line');

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
