import { toResponse } from '../../shared/reply.js';
import { markAcceptsAnyMethod, rawRequestLineOf } from '../raw-request.js';
import { splitRequestTarget } from '../request-target.js';
import { readWebBody } from './body.js';
import { createAdminCore, type AdminHandlerOptions } from './core.js';

/**
 * The admin HTTP API as a Fetch API handler (`(request: Request) => Promise<Response>`): mount it
 * in Hono, Next.js route handlers, Bun/Deno servers, or `node:http` through `toNodeListener`.
 * Throws `InvalidArgumentError` at once when `authorize` (or `limiter`) is missing.
 *
 * A Fetch `Request` arrives with its path normalised (`/users/../usage` is `/usage`): user ids `.`
 * and `..` are reached as `$.` and `$..` (see `encodeUserIdSegment`). Served by `toNodeListener`, the
 * handler reads the path and method as node:http received them, so nothing is normalised and
 * methods Fetch cannot carry (`TRACE`) get the API's own 405.
 */
export function createAdminHandler(options: AdminHandlerOptions<Request>): (request: Request) => Promise<Response> {
  const handle = createAdminCore<Request>(options);
  return markAcceptsAnyMethod(async function adminHandler(request: Request): Promise<Response> {
    const raw = rawRequestLineOf(request);
    const target = raw === undefined ? undefined : splitRequestTarget(raw.target);
    const url = target === undefined ? new URL(request.url) : undefined;
    const reply = await handle({
      method: raw?.method ?? request.method,
      path: target?.path ?? url!.pathname,
      query: target === undefined ? url!.searchParams : new URLSearchParams(target.query),
      contentType: request.headers.get('content-type'),
      acceptLanguage: request.headers.get('accept-language'),
      body: async (maxBytes) => ({ kind: 'text', text: await readWebBody(request, maxBytes) }),
      request,
    });
    return toResponse(reply);
  });
}
