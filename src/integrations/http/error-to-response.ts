import { negotiateLocale, parseLocale } from '../../i18n/format.js';
import { errorReply } from '../shared/errors.js';
import { toResponse } from '../shared/reply.js';

/** Options of `errorToResponse`. */
export interface ErrorToResponseOptions {
  /**
   * Language of the `error` message (`en`, `pt-BR`). Unknown locales throw.
   * @default the `Accept-Language` of `request`, negotiated among `en` and `pt-BR`; else 'en'
   */
  locale?: string;
  /** The request being answered: its `Accept-Language` picks the locale when `locale` is not set. */
  request?: Request;
}

/**
 * The HTTP response for an error of this library, or `undefined` for any other error (yours to
 * handle):
 * - `TokenLimitExceededError` -> 429 `{ error, code, scope, accountId, ruleId, metric, limit, used, remaining, resetDate }` with
 *   `Retry-After` (seconds until the reset, rounded up), `RateLimit-Policy` and `RateLimit`;
 * - `UserDisabledError` -> 403 `{ error, code: 'user_disabled' }`;
 * - `QuotaStoreError` -> 503 `{ error, code: 'store_unavailable' }` (no cause, no store details).
 * `MissingUserError` gives `undefined`: it is a server-side mistake (answer 500).
 */
export function errorToResponse(error: unknown, options: ErrorToResponseOptions = {}): Response | undefined {
  const locale = options.locale === undefined ? negotiateLocale(options.request?.headers.get('accept-language')) : parseLocale(options.locale, 'options.locale');
  const reply = errorReply(error, { locale });
  return reply === undefined ? undefined : toResponse(reply);
}
