/**
 * Feed entries as ledger entries, and what the ledger cannot take: the checks the drainer
 * (ledger-drain.ts) makes before a write, and how it tells a write refused for its data from a
 * database that is away.
 */
import type { LedgerEntry } from '../kernel/types.js';
import { isPlainObject } from '../kernel/validate.js';
import type { LedgerFeedEntry } from '../stores/protocol/types.js';
import { recordOf } from './records.js';

/** A feed entry the ledger cannot take, and why. */
export interface Refusal {
  entry: LedgerFeedEntry;
  reason: string;
}

/**
 * The batch's records by id, each with the feed entries that hold it (a batch may hold a record
 * twice after a claim); entries that are no records go to `refused`.
 */
export function recordsOf(batch: readonly LedgerFeedEntry[], refused: Refusal[]): Map<string, { entry: LedgerEntry; from: LedgerFeedEntry[] }> {
  const byId = new Map<string, { entry: LedgerEntry; from: LedgerFeedEntry[] }>();
  for (const e of batch) {
    if (e.unreadable !== undefined) {
      refused.push({ entry: e, reason: e.unreadable });
      continue;
    }
    const checked = checkedRecord(e);
    const record = typeof checked === 'string' ? undefined : recordOf(checked, e.timestamp);
    if (record === undefined || record.id === '') {
      refused.push({ entry: e, reason: typeof checked === 'string' ? checked : 'r is not a record with an id' });
      continue;
    }
    let note: { accountId?: unknown; costMicros?: unknown; cacheWriteTokens?: unknown } = {};
    try {
      note = JSON.parse(e.note) as typeof note;
    } catch {
      // a note is written by the engine; a malformed one leaves its fields empty
    }
    const from = byId.get(record.id)?.from ?? [];
    from.push(e);
    byId.set(record.id, {
      entry: {
        ...record,
        accountId: typeof note.accountId === 'string' ? note.accountId : null,
        // Whole numbers a bigint holds, or none: a cost of 1.8e20 micro-dollars (a price table's
        // price times a huge usage, which MemoryStore charged) made its batch fail for ever.
        costMicros: Number.isSafeInteger(note.costMicros) ? (note.costMicros as number) : null,
        cacheWriteTokens: Number.isSafeInteger(note.cacheWriteTokens) ? (note.cacheWriteTokens as number) : 0,
      },
      from,
    });
  }
  return byId;
}

/** The counts of a record: the engine writes each as a whole number from 0 to 2^53 - 1. */
const COUNTS = ['inputTokens', 'cachedInputTokens', 'outputTokens', 'reasoningTokens', 'totalTokens', 'latencyMs'] as const;

/**
 * A feed entry's record, parsed once, or why it is no record the ledger should store, checked
 * before the write (the feed hands entries over unparsed): a record that is no JSON object, a count
 * that is no whole number from 0 to 2^53 - 1 (1.5 or 1e30 failed the insert of its whole batch, for
 * ever; a string was stored as 0 and a negative count as it was, both silently), a time no Date
 * holds. Only tampering or a bug makes one: the engine validates every usage it commits. A count
 * absent from the record (written by an older version) reads as 0, as before.
 */
function checkedRecord(e: LedgerFeedEntry): Record<string, unknown> | string {
  if (!Number.isFinite(e.timestamp) || Math.abs(e.timestamp) > 8_640_000_000_000_000) return 't is not ms since the epoch';
  let raw: unknown;
  try {
    raw = JSON.parse(e.record);
  } catch {
    return 'r is not JSON';
  }
  if (!isPlainObject(raw)) return 'r is not a record with an id';
  for (const key of COUNTS) {
    const value = raw[key];
    if (value !== undefined && !(typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)) {
      return `r.${key} is not a whole number from 0 to 2^53 - 1: ${JSON.stringify(value)?.slice(0, 40)}`;
    }
  }
  return raw;
}

/**
 * Whether the ledger refused a write for the data it was given, not for being unreachable: a
 * PostgreSQL error (`code`, its SQLSTATE) of class 22 (data exception: invalid input syntax,
 * out of range, a time it cannot hold), class 23 (integrity constraint violation) or 54000 (a
 * value over a limit, such as an index row over 2,704 bytes). A connection failure has no such
 * code (ECONNREFUSED, class 08, 57P01...): its batch is kept and retried.
 */
export function refusedForData(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (/^2[23][0-9A-Z]{3}$/.test(code) || code === '54000');
}
