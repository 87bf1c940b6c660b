import { InvalidArgumentError } from '../kernel/errors.js';
import type { ProviderName, Reservation, Usage, UsageRecord } from '../kernel/types.js';
import { isPlainObject, parseBoolean, parseCount, parseUsd, parseUserId, rejectUnknownKeys } from '../kernel/validate.js';

const USAGE_KEYS = [
  'inputTokens',
  'outputTokens',
  'cachedInputTokens',
  'reasoningTokens',
  'cacheWriteTokens',
  'costUsd',
  'provider',
  'model',
  'endpoint',
  'requestId',
  'estimated',
  'latencyMs',
  'status',
] as const;
const PROVIDERS: readonly ProviderName[] = ['openai', 'anthropic', 'google', 'unknown'];
const STATUSES = ['ok', 'aborted', 'error'] as const;

export interface ParsedUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  reasoningTokens: number;
  cacheWriteTokens: number;
  costUsd: number | undefined;
  provider: ProviderName;
  model: string;
  endpoint: string;
  requestId: string | null;
  estimated: boolean;
  latencyMs: number | undefined;
  status: 'ok' | 'aborted' | 'error';
}

/** Validates a usage report; nothing is written when this throws. */
export function parseUsage(value: unknown): ParsedUsage {
  if (!isPlainObject(value)) throw new InvalidArgumentError('usage', value, 'expected a usage object');
  rejectUnknownKeys(value, USAGE_KEYS, 'usage');
  const u = value as Partial<Usage>;
  const inputTokens = parseCount(u.inputTokens, 'usage.inputTokens');
  const outputTokens = parseCount(u.outputTokens, 'usage.outputTokens');
  const cachedInputTokens = u.cachedInputTokens === undefined ? 0 : parseCount(u.cachedInputTokens, 'usage.cachedInputTokens');
  if (cachedInputTokens > inputTokens) {
    throw new InvalidArgumentError('usage.cachedInputTokens', cachedInputTokens, 'must not exceed usage.inputTokens');
  }
  const reasoningTokens = u.reasoningTokens === undefined ? 0 : parseCount(u.reasoningTokens, 'usage.reasoningTokens');
  if (reasoningTokens > outputTokens) {
    throw new InvalidArgumentError('usage.reasoningTokens', reasoningTokens, 'must not exceed usage.outputTokens');
  }
  const cacheWriteTokens = u.cacheWriteTokens === undefined ? 0 : parseCount(u.cacheWriteTokens, 'usage.cacheWriteTokens');
  if (cacheWriteTokens + cachedInputTokens > inputTokens) {
    throw new InvalidArgumentError('usage.cacheWriteTokens', cacheWriteTokens, 'cache writes and reads together must not exceed usage.inputTokens');
  }
  if (!Number.isSafeInteger(inputTokens + outputTokens)) {
    throw new InvalidArgumentError('usage', value, 'inputTokens + outputTokens must stay below Number.MAX_SAFE_INTEGER');
  }
  const provider = u.provider ?? 'unknown';
  if (!PROVIDERS.includes(provider)) throw new InvalidArgumentError('usage.provider', provider, `expected one of ${PROVIDERS.join(', ')}`);
  const status = u.status ?? 'ok';
  if (!STATUSES.includes(status)) throw new InvalidArgumentError('usage.status', status, `expected one of ${STATUSES.join(', ')}`);
  return {
    inputTokens,
    outputTokens,
    cachedInputTokens,
    reasoningTokens,
    cacheWriteTokens,
    costUsd: u.costUsd === undefined ? undefined : parseUsd(u.costUsd, 'usage.costUsd'),
    provider,
    model: label(u.model, 'usage.model') ?? 'unknown',
    endpoint: label(u.endpoint, 'usage.endpoint') ?? 'unknown',
    requestId: label(u.requestId, 'usage.requestId') ?? null,
    estimated: u.estimated === undefined ? false : parseBoolean(u.estimated, 'usage.estimated'),
    latencyMs: u.latencyMs === undefined ? undefined : parseCount(u.latencyMs, 'usage.latencyMs'),
    status,
  };
}

/** Longest label kept in a record (model, endpoint, request id); longer ones are cut. */
export const MAX_LABEL_LENGTH = 256;

/**
 * A descriptive field of a usage record. Such fields often come from a provider's answer (an empty
 * or 10 KB model name), and they must never decide whether usage is counted: an empty one reads as
 * absent and a long one is cut (to well-formed text). Only a non-string is refused.
 */
function label(value: unknown, parameter: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidArgumentError(parameter, value, 'expected a string');
  if (value.length === 0) return undefined;
  return value.length <= MAX_LABEL_LENGTH ? value.toWellFormed() : value.slice(0, MAX_LABEL_LENGTH).toWellFormed();
}

/**
 * What commit and release need of a reservation: its id and user. Whatever else a reservation
 * object claims (windows, amounts) is never trusted: the store charges from its own hold record.
 */
export function parseReservation(value: unknown): { id: string; userId: string } {
  const r = value as Partial<Reservation> | null;
  if (typeof r !== 'object' || r === null || typeof r.id !== 'string' || !/^[A-Za-z0-9_.-]{8,64}$/.test(r.id)) {
    throw new InvalidArgumentError('reservation', value, 'expected a reservation returned by reserve()');
  }
  return { id: r.id, userId: parseUserId(r.userId, 'reservation.userId') };
}

/** A usage record without its timestamp, as stored. */
export type StoredRecord = Omit<UsageRecord, 'timestamp'>;

export function encodeRecord(record: StoredRecord): string {
  return JSON.stringify(record);
}

/** Parses a stored record field by field (never spreading untrusted JSON into objects). */
export function decodeRecord(json: string, timestamp: number): UsageRecord | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return undefined;
  }
  return isPlainObject(raw) ? recordOf(raw, timestamp) : undefined;
}

/** {@link decodeRecord} of a record's JSON already parsed. */
export function recordOf(raw: Record<string, unknown>, timestamp: number): UsageRecord {
  const num = (k: string): number => (typeof raw[k] === 'number' ? (raw[k] as number) : 0);
  const str = (k: string): string => (typeof raw[k] === 'string' ? (raw[k] as string) : '');
  const provider = PROVIDERS.includes(raw.provider as ProviderName) ? (raw.provider as ProviderName) : 'unknown';
  const status = STATUSES.includes(raw.status as (typeof STATUSES)[number]) ? (raw.status as UsageRecord['status']) : 'ok';
  return {
    id: str('id'),
    userId: str('userId'),
    provider,
    model: str('model'),
    endpoint: str('endpoint'),
    inputTokens: num('inputTokens'),
    cachedInputTokens: num('cachedInputTokens'),
    outputTokens: num('outputTokens'),
    reasoningTokens: num('reasoningTokens'),
    totalTokens: num('totalTokens'),
    costUsd: typeof raw.costUsd === 'number' ? raw.costUsd : null,
    estimated: raw.estimated === true,
    requestId: typeof raw.requestId === 'string' ? raw.requestId : null,
    timestamp: new Date(timestamp),
    latencyMs: num('latencyMs'),
    status,
  };
}
