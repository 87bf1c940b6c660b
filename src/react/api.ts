import { encodeUserIdSegment } from '../kernel/admin-path.js';
import { parseResponse, ResponseShapeError } from './parse.js';
import type {
  AccountUsageJson,
  HistoryPointJson,
  LimitRuleJson,
  PlanJson,
  RefusalRecordJson,
  UsageRecordJson,
  UsageStatsJson,
  UserUsageJson,
  WindowUsageJson,
} from '../kernel/admin-api.js';

export type { AccountUsageJson, HistoryPointJson, LimitRuleJson, PlanJson, RefusalRecordJson, UsageRecordJson, UsageStatsJson, UserUsageJson, WindowUsageJson };

/**
 * The `fetch` the widgets call: `globalThis.fetch` by default. Pass your own to add auth headers,
 * `credentials: 'include'` for a cross-origin API, or to route requests through your client.
 * It must honour `init.signal` (the widgets abort requests on unmount).
 */
export type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

/** An error answer of the admin HTTP API (`{ error, code, field?, detail? }`), or a network failure. */
export class TokenLimitsApiError extends Error {
  override readonly name = 'TokenLimitsApiError';
  /** HTTP status; 0 when no answer came (network error). */
  readonly status: number;
  /**
   * The API's stable `code` (`invalid_argument`, `forbidden`...), `http_error`, `network_error`,
   * `timeout` (no answer within the client's `timeoutMs`: a write may or may not have been made), or
   * `invalid_response` (a 2xx whose body is not what the route returns: the message names the field).
   */
  readonly code: string;
  /** For `invalid_argument`: the field as sent (`rules[0].tokens`). */
  readonly field: string | undefined;
  /** For `invalid_argument`: why the value was refused. */
  readonly detail: string | undefined;

  constructor(status: number, code: string, message: string, field?: string, detail?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.code = code;
    this.field = field;
    this.detail = detail;
  }
}

export interface HistoryQuery {
  from: string;
  to: string;
  granularity: 'hour' | 'day';
  userId?: string;
}

export interface HistoryJson {
  granularity: 'hour' | 'day';
  from: string;
  to: string;
  points: HistoryPointJson[];
}

export interface UsersPageJson {
  users: UserUsageJson[];
  nextCursor: string | null;
}

export interface AccountsPageJson {
  accounts: AccountUsageJson[];
  nextCursor: string | null;
}

export interface MembersPageJson {
  accountId: string;
  members: UserUsageJson[];
  nextCursor: string | null;
}

/** An account's rules in force: its own, else its plan's (`plan` names it); empty when it has none. */
export interface AccountLimitsJson {
  accountId: string;
  plan: string | null;
  rules: LimitRuleJson[];
}

export interface PageQuery {
  cursor?: string | undefined;
  limit?: number;
}

/** Typed calls to the admin HTTP API (the README's "Admin HTTP API" table). */
export interface ApiClient {
  meUsage(signal?: AbortSignal): Promise<UserUsageJson>;
  meLog(query: { limit?: number }, signal?: AbortSignal): Promise<{ records: UsageRecordJson[] }>;
  /** The signed-in user's latest refused calls (`GET /me/refusals`), newest first. */
  meRefusals(query: { limit?: number }, signal?: AbortSignal): Promise<{ refusals: RefusalRecordJson[] }>;
  meHistory(query: Omit<HistoryQuery, 'userId'>, signal?: AbortSignal): Promise<HistoryJson>;
  /** Everyone's usage log (or one user's), newest first: `GET /log`. */
  log(query: { userId?: string | undefined; limit?: number }, signal?: AbortSignal): Promise<{ records: UsageRecordJson[] }>;
  users(query: { cursor?: string | undefined; limit?: number; prefix?: string | undefined }, signal?: AbortSignal): Promise<UsersPageJson>;
  stats(signal?: AbortSignal): Promise<UsageStatsJson>;
  history(query: HistoryQuery, signal?: AbortSignal): Promise<HistoryJson>;
  setLimits(userId: string, rules: LimitRuleJson[] | null, signal?: AbortSignal): Promise<{ userId: string; rules: LimitRuleJson[] }>;
  reset(userId: string, signal?: AbortSignal): Promise<UserUsageJson>;
  setActive(userId: string, active: boolean, signal?: AbortSignal): Promise<UserUsageJson>;
  /** Every plan, with how many users and accounts are assigned to it. */
  plans(signal?: AbortSignal): Promise<{ plans: PlanJson[] }>;
  plan(planId: string, signal?: AbortSignal): Promise<PlanJson>;
  setPlan(planId: string, rules: LimitRuleJson[], signal?: AbortSignal): Promise<PlanJson>;
  /** Rejects with `plan_in_use` (409) while users or accounts are assigned to the plan. */
  deletePlan(planId: string, signal?: AbortSignal): Promise<void>;
  /** Assigns a plan to a user (`null`: none). */
  assignPlan(userId: string, planId: string | null, signal?: AbortSignal): Promise<UserUsageJson>;
  /** Puts a user into an account (`null`: on their own). */
  setAccount(userId: string, accountId: string | null, signal?: AbortSignal): Promise<UserUsageJson>;
  accounts(query: PageQuery, signal?: AbortSignal): Promise<AccountsPageJson>;
  accountUsage(accountId: string, signal?: AbortSignal): Promise<AccountUsageJson>;
  accountLimits(accountId: string, signal?: AbortSignal): Promise<AccountLimitsJson>;
  /** Replaces an account's own rules (`null`: its plan's, else none). */
  setAccountLimits(accountId: string, rules: LimitRuleJson[] | null, signal?: AbortSignal): Promise<AccountLimitsJson>;
  assignAccountPlan(accountId: string, planId: string | null, signal?: AbortSignal): Promise<AccountUsageJson>;
  accountMembers(accountId: string, query: PageQuery, signal?: AbortSignal): Promise<MembersPageJson>;
}

export interface ApiClientOptions {
  /** Where the admin API is mounted, absolute or relative to the page (`/admin/api`). */
  baseUrl: string;
  fetcher?: Fetcher | undefined;
  /**
   * Sent as `Accept-Language`, so that the messages the API writes itself (an error's text) come in
   * the widget's language rather than the browser's. Default: none (the browser's).
   */
  locale?: string | undefined;
  /**
   * How long a request may wait for its whole answer before it fails with code `timeout` (the
   * request is aborted), so that an API that accepts the connection and never answers cannot keep
   * a widget loading, or an admin dialog waiting, for ever; `0`: no limit. Another value that is no
   * positive number takes the default; one past 2147483647 counts as that.
   * @default 30_000
   */
  timeoutMs?: number | undefined;
}

/** `ApiClientOptions.timeoutMs`'s default. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The longest delay setTimeout keeps. */
const MAX_TIMER_MS = 2_147_483_647;

/** A `timeoutMs` option as used: 0 (no limit), the default for what is no positive number, clamped. */
export function requestTimeout(value: number | undefined): number {
  if (value === 0) return 0;
  if (value === undefined || !(value > 0)) return DEFAULT_REQUEST_TIMEOUT_MS;
  return Math.min(value, MAX_TIMER_MS);
}

type Query = Record<string, string | number | undefined>;

function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** The parser of routes that answer 204 with no body. */
const noContent = (): void => undefined;

/** A client of the admin HTTP API mounted at `baseUrl`. */
export function createApiClient({ baseUrl, fetcher, locale, timeoutMs }: ApiClientOptions): ApiClient {
  const base = baseUrl.replace(/\/+$/, '');
  const timeout = requestTimeout(timeoutMs);
  // Not plain encodeURIComponent: the ids `.` and `..` would be removed from the URL as dot segments.
  const user = (id: string) => `/users/${encodeUserIdSegment(id)}`;
  // Plan and account ids are written the same way as user ids (any string is one).
  const plan = (id: string) => `/plans/${encodeUserIdSegment(id)}`;
  const account = (id: string) => `/accounts/${encodeUserIdSegment(id)}`;

  async function request<T>(method: string, path: string, query: Query, body: unknown, signal: AbortSignal | undefined, parse: (json: unknown) => T): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (locale) headers['accept-language'] = locale;
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    // The caller's signal (unmount, a newer load) and the timeout both abort the request.
    const controller = new AbortController();
    const forward = (): void => controller.abort(signal?.reason);
    if (signal?.aborted) forward();
    else signal?.addEventListener('abort', forward, { once: true });
    init.signal = controller.signal;
    const doFetch: Fetcher = fetcher ?? ((url, i) => globalThis.fetch(url, i));
    let response: Response;
    let text: string;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const answer = (async () => {
        const r = await doFetch(`${base}${path}${queryString(query)}`, init);
        // The connection can fail, or stall, while the body is read too.
        return { r, t: await r.text() };
      })();
      // Raced rather than left to the abort alone: a fetcher that ignores its signal cannot hang us.
      const late =
        timeout === 0
          ? undefined
          : new Promise<never>((_, reject) => {
              timer = setTimeout(() => {
                reject(new TokenLimitsApiError(0, 'timeout', `No answer from the server within ${timeout} ms`));
                controller.abort();
              }, timeout);
            });
      // Settled after the race was lost: handled here, never an unhandled rejection.
      answer.catch(() => {});
      ({ r: response, t: text } = await (late === undefined ? answer : Promise.race([answer, late])));
    } catch (error) {
      if (error instanceof TokenLimitsApiError) throw error;
      if (signal?.aborted) throw error;
      throw new TokenLimitsApiError(0, 'network_error', error instanceof Error ? error.message : String(error), undefined, undefined, { cause: error });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    }
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const e = (typeof json === 'object' && json !== null ? json : {}) as { error?: unknown; code?: unknown; field?: unknown; detail?: unknown };
      throw new TokenLimitsApiError(
        response.status,
        typeof e.code === 'string' ? e.code : 'http_error',
        typeof e.error === 'string' ? e.error : `HTTP ${response.status}`,
        typeof e.field === 'string' ? e.field : undefined,
        typeof e.detail === 'string' ? e.detail : undefined,
      );
    }
    if (json === undefined && response.status === 204 && (parse as unknown) === noContent) return undefined as T;
    if (json === undefined) throw new TokenLimitsApiError(response.status, 'invalid_response', 'Expected a JSON response');
    try {
      return parse(json);
    } catch (error) {
      if (!(error instanceof ResponseShapeError)) throw error;
      throw new TokenLimitsApiError(response.status, 'invalid_response', `Unexpected response from the server (${error.message})`, undefined, undefined, { cause: error });
    }
  }

  return {
    meUsage: (signal) => request('GET', '/me/usage', {}, undefined, signal, parseResponse.userUsage),
    meLog: (query, signal) => request('GET', '/me/log', query, undefined, signal, parseResponse.log),
    meRefusals: (query, signal) => request('GET', '/me/refusals', query, undefined, signal, parseResponse.refusals),
    meHistory: (query, signal) => request('GET', '/me/history', query, undefined, signal, parseResponse.history),
    log: (query, signal) => request('GET', '/log', query, undefined, signal, parseResponse.log),
    users: (query, signal) => request('GET', '/users', query, undefined, signal, parseResponse.usersPage),
    stats: (signal) => request('GET', '/stats', {}, undefined, signal, parseResponse.stats),
    history: (query, signal) => request('GET', '/history', { ...query }, undefined, signal, parseResponse.history),
    setLimits: (userId, rules, signal) => request('PUT', `${user(userId)}/limits`, {}, { rules }, signal, parseResponse.limits),
    reset: (userId, signal) => request('POST', `${user(userId)}/reset`, {}, undefined, signal, parseResponse.userUsage),
    setActive: (userId, active, signal) =>
      request('POST', `${user(userId)}/${active ? 'enable' : 'disable'}`, {}, undefined, signal, parseResponse.userUsage),
    plans: (signal) => request('GET', '/plans', {}, undefined, signal, parseResponse.plans),
    plan: (planId, signal) => request('GET', plan(planId), {}, undefined, signal, parseResponse.plan),
    setPlan: (planId, rules, signal) => request('PUT', plan(planId), {}, { rules }, signal, parseResponse.plan),
    deletePlan: (planId, signal) => request('DELETE', plan(planId), {}, undefined, signal, noContent),
    assignPlan: (userId, planId, signal) => request('PUT', `${user(userId)}/plan`, {}, { planId }, signal, parseResponse.userUsage),
    setAccount: (userId, accountId, signal) => request('PUT', `${user(userId)}/account`, {}, { accountId }, signal, parseResponse.userUsage),
    accounts: (query, signal) => request('GET', '/accounts', { ...query }, undefined, signal, parseResponse.accountsPage),
    accountUsage: (accountId, signal) => request('GET', `${account(accountId)}/usage`, {}, undefined, signal, parseResponse.accountUsage),
    accountLimits: (accountId, signal) => request('GET', `${account(accountId)}/limits`, {}, undefined, signal, parseResponse.accountLimits),
    setAccountLimits: (accountId, rules, signal) => request('PUT', `${account(accountId)}/limits`, {}, { rules }, signal, parseResponse.accountLimits),
    assignAccountPlan: (accountId, planId, signal) => request('PUT', `${account(accountId)}/plan`, {}, { planId }, signal, parseResponse.accountUsage),
    accountMembers: (accountId, query, signal) => request('GET', `${account(accountId)}/members`, { ...query }, undefined, signal, parseResponse.membersPage),
  };
}
