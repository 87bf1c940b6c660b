import type {
  AccountUsageJson,
  HistoryPointJson,
  PlanJson,
  LimitRuleJson,
  RefusalRecordJson,
  UsageRecordJson,
  UsageStatsJson,
  UserUsageJson,
  WindowUsageJson,
} from '../kernel/admin-api.js';

/**
 * Checks of what the admin API answers, one per response shape, before a component renders it: a
 * proxy's error page, an older or newer server, or a bug must give the component's error state,
 * never a render that throws (React then unmounts the whole page). Only the fields the types
 * declare are checked; extra fields pass through untouched, so a newer server still works.
 */

/** A response that does not have the expected shape; `path` names the first field that is wrong. */
export class ResponseShapeError extends Error {
  override readonly name = 'ResponseShapeError';
  constructor(
    readonly path: string,
    readonly expected: string,
  ) {
    super(`${path}: expected ${expected}`);
  }
}

type Parser<T> = (value: unknown, path: string) => T;

function fail(path: string, expected: string): never {
  throw new ResponseShapeError(path, expected);
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object');
  return value as Record<string, unknown>;
}

const string: Parser<string> = (value, path) => (typeof value === 'string' ? value : fail(path, 'a string'));

const boolean: Parser<boolean> = (value, path) => (typeof value === 'boolean' ? value : fail(path, 'true or false'));

/** Counts, limits and amounts: finite and never negative. */
const amount: Parser<number> = (value, path) =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fail(path, 'a number, 0 or more');

const positiveInt: Parser<number> = (value, path) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : fail(path, 'a whole number above 0');

// What `Date.prototype.toISOString` writes (years past 9999 with a sign and six digits).
const ISO_DATE = /^(?:\d{4}|[+-]\d{6})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 time that `Date` reads (formatting an invalid date throws). */
const isoDate: Parser<string> = (value, path) =>
  typeof value === 'string' && ISO_DATE.test(value) && Number.isFinite(Date.parse(value)) ? value : fail(path, 'an ISO 8601 date');

function oneOf<const T extends string>(values: readonly T[]): Parser<T> {
  return (value, path) => (values.includes(value as T) ? (value as T) : fail(path, `one of ${values.join(', ')}`));
}

function nullable<T>(parse: Parser<T>): Parser<T | null> {
  return (value, path) => (value === null ? null : parse(value, path));
}

function optional<T>(parse: Parser<T>): Parser<T | undefined> {
  return (value, path) => (value === undefined ? undefined : parse(value, path));
}

function array<T>(parse: Parser<T>, { nonEmpty = false } = {}): Parser<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) fail(path, 'an array');
    if (nonEmpty && value.length === 0) fail(path, 'at least one item');
    value.forEach((item, i) => parse(item, `${path}[${i}]`));
    return value as T[];
  };
}

/** Checks the listed fields of an object and returns it as `T` (extra fields kept). */
function shape<T>(fields: { readonly [K in keyof T]-?: Parser<unknown> }): Parser<T> {
  return (value, path) => {
    const o = object(value, path);
    for (const [key, parse] of Object.entries(fields) as Array<[string, Parser<unknown>]>) parse(o[key], `${path}.${key}`);
    return o as T;
  };
}

const validZones = new Map<string, boolean>();

/** An IANA time zone `Intl` knows (dates formatted in an unknown one throw). */
const timeZone: Parser<string> = (value, path) => {
  const zone = string(value, path);
  let ok = validZones.get(zone);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      ok = true;
    } catch {
      ok = false;
    }
    validZones.set(zone, ok);
  }
  return ok ? zone : fail(path, 'an IANA time zone');
};

const METRICS = ['tokens', 'requests', 'costUsd'] as const;
const metric = oneOf(METRICS);
const CALENDAR_PERIODS = ['minute', 'hour', 'day', 'week', 'month', 'year'] as const;

const period: Parser<LimitRuleJson['period']> = (value, path) => {
  if (typeof value === 'string') return oneOf(CALENDAR_PERIODS)(value, path);
  const o = object(value, path);
  if ('days' in o) positiveInt(o.days, `${path}.days`);
  else if ('months' in o) positiveInt(o.months, `${path}.months`);
  else fail(path, `one of ${CALENDAR_PERIODS.join(', ')}, { days } or { months }`);
  return o as LimitRuleJson['period'];
};

const rule: Parser<LimitRuleJson> = (value, path) => {
  const r = shape<LimitRuleJson>({
    id: string,
    period,
    timeZone: optional(timeZone),
    tokens: optional(amount),
    requests: optional(amount),
    costUsd: optional(amount),
    models: optional(array(string)),
    providers: optional(array(string)),
  })(value, path);
  if (r.tokens === undefined && r.requests === undefined && r.costUsd === undefined) fail(path, 'a rule with tokens, requests or costUsd');
  return r as LimitRuleJson;
};

const windowUsage = shape<WindowUsageJson>({
  ruleId: string,
  metric,
  rule,
  limit: amount,
  used: amount,
  reserved: amount,
  remaining: amount,
  periodStart: isoDate,
  resetAt: isoDate,
});

const accountUsage = shape<AccountUsageJson>({
  accountId: string,
  plan: nullable(string),
  // An account with no rules of its own binds nothing: no windows.
  windows: array(windowUsage),
  members: optional(amount),
});

const userUsage = shape<UserUsageJson>({
  userId: string,
  isActive: boolean,
  metric,
  limit: amount,
  used: amount,
  reserved: amount,
  remaining: amount,
  periodStart: isoDate,
  resetAt: isoDate,
  // Every user has at least one rule, so at least one window.
  windows: array(windowUsage, { nonEmpty: true }),
  plan: optional(nullable(string)),
  account: optional(nullable(accountUsage)),
});

const nonNegativeInt: Parser<number> = (value, path) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : fail(path, 'a whole number, 0 or more');

const plan = shape<PlanJson>({
  planId: string,
  version: nonNegativeInt,
  rules: array(rule),
  users: optional(nonNegativeInt),
  accounts: optional(nonNegativeInt),
});

const historyPoint = shape<HistoryPointJson>({
  time: isoDate,
  model: string,
  requests: amount,
  inputTokens: amount,
  outputTokens: amount,
  totalTokens: amount,
  costUsd: amount,
});

const usageRecord = shape<UsageRecordJson>({
  id: string,
  userId: string,
  provider: string,
  model: string,
  endpoint: string,
  inputTokens: amount,
  cachedInputTokens: amount,
  outputTokens: amount,
  reasoningTokens: amount,
  totalTokens: amount,
  costUsd: nullable(amount),
  estimated: boolean,
  requestId: nullable(string),
  timestamp: isoDate,
  latencyMs: amount,
  status: oneOf(['ok', 'aborted', 'error'] as const),
});

const refusalRecord = shape<RefusalRecordJson>({
  userId: string,
  timestamp: isoDate,
  reason: oneOf(['limit', 'disabled'] as const),
  ruleId: nullable(string),
  scope: nullable(oneOf(['user', 'account'] as const)),
  accountId: nullable(string),
  metric: nullable(metric),
  requested: amount,
  model: nullable(string),
  provider: nullable(string),
});

/** The parsers of the API client, one per response shape; each returns its input, checked. */
export const parseResponse = {
  userUsage: (value: unknown): UserUsageJson => userUsage(value, 'response'),
  usersPage: (value: unknown) =>
    shape<{ users: UserUsageJson[]; nextCursor: string | null }>({ users: array(userUsage), nextCursor: nullable(string) })(value, 'response'),
  stats: (value: unknown): UsageStatsJson =>
    shape<UsageStatsJson>({ totalTokens: amount, totalCostUsd: amount, activeUsers: amount, users: amount })(value, 'response'),
  history: (value: unknown) =>
    shape<{ granularity: 'hour' | 'day'; from: string; to: string; points: HistoryPointJson[] }>({
      granularity: oneOf(['hour', 'day'] as const),
      from: isoDate,
      to: isoDate,
      points: array(historyPoint),
    })(value, 'response'),
  log: (value: unknown) => shape<{ records: UsageRecordJson[] }>({ records: array(usageRecord) })(value, 'response'),
  refusals: (value: unknown) => shape<{ refusals: RefusalRecordJson[] }>({ refusals: array(refusalRecord) })(value, 'response'),
  limits: (value: unknown) => shape<{ userId: string; rules: LimitRuleJson[] }>({ userId: string, rules: array(rule, { nonEmpty: true }) })(value, 'response'),
  plan: (value: unknown): PlanJson => plan(value, 'response'),
  plans: (value: unknown) => shape<{ plans: PlanJson[] }>({ plans: array(plan) })(value, 'response'),
  accountUsage: (value: unknown): AccountUsageJson => accountUsage(value, 'response'),
  accountsPage: (value: unknown) =>
    shape<{ accounts: AccountUsageJson[]; nextCursor: string | null }>({ accounts: array(accountUsage), nextCursor: nullable(string) })(value, 'response'),
  accountLimits: (value: unknown) =>
    shape<{ accountId: string; plan: string | null; rules: LimitRuleJson[] }>({ accountId: string, plan: nullable(string), rules: array(rule) })(value, 'response'),
  membersPage: (value: unknown) =>
    shape<{ accountId: string; members: UserUsageJson[]; nextCursor: string | null }>({ accountId: string, members: array(userUsage), nextCursor: nullable(string) })(value, 'response'),
};
