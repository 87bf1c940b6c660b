import type { HistoryPoint, LimitRule, Metric, UsageRecord, UsageStats } from './types.js';

/** JSON shapes of the admin HTTP API (dates as ISO 8601 strings), shared by its handler and the React client. */
export interface LimitRuleJson {
  id: string;
  period: LimitRule['period'];
  timeZone?: string;
  tokens?: number;
  requests?: number;
  costUsd?: number;
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
}

export type UsageRecordJson = Omit<UsageRecord, 'timestamp'> & { timestamp: string };
export type HistoryPointJson = Omit<HistoryPoint, 'time'> & { time: string };
export type UsageStatsJson = UsageStats;
