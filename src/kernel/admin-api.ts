import type { HistoryPoint, LimitRule, Metric, ProviderName, RefusalRecord, UsageRecord, UsageStats } from './types.js';

/** JSON shapes of the admin HTTP API (dates as ISO 8601 strings), shared by its handler and the React client. */
export interface LimitRuleJson {
  id: string;
  period: LimitRule['period'];
  timeZone?: string;
  tokens?: number;
  requests?: number;
  costUsd?: number;
  /** Only calls to these models count (exact ids or `*` globs). */
  models?: string[];
  /** Only calls to these providers count. */
  providers?: ProviderName[];
}

export interface WindowUsageJson {
  ruleId: string;
  metric: Metric;
  rule: LimitRuleJson;
  limit: number;
  used: number;
  reserved: number;
  remaining: number;
  periodStart: string;
  resetAt: string;
}

export interface UserUsageJson {
  userId: string;
  isActive: boolean;
  /** The first rule's figures (see `windows` for every rule). */
  metric: Metric;
  limit: number;
  used: number;
  reserved: number;
  remaining: number;
  periodStart: string;
  resetAt: string;
  windows: WindowUsageJson[];
  /**
   * The plan the user's rules come from (null: their own rules, or the defaults). Always sent;
   * optional for clients of servers that predate plans.
   */
  plan?: string | null;
  /** The account the user is in, with its windows (they bind too), or null. Always sent; optional as `plan`. */
  account?: AccountUsageJson | null;
}

/** An account's windows (its members' calls together). */
export interface AccountUsageJson {
  accountId: string;
  /** The plan the account's rules come from (null: its own rules, or none). */
  plan: string | null;
  /** Empty when the account has no rules (only the members' own rules apply). */
  windows: WindowUsageJson[];
  /** How many users are in the account (absent inside a user's usage). */
  members?: number;
}

/** A plan; `users` and `accounts` (how many are assigned to it) only in the plan list. */
export interface PlanJson {
  planId: string;
  version: number;
  rules: LimitRuleJson[];
  users?: number;
  accounts?: number;
}

export type UsageRecordJson = Omit<UsageRecord, 'timestamp'> & { timestamp: string };
/** A refused call as the admin API sends it (`GET /me/refusals`, `/users/:id/refusals`). */
export type RefusalRecordJson = Omit<RefusalRecord, 'timestamp'> & { timestamp: string };
export type HistoryPointJson = Omit<HistoryPoint, 'time'> & { time: string };
export type UsageStatsJson = UsageStats;
