import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { BodyRejectedError, readNodeBody, type BodySource } from '../http/admin/body.js';
import { createAdminCore, type AdminHandlerOptions } from '../http/admin/core.js';
import { splitRequestTarget } from '../http/request-target.js';
import { acceptLanguageOf } from '../shared/locale.js';
import { writeReply } from '../shared/reply.js';

/**
 * The admin HTTP API (the same implementation as `createAdminHandler` of `token-limits/http`) as
 * Express middleware: `app.use('/admin/api', createAdminRouter({ limiter, authorize }))`.
 * `authorize` receives the Express request, so it can read `req.user` or the session. Works whether
 * or not the app parses JSON bodies itself (`express.json()`); otherwise it reads them, bounded by
 * `maxBodyBytes`. A body the app parsed already is held to `maxBodyBytes` too (413), by its declared
 * length and its size as JSON, though the app's parser read it (up to its own `limit`). Throws `InvalidArgumentError` at once when `authorize` is missing.
 */
export function createAdminRouter<Req extends Request = Request>(options: AdminHandlerOptions<Req>): RequestHandler {
  const handle = createAdminCore<Req>(options);
  return function tokenLimitsAdminRouter(req: Request, res: Response, next: NextFunction): void {
    // `req.url` is relative to the mount point, still percent-encoded and not normalised: read as
    // sent (a URL parser would turn the user `..` of `/users/../usage` into `/usage`).
    const target = splitRequestTarget(req.url) ?? { path: '', query: '' };
    handle({
      method: req.method,
      path: target.path,
      query: new URLSearchParams(target.query),
      contentType: req.headers['content-type'] ?? null,
      acceptLanguage: acceptLanguageOf(req),
      body: (maxBytes) => bodyOf(req, maxBytes),
      request: req as Req,
    })
      // writeReply writes nothing once the response was sent (a timeout middleware answered); any
      // other failure goes to Express, never to an unhandled rejection.
      .then((reply) => writeReply(res, reply), next)
      .catch(next);
  };
}

async function bodyOf(req: Request, maxBytes: number): Promise<BodySource> {
  // A body parser that ran before us consumed the stream and left its result in `req.body`.
  const parsedByApp = (req as { _body?: unknown })._body === true || req.readableEnded;
  if (parsedByApp) {
    if (req.body === undefined) return { kind: 'none' };
    // Too late to stop reading (the app's parser has its own `limit`), but the API's limit still
    // holds: on the length the client declared, and on the parsed body written back as JSON (a
    // chunked or compressed body declares none, or a smaller one).
    const declared = req.headers['content-length'];
    if (typeof declared === 'string' && /^\d+$/.test(declared) && Number(declared) > maxBytes) throw new BodyRejectedError('too_large');
    if (jsonByteLength(req.body) > maxBytes) throw new BodyRejectedError('too_large');
    return { kind: 'parsed', value: req.body };
  }
  return { kind: 'text', text: await readNodeBody(req, maxBytes) };
}

/** Bytes of `value` as JSON (0 for what JSON cannot write: the API then refuses the body anyway). */
function jsonByteLength(value: unknown): number {
  try {
    const text = JSON.stringify(value) as string | undefined;
    return text === undefined ? 0 : Buffer.byteLength(text);
  } catch {
    return 0;
  }
}
