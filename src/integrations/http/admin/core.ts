import { parseTokenLimiter } from '../../../face/context.js';
import { InvalidArgumentError, type PlanInUseError } from '../../../kernel/errors.js';
import type { TokenLimiter } from '../../../face/limiter.js';
import type { Logger } from '../../../kernel/types.js';
import { isPlainObject, parsePositiveInt, rejectUnknownKeys } from '../../../kernel/validate.js';
import { formatMessage } from '../../../i18n/format.js';
import type { Locale, MessageKey } from '../../../i18n/messages.js';
import { errorReply } from '../../shared/errors.js';
import { logError } from '../../shared/log.js';
import { parseLocaleOption, type LocaleOf, type LocaleOption } from '../../shared/locale.js';
import { jsonReply, type HttpReply } from '../../shared/reply.js';
import { BodyRejectedError, isJsonContentType, parseJsonBody, assertNoPrototypeKeys, type BodySource } from './body.js';
import { headReply, withContentLength } from './head.js';
import { QueryReader } from './query.js';
import { LedgerNotConfiguredError, PlanNotFoundError, ROUTES, type RouteDef } from './routes.js';
import { decodeUserIdSegment } from '../../../kernel/admin-path.js';

/**
 * Who is calling, as the app's `authorize` decides: an admin (every route; with a `userId`, the
 * `/me` routes too), a signed-in user (only `/me/*`, for their own usage), or nobody (`null`: 401).
 */
export type AdminPrincipal = { role: 'admin'; userId?: string } | { role: 'user'; userId: string };

export type AuthorizeResult = AdminPrincipal | null | undefined;

/** Options of `createAdminHandler` and `createAdminRouter`. */
export interface AdminHandlerOptions<Req> {
  /** The limiter whose admin functions the API exposes. Required. */
  limiter: TokenLimiter;
  /**
   * Decides who the caller is, from the app's own authentication (session, token). Required: the
   * handler refuses to start without it. Return `null` for an anonymous caller (401), a
   * `{ role: 'user', userId }` for a signed-in user (403 on admin routes; `/me/*` allowed), or
   * `{ role: 'admin' }`. May be async. A throw answers 500 (and is logged).
   */
  authorize: (request: Req) => AuthorizeResult | Promise<AuthorizeResult>;
  /**
   * Language of the `error` messages: a locale tag (`en`, `pt-BR`; an unknown one throws at
   * start-up) or a function of the request answering one (answering nothing falls back to
   * negotiation).
   * @default the request's `Accept-Language`, negotiated among `en` and `pt-BR` (else `en`)
   */
  locale?: LocaleOption<Req>;
  /**
   * Path prefix the API is served under (`/admin/api`), for a handler that sees full paths (Fetch,
   * node:http). Leave it empty under Express (`app.use('/admin/api', router)` strips the prefix).
   * Matched after percent-decoding, so `/админ` or `/admin api` work as written.
   * @default ''
   */
  basePath?: string;
  /**
   * Largest accepted request body, in bytes; larger ones get 413 without being read further.
   * @default 65_536
   */
  maxBodyBytes?: number;
  /** Receives unexpected errors (500s). Nothing is written to the console. @default none */
  logger?: Logger;
}

/** One HTTP request, as an adapter (Fetch, Express) presents it to the admin API. */
export interface AdminCall<Req> {
  /** As received: HEAD is answered as GET without a body; an unknown one gets 405 with `Allow`. */
  method: string;
  /** The path, still percent-encoded and not normalised (dot segments kept), without the query string. */
  path: string;
  query: URLSearchParams;
  contentType: string | null;
  /** The `Accept-Language` header, for the default locale negotiation. */
  acceptLanguage: string | null | undefined;
  /** Reads the body (only called for routes that take one, after authorization). */
  body(maxBytes: number): Promise<BodySource>;
  request: Req;
}

interface AdminConfig<Req> {
  limiter: TokenLimiter;
  authorize: AdminHandlerOptions<Req>['authorize'];
  localeOf: LocaleOf<Req>;
  basePath: string;
  maxBodyBytes: number;
  logger: Logger | undefined;
}

const OPTION_KEYS = ['limiter', 'authorize', 'locale', 'basePath', 'maxBodyBytes', 'logger'] as const;

export function parseAdminOptions<Req>(options: unknown): AdminConfig<Req> {
  if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { limiter, authorize }');
  rejectUnknownKeys(options, OPTION_KEYS, 'options');
  const { authorize, basePath = '' } = options;
  if (typeof authorize !== 'function') {
    throw new InvalidArgumentError(
      'options.authorize',
      authorize,
      "required: a function (request) => { role: 'admin' } | { role: 'user', userId } | null that decides who may use the admin API",
    );
  }
  if (typeof basePath !== 'string' || (basePath !== '' && (!basePath.startsWith('/') || basePath.endsWith('/')))) {
    throw new InvalidArgumentError('options.basePath', basePath, "expected '' or a path such as '/admin/api' (leading slash, no trailing slash)");
  }
  const logger = options.logger;
  if (logger !== undefined && (typeof logger !== 'object' || logger === null)) {
    throw new InvalidArgumentError('options.logger', logger, 'expected an object with debug/info/warn/error methods');
  }
  return {
    limiter: parseTokenLimiter(options.limiter, 'options.limiter'),
    authorize: authorize as AdminConfig<Req>['authorize'],
    localeOf: parseLocaleOption<Req>(options.locale, 'options.locale'),
    basePath,
    maxBodyBytes: options.maxBodyBytes === undefined ? 65_536 : parsePositiveInt(options.maxBodyBytes, 'options.maxBodyBytes', 16 * 1024 * 1024),
    logger: logger as Logger | undefined,
  };
}

type Match = { route: RouteDef; params: Record<string, string> } | { allowed: string[] } | undefined;

/**
 * The framework-neutral admin API: Fetch and Express adapters call it with an `AdminCall`.
 * Order of checks: route (404), method (405), caller (401/403), body (413/415/400), then the
 * admin function (400 for invalid values, 503 when the store fails).
 */
export function createAdminCore<Req>(options: unknown): (call: AdminCall<Req>) => Promise<HttpReply> {
  const config = parseAdminOptions<Req>(options);
  return async function handleAdmin(call: AdminCall<Req>): Promise<HttpReply> {
    const reply = withContentLength(await answer(call));
    // HEAD is a GET without the body, errors included (a 401 or 503 as the GET would get it).
    return call.method.toUpperCase() === 'HEAD' ? headReply(reply) : reply;
  };

  async function answer(call: AdminCall<Req>): Promise<HttpReply> {
    const locale = config.localeOf(call.request, call.acceptLanguage);
    const fail = (status: number, code: string, key: MessageKey, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): HttpReply =>
      jsonReply(status, { error: formatMessage(locale, key, extra as Record<string, string | number>), code, ...extra }, headers);
    try {
      const relative = stripBase(call.path, config.basePath);
      if (relative === undefined) return fail(404, 'not_found', 'notFound');
      const match = matchRoute(call.method.toUpperCase(), relative);
      if (match === undefined) return fail(404, 'not_found', 'notFound');
      if ('allowed' in match) return fail(405, 'method_not_allowed', 'methodNotAllowed', {}, { allow: match.allowed.join(', ') });
      const { route, params } = match;

      let principal: AuthorizeResult;
      try {
        principal = await config.authorize(call.request);
        principal = checkPrincipal(principal);
      } catch (error) {
        logError(config.logger, 'token-limits admin API: authorize failed', { error: messageOf(error) });
        return fail(500, 'internal_error', 'internalError');
      }
      if (principal === undefined) return fail(401, 'unauthenticated', 'unauthenticated');
      if (route.access === 'admin' && principal.role !== 'admin') return fail(403, 'forbidden', 'forbidden');
      if (route.access === 'self' && principal.userId === undefined) return fail(403, 'forbidden', 'forbidden');

      let body: unknown;
      if (route.body === true) {
        const source = await call.body(config.maxBodyBytes);
        if (source.kind === 'parsed') {
          if (!isJsonContentType(call.contentType)) throw new BodyRejectedError('not_json');
          assertNoPrototypeKeys(source.value, '');
          body = source.value;
        } else if (source.kind === 'text' && source.text.trim() !== '') {
          if (!isJsonContentType(call.contentType)) throw new BodyRejectedError('not_json');
          body = parseJsonBody(source.text);
        }
      }
      return await route.run({
        limiter: config.limiter,
        params,
        query: (allowed) => new QueryReader(call.query, allowed),
        body,
        selfId: principal.userId,
        now: Date.now(),
      });
    } catch (error) {
      return errorToReply(error, locale, fail);
    }
  }

  function errorToReply(error: unknown, locale: Locale, fail: (status: number, code: string, key: MessageKey, extra?: Record<string, unknown>, headers?: Record<string, string>) => HttpReply): HttpReply {
    if (error instanceof BodyRejectedError) {
      if (error.reason === 'too_large') {
        return fail(413, 'payload_too_large', 'payloadTooLarge', { maxBytes: config.maxBodyBytes }, { connection: 'close' });
      }
      if (error.reason === 'not_json') return fail(415, 'unsupported_media_type', 'unsupportedMediaType');
      return fail(400, 'invalid_json', 'invalidJson');
    }
    if (error instanceof Error && error.name === 'InvalidArgumentError' && (error as { code?: unknown }).code === 'invalid_argument') {
      const field = fieldOf((error as InvalidArgumentError).parameter);
      return jsonReply(400, {
        error: formatMessage(locale, 'invalidArgument', { field }),
        code: 'invalid_argument',
        field,
        detail: error.message,
      });
    }
    if (error instanceof PlanNotFoundError) return fail(404, 'plan_not_found', 'planNotFound', { planId: error.planId });
    if (error instanceof LedgerNotConfiguredError) return fail(501, 'ledger_not_configured', 'ledgerNotConfigured');
    if (error instanceof Error && error.name === 'PlanInUseError' && (error as { code?: unknown }).code === 'plan_in_use') {
      const e = error as PlanInUseError;
      return fail(409, 'plan_in_use', 'planInUse', { planId: e.planId, users: e.users, accounts: e.accounts });
    }
    const mapped = errorReply(error, { locale });
    if (mapped !== undefined) return mapped;
    logError(config.logger, 'token-limits admin API: unexpected error', { error: messageOf(error) });
    return fail(500, 'internal_error', 'internalError');
  }
}

/**
 * The path under `basePath`, or `undefined`. Compared segment by segment after percent-decoding
 * both sides: a client sends `/админ` or `/admin api` percent-encoded (`/%D0%B0…`, `/admin%20api`),
 * in either hex case. The rest of the path stays as received (user ids are decoded later, once).
 */
function stripBase(path: string, basePath: string): string | undefined {
  if (basePath === '') return path === '' ? '/' : path;
  const base = basePath.split('/').slice(1);
  const parts = path.split('/');
  if (parts[0] !== '' || parts.length < base.length + 1) return undefined;
  for (const [i, segment] of base.entries()) {
    if (decodeSegment(parts[i + 1]!) !== decodeSegment(segment)) return undefined;
  }
  const rest = parts.slice(base.length + 1);
  return rest.length === 0 ? '/' : `/${rest.join('/')}`;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // a lone `%`: compared as written
  }
}

/** HEAD runs the GET route of the path (see headReply); `Allow` lists HEAD wherever GET is. */
function matchRoute(method: string, path: string): Match {
  const segments = splitPath(path);
  const wanted = method === 'HEAD' ? 'GET' : method;
  const allowed: string[] = [];
  for (const route of ROUTES) {
    const params = matchPath(splitPath(route.path), segments);
    if (params === undefined) continue;
    if (route.method === wanted) return { route, params };
    allowed.push(route.method);
    if (route.method === 'GET') allowed.push('HEAD');
  }
  return allowed.length === 0 ? undefined : { allowed };
}

/** Splits on `/` before decoding, so `%2F` stays inside one segment. A trailing slash is ignored. */
function splitPath(path: string): string[] {
  const parts = path.split('/').slice(1);
  if (parts.length > 1 && parts.at(-1) === '') parts.pop();
  return parts;
}

function matchPath(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, p] of pattern.entries()) {
    const s = segments[i]!;
    if (p.startsWith(':')) {
      if (s === '') return undefined;
      try {
        params[p.slice(1)] = decodeUserIdSegment(s);
      } catch {
        // `:id` is a user id; other parameters are named as the API names them (`planId`, `accountId`).
        const name = p.slice(1);
        throw new InvalidArgumentError(name === 'id' ? 'userId' : name, s, 'invalid percent-encoding in the path');
      }
    } else if (p !== s) {
      return undefined;
    }
  }
  return params;
}

function checkPrincipal(value: unknown): AdminPrincipal | undefined {
  if (value === null || value === undefined) return undefined;
  if (isPlainObject(value) || (typeof value === 'object' && value !== null)) {
    const p = value as { role?: unknown; userId?: unknown };
    const userIdOk = p.userId === undefined || (typeof p.userId === 'string' && p.userId !== '');
    if (p.role === 'admin' && userIdOk) return p as AdminPrincipal;
    if (p.role === 'user' && typeof p.userId === 'string' && p.userId !== '') return p as AdminPrincipal;
  }
  throw new TypeError("authorize() must return { role: 'admin', userId? }, { role: 'user', userId } or null");
}

/** Engine parameters are named for the JS API (`options.limit`); the HTTP API names them as sent. */
function fieldOf(parameter: string): string {
  return parameter.startsWith('options.') ? parameter.slice('options.'.length) : parameter;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
