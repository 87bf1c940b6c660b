import { createHash } from 'node:crypto';
import { QuotaStoreError } from '../../kernel/errors.js';
import { LruMap } from '../../kernel/lru.js';
import type {
  CommitAlert,
  CommitCommand,
  CommitReply,
  ConfigReply,
  HotPath,
  ReleaseCommand,
  ReleaseReply,
  RenewCommand,
  RenewReply,
  ReserveCommand,
  ReserveReply,
  RuleSpec,
  WindowState,
} from '../protocol/types.js';
import type { Aggregator } from './aggregator.js';
import type { RedisContext } from './context.js';
import type { RedisLedgerFeed } from './ledger-feed.js';
import { CallKeysCache } from './call-keys.js';
import { outcomeBucket } from './keys.js';
import { SCRIPTS } from './registry.js';
import { COMMIT_ARGS, encodeArgs, encodeRules, RELEASE_ARGS, RENEW_ARGS, RESERVE_ARGS, type FieldKinds } from './schema.js';

const METRIC_CODES = { tokens: 't', requests: 'r', cost: 'c' } as const;
/** The planner returns the same spec array while its windows last: encode it once. */
const encoded = new WeakMap<readonly RuleSpec[], FieldKinds['rules']>();

/** Rules as the scripts take them (see `FieldKinds.rules`). */
export function ruleArgs(rules: readonly RuleSpec[]): FieldKinds['rules'] {
  // Callers pass a fresh [] for a user outside any account: no cache entry (encodeRules shares one empty value).
  if (rules.length === 0) return encodeRules([]);
  let out = encoded.get(rules);
  if (!out) {
    out = encodeRules(rules.map((r) => ({ id: r.ruleId, metric: METRIC_CODES[r.metric], limit: r.limit, fingerprint: r.fingerprint, boundaries: r.boundaries })));
    encoded.set(rules, out);
  }
  return out;
}

/** Reserve, commit and release on Redis: one script call each. */
export function redisHotPath(ctx: RedisContext, aggregator: Aggregator, ledger: RedisLedgerFeed): HotPath {
  const keys = new CallKeysCache(ctx.prefix);
  return {
    async reserve(c: ReserveCommand): Promise<ReserveReply> {
      const { user: k, account: a } = keys.of(c.userId, c.home);
      const args = encodeArgs(RESERVE_ARGS, {
        id: c.reservationId,
        inAccount: a !== undefined,
        version: c.user.configVersion,
        accountVersion: c.account?.configVersion ?? 0,
        ...(c.now === undefined ? {} : { now: c.now }),
        lease: c.leaseMs,
        initAnchor: c.initAnchor,
        amounts: [c.amounts.tokens, c.amounts.requests, c.amounts.cost],
        rules: ruleArgs(c.user.rules),
        accountRules: ruleArgs(c.account?.rules ?? []),
      });
      const scriptKeys = [k.config, k.windows, k.outcomes(outcomeBucket(c.reservationId)), ...(a ? [a.config, a.windows] : [])];
      const reply = await ctx.runArray(SCRIPTS.reserve, scriptKeys, args);
      const now = ctx.learn(reply[1]);
      const count = c.user.rules.length + (c.account?.rules.length ?? 0);
      switch (reply[0]) {
        case 'ok':
          return { type: 'ok', now, replayed: reply[2] === 1, isNewUser: reply[3] === 1, windows: windowsOf(reply, 4, count) };
        case 'rejected':
          return { type: 'rejected', now, scope: reply[2] === 'account' ? 'account' : 'user', ruleIndex: Number(reply[3]), windows: windowsOf(reply, 4, count) };
        case 'disabled':
        case 'closed':
          return { type: reply[0], now };
        default:
          return configReply(reply, now);
      }
    },

    async commit(c: CommitCommand): Promise<CommitReply> {
      const { user: k, account: a, ownTag } = keys.of(c.userId, c.home);
      const estimate = ctx.serverNow(c.now);
      const s = ctx.settings;
      const bucket = outcomeBucket(c.reservationId);
      const { key: month, end: monthEnd } = keys.monthOf(estimate);
      const model = encodeModel(c.history.model);
      const args = encodeArgs(
        COMMIT_ARGS,
        {
          id: c.reservationId,
          inAccount: a !== undefined,
          accountVersion: c.account?.configVersion ?? 0,
          forwarded: c.forwarded === true,
          bucket,
          month,
          attempt: c.attemptId,
          version: c.user.configVersion,
          ...(c.now === undefined ? {} : { now: c.now }),
          amounts: [c.actual.tokens, c.actual.requests, c.actual.cost],
          costUnknown: c.costUnknown,
          model,
          inputTokens: c.history.inputTokens,
          outputTokens: c.history.outputTokens,
          doneTtl: s.idempotencyTtlMs,
          logMax: s.userLogMaxLength,
          logTtl: s.logRetentionMs,
          historyTtl: monthEnd - estimate + s.userHistoryRetentionMs,
          thresholds: c.thresholds,
          rules: ruleArgs(c.user.rules),
          accountRules: ruleArgs(c.account?.rules ?? []),
          matches: c.matches.map((m) => (m ? '1' : '0')).join(''),
        },
        c.ledger === undefined ? [c.record] : [c.record, JSON.stringify(c.ledger)],
      );
      const scriptKeys = [k.config, k.windows, k.outcomes(bucket), k.log, k.historyMonth(month), ...(a ? [a.config, a.windows] : [])];
      if (c.ledger !== undefined) scriptKeys.push(await ledger.streamFor(k.tag));
      const reply = await ctx.runArray(SCRIPTS.commit, scriptKeys, args);
      const now = ctx.learn(reply[1]);
      const aggregate = (timestamp: number): void =>
        aggregator.add({ timestamp, userId: c.userId, tag: ownTag, model, actual: c.actual, history: c.history, record: c.record });
      switch (reply[0]) {
        case 'applied': {
          aggregate(now);
          return { type: 'applied', now, timestamp: now, alerts: alertsOf(reply, 2) };
        }
        case 'forward':
          return { type: 'forward', now, timestamp: Number(reply[2]), home: reply[3] === '' ? null : String(reply[3]), alerts: alertsOf(reply, 4) };
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
      const { user: k, account: a } = keys.of(c.userId, c.home);
      const bucket = outcomeBucket(c.reservationId);
      const args = encodeArgs(RELEASE_ARGS, {
        id: c.reservationId,
        bucket,
        ...(c.now === undefined ? {} : { now: c.now }),
        doneTtl: ctx.settings.idempotencyTtlMs,
      });
      const reply = await ctx.runArray(SCRIPTS.release, [k.config, k.windows, k.outcomes(bucket), ...(a ? [a.windows] : [])], args);
      const type = reply[0];
      if (type === 'moving') return { type, now: ctx.learn(reply[1]) };
      if (type !== 'released' && type !== 'duplicate' && type !== 'committed') throw unexpected('release', type);
      return { type, now: ctx.learn(reply[1]), ...movedTo(reply[2]) };
    },

    async renew(c: RenewCommand): Promise<RenewReply> {
      const { user: k, account: a } = keys.of(c.userId, c.home);
      const args = encodeArgs(RENEW_ARGS, { id: c.reservationId, ...(c.now === undefined ? {} : { now: c.now }), lease: c.leaseMs });
      const reply = await ctx.runArray(SCRIPTS.renew, [k.config, k.windows, ...(a ? [a.windows] : [])], args);
      const type = reply[0];
      if (type !== 'renewed' && type !== 'gone') throw unexpected('renew', type);
      return { type, now: ctx.learn(reply[1]), ...movedTo(reply[2]) };
    },
  };
}

/** A release or renew reply's home the user moved to (a string; '' = on their own), as `movedTo`. */
function movedTo(away: unknown): { movedTo?: string | null } {
  return typeof away === 'string' ? { movedTo: away === '' ? null : away } : {};
}

/** Alerts of a reply: a count at `at`, then 7 values per alert. */
function alertsOf(reply: readonly unknown[], at: number): CommitAlert[] {
  const alerts: CommitAlert[] = [];
  for (let i = 0; i < Number(reply[at]); i += 1) alerts.push(alertOf(reply.slice(at + 1 + i * 7, at + 8 + i * 7)));
  return alerts;
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
  switch (reply[0]) {
    case 'stale':
      return {
        type: 'stale',
        now,
        scope: reply[2] === 'account' ? 'account' : 'user',
        config: {
          version: Number(reply[3]),
          rules: reply[4] === '' ? null : String(reply[4]),
          anchor: reply[5] === '' ? null : Number(reply[5]),
          plan: reply[6] === '' || reply[6] === undefined ? null : String(reply[6]),
        },
      };
    case 'clock':
      return { type: 'clock', now, at: Number(reply[2]) };
    case 'moved':
      return { type: 'moved', now, home: reply[2] === '' ? null : String(reply[2]) };
    case 'moving':
      return { type: 'moving', now };
    default:
      throw unexpected('reply', reply[0]);
  }
}

function unexpected(operation: string, type: unknown): QuotaStoreError {
  return new QuotaStoreError(operation, `Unexpected reply type ${String(type)} from the store`);
}

function alertOf(v: readonly unknown[]): CommitAlert {
  return { scope: v[0] === 'account' ? 'account' : 'user', ruleId: String(v[1]), threshold: Number(v[2]), used: Number(v[3]), limit: Number(v[4]), start: Number(v[5]), end: Number(v[6]) };
}

/** Alerts kept in a commit's outcome: `scope,rule,threshold,used,limit,start,end` joined with `|`. */
function parseStoredAlerts(text: string): CommitAlert[] {
  if (text === '') return [];
  return text.split('|').map((entry) => alertOf(entry.split(',')));
}

/**
 * Model names seen lately, encoded: the few a store sees are encoded once, not on every commit.
 * Names longer than {@link MAX_KEPT_MODEL_LENGTH} are encoded each time (never kept).
 */
const encodedModels = new LruMap<string, string>(256);
const MAX_KEPT_MODEL_LENGTH = 256;

/**
 * Model names go into history field names joined with `|`: percent-encoded, and cut (with a hash of
 * the whole name) beyond 200 characters, so that no model name can make a commit fail.
 */
export function encodeModel(model: string): string {
  if (model.length > MAX_KEPT_MODEL_LENGTH) return encodeModelName(model);
  let out = encodedModels.get(model);
  if (out === undefined) {
    out = encodeModelName(model);
    encodedModels.set(model, out);
  }
  return out;
}

function encodeModelName(model: string): string {
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
