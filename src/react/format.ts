import { formatDate, formatMessage, formatNumber, formatPlural, resolveLocale } from '../i18n/format.js';
import type { MessageKey } from '../i18n/messages.js';
import { TokenLimitsApiError, type LimitRuleJson } from './api.js';
import { ResponseShapeError } from './parse.js';

/** What a rule counts. */
export type Metric = 'tokens' | 'requests' | 'costUsd';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** The browser's time zone (UTC where `Intl` cannot tell). */
export function viewerTimeZone(): string {
  try {
    return new Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/**
 * A cost in US dollars with a precision that fits its size: cents from $1 up (`$25.00`), four
 * decimals from one cent (`$0.0281`), two significant digits below (`$0.00028`), and `$0.00` for
 * zero, so that a headline total does not read `$0.000281` and a column stays readable.
 */
export function formatCost(locale: string, value: number): string {
  const l = resolveLocale(locale);
  const size = Math.abs(value);
  const options: Intl.NumberFormatOptions =
    size === 0 || size >= 1
      ? { minimumFractionDigits: 2, maximumFractionDigits: 2 }
      : size >= 0.01
        ? { minimumFractionDigits: 2, maximumFractionDigits: 4 }
        : { maximumSignificantDigits: 2 };
  return new Intl.NumberFormat(l, { style: 'currency', currency: 'USD', ...options }).format(value);
}

/**
 * `value` rounded down to `digits` decimals, exactly (a decimal string, not `Math.floor(value * 100)`,
 * which turns 0.29 into 0.28).
 */
function roundDown(value: number, digits: number): number {
  if (!Number.isFinite(value) || value <= 0 || value >= 1e15) return value;
  const text = value.toFixed(digits);
  if (Number(text) <= value) return Number(text);
  // toFixed rounded up: one unit less in its last digit (`1.0000` -> `0.9999`).
  return Number(`${BigInt(text.replace('.', '')) - 1n}e-${digits}`);
}

/**
 * The decimals `formatCost` shows for a cost of this size (two significant digits below a cent),
 * or those of `formatNumber` for a count.
 */
function shownDecimals(metric: Metric, value: number): number {
  if (metric !== 'costUsd') return 2;
  if (value >= 0.01) return value >= 1 ? 2 : 4;
  return 1 - Math.floor(Math.log10(value));
}

/**
 * A used amount without its unit, rounded down at the precision shown: `$0.9999` for $0.999999
 * (never `$1.00`, which beside a limit of `$1.00` reads as exhausted while calls still pass),
 * `$24.99` for $24.999. Only a used amount that reaches a figure shows it.
 */
export function formatUsed(locale: string, metric: Metric, value: number): string {
  return formatFigure(locale, metric, value > 0 ? roundDown(value, shownDecimals(metric, value)) : value);
}

/**
 * A usage bar's accessible value: `1,500 of 100,000 tokens used`, `$0.9999 of $1.00 used`,
 * `3 de 10 requisições usadas` (used as `formatUsed` shows it).
 */
export function usedText(locale: string, metric: Metric, used: number, limit: number): string {
  const shown = formatUsed(locale, metric, used);
  // Formatted as the figures shown (formatCost), not with the catalogue's six decimals.
  if (metric === 'costUsd') return formatMessage(locale, 'usage.usedCost', { used: shown, limit: formatCost(locale, limit) });
  // Its own message: "requisições" is feminine in pt-BR (usadas), "tokens" masculine (usados).
  if (metric === 'requests') return formatMessage(locale, 'usage.usedRequests', { used: shown, limit });
  return formatMessage(locale, 'usage.used', { used: shown, limit, unit: formatMessage(locale, 'unit.tokens') });
}

/** A figure without its unit: `1,500` or `$1.50` (cost rules are US dollars). */
export function formatFigure(locale: string, metric: Metric, value: number): string {
  return metric === 'costUsd' ? formatCost(locale, value) : formatNumber(locale, value);
}

/** A figure with its unit: `1,500 tokens`, `1 request`, `$1.50`. */
export function formatAmount(locale: string, metric: Metric, value: number): string {
  if (metric === 'costUsd') return formatCost(locale, value);
  return formatPlural(locale, metric === 'tokens' ? 'amount.tokens' : 'amount.requests', value, { value: formatNumber(locale, value) });
}

/**
 * A short axis label: `1.25K`, `$3`, `$0.0025`. Ticks are a round maximum and its half (see
 * `niceMax`), so three significant digits show each one exactly: fixed decimals would turn a few
 * cents of spend into an axis of `$0.00`, or label a `$0.025` line `$0.03`.
 */
export function formatAxis(locale: string, metric: Metric, value: number): string {
  const options: Intl.NumberFormatOptions = { notation: 'compact', maximumSignificantDigits: 3 };
  if (metric === 'costUsd') Object.assign(options, { style: 'currency', currency: 'USD' });
  return new Intl.NumberFormat(resolveLocale(locale), options).format(value);
}

/** `per month`, `every 30 days`. */
export function formatPeriod(locale: string, period: LimitRuleJson['period']): string {
  if (typeof period === 'string') return formatMessage(locale, `period.${period}`);
  if ('days' in period) return formatPlural(locale, 'period.days', period.days);
  return formatPlural(locale, 'period.months', period.months);
}

/**
 * `Renews in 12 days (Jun 1, 2026, 12:00 AM UTC)`, in hours under a day, "less than an hour" under
 * an hour. The reset time is in `timeZone` and names it, so that midnight UTC is not read as local.
 */
export function formatRenews(locale: string, resetAt: Date, now: number, timeZone: string): string {
  const ms = resetAt.getTime() - now;
  const options = { timeZone };
  if (ms >= DAY) {
    const resetDate = formatDate(locale, resetAt, { timeZone, time: true, zoneName: true });
    return formatPlural(locale, 'widget.renews', Math.ceil(ms / DAY), { resetDate }, options);
  }
  if (ms >= HOUR) return formatPlural(locale, 'widget.renewsHours', Math.floor(ms / HOUR), { resetDate: resetAt }, options);
  return formatMessage(locale, 'widget.renewsSoon', { resetDate: resetAt }, options);
}

const CODE_MESSAGES: Readonly<Record<string, MessageKey>> = {
  unauthenticated: 'unauthenticated',
  forbidden: 'forbidden',
  not_found: 'notFound',
  method_not_allowed: 'methodNotAllowed',
  invalid_json: 'invalidJson',
  unsupported_media_type: 'unsupportedMediaType',
  internal_error: 'internalError',
  store_unavailable: 'storeUnavailable',
  user_disabled: 'userDisabled',
  // The client's own codes: no answer, or one it cannot read (the message is for developers).
  network_error: 'networkError',
  timeout: 'requestTimeout',
  invalid_response: 'invalidResponse',
};

/**
 * An error for people, in the widget's locale: the API's codes map to the catalogue the HTTP errors
 * come from (the server may answer in another locale); anything else shows its own message.
 */
export function errorText(locale: string, error: unknown): string {
  if (error instanceof TokenLimitsApiError) {
    if (error.code === 'invalid_argument' && error.field !== undefined) return formatMessage(locale, 'invalidArgument', { field: error.field });
    // The field that was not what the route returns, for whoever reports the problem.
    if (error.code === 'invalid_response' && error.cause instanceof ResponseShapeError) return `${formatMessage(locale, 'invalidResponse')} (${error.cause.message})`;
    const key = CODE_MESSAGES[error.code];
    if (key !== undefined) return formatMessage(locale, key);
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Which rule a window counts. */
export function metricOfRule(rule: LimitRuleJson): Metric {
  if (rule.tokens !== undefined) return 'tokens';
  if (rule.requests !== undefined) return 'requests';
  return 'costUsd';
}

/** `2026-05-03`: the UTC day of a time (history buckets are UTC days). */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A UTC day for people: `May 3` / `3 de mai.`. */
export function formatDay(locale: string, day: string, withYear = false): string {
  const options: Intl.DateTimeFormatOptions = { day: 'numeric', month: 'short', timeZone: 'UTC' };
  if (withYear) options.year = 'numeric';
  return new Intl.DateTimeFormat(resolveLocale(locale), options).format(new Date(`${day}T00:00:00Z`));
}
