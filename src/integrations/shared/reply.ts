/** A framework-neutral HTTP answer: every integration writes one of these with its own API. */
export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  /** A JSON value, or `undefined` for no body (204). */
  body: unknown;
}

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): HttpReply {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body };
}

export function emptyReply(status: number, headers: Record<string, string> = {}): HttpReply {
  return { status, headers: { 'cache-control': 'no-store', ...headers }, body: undefined };
}

/** The body text of a reply (`undefined` when it has none). */
export function replyText(reply: HttpReply): string | undefined {
  return reply.body === undefined ? undefined : JSON.stringify(reply.body);
}

/** A Fetch API `Response` for a reply. */
export function toResponse(reply: HttpReply): Response {
  return new Response(replyText(reply) ?? null, { status: reply.status, headers: reply.headers });
}

/** Writes a reply on a `node:http` response (Express responses included). */
export function writeReply(res: import('node:http').ServerResponse, reply: HttpReply): void {
  const text = replyText(reply);
  res.statusCode = reply.status;
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  if (text === undefined) {
    res.end();
    return;
  }
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}
