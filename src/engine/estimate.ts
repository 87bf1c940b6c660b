import { InvalidArgumentError, TokenLimitExceededError } from '../kernel/errors.js';
import type { Estimate, Metric } from '../kernel/types.js';
import { fromMicroUsd, toMicroUsd } from '../kernel/units.js';
import { isPlainObject, parseCount, parseUsd, rejectUnknownKeys } from '../kernel/validate.js';
import type { Amounts, WindowState } from '../stores/protocol/types.js';
import type { NormalizedRule } from './rules.js';

/** Options of `reserve` beyond the estimate. */
export interface ReserveOptions {
  /**
   * With `onInsufficientQuota: 'shrink'`: how much of the estimate may be given up rather than
   * refuse the call (the output hold above its minimum). When the whole estimate does not fit, the
   * largest one that fits every rule is held instead, if it gives up at most `tokens` tokens (and
   * `costUsdPerToken` per token on cost rules); the reservation's `estimate` says what was held.
   */
  shrinkable?: { tokens: number; costUsdPerToken?: number };
}

export function parseEstimate(value: unknown): Estimate {
  if (!isPlainObject(value)) throw new InvalidArgumentError('estimate', value, 'expected { tokens, costUsd?, model?, provider? }');
  rejectUnknownKeys(value, ['tokens', 'costUsd', 'model', 'provider'], 'estimate');
  const est: Estimate = { tokens: parseCount(value.tokens, 'estimate.tokens') };
  if (value.costUsd !== undefined) est.costUsd = parseUsd(value.costUsd, 'estimate.costUsd');
  if (value.model !== undefined) {
    if (typeof value.model !== 'string') throw new InvalidArgumentError('estimate.model', value.model, 'expected a string');
    est.model = value.model;
  }
  if (value.provider !== undefined) {
    if (!['openai', 'anthropic', 'google', 'unknown'].includes(value.provider as string)) {
      throw new InvalidArgumentError('estimate.provider', value.provider, 'expected openai, anthropic, google or unknown');
    }
    est.provider = value.provider as Estimate['provider'] & string;
  }
  return est;
}

export function parseReserveOptions(value: unknown): ReserveOptions['shrinkable'] {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) throw new InvalidArgumentError('options', value, 'expected { shrinkable? }');
  rejectUnknownKeys(value, ['shrinkable'], 'options');
  if (value.shrinkable === undefined) return undefined;
  const s = value.shrinkable;
  if (!isPlainObject(s)) throw new InvalidArgumentError('options.shrinkable', s, 'expected { tokens, costUsdPerToken? }');
  rejectUnknownKeys(s, ['tokens', 'costUsdPerToken'], 'options.shrinkable');
  const tokens = parseCount(s.tokens, 'options.shrinkable.tokens');
  return s.costUsdPerToken === undefined ? { tokens } : { tokens, costUsdPerToken: parseUsd(s.costUsdPerToken, 'options.shrinkable.costUsdPerToken') };
}

/** Store amounts of an estimate; a cost rule needs a cost estimate (unless `strict` is false). */
export function amountsFor(est: Estimate, rules: readonly NormalizedRule[], strict = true): Amounts {
  if (strict && est.costUsd === undefined) {
    const costRule = rules.find((r) => r.storeMetric === 'cost');
    if (costRule) {
      // A wrapped call names its model: the fix is a price for it in the limiter's options.
      const why =
        est.model === undefined
          ? 'pass estimate.costUsd'
          : `model ${JSON.stringify(est.model.slice(0, 100))} has no price: give it one in the limiter's pricing.models, or a pricing.fallback`;
      throw new InvalidArgumentError('estimate.costUsd', undefined, `required: rule "${costRule.id}" limits costUsd (${why})`);
    }
  }
  return { tokens: est.tokens, requests: 1, cost: est.costUsd === undefined ? 0 : toMicroUsd(est.costUsd, 'up') };
}

export function toPublic(metric: Metric, units: number): number {
  return metric === 'costUsd' ? fromMicroUsd(units) : units;
}

function amountOf(amounts: Amounts, rule: NormalizedRule): number {
  return rule.storeMetric === 'tokens' ? amounts.tokens : rule.storeMetric === 'requests' ? amounts.requests : amounts.cost;
}

export function exceededError(
  userId: string,
  rules: readonly NormalizedRule[],
  index: number,
  window: WindowState,
  est: Estimate,
  now: number,
  accountId?: string,
): TokenLimitExceededError {
  const rule = rules[index]!;
  return new TokenLimitExceededError({
    scope: accountId === undefined ? 'user' : 'account',
    ...(accountId === undefined ? {} : { accountId }),
    userId,
    ruleId: rule.id,
    metric: rule.metric,
    limit: toPublic(rule.metric, rule.limit),
    used: toPublic(rule.metric, window.used),
    reserved: toPublic(rule.metric, window.held),
    requested: toPublic(rule.metric, amountOf(amountsFor(est, rules, false), rule)),
    resetAt: new Date(window.end),
    periodStart: new Date(window.start),
    rejectedAt: new Date(now),
    timeZone: rule.zone,
  });
}

/**
 * The largest estimate below `est` that fits every rule given the windows a refusal reported, or
 * undefined when giving up `shrink.tokens` (at most) is not enough, or a request rule is full.
 */
export function shrinkToFit(
  est: Estimate,
  shrink: NonNullable<ReserveOptions['shrinkable']>,
  rules: readonly NormalizedRule[],
  windows: readonly WindowState[],
): { estimate: Estimate; cut: number } | undefined {
  const amounts = amountsFor(est, rules, false);
  const costPerToken = shrink.costUsdPerToken === undefined ? 0 : shrink.costUsdPerToken * 1_000_000;
  let cut = 0;
  for (const [i, rule] of rules.entries()) {
    const w = windows[i];
    if (!w) return undefined;
    const room = rule.limit - w.used - w.held;
    const need = amountOf(amounts, rule);
    if (need <= room) continue;
    if (rule.storeMetric === 'requests') return undefined;
    if (rule.storeMetric === 'tokens') cut = Math.max(cut, need - room);
    else if (costPerToken > 0) cut = Math.max(cut, Math.ceil((need - room) / costPerToken));
    else return undefined;
  }
  if (cut === 0 || cut > shrink.tokens || cut > est.tokens) return undefined;
  const tokens = est.tokens - cut;
  if (est.costUsd === undefined) return { estimate: { ...est, tokens }, cut };
  const costUsd = Math.max(0, fromMicroUsd(Math.ceil(toMicroUsd(est.costUsd, 'up') - cut * costPerToken)));
  return { estimate: { ...est, tokens, costUsd }, cut };
}
