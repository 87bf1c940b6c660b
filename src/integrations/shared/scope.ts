import type { EventEmitter } from 'node:events';
import { currentScope, parseTokenLimiter, runInScope, type ContextScope } from '../../face/context.js';
import { InvalidArgumentError } from '../../kernel/errors.js';
import type { TokenLimiter } from '../../face/limiter.js';
import { isPlainObject, parseBoolean, parseUserId } from '../../kernel/validate.js';
import { parseLocaleOption, type LocaleOf, type LocaleOption } from './locale.js';
import { formatMessage } from '../../i18n/format.js';
import type { Locale } from '../../i18n/messages.js';
import { jsonReply, type HttpReply } from './reply.js';

/** What `getUserId` may answer: the id of the signed-in user, or nothing for an anonymous request. */
export type UserIdResult = string | undefined | null;

/** The options every request-scoping integration takes (Express, Fetch, node:http). */
export interface UserScopeOptions<Req> {
  /**
   * The limiter that wrapped clients without a limiter of their own charge during the request.
   * @default the wrapper's own `limiter` option, else the default limiter (`configureTokenLimits`)
   */
  limiter?: TokenLimiter;
  /**
   * The user of a request, from the app's own authentication (`req.user?.id`, the session).
   * Never read a user id from the request body, query or headers the client controls.
   * `undefined`, `null` or `''`: an anonymous request (wrapped calls in it throw `MissingUserError`).
   * A string that is not a valid user id answers 400 `invalid_argument` (`field: 'userId'`).
   * May be async. Throwing fails the request like any middleware error.
   */
  getUserId: (request: Req) => UserIdResult | Promise<UserIdResult>;
  /**
   * Language of the error bodies: a locale tag (`en`, `pt-BR`; an unknown one throws at start-up)
   * or a function of the request answering one (`(req) => req.user?.language`; answering nothing
   * falls back to negotiation).
   * @default the request's `Accept-Language`, negotiated among `en` and `pt-BR` (else `en`)
   */
  locale?: LocaleOption<Req>;
  /**
   * Answer 401 `{ error, code: 'unauthenticated' }` at once when `getUserId` finds no user, instead of
   * running the handler with no user (mount the middleware on the routes that call the LLM).
   * @default false
   */
  requireUser?: boolean;
}

export interface ParsedScopeOptions<Req> {
  limiter: TokenLimiter | undefined;
  getUserId: (request: Req) => UserIdResult | Promise<UserIdResult>;
  /** The locale of one request (given its `Accept-Language`). */
  localeOf: LocaleOf<Req>;
  requireUser: boolean;
}

const SCOPE_KEYS = ['limiter', 'getUserId', 'locale', 'requireUser'];

/** Validates scoping options once, at start-up; throws `InvalidArgumentError` naming the option. */
export function parseScopeOptions<Req>(options: unknown, extraKeys: readonly string[] = []): ParsedScopeOptions<Req> {
  if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { getUserId, limiter?, locale? }');
  for (const key of Object.keys(options)) {
    if (!SCOPE_KEYS.includes(key) && !extraKeys.includes(key)) {
      throw new InvalidArgumentError(`options.${key}`, options[key], `unknown option (allowed: ${[...SCOPE_KEYS, ...extraKeys].join(', ')})`);
    }
  }
  const { getUserId } = options;
  if (typeof getUserId !== 'function') {
    throw new InvalidArgumentError('options.getUserId', getUserId, 'expected a function (request) => user id | undefined');
  }
  return {
    limiter: options.limiter === undefined ? undefined : parseTokenLimiter(options.limiter, 'options.limiter'),
    getUserId: getUserId as ParsedScopeOptions<Req>['getUserId'],
    localeOf: parseLocaleOption<Req>(options.locale, 'options.locale'),
    requireUser: options.requireUser === undefined ? false : parseBoolean(options.requireUser, 'options.requireUser'),
  };
}

/**
 * `getUserId` answered a string that is not a valid user id (longer than the limit, lone
 * surrogates). When the id comes from the request (a header, as in the README's example), that is
 * the client's doing: the integrations answer 400 (`invalidUserIdReply`), not 500.
 */
export class InvalidRequestUserIdError extends Error {
  override readonly name = 'InvalidRequestUserIdError';
  constructor(readonly detail: string) {
    super(detail);
  }
}

/**
 * Checks what `getUserId` answered: a valid id, or nothing (`undefined`, `null` or `''`: an
 * anonymous request; an empty header is no user). A string that is not a valid id throws
 * `InvalidRequestUserIdError` (400); anything else (a number, an object) is the app's bug and
 * throws `InvalidArgumentError`, which fails the request like any other error.
 */
export function checkUserId(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return parseUserId(value, 'getUserId(request)');
  try {
    return parseUserId(value, 'userId');
  } catch (error) {
    throw new InvalidRequestUserIdError(error instanceof Error ? error.message : String(error));
  }
}

/** The 400 answered for an `InvalidRequestUserIdError`: the admin API's `invalid_argument` body. */
export function invalidUserIdReply(locale: Locale, error: InvalidRequestUserIdError): HttpReply {
  return jsonReply(400, { error: formatMessage(locale, 'invalidArgument', { field: 'userId' }), code: 'invalid_argument', field: 'userId', detail: error.detail });
}

/**
 * Calls `getUserId` and checks its answer: synchronously when it is synchronous (so an Express app
 * sees no extra tick), else through a promise.
 */
export function resolveUserId<Req>(
  getUserId: (request: Req) => UserIdResult | Promise<UserIdResult>,
  request: Req,
): string | undefined | Promise<string | undefined> {
  const result = getUserId(request);
  if (isThenable(result)) return Promise.resolve(result).then(checkUserId);
  return checkUserId(result);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

export function scopeOf(userId: string | undefined, limiter: TokenLimiter | undefined): ContextScope {
  return { userId, limiter: limiter ?? currentScope()?.limiter };
}

const boundScopes = new WeakMap<EventEmitter, ContextScope>();

/**
 * Makes the listeners of `emitter` run in `scope`. Needed for the request stream: its `data` and
 * `end` events are emitted from the socket's context, so a body parser mounted after the middleware
 * would otherwise run the route outside the request's scope. Only this library's scope is restored;
 * other AsyncLocalStorage stores are untouched. Binding the same emitter again replaces the scope.
 */
export function bindEmitterToScope(emitter: EventEmitter, scope: ContextScope): void {
  const installed = boundScopes.has(emitter);
  boundScopes.set(emitter, scope);
  if (installed) return;
  const emit = emitter.emit;
  emitter.emit = function boundEmit(this: EventEmitter, ...args: Parameters<EventEmitter['emit']>): boolean {
    const bound = boundScopes.get(emitter);
    if (bound === undefined || currentScope() === bound) return emit.apply(this, args);
    return runInScope(bound, () => emit.apply(this, args));
  } as EventEmitter['emit'];
}
