import { InvalidArgumentError } from '../../kernel/errors.js';
import { negotiateLocale, parseLocale, resolveLocale } from '../../i18n/format.js';
import type { Locale } from '../../i18n/messages.js';

/**
 * The `locale` option of the integrations: a fixed locale tag (checked at start-up), or a function
 * of the request answering a tag (or nothing, to negotiate). Without it, each request's
 * `Accept-Language` is negotiated among the built-in locales (`en`, `pt-BR`), falling back to `en`.
 */
export type LocaleOption<Req> = string | ((request: Req) => string | null | undefined);

/** Picks the locale of one request, given the request and its `Accept-Language` header. */
export type LocaleOf<Req> = (request: Req, acceptLanguage: string | null | undefined) => Locale;

/**
 * Validates a `locale` option once, at start-up (an unknown fixed tag throws
 * `InvalidArgumentError`). A function's answer is resolved leniently at run time (`pt` and `pt-PT`
 * are `pt-BR`, an unknown tag is `en`); when it answers nothing, or throws, the request's
 * `Accept-Language` is negotiated instead, so an error body is always written.
 */
export function parseLocaleOption<Req>(value: unknown, parameter: string): LocaleOf<Req> {
  if (value === undefined) return (_request, acceptLanguage) => negotiateLocale(acceptLanguage);
  if (typeof value === 'function') {
    const pick = value as (request: Req) => unknown;
    return (request, acceptLanguage) => {
      let tag: unknown;
      try {
        tag = pick(request);
      } catch {
        tag = undefined;
      }
      return typeof tag === 'string' && tag !== '' ? resolveLocale(tag) : negotiateLocale(acceptLanguage);
    };
  }
  if (typeof value !== 'string') throw new InvalidArgumentError(parameter, value, 'expected a locale tag or a function (request) => locale tag');
  const fixed = parseLocale(value, parameter);
  return () => fixed;
}

/** The `Accept-Language` of a Node request (`IncomingMessage`, Express `Request`). */
export function acceptLanguageOf(request: { headers: Record<string, string | string[] | undefined> }): string | undefined {
  const value = request.headers['accept-language'];
  return Array.isArray(value) ? value.join(',') : value;
}
