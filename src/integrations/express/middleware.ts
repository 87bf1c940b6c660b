import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { runInScope } from '../../face/context.js';
import type { TokenLimiter } from '../../face/limiter.js';
import { formatMessage, negotiateLocale } from '../../i18n/format.js';
import type { Locale } from '../../i18n/messages.js';
import { errorReply } from '../shared/errors.js';
import { acceptLanguageOf, parseLocaleOption, type LocaleOption } from '../shared/locale.js';
import { jsonReply, writeReply } from '../shared/reply.js';
import {
  bindEmitterToScope,
  InvalidRequestUserIdError,
  invalidUserIdReply,
  parseScopeOptions,
  resolveUserId,
  scopeOf,
  type UserIdResult,
} from '../shared/scope.js';
import { isPlainObject, rejectUnknownKeys } from '../../kernel/validate.js';
import { InvalidArgumentError } from '../../kernel/errors.js';

/** Options of `tokenLimits`. */
export interface TokenLimitsOptions<Req = Request> {
  /**
   * The limiter that clients wrapped without a limiter of their own charge during the request.
   * @default the wrapper's own `limiter` option, else the default limiter (`configureTokenLimits`)
   */
  limiter?: TokenLimiter;
  /**
   * The user of a request, from the app's own authentication: `(req) => req.user?.id`.
   * Never take a user id from the body, query or headers the client sends. `undefined` (or `null`,
   * or `''`) means an anonymous request: wrapped calls in it throw `MissingUserError`. A string that
   * is not a valid user id answers 400 `{ error, code: 'invalid_argument', field: 'userId', detail }`.
   * May be async.
   */
  getUserId: (req: Req) => UserIdResult | Promise<UserIdResult>;
  /**
   * Language of the error bodies written by this middleware and by `tokenLimitsErrorHandler` for
   * requests that went through it: a locale tag (`en`, `pt-BR`; an unknown one throws here, at
   * start-up) or a function of the request (`(req) => req.user?.language`; answering nothing falls
   * back to negotiation).
   * @default the request's `Accept-Language`, negotiated among `en` and `pt-BR` (else `en`)
   */
  locale?: LocaleOption<Req>;
  /**
   * Answer 401 `{ error, code: 'unauthenticated' }` when `getUserId` finds no user, instead of
   * running the route without one. Mount the middleware on the LLM routes only if you set it.
   * @default false
   */
  requireUser?: boolean;
}

/** The locale the middleware chose for a request, read by the error handler. */
const requestLocales = new WeakMap<object, Locale>();

/**
 * Express middleware: runs the rest of the request (routes, later middleware, async work they
 * start) with the user `getUserId(req)` names, so that a client wrapped once at start-up
 * (`withTokenLimits(new OpenAI())`) charges the user of the current request. Mount it before the
 * routes, after the app's authentication. Works with Express 4 and 5.
 */
export function tokenLimits<Req extends Request = Request>(options: TokenLimitsOptions<Req>): RequestHandler {
  const config = parseScopeOptions<Req>(options);
  return function tokenLimitsMiddleware(req: Request, res: Response, next: NextFunction): void {
    const locale = config.localeOf(req as Req, acceptLanguageOf(req));
    requestLocales.set(req, locale);
    const run = (userId: string | undefined): void => {
      if (userId === undefined && config.requireUser) {
        writeReply(res, jsonReply(401, { error: formatMessage(locale, 'unauthenticated'), code: 'unauthenticated' }));
        return;
      }
      const scope = scopeOf(userId, config.limiter);
      bindEmitterToScope(req, scope);
      runInScope(scope, () => next());
    };
    const fail = (error: unknown): void => {
      // A user id the request itself made invalid (a header): the client's mistake, 400.
      if (error instanceof InvalidRequestUserIdError) writeReply(res, invalidUserIdReply(locale, error));
      else next(error);
    };
    let userId;
    try {
      userId = resolveUserId(config.getUserId, req as Req);
    } catch (error) {
      fail(error);
      return;
    }
    // A late answer (after a timeout middleware responded) writes nothing (see writeReply); a throw
    // of `run` goes to Express rather than becoming an unhandled rejection.
    if (userId instanceof Promise) userId.then(run, fail).catch(next);
    else run(userId);
  };
}

/** Options of `tokenLimitsErrorHandler`. */
export interface TokenLimitsErrorHandlerOptions<Req = Request> {
  /**
   * Language of the error bodies: a locale tag (`en`, `pt-BR`; an unknown one throws at start-up)
   * or a function of the request answering one (answering nothing falls back to negotiation).
   * @default the locale `tokenLimits` chose for requests that went through it, else the request's
   * `Accept-Language` negotiated among `en` and `pt-BR` (else `en`)
   */
  locale?: LocaleOption<Req>;
}

/**
 * Express error handler: answers the library's client-facing errors and passes every other error,
 * untouched, to the app's next error handler (`next(err)`):
 * - `TokenLimitExceededError` -> 429 `{ error, code, scope, accountId, ruleId, metric, limit, used, remaining, resetDate }` with
 *   `Retry-After`, `RateLimit-Policy` and `RateLimit` headers;
 * - `UserDisabledError` -> 403 `{ error, code }`;
 * - `QuotaStoreError` -> 503 `{ error, code }`.
 * `MissingUserError` (a wrapped call with no user) is passed on: it is a server-side mistake (500),
 * unless `tokenLimits({ requireUser: true })` answered 401 first. Mount it after the routes.
 */
export function tokenLimitsErrorHandler<Req extends Request = Request>(options: TokenLimitsErrorHandlerOptions<Req> = {}): ErrorRequestHandler {
  if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { locale? }');
  rejectUnknownKeys(options, ['locale'], 'options');
  const localeOf = options.locale === undefined ? undefined : parseLocaleOption<Req>(options.locale, 'options.locale');
  return function tokenLimitsErrorHandler(err: unknown, req: Request, res: Response, next: NextFunction): void {
    const locale = localeOf?.(req as Req, acceptLanguageOf(req)) ?? requestLocales.get(req) ?? negotiateLocale(acceptLanguageOf(req));
    const reply = errorReply(err, { locale });
    if (reply === undefined || res.headersSent) {
      next(err);
      return;
    }
    writeReply(res, reply);
  };
}
