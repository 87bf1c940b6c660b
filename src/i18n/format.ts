import { InvalidArgumentError } from '../kernel/errors.js';
import { locales, messages, type Locale, type MessageKey } from './messages.js';

/** A value for a placeholder. Numbers and dates are formatted for the locale. */
export type MessageParam = string | number | Date;
export type MessageParams = Readonly<Record<string, MessageParam>>;

/** Options of `formatMessage`. */
export interface FormatOptions {
  /**
   * Time zone of formatted dates (IANA name). Pass the viewer's zone in a browser.
   * @default 'UTC'
   */
  timeZone?: string;
  /**
   * Currency of `{x, currency}` placeholders (costs are in US dollars).
   * @default 'USD'
   */
  currency?: string;
}

/**
 * The built-in locale for a locale tag, or `en`: exact match (case-insensitive), then the language
 * alone (`pt`, `pt-PT` -> `pt-BR`; `en-GB` -> `en`). Never throws: for runtime negotiation.
 */
export function resolveLocale(tag: string | null | undefined): Locale {
  return matchLocale(tag) ?? 'en';
}

/**
 * Like `resolveLocale` but refuses a tag that matches no built-in locale (for options: a typo such
 * as `pt_BR` fails at start-up instead of silently answering in English).
 */
export function parseLocale(tag: unknown, parameter: string): Locale {
  // Strict: a built-in tag (any case, `_` or `-`) or a bare language (`pt`), never a guess.
  const match = typeof tag === 'string' && (isBuiltIn(tag) || /^[a-z]{2,3}$/i.test(tag)) ? matchLocale(tag) : undefined;
  if (match === undefined) throw new InvalidArgumentError(parameter, tag, `expected one of ${locales.join(', ')}`);
  return match;
}

/** An RFC 9110 qvalue: 0 to 1 with at most three decimals. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** The best built-in locale for an `Accept-Language` header value (by q-value), or `en`. */
export function negotiateLocale(acceptLanguage: string | null | undefined): Locale {
  if (typeof acceptLanguage !== 'string') return 'en';
  const ranked = acceptLanguage
    .split(',')
    .slice(0, 20)
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      // Parameter names are case-insensitive (RFC 9110, section 5.6.6): `Q=0` is `q=0`.
      const given = params.map((p) => /^\s*q=(.*?)\s*$/i.exec(p)?.[1]).find((v) => v !== undefined);
      // A weight that is not a qvalue (`q=`, `q=1.5`, `q=0.0001`) drops its range rather than
      // counting as 1: `en;q=0.001, pt-BR;q=0.0001` must not put pt-BR first.
      const q = given === undefined ? 1 : QVALUE.test(given) ? Number(given) : 0;
      return { tag: tag.trim(), q, index };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const r of ranked) {
    const match = matchLocale(r.tag);
    if (match) return match;
  }
  return 'en';
}

function isBuiltIn(tag: string): boolean {
  const lower = tag.replace(/_/g, '-').toLowerCase();
  return locales.some((l) => l.toLowerCase() === lower);
}

function matchLocale(tag: string | null | undefined): Locale | undefined {
  if (typeof tag !== 'string' || tag.length === 0 || tag.length > 35) return undefined;
  const lower = tag.replace(/_/g, '-').toLowerCase();
  const exact = locales.find((l) => l.toLowerCase() === lower);
  if (exact) return exact;
  const language = lower.split('-')[0];
  return locales.find((l) => l.toLowerCase().split('-')[0] === language);
}

/**
 * The message `key` of `locale` (falling back to English for an unknown locale) with its
 * placeholders filled. A placeholder is `{name}` or `{name, style}` with style `number`,
 * `currency`, `date` (day) or `datetime` (day and time, followed by the time zone's name, so that
 * "12:00 AM UTC" is not read as local time); without a style, numbers and dates get `number` and
 * `datetime`. A missing parameter leaves the placeholder as written.
 */
export function formatMessage(locale: string, key: MessageKey, params: MessageParams = {}, options: FormatOptions = {}): string {
  const resolved = resolveLocale(locale);
  const template = messages[resolved][key] ?? messages.en[key];
  return template.replace(/\{(\w+)(?:,\s*(\w+))?\}/g, (whole, name: string, style: string | undefined) => {
    if (!Object.hasOwn(params, name)) return whole;
    return formatValue(resolved, params[name]!, style, options);
  });
}

function formatValue(locale: Locale, value: MessageParam, style: string | undefined, options: FormatOptions): string {
  const timeZone = options.timeZone ?? 'UTC';
  if (value instanceof Date) {
    return style === 'date' ? formatDate(locale, value, { timeZone, time: false }) : formatDate(locale, value, { timeZone, time: true, zoneName: true });
  }
  if (typeof value === 'number') {
    return style === 'currency' ? formatCurrency(locale, value, options.currency ?? 'USD') : formatNumber(locale, value);
  }
  return value;
}

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();

function cached<T extends Intl.NumberFormat | Intl.DateTimeFormat>(key: string, make: () => T): T {
  let f = cache.get(key) as T | undefined;
  if (!f) {
    f = make();
    if (cache.size > 200) cache.clear();
    cache.set(key, f);
  }
  return f;
}

/** A number for the locale (`100000` -> `100,000` / `100.000`). */
export function formatNumber(locale: string, value: number): string {
  const l = resolveLocale(locale);
  return cached(`n|${l}`, () => new Intl.NumberFormat(l, { maximumFractionDigits: 2 })).format(value);
}

/** An amount of money for the locale (`1.5` -> `$1.50` / `US$ 1,50`). */
export function formatCurrency(locale: string, value: number, currency = 'USD'): string {
  const l = resolveLocale(locale);
  return cached(`c|${l}|${currency}`, () => new Intl.NumberFormat(l, { style: 'currency', currency, maximumFractionDigits: 6 })).format(value);
}

/**
 * A date (and time) for the locale, in `timeZone` (default UTC). With `zoneName` (and `time`), the
 * zone's short name follows the time: "Jan 4, 2027, 12:00 AM UTC", "3 de jan. de 2027, 21:00 BRT".
 */
export function formatDate(locale: string, value: Date, options: { timeZone?: string; time?: boolean; zoneName?: boolean } = {}): string {
  const l = resolveLocale(locale);
  const timeZone = options.timeZone ?? 'UTC';
  const time = options.time ?? true;
  const zoneName = time && options.zoneName === true;
  return cached(`d|${l}|${timeZone}|${time}|${zoneName}`, () =>
    zoneName
      ? new Intl.DateTimeFormat(l, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short', timeZone })
      : new Intl.DateTimeFormat(l, time ? { dateStyle: 'medium', timeStyle: 'short', timeZone } : { dateStyle: 'medium', timeZone }),
  ).format(value);
}

/**
 * Message keys with plural forms: `base.one` and `base.other` both exist (`widget.renews`,
 * `amount.tokens`...). The form is chosen with `Intl.PluralRules`, except that zero always takes the
 * plural (`0 tokens`, `0 requisições`: CLDR's Portuguese `one` covers 0, which reads wrong here).
 */
export type PluralBase = {
  [K in MessageKey]: K extends `${infer B}.one` ? (`${B}.other` extends MessageKey ? B : never) : never;
}[MessageKey];

/** `formatMessage` of the plural form of `base` for `count` (also passed as the `{count}` placeholder). */
export function formatPlural(locale: string, base: PluralBase, count: number, params: MessageParams = {}, options: FormatOptions = {}): string {
  const resolved = resolveLocale(locale);
  let rules = pluralRules.get(resolved);
  if (!rules) {
    rules = new Intl.PluralRules(resolved);
    pluralRules.set(resolved, rules);
  }
  const key: MessageKey = count !== 0 && rules.select(count) === 'one' ? `${base}.one` : `${base}.other`;
  return formatMessage(resolved, key, { count, ...params }, options);
}

const pluralRules = new Map<Locale, Intl.PluralRules>();

/** A fraction as a percentage for the locale (`0.85` -> `85%` / `85%`), whole numbers. */
export function formatPercent(locale: string, fraction: number): string {
  const l = resolveLocale(locale);
  return cached(`p|${l}`, () => new Intl.NumberFormat(l, { style: 'percent', maximumFractionDigits: 0 })).format(fraction);
}
