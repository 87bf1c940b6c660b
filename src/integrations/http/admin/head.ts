import { replyText, type HttpReply } from '../../shared/reply.js';

/**
 * A JSON reply with its `Content-Length`, so that a GET and its HEAD carry the same headers on
 * every surface (the Fetch handler's `Response` would otherwise go out chunked, without one).
 */
export function withContentLength(reply: HttpReply): HttpReply {
  const text = reply.stream === undefined ? replyText(reply) : undefined;
  if (text === undefined) return reply;
  return { ...reply, headers: { ...reply.headers, 'content-length': String(Buffer.byteLength(text)) } };
}

/**
 * The answer to a HEAD request: the GET's status and headers, without its body (RFC 9110; uptime
 * checkers, proxies and `curl -I` use it). A streamed body (`/export`) is closed past what the route
 * read to choose its status, so a HEAD never runs a whole export.
 */
export async function headReply(reply: HttpReply): Promise<HttpReply> {
  if (reply.stream !== undefined) {
    try {
      await reply.stream[Symbol.asyncIterator]().return?.();
    } catch {
      // A source that fails as it closes: the status was chosen already, and no body is sent.
    }
  }
  return { status: reply.status, headers: reply.headers, body: undefined };
}
