import type { AccountUsage, HistoryPoint, LimitRule, Metric, Plan, RefusalRecord, UsageRecord, UserUsage, WindowUsage } from '../../../kernel/types.js';
import type { AccountUsageJson, HistoryPointJson, LimitRuleJson, PlanJson, RefusalRecordJson, UsageRecordJson, UserUsageJson, WindowUsageJson } from '../../../kernel/admin-api.js';

export type {
  AccountUsageJson,
  HistoryPointJson,
  LimitRuleJson,
  PlanJson,
  UsageRecordJson,
  UsageStatsJson,
  UserUsageJson,
  WindowUsageJson,
} from '../../../kernel/admin-api.js';

export function metricOf(rule: LimitRule): Metric {
  if (rule.tokens !== undefined) return 'tokens';
  if (rule.requests !== undefined) return 'requests';
  return 'costUsd';
}

export function ruleJson(rule: LimitRule): LimitRuleJson {
  // Rules are plain JSON already (anchors are ISO strings); copy so callers cannot mutate them.
  return JSON.parse(JSON.stringify(rule)) as LimitRuleJson;
}

function windowJson(w: WindowUsage): WindowUsageJson {
  return {
    ruleId: w.rule.id,
    metric: metricOf(w.rule),
    rule: ruleJson(w.rule),
    limit: w.limit,
    used: w.used,
    reserved: w.reserved,
    remaining: w.remaining,
    periodStart: w.periodStart.toISOString(),
    resetAt: w.resetAt.toISOString(),
  };
}

export function usageJson(u: UserUsage): UserUsageJson {
  const windows = u.windows.map(windowJson);
  return {
    userId: u.userId,
    isActive: u.isActive,
    metric: windows[0]?.metric ?? 'tokens',
    limit: u.limit,
    used: u.used,
    reserved: u.reserved,
    remaining: u.remaining,
    periodStart: u.periodStart.toISOString(),
    resetAt: u.resetAt.toISOString(),
    windows,
    plan: u.plan,
    account: u.account === null ? null : accountJson(u.account),
  };
}

export function accountJson(a: AccountUsage & { members?: number }): AccountUsageJson {
  const out: AccountUsageJson = { accountId: a.accountId, plan: a.plan, windows: a.windows.map(windowJson) };
  if (a.members !== undefined) out.members = a.members;
  return out;
}

export function planJson(p: Plan & { users?: number; accounts?: number }): PlanJson {
  const out: PlanJson = { planId: p.planId, version: p.version, rules: p.rules.map(ruleJson) };
  if (p.users !== undefined) out.users = p.users;
  if (p.accounts !== undefined) out.accounts = p.accounts;
  return out;
}

export function recordJson(r: UsageRecord): UsageRecordJson {
  return { ...r, timestamp: r.timestamp.toISOString() };
}

export function refusalJson(r: RefusalRecord): RefusalRecordJson {
  return { ...r, timestamp: r.timestamp.toISOString() };
}

export function pointJson(p: HistoryPoint): HistoryPointJson {
  return { ...p, time: p.time.toISOString() };
}
