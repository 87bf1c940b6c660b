import type { Locale } from '../i18n/messages.js';
import type { Fetcher } from './api.js';

/** Props every component takes: where the API is, language, time zone and refreshing. */
export interface TokenLimitsComponentProps {
  /**
   * Where the admin HTTP API is mounted (`createAdminRouter` / `createAdminHandler`), absolute or
   * relative to the page. The widgets call `/me/*` under it; the admin panel the admin routes.
   * @default '/admin/api'
   */
  baseUrl?: string;
  /**
   * The `fetch` to call, for auth headers, `credentials: 'include'` (a cross-origin API) or your own
   * HTTP client. It gets the full URL and a `RequestInit` with `signal`, which it must honour.
   * @default globalThis.fetch
   */
  fetcher?: Fetcher;
  /**
   * Language of every text and number (`en`, `pt-BR`); another tag falls back to its language,
   * then to English (`pt-PT` -> `pt-BR`, `fr` -> `en`).
   * @default 'en'
   */
  locale?: Locale | (string & {});
  /**
   * Reload every so many milliseconds after the previous load settled (polls are skipped while the
   * page is hidden, and one skipped is made as soon as it is shown again; never two at once;
   * values under 250 count as 250). After a failed load the wait doubles with each failure in a
   * row, up to 5 minutes (or this interval, if longer). `0` disables polling.
   * @default 60_000
   */
  refreshIntervalMs?: number;
  /**
   * How long a request to the API may take before it fails (shown as "The server did not answer
   * in time", with Retry; polling goes on), so that an API that never answers cannot keep the
   * component loading, or an admin dialog waiting, for ever. `0`: no limit; a value that is no
   * positive number takes the default.
   * @default 30_000
   */
  requestTimeoutMs?: number;
  /**
   * IANA time zone of the dates shown. Daily charts always use UTC days, as the API's history does.
   * @default reset dates and periods in their rule's time zone (`rule.timeZone`, else UTC: where
   * the period boundaries are), times of calls in the browser's time zone
   */
  timeZone?: string;
  /**
   * Changing this value reloads at once (for example after the user made a call).
   * @default undefined
   */
  refreshKey?: string | number;
  /**
   * Extra class names on the root element.
   * @default undefined
   */
  className?: string;
}

export const DEFAULT_BASE_URL = '/admin/api';
export const DEFAULT_REFRESH_MS = 60_000;

/**
 * A count prop (`pageSize`, `logLimit`, `historyDays`) as a whole number within `min`-`max`; its
 * default when it is not a number at all. A prop read from a URL or a form (`Number('')`, `NaN`)
 * would otherwise reach the API as `limit=NaN` and fail the whole table with a 400.
 */
export function countProp(value: number, min: number, max: number, fallback: number): number {
  return Number.isNaN(value) ? fallback : Math.min(max, Math.max(min, Math.floor(value)));
}

/** Joins class names, skipping empty ones. */
export function cx(...names: Array<string | false | null | undefined>): string {
  return names.filter(Boolean).join(' ');
}
