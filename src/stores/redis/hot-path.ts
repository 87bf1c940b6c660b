import { createHash } from 'node:crypto';
import { QuotaStoreError } from '../../kernel/errors.js';
import type {
  CommitAlert,
  CommitCommand,
  CommitReply,
  ConfigReply,
  HotPath,
  ReleaseCommand,
  ReleaseReply,
  ReserveCommand,
  ReserveReply,
  RuleSpec,
  WindowState,
} from '../protocol/types.js';
import type { Aggregator } from './aggregator.js';
import type { RedisContext } from './context.js';
import { monthKey, nextMonthStart, outcomeBucket, userKeys } from './keys.js';
import { SCRIPTS } from './registry.js';
import { COMMIT_ARGS, encodeArgs, RELEASE_ARGS, RESERVE_ARGS, type FieldKinds } from './schema.js';

const METRIC_CODES = { tokens: 't', requests: 'r', cost: 'c' } as const;
/** The planner returns the same spec array while its windows last: encode it once. */
const encoded = new WeakMap<readonly RuleSpec[], FieldKinds['rules']>();

/** Rules as the scripts take them (see `FieldKinds.rules`). */
export function ruleArgs(rules: readonly RuleSpec[]): FieldKinds['rules'] {
  let out = encoded.get(rules);
  if (!out) {
    out = rules.map((r) => `${r.ruleId} ${METRIC_CODES[r.metric]} ${r.limit} ${r.fingerprint} ${r.boundaries.join(' ')}`);
    encoded.set(rules, out);
  }
  return out;
}

/** Reserve, commit and release on Redis: one script call each. */
export function redisHotPath(ctx: RedisContext, aggregator: Aggregator): HotPath {
  return {
    async reserve(c: ReserveCommand): Promise<ReserveReply> {
      const k = userKeys(ctx.prefix, c.userId);
      const args = encodeArgs(RESERVE_ARGS, {
        id: c.reservationId,
        version: c.configVersion,
        ...(c.now === undefined ? {} : { now: c.now }),
        lease: c.leaseMs,
        initAnchor: c.initAnchor,
        amounts: [c.amounts.tokens, c.amounts.requests, c.amounts.cost],
        rules: ruleArgs(c.rules),
      });
      const reply = await ctx.runArray(SCRIPTS.reserve, [k.config, k.windows, k.outcomes(outcomeBucket(c.reservationId))], args);
      const now = ctx.learn(reply[1]);
      switch (reply[0]) {
        case 'ok':
          return { type: 'ok', now, replayed: reply[2] === 1, isNewUser: reply[3] === 1, windows: windowsOf(reply, 4, c.rules.length) };
        case 'rejected':
          return { type: 'rejected', now, ruleIndex: Number(reply[2]), windows: windowsOf(reply, 3, c.rules.length) };
        case 'disabled':
        case 'closed':
          return { type: reply[0], now };
        default:
          return configReply(reply, now);
      }
    },

    async commit(c: CommitCommand): Promise<CommitReply> {
      const k = userKeys(ctx.prefix, c.userId);
      const estimate = ctx.serverNow(c.now);
      const s = ctx.settings;
      const args = encodeArgs(
        COMMIT_ARGS,
        {
        id: c.reservationId,
        bucket: outcomeBucket(c.reservationId),
        month: monthKey(estimate),
        attempt: c.attemptId,
        version: c.configVersion,
        ...(c.now === undefined ? {} : { now: c.now }),
        amounts: [c.actual.tokens, c.actual.requests, c.actual.cost],
        costUnknown: c.costUnknown,
        rules: ruleArgs(c.rules),
        thresholds: c.thresholds,
        model: encodeModel(c.history.model),
        inputTokens: c.history.inputTokens,
        outputTokens: c.history.outputTokens,
        doneTtl: s.idempotencyTtlMs,
        logMax: s.userLogMaxLength,
        logTtl: s.logRetentionMs,
        historyTtl: nextMonthStart(estimate) - estimate + s.userHistoryRetentionMs,
        },
        [c.record],
      );
      const keys = [k.config, k.windows, k.outcomes(outcomeBucket(c.reservationId)), k.log, k.historyMonth(monthKey(estimate))];
      const reply = await ctx.runArray(SCRIPTS.commit, keys, args);
      const now = ctx.learn(reply[1]);
      const aggregate = (timestamp: number): void =>
        aggregator.add({ timestamp, userId: c.userId, tag: k.tag, model: encodeModel(c.history.model), actual: c.actual, history: c.history, record: c.record });
      switch (reply[0]) {
        case 'applied': {
          const alerts: CommitAlert[] = [];
          for (let i = 0; i < Number(reply[2]); i += 1) alerts.push(alertOf(reply.slice(3 + i * 6, 9 + i * 6)));
          aggregate(now);
          return { type: 'applied', now, timestamp: now, alerts };
        }
        case 'duplicate': {
          const timestamp = Number(reply[2]);
          const ownAttempt = reply[3] === 1;
          // This attempt was applied but its reply never arrived here: its aggregates were never queued.
          if (ownAttempt) aggregate(timestamp);
          return { type: 'duplicate', now, timestamp, ownAttempt, alerts: ownAttempt ? parseStoredAlerts(String(reply[4] ?? '')) : [] };
        }
        case 'released':
          return { type: 'released', now };
        default:
          return configReply(reply, now);
      }
    },

    async release(c: ReleaseCommand): Promise<ReleaseReply> {
      const k = userKeys(ctx.prefix, c.userId);
      const bucket = outcomeBucket(c.reservationId);
      const args = encodeArgs(RELEASE_ARGS, {
        id: c.reservationId,
        bucket,
        ...(c.now === undefined ? {} : { now: c.now }),
        doneTtl: ctx.settings.idempotencyTtlMs,
      });
      const reply = await ctx.runArray(SCRIPTS.release, [k.windows, k.outcomes(bucket)], args);
      const type = reply[0];
      if (type !== 'released' && type !== 'duplicate' && type !== 'committed') throw unexpected('release', type);
      return { type, now: ctx.learn(reply[1]) };
    },
  };
}

export function windowsOf(reply: readonly unknown[], first: number, count: number): WindowState[] {
  const out: WindowState[] = [];
  for (let i = 0; i < count; i += 1) {
    const b = first + i * 4;
    out.push({ start: Number(reply[b]), end: Number(reply[b + 1]), used: Number(reply[b + 2]), held: Number(reply[b + 3]) });
  }
  return out;
}

export function configReply(reply: readonly unknown[], now: number): ConfigReply {
  if (reply[0] === 'stale') {
    return {
      type: 'stale',
      now,
      config: { version: Number(reply[2]), rules: reply[3] === '' ? null : String(reply[3]), anchor: reply[4] === '' ? null : Number(reply[4]) },
    };
  }
  if (reply[0] === 'clock') return { type: 'clock', now, at: Number(reply[2]) };
  throw unexpected('reply', reply[0]);
}

function unexpected(operation: string, type: unknown): QuotaStoreError {
  return new QuotaStoreError(operation, `Unexpected reply type ${String(type)} from the store`);
}

function alertOf(v: readonly unknown[]): CommitAlert {
  return { ruleId: String(v[0]), threshold: Number(v[1]), used: Number(v[2]), limit: Number(v[3]), start: Number(v[4]), end: Number(v[5]) };
}

/** Alerts kept in a commit's outcome: `rule,threshold,used,limit,start,end` joined with `|`. */
function parseStoredAlerts(text: string): CommitAlert[] {
  if (text === '') return [];
  return text.split('|').map((entry) => alertOf(entry.split(',')));
}

/**
 * Model names go into history field names joined with `|`: percent-encoded, and cut (with a hash of
 * the whole name) beyond 200 characters, so that no model name can make a commit fail.
 */
export function encodeModel(model: string): string {
  const text = model.toWellFormed();
  const encoded = encodeURIComponent(text);
  if (encoded.length <= 200) return encoded;
  const hash = createHash('sha256').update(text).digest('base64url').slice(0, 12);
  return `${encodeURIComponent(text.slice(0, 40).toWellFormed()).slice(0, 160)}~${hash}`;
}

export function decodeModel(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}
