import type { IncomingMessage, ServerResponse } from 'node:http';
import { runInScope } from '../../face/context.js';
import type { Logger } from '../../kernel/types.js';
import { formatMessage, negotiateLocale } from '../../i18n/format.js';
import { errorReply } from '../shared/errors.js';
import { callQuietly } from '../shared/call-quietly.js';
import { logError } from '../shared/log.js';
import { acceptLanguageOf } from '../shared/locale.js';
import { drained, jsonReply, writeReply } from '../shared/reply.js';
import {
  bindEmitterToScope,
  InvalidRequestUserIdError,
  invalidUserIdReply,
  parseScopeOptions,
  resolveUserId,
  scopeOf,
  type UserScopeOptions,
} from '../shared/scope.js';
import { acceptsAnyMethod, isForbiddenFetchMethod, tagRawRequestLine } from './raw-request.js';
import { bodyStream, discardBody } from './request-body.js';
import { splitRequestTarget } from './request-target.js';

type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

/** What a Fetch handler can be asked: the `Allow` of a 405 for a method a `Request` cannot carry. */
const FETCH_METHODS = 'GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS';

/**
 * Serves a Fetch API handler (`createAdminHandler`, a `tokenLimitsHandler`) from a plain
 * `node:http` (or `https`, `http2` compat) server: `http.createServer(toNodeListener(handler))`.
 * The request body is streamed to the handler; the response body is streamed back with
 * back-pressure. A body the handler leaves unread is discarded once the response is sent, so a
 * keep-alive connection goes on serving (past 1 MiB the connection is closed instead). A handler that throws answers 500 with no details (the error goes to `logger`).
 * A method that a Fetch `Request` cannot carry (`TRACE`, `TRACK`) answers 405 with an `Allow` of the
 * methods a Fetch handler can receive; the admin handler gets it instead and answers its own 405.
 */
export function toNodeListener(
  handler: (request: Request) => Response | Promise<Response>,
  options: {
    /** Receives handler errors (answered 500). @default none */
    logger?: Logger;
  } = {},
): NodeListener {
  if (typeof handler !== 'function') throw new TypeError('toNodeListener(handler): handler must be a function');
  const anyMethod = acceptsAnyMethod(handler);
  return (req, res) => {
    const unsupported = isForbiddenFetchMethod(req.method ?? 'GET');
    if (unsupported && !anyMethod) {
      writeReply(res, jsonReply(405, { error: formatMessage(negotiateLocale(acceptLanguageOf(req)), 'methodNotAllowed'), code: 'method_not_allowed' }, { allow: FETCH_METHODS }));
      return;
    }
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const body = { detach: (): void => {} };
    res.once('finish', () => {
      // A body the handler did not read to the end (a refused request) would stay in the socket,
      // in front of the next request of a keep-alive connection: discard it, within a bound.
      if (!req.complete) {
        body.detach();
        discardBody(req);
      }
    });
    Promise.resolve()
      // The handler reads the real method from the raw request line (see markAcceptsAnyMethod).
      .then(() => handler(buildRequest(req, abort.signal, unsupported ? 'GET' : undefined, body)))
      .then((response) => sendResponse(res, response, abort.signal))
      .catch((error: unknown) => {
        if (error instanceof InvalidHostError) {
          // The client's mistake (`Host: a:99999`), not the handler's: no 500, nothing to log.
          const locale = negotiateLocale(acceptLanguageOf(req));
          writeReply(res, jsonReply(400, { error: formatMessage(locale, 'invalidArgument', { field: 'Host' }), code: 'invalid_argument', field: 'Host', detail: error.message }));
          return;
        }
        logError(options.logger, 'token-limits: a handler served by toNodeListener threw', { error: messageOf(error) });
        if (!res.headersSent) writeReply(res, jsonReply(500, { error: formatMessage(negotiateLocale(acceptLanguageOf(req)), 'internalError'), code: 'internal_error' }));
        else res.destroy();
      });
  };
}

/**
 * A Fetch API `Request` for a `node:http` request; the body is streamed, not buffered. The URL is
 * the request's path on the `Host` it names (an absolute-form target keeps only its path). Throws a
 * `TypeError` for a `Host` that names no valid host (`a:99999`), which `toNodeListener` answers 400.
 */
export function toRequest(req: IncomingMessage, signal?: AbortSignal): Request {
  return buildRequest(req, signal, undefined);
}

function buildRequest(
  req: IncomingMessage,
  signal: AbortSignal | undefined,
  methodOverride: string | undefined,
  body: { detach: () => void } = { detach: () => {} },
): Request {
  const host = typeof req.headers.host === 'string' && /^[\w.:[\]-]+$/.test(req.headers.host) ? req.headers.host : 'localhost';
  const protocol = (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  const target = splitRequestTarget(req.url ?? '/') ?? { path: '/', query: '' };
  // Appended, not resolved against a base: a target such as `//other/x` must stay a path.
  let url: URL;
  try {
    url = new URL(`${protocol}://${host}${target.path}${target.query === '' ? '' : `?${target.query}`}`);
  } catch {
    // Characters the pattern allows in an order that is no host (`:`, `a:99999`, `[::1`, `a:b:c`).
    throw new InvalidHostError();
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(':')) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const method = methodOverride ?? req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (signal) init.signal = signal;
  if (hasBody) {
    init.body = bodyStream(req, body);
    init.duplex = 'half';
  }
  return tagRawRequestLine(new Request(url, init), { method: req.method ?? 'GET', target: req.url ?? '/' });
}

/** The request's `Host` header names no valid host: `toNodeListener` answers 400. */
class InvalidHostError extends TypeError {
  override readonly name = 'InvalidHostError';
  constructor() {
    super('the Host header is not a valid host[:port]');
  }
}

/** Writes a Fetch API `Response` on a `node:http` response, streaming its body. */
export async function sendResponse(res: ServerResponse, response: Response, signal?: AbortSignal): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  const cookies = response.headers.getSetCookie();
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') res.setHeader(name, value);
  }
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  // When the client goes away the body is cancelled at once, even while a chunk is awaited, so that
  // its source (a provider's stream) stops too instead of waiting on a socket nobody reads.
  let cancelled = false;
  const cancel = (): void => {
    if (cancelled) return;
    cancelled = true;
    reader.cancel().catch(() => {});
  };
  const gone = (): boolean => signal?.aborted === true || res.destroyed;
  const onClose = (): void => {
    if (!res.writableFinished) cancel();
  };
  res.on('close', onClose);
  try {
    for (;;) {
      if (gone()) {
        cancel();
        return;
      }
      const { done, value } = await reader.read();
      if (done) break;
      if (gone()) {
        cancel();
        return;
      }
      if (!res.write(value)) await drained(res);
    }
    if (!cancelled) res.end();
  } catch (error) {
    res.destroy(error instanceof Error ? error : undefined);
  } finally {
    res.off('close', onClose);
    reader.releaseLock();
  }
}

/** Options of `tokenLimitsListener`. */
export interface TokenLimitsListenerOptions extends UserScopeOptions<IncomingMessage> {
  /**
   * Called with errors of the listener that are not the library's (the library's get 429/403/503).
   * May be async. If it throws or rejects, the request is answered 500 (or cut, once its headers
   * were sent) and the failure goes to `logger`.
   * @default answer 500 `{ error, code: 'internal_error' }` without details, and log to `logger`
   */
  onError?: (error: unknown, req: IncomingMessage, res: ServerResponse) => void;
  /** Receives listener errors when `onError` is not given. @default none */
  logger?: Logger;
}

/**
 * Wraps a plain `node:http` request listener (which may be async) so that it runs with the user
 * `getUserId(req)` names, and answers the library's errors it throws (or rejects with) as
 * 429/403/503 JSON, like the Express error handler. Events of `req` (`data`, `end`) run in the
 * scope too, so reading the body keeps the user.
 */
export function tokenLimitsListener(
  listener: (req: IncomingMessage, res: ServerResponse) => unknown,
  options: TokenLimitsListenerOptions,
): NodeListener {
  if (typeof listener !== 'function') throw new TypeError('tokenLimitsListener(listener, options): listener must be a function');
  const { onError, logger, ...scopeOptions } = options;
  if (onError !== undefined && typeof onError !== 'function') throw new TypeError('options.onError must be a function');
  const config = parseScopeOptions<IncomingMessage>(scopeOptions);
  const fail = (error: unknown, req: IncomingMessage, res: ServerResponse): void => {
    const locale = config.localeOf(req, acceptLanguageOf(req));
    const reply = error instanceof InvalidRequestUserIdError ? invalidUserIdReply(locale, error) : errorReply(error, { locale });
    if (reply !== undefined && !res.headersSent) {
      writeReply(res, reply);
      return;
    }
    if (onError) {
      // An onError that throws (`res.status is not a function`: an Express habit) or rejects must
      // not leave the request unanswered, nor become an unhandled rejection that ends the process.
      const failed = (thrown: unknown): void => {
        logError(logger, 'token-limits: the onError callback of tokenLimitsListener threw', { error: messageOf(thrown), cause: messageOf(error) });
        if (!res.headersSent) writeReply(res, jsonReply(500, { error: formatMessage(locale, 'internalError'), code: 'internal_error' }));
        else if (!res.writableEnded) res.destroy();
      };
      callQuietly(() => onError(error, req, res), failed);
      return;
    }
    logError(logger, 'token-limits: a request listener threw', { error: messageOf(error) });
    if (!res.headersSent) writeReply(res, jsonReply(500, { error: formatMessage(locale, 'internalError'), code: 'internal_error' }));
    // A response cut short is destroyed, so the client does not take it for a whole one; a response
    // the listener ended before it threw is complete, and destroying it would lose what is unsent.
    else if (!res.writableEnded) res.destroy();
  };
  return (req, res) => {
    Promise.resolve()
      .then(() => resolveUserId(config.getUserId, req))
      .then((userId) => {
        if (userId === undefined && config.requireUser) {
          writeReply(res, jsonReply(401, { error: formatMessage(config.localeOf(req, acceptLanguageOf(req)), 'unauthenticated'), code: 'unauthenticated' }));
          return undefined;
        }
        const scope = scopeOf(userId, config.limiter);
        bindEmitterToScope(req, scope);
        return runInScope(scope, () => listener(req, res));
      })
      .catch((error: unknown) => fail(error, req, res));
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
