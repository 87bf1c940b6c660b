import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import { InvalidArgumentError } from '../kernel/errors.js';
import { CALENDAR_PERIODS, isValidTimeZone, type NormalizedPeriod } from './periods.js';
import type { CalendarPeriod, LimitRule, Metric } from '../kernel/types.js';
import { toMicroUsd } from '../kernel/units.js';
import { isPlainObject, parseCount, parseUsd, rejectUnknownKeys } from '../kernel/validate.js';

/** Unit counted by the stores: tokens, requests, or integer micro-dollars for cost. */
export type StoreMetric = 'tokens' | 'requests' | 'cost';

/** A validated rule with its limit in store units and a fingerprint of its period definition. */
export interface NormalizedRule {
  readonly rule: LimitRule;
  readonly id: string;
  readonly metric: Metric;
  readonly storeMetric: StoreMetric;
  /** Limit in store units (micro-dollars for cost). */
  readonly limit: number;
  readonly period: NormalizedPeriod;
  readonly zone: string;
  /** Changes whenever the window definition changes; a new fingerprint starts a fresh window. */
  readonly fingerprint: string;
  /** Whether a call counts against this rule (its `models` and `providers` filters). */
  readonly matches: (call: { model?: string | undefined; provider?: string | undefined }) => boolean;
  /** True when the rule has a `models` or `providers` filter. */
  readonly filtered: boolean;
}

export const MAX_RULES = 16;
const RULE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const RULE_KEYS = ['id', 'period', 'timeZone', 'tokens', 'requests', 'costUsd', 'models', 'providers'] as const;
const PROVIDERS = ['openai', 'anthropic', 'google', 'unknown'] as const;
const MAX_FILTERS = 32;
const MAX_PERIOD_DAYS = 3660;
const MAX_PERIOD_MONTHS = 1200;
/**
 * Anchors (and the limiter's clock) stay below year 10000, so that every window boundary of every
 * period is a valid date.
 */
export const LATEST_TIME = Date.UTC(10000, 0, 1);

/** Validates a list of rules, naming the failing field; returns them normalized. */
export function normalizeRules(value: unknown, parameter = 'rules'): NormalizedRule[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(parameter, value, 'expected an array of limit rules');
  if (value.length === 0) throw new InvalidArgumentError(parameter, value, 'expected at least one rule');
  if (value.length > MAX_RULES) throw new InvalidArgumentError(parameter, value, `expected at most ${MAX_RULES} rules`);
  const seen = new Set<string>();
  return value.map((rule, index) => {
    const normalized = normalizeRule(rule, `${parameter}[${index}]`);
    if (seen.has(normalized.id)) throw new InvalidArgumentError(`${parameter}[${index}].id`, normalized.id, 'duplicate rule id');
    seen.add(normalized.id);
    return normalized;
  });
}

export function normalizeRule(value: unknown, parameter: string): NormalizedRule {
  if (!isPlainObject(value)) throw new InvalidArgumentError(parameter, value, 'expected a limit rule object');
  rejectUnknownKeys(value, RULE_KEYS, parameter);
  const { id, timeZone } = value;
  if (typeof id !== 'string' || !RULE_ID.test(id)) {
    throw new InvalidArgumentError(`${parameter}.id`, id, 'expected 1-64 characters of A-Z a-z 0-9 _ . -');
  }
  let zone = 'UTC';
  if (timeZone !== undefined) {
    if (typeof timeZone !== 'string' || !isValidTimeZone(timeZone)) {
      throw new InvalidArgumentError(`${parameter}.timeZone`, timeZone, 'expected an IANA time zone such as "America/Sao_Paulo"');
    }
    zone = timeZone;
  }
  const metrics = (['tokens', 'requests', 'costUsd'] as const).filter((m) => value[m] !== undefined);
  if (metrics.length !== 1) {
    throw new InvalidArgumentError(parameter, value, 'a rule limits exactly one of tokens, requests or costUsd');
  }
  const metric = metrics[0]!;
  let limit: number;
  let storeMetric: StoreMetric;
  if (metric === 'costUsd') {
    limit = toMicroUsd(parseUsd(value.costUsd, `${parameter}.costUsd`), 'down');
    storeMetric = 'cost';
  } else {
    limit = parseCount(value[metric], `${parameter}.${metric}`);
    storeMetric = metric;
  }
  const period = normalizePeriod(value.period, zone, `${parameter}.period`);
  const models = parseFilter(value.models, `${parameter}.models`, (m) => typeof m === 'string' && m.length > 0 && m.length <= 256, 'model ids or globs of 1-256 characters');
  const providers = parseFilter(value.providers, `${parameter}.providers`, (p) => (PROVIDERS as readonly unknown[]).includes(p), `one of ${PROVIDERS.join(', ')}`);
  const rule = canonicalRule(id, value.period, timeZone as string | undefined, metric, value[metric] as number, period, models, providers);
  const fingerprint = fingerprintOf(period, zone, storeMetric);
  const modelMatch = models && globMatcher(models);
  const matches = (call: { model?: string | undefined; provider?: string | undefined }): boolean =>
    (!modelMatch || (call.model !== undefined && modelMatch(call.model))) && (!providers || (call.provider !== undefined && providers.includes(call.provider)));
  return { rule, id, metric, storeMetric, limit, period, zone, fingerprint, matches, filtered: models !== undefined || providers !== undefined };
}

function normalizePeriod(value: unknown, zone: string, parameter: string): NormalizedPeriod {
  if (typeof value === 'string') {
    if ((CALENDAR_PERIODS as readonly string[]).includes(value)) {
      return { kind: 'calendar', unit: value as CalendarPeriod };
    }
    throw new InvalidArgumentError(parameter, value, `expected one of ${CALENDAR_PERIODS.join(', ')}, { days: N } or { months: N }`);
  }
  if (!isPlainObject(value)) {
    throw new InvalidArgumentError(parameter, value, `expected one of ${CALENDAR_PERIODS.join(', ')}, { days: N } or { months: N }`);
  }
  const kind = value.days !== undefined ? 'days' : value.months !== undefined ? 'months' : undefined;
  if (kind === undefined || (value.days !== undefined && value.months !== undefined)) {
    throw new InvalidArgumentError(parameter, value, 'expected exactly one of { days: N } or { months: N }');
  }
  rejectUnknownKeys(value, [kind, 'anchor'], parameter);
  const max = kind === 'days' ? MAX_PERIOD_DAYS : MAX_PERIOD_MONTHS;
  const count = value[kind];
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1 || count > max) {
    throw new InvalidArgumentError(`${parameter}.${kind}`, count, `expected an integer from 1 to ${max}`);
  }
  const anchor = value.anchor === undefined ? null : parseAnchor(value.anchor, zone, `${parameter}.anchor`);
  return { kind, count, anchor };
}

/**
 * An anchor is a Date, or an ISO 8601 string; a date-only string ("2026-01-15") means local
 * midnight of that date in the rule's zone. A string must start with its date (a year first): luxon
 * reads a time alone ("10:00") as that time today, an anchor that moved every day (rules are read
 * again from the store by every process), and with it the rule's windows.
 */
export function parseAnchor(value: unknown, zone: string, parameter: string): number {
  let ms: number | undefined;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'string' && /^[+-]?\d{4}/.test(value)) ms = isoMillis(value, zone);
  if (ms === undefined || !Number.isSafeInteger(ms) || ms < 0 || ms >= LATEST_TIME) {
    throw new InvalidArgumentError(parameter, value, 'expected a valid Date or ISO 8601 date string from 1970 to 9999');
  }
  return ms;
}

function isoMillis(value: string, zone: string): number | undefined {
  try {
    const parsed = DateTime.fromISO(value, { zone, setZone: false });
    return parsed.isValid ? parsed.toMillis() : undefined;
  } catch {
    // An app that set luxon's `Settings.throwOnInvalid` (the app and this package share one luxon)
    // makes fromISO throw instead: the anchor is invalid all the same.
    return undefined;
  }
}

/** A rule's `models` or `providers` filter: a non-empty list of distinct allowed values. */
function parseFilter(value: unknown, parameter: string, valid: (v: unknown) => boolean, what: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_FILTERS || !value.every(valid)) {
    throw new InvalidArgumentError(parameter, value, `expected 1 to ${MAX_FILTERS} ${what}`);
  }
  return [...new Set(value as string[])];
}

/** Case-insensitive matching of model ids against exact ids and `*` globs (a `*` matches any characters, line breaks included). */
function globMatcher(patterns: readonly string[]): (model: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.includes('*')).map((p) => p.toLowerCase()));
  const globs = patterns
    .filter((p) => p.includes('*'))
    .map((p) => new RegExp(`^${p.toLowerCase().split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's'));
  return (model) => {
    const name = model.toLowerCase();
    return exact.has(name) || globs.some((g) => g.test(name));
  };
}

function canonicalRule(
  id: string,
  period: unknown,
  timeZone: string | undefined,
  metric: Metric,
  amount: number,
  normalized: NormalizedPeriod,
  models: string[] | undefined,
  providers: string[] | undefined,
): LimitRule {
  const outPeriod =
    normalized.kind === 'calendar'
      ? normalized.unit
      : normalized.anchor === null
        ? ({ [normalized.kind]: normalized.count } as { days: number } | { months: number })
        : ({ [normalized.kind]: normalized.count, anchor: anchorString(period) } as { days: number; anchor: string });
  const rule: Record<string, unknown> = { id, period: outPeriod };
  if (timeZone !== undefined) rule.timeZone = timeZone;
  rule[metric] = amount;
  if (models !== undefined) rule.models = models;
  if (providers !== undefined) rule.providers = providers;
  return rule as unknown as LimitRule;
}

function anchorString(period: unknown): string {
  const anchor = (period as { anchor: Date | string }).anchor;
  return anchor instanceof Date ? anchor.toISOString() : anchor;
}

/** Covers what makes a window: the period, its zone and anchor, and what it counts (a rule switched from tokens to requests starts afresh). */
function fingerprintOf(period: NormalizedPeriod, zone: string, metric: StoreMetric): string {
  const text = JSON.stringify([period.kind, period.kind === 'calendar' ? period.unit : period.count, period.kind === 'calendar' ? null : period.anchor, zone, metric]);
  return createHash('sha256').update(text).digest('base64url').slice(0, 12);
}

/** Serialises rules for the store (anchors as ISO strings). */
export function serializeRules(rules: readonly NormalizedRule[]): string {
  return JSON.stringify(rules.map((r) => r.rule));
}

/** Parses rules read back from a store; a corrupt value is a store error, not user input. */
export function deserializeRules(json: string): NormalizedRule[] {
  return normalizeRules(JSON.parse(json) as unknown, 'storedRules');
}
