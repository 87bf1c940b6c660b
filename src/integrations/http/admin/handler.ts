import { toResponse } from '../../shared/reply.js';
import { readWebBody } from './body.js';
import { createAdminCore, type AdminHandlerOptions } from './core.js';

/**
 * The admin HTTP API as a Fetch API handler (`(request: Request) => Promise<Response>`): mount it
 * in Hono, Next.js route handlers, Bun/Deno servers, or `node:http` through `toNodeListener`.
 * Throws `InvalidArgumentError` at once when `authorize` (or `limiter`) is missing.
 */
export function createAdminHandler(options: AdminHandlerOptions<Request>): (request: Request) => Promise<Response> {
  const handle = createAdminCore<Request>(options);
  return async function adminHandler(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const reply = await handle({
      method: request.method,
      path: url.pathname,
      query: url.searchParams,
      contentType: request.headers.get('content-type'),
      body: async (maxBytes) => ({ kind: 'text', text: await readWebBody(request, maxBytes) }),
      request,
    });
    return toResponse(reply);
  };
}
