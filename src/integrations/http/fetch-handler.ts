import { runInScope } from '../../face/context.js';
import { formatMessage } from '../../i18n/format.js';
import { errorReply } from '../shared/errors.js';
import { jsonReply, toResponse } from '../shared/reply.js';
import { InvalidRequestUserIdError, invalidUserIdReply, parseScopeOptions, resolveUserId, scopeOf, type UserScopeOptions } from '../shared/scope.js';

/** Options of `tokenLimitsHandler`: `getUserId(request)` and the optional `limiter`, `locale`, `requireUser`. */
export type TokenLimitsHandlerOptions<Req extends Request = Request> = UserScopeOptions<Req>;

/**
 * Wraps a Fetch API handler (`(request, ...rest) => Response`: Next.js route handlers, Hono's
 * `c.req.raw`, Bun/Deno servers) so that it runs with the user `getUserId(request)` names: a
 * client wrapped once at start-up charges that user. The library's errors thrown by the handler
 * become 429/403/503 JSON responses (see `errorToResponse`); any other error is re-thrown to the
 * framework unchanged.
 *
 * Calls made lazily by a streamed body's `pull()` run when the framework reads the body, outside
 * this scope: start the provider call in the handler (as usual), not inside `pull()`.
 */
export function tokenLimitsHandler<Req extends Request = Request, Args extends unknown[] = []>(
  handler: (request: Req, ...args: Args) => Response | Promise<Response>,
  options: TokenLimitsHandlerOptions<Req>,
): (request: Req, ...args: Args) => Promise<Response> {
  if (typeof handler !== 'function') throw new TypeError('tokenLimitsHandler(handler, options): handler must be a function');
  const config = parseScopeOptions<Req>(options);
  return async function handlerWithTokenLimits(request: Req, ...args: Args): Promise<Response> {
    const locale = config.localeOf(request, request.headers.get('accept-language'));
    let userId: string | undefined;
    try {
      userId = await resolveUserId(config.getUserId, request);
    } catch (error) {
      if (error instanceof InvalidRequestUserIdError) return toResponse(invalidUserIdReply(locale, error));
      // A library error from the app's own lookup (a disabled user, a store that failed) is answered
      // as from the handler, as the Express middleware and tokenLimitsListener answer it.
      const reply = errorReply(error, { locale });
      if (reply === undefined) throw error;
      return toResponse(reply);
    }
    if (userId === undefined && config.requireUser) {
      return toResponse(jsonReply(401, { error: formatMessage(locale, 'unauthenticated'), code: 'unauthenticated' }));
    }
    try {
      return await runInScope(scopeOf(userId, config.limiter), () => handler(request, ...args));
    } catch (error) {
      const reply = errorReply(error, { locale });
      if (reply === undefined) throw error;
      return toResponse(reply);
    }
  };
}
