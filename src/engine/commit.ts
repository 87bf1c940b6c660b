import type { Usage } from '../kernel/types.js';
import { fromMicroUsd, MAX_COST_USD, toMicroUsd } from '../kernel/units.js';
import type { Amounts } from '../stores/protocol/types.js';
import type { CostModel } from './config.js';
import { encodeRecord, parseUsage, type StoredRecord } from './records.js';

/** A validated commit, ready for the store (built once; its retries reuse it). */
export interface PreparedCommit {
  id: string;
  userId: string;
  actual: Amounts;
  costUnknown: boolean;
  record: StoredRecord;
  json: string;
  history: { model: string; inputTokens: number; outputTokens: number };
  /** For a ledger: the cost in micro-dollars (null when unknown) and cache writes. */
  costMicros: number | null;
  cacheWriteTokens: number;
}

/** The largest cost a commit charges, in micro-dollars: what every store takes (a safe integer). */
const MAX_COST_MICROS = MAX_COST_USD * 1_000_000;

/**
 * Validates a commit's usage (nothing is written when this throws; `r` comes from
 * `parseReservation`) and computes what it charges. The cost is the usage's own, else the price
 * table's; with neither, the store charges cost rules what the hold held (see
 * `CommitCommand.costUnknown`). `endedAt` is when commit was called (the latency's end by default).
 */
export function buildCommit(
  r: { id: string; userId: string },
  usage: Usage,
  costs: CostModel,
  startedAt: number | undefined,
  endedAt: number,
): PreparedCommit {
  const u = parseUsage(usage);
  // A price-table cost of an absurd usage (a provider's bad answer) is bounded like a given one:
  // past it no store takes the commit, and the usage would be lost rather than charged.
  const priced = u.costUsd !== undefined ? toMicroUsd(u.costUsd) : costs.costOf(u);
  const micro = priced === undefined ? undefined : Math.min(priced, MAX_COST_MICROS);
  const latencyMs = u.latencyMs ?? Math.max(0, endedAt - (startedAt ?? endedAt));
  const record: StoredRecord = {
    id: r.id,
    userId: r.userId,
    provider: u.provider,
    model: u.model,
    endpoint: u.endpoint,
    inputTokens: u.inputTokens,
    cachedInputTokens: u.cachedInputTokens,
    outputTokens: u.outputTokens,
    reasoningTokens: u.reasoningTokens,
    totalTokens: u.inputTokens + u.outputTokens,
    costUsd: micro === undefined ? null : fromMicroUsd(micro),
    estimated: u.estimated,
    requestId: u.requestId,
    latencyMs,
    status: u.status,
  };
  return {
    id: r.id,
    userId: r.userId,
    actual: { tokens: u.inputTokens + u.outputTokens, requests: 1, cost: micro ?? 0 },
    costUnknown: micro === undefined,
    record,
    json: encodeRecord(record),
    history: { model: u.model, inputTokens: u.inputTokens, outputTokens: u.outputTokens },
    costMicros: micro ?? null,
    cacheWriteTokens: u.cacheWriteTokens,
  };
}
