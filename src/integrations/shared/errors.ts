import type { TokenLimitExceededError } from '../../kernel/errors.js';
import { remainingOf } from '../../kernel/units.js';
import { formatMessage } from '../../i18n/format.js';
import type { Locale } from '../../i18n/messages.js';
import { rateLimitHeaders } from './rate-limit-headers.js';
import { jsonReply, type HttpReply } from './reply.js';

/** Options of the error mappings. */
export interface ErrorReplyOptions {
  /**
   * Language of the `error` message.
   * @default 'en'
   */
  locale?: Locale;
  /** Clock for `Retry-After` when the error does not say when it was refused. @default Date.now */
  now?: () => number;
}

/**
 * The HTTP answer for an error of the library that is the client's business:
 * - `TokenLimitExceededError` -> 429 `{ error, code, scope, accountId, ruleId, metric, limit, used,
 *   remaining, resetDate }` with `Retry-After`, `RateLimit-Policy` and `RateLimit` (no `Retry-After`
 *   when the request alone is larger than the rule's limit: waiting would not help). `scope` says whose
 *   budget refused: `user` (the user's own rule; `accountId` null) or `account` (the rule of the
 *   account `accountId`, and the message says the team's limit was reached);
 * - `UserDisabledError` -> 403 `{ error, code }`;
 * - `QuotaStoreError` -> 503 `{ error, code }` (the cause is never shown);
 * - `StoreFullError` (a MemoryStore at its `maxUsers`, none idle) -> 503 `{ error, code: 'store_full' }`.
 * Anything else (including `MissingUserError`, a server-side mistake) gives `undefined`.
 *
 * Errors are recognised by `name` and `code`, not `instanceof`, so that errors thrown by another
 * copy of the package (an ESM and a CJS build in one process) are mapped too.
 */
export function errorReply(error: unknown, options: ErrorReplyOptions = {}): HttpReply | undefined {
  const locale = options.locale ?? 'en';
  if (isError(error, 'TokenLimitExceededError', 'token_limit_exceeded')) {
    const e = error as TokenLimitExceededError;
    if (!(e.resetAt instanceof Date) || typeof e.limit !== 'number') return undefined;
    // The wait is measured on the store's clock (the one that set resetAt), not this server's.
    const now = e.rejectedAt instanceof Date ? e.rejectedAt.getTime() : (options.now ?? Date.now)();
    const metric = e.metric === 'requests' || e.metric === 'costUsd' ? e.metric : 'tokens';
    const remaining = remainingOf(metric, e.limit, e.used, e.reserved);
    // Another copy of the package may predate scopes: anything but 'account' is the user's own rule.
    const accountId = e.scope === 'account' && typeof e.accountId === 'string' ? e.accountId : null;
    const scope = accountId === null ? 'user' : 'account';
    const title = formatMessage(locale, scope === 'account' ? `limitExceeded.account.${metric}` : `limitExceeded.${metric}`);
    // A request larger than the rule's whole limit (often the output hold of a model whose request
    // sets no maximum) is refused again after the reset: no Retry-After, and the message says so.
    const tooLarge = typeof e.requested === 'number' && e.requested > e.limit;
    const body = {
      // The reset time in the rule's zone, naming it ("Jan 4, 2027, 12:00 AM UTC").
      error: formatMessage(locale, tooLarge ? 'limitExceeded.tooLarge' : 'limitExceeded.detail', { title, resetDate: e.resetAt }, { timeZone: zoneOf(e.timeZone) }),
      code: 'token_limit_exceeded',
      scope,
      accountId,
      ruleId: e.ruleId,
      metric,
      limit: e.limit,
      used: e.used,
      remaining,
      resetDate: e.resetAt.toISOString(),
    };
    const headers = rateLimitHeaders(
      { ruleId: e.ruleId, metric, limit: e.limit, remaining, resetAt: e.resetAt, periodStart: e.periodStart instanceof Date ? e.periodStart : undefined },
      now,
    );
    if (tooLarge) delete headers['retry-after'];
    return jsonReply(429, body, headers);
  }
  if (isError(error, 'UserDisabledError', 'user_disabled')) {
    return jsonReply(403, { error: formatMessage(locale, 'userDisabled'), code: 'user_disabled' });
  }
  if (isError(error, 'QuotaStoreError', 'store_unavailable')) {
    return jsonReply(503, { error: formatMessage(locale, 'storeUnavailable'), code: 'store_unavailable' });
  }
  if (isError(error, 'StoreFullError', 'store_full')) {
    return jsonReply(503, { error: formatMessage(locale, 'storeFull'), code: 'store_full' });
  }
  return undefined;
}

function isError(error: unknown, name: string, code: string): boolean {
  return error instanceof Error && error.name === name && (error as { code?: unknown }).code === code;
}

/** The zone of an error from another copy of the package is trusted only if Intl accepts it. */
function zoneOf(timeZone: unknown): string {
  if (typeof timeZone !== 'string') return 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return timeZone;
  } catch {
    return 'UTC';
  }
}
