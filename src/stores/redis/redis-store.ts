import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, QuotaStoreError } from '../../core/errors.js';
import { isPlainObject, rejectUnknownKeys } from '../../core/validate.js';
import type {
  CommitAlert,
  CommitCommand,
  CommitReply,
  GlobalStats,
  HistoryBucket,
  QuotaStore,
  ReadReply,
  ReleaseCommand,
  ReleaseReply,
  ReserveCommand,
  ReserveReply,
  RetentionSettings,
  RulesCommand,
  StoreEpoch,
  StoredConfig,
  StoredLogEntry,
  WindowState,
} from '../types.js';
import { DEFAULT_RETENTION } from '../window.js';
import { activeSetExpiry, DAY_MS, dayStart, globalKeys, monthOf, userKeys } from './keys.js';
import { GLOBAL_SCRIPTS, USER_SCRIPTS } from './registry.js';
import { runScript, type RedisLikeClient, type Script } from './scripts.js';

/** Options of the Redis store. */
export interface RedisStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster` (or any client with the same `evalsha`/`eval`). The store never
   * closes it. Recommended ioredis settings: `commandTimeout`, a small `maxRetriesPerRequest`.
   * Replays after reconnects are harmless: every write is idempotent by id inside its script.
   */
  client: RedisLikeClient;
  /**
   * Prefix of every key, so that several apps can share a Redis. Letters, digits and `_.:-`.
   * @default 'tl'
   */
  prefix?: string;
}

/**
 * Quotas in Redis (standalone or Cluster): one Lua script per operation, atomic per user, with the
 * Redis server's clock deciding periods. Requires Redis 7.0 or later (script flags).
 */
export class RedisStore implements QuotaStore {
  readonly kind = 'redis';
  readonly #client: RedisLikeClient;
  readonly #prefix: string;
  readonly #global: ReturnType<typeof globalKeys>;
  #settings: RetentionSettings = DEFAULT_RETENTION;
  /** Server time minus local time, learned from replies; picks history day keys. */
  #offset = 0;
  /** The epoch id this store saw last (undefined before the first check). */
  #epoch: string | undefined;

  constructor(options: RedisStoreOptions) {
    if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { client, prefix? }');
    rejectUnknownKeys(options, ['client', 'prefix'], 'options');
    const client = options.client as Partial<RedisLikeClient> | undefined;
    if (typeof client !== 'object' || client === null || typeof client.evalsha !== 'function' || typeof client.eval !== 'function') {
      throw new InvalidArgumentError('options.client', options.client, 'expected an ioredis Redis or Cluster client');
    }
    const prefix = options.prefix ?? 'tl';
    if (typeof prefix !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix)) {
      throw new InvalidArgumentError('options.prefix', prefix, 'expected 1-64 characters of A-Z a-z 0-9 _ . : -');
    }
    this.#client = options.client;
    this.#prefix = prefix;
    this.#global = globalKeys(prefix);
  }

  configure(settings: RetentionSettings): void {
    this.#settings = settings;
  }

  /** Loads every script into the server's cache (also done lazily on NOSCRIPT). */
  async warmup(): Promise<void> {
    const loader = this.#client as unknown as { script?: (op: string, source: string) => Promise<unknown> };
    if (typeof loader.script !== 'function') return;
    // A Cluster needs the scripts on every master; EVALSHA falls back to EVAL where one is missing.
    await Promise.all([...Object.values(USER_SCRIPTS), ...Object.values(GLOBAL_SCRIPTS)].map((s) => loader.script!('LOAD', s.source)));
  }

  async reserve(c: ReserveCommand): Promise<ReserveReply> {
    const k = userKeys(this.#prefix, c.userId);
    const args = [
      c.reservationId,
      String(c.configVersion),
      nowArg(c.now),
      String(c.leaseMs),
      c.initAnchor ? '1' : '0',
      String(c.amounts.tokens),
      String(c.amounts.requests),
      String(c.amounts.cost),
      c.force === true ? '1' : '0',
      ...ruleArgs(c.rules),
    ];
    const reply = await this.#run(USER_SCRIPTS.reserve, [k.user, k.holds, k.expiries, k.done], args);
    const [type, nowRaw] = reply;
    const now = this.#learn(nowRaw);
    switch (type) {
      case 'ok': {
        const isNewUser = reply[3] === 1;
        if (isNewUser) {
          // The index is shared by all users (another slot): updated after, off the critical path.
          this.#runRaw(GLOBAL_SCRIPTS.indexUser, [this.#global.users], [c.userId]).catch(() => {});
        }
        return { type, now, replayed: reply[2] === 1, isNewUser, windows: windowsOf(reply, 4, c.rules.length) };
      }
      case 'rejected':
        return { type, now, ruleIndex: Number(reply[2]), windows: windowsOf(reply, 3, c.rules.length) };
      case 'disabled':
      case 'closed':
        return { type, now };
      default:
        return this.#configReply(reply, now);
    }
  }

  async commit(c: CommitCommand): Promise<CommitReply> {
    const k = userKeys(this.#prefix, c.userId);
    const model = encodeModel(c.model);
    const estimate = c.now ?? Date.now() + this.#offset;
    const args = [
      c.reservationId,
      nowArg(c.now),
      String(c.actual.tokens),
      String(c.actual.requests),
      String(c.actual.cost),
      String(c.inputTokens),
      String(c.outputTokens),
      c.record,
      model,
      String(this.#settings.userLogMaxLength),
      String(this.#settings.logRetentionMs),
      String(this.#settings.userHistoryRetentionMs),
      String(this.#settings.idempotencyTtlMs),
      String(c.thresholds.length),
      ...c.thresholds.map(String),
      String(c.windows.length),
      ...c.windows.flatMap((w) => [w.ruleId, w.fingerprint, String(w.start), w.metric, String(w.amount)]),
      c.attemptId ?? '',
      ...c.windows.map((w) => (w.end === undefined ? '' : String(w.end))),
    ];
    const reply = await this.#run(USER_SCRIPTS.commit, [k.user, k.holds, k.expiries, k.done, k.doneExpiries, k.log, k.historyDay(dayStart(estimate))], args);
    const now = this.#learn(reply[1]);
    if (reply[0] === 'released') return { type: 'released', now };
    const timestamp = reply[0] === 'duplicate' ? Number(reply[2]) : now;
    // Aggregates over all users live in another slot: updated after the user's script, once per
    // record id (a replayed or retried commit adds nothing twice). Run for duplicates too, in case
    // the first attempt's aggregate update never happened.
    if (reply[0] === 'duplicate') {
      await this.#record(c, k.tag, model, timestamp);
      const ownAttempt = reply[3] === 1;
      return { type: 'duplicate', now, timestamp, ownAttempt, alerts: ownAttempt ? parseStoredAlerts(String(reply[4] ?? '')) : [] };
    }
    let aggregatesPending = false;
    try {
      await this.#record(c, k.tag, model, timestamp);
    } catch {
      aggregatesPending = true; // the quota is charged; the engine retries the aggregates
    }
    const alerts: CommitAlert[] = [];
    const count = Number(reply[2]);
    for (let i = 0; i < count; i += 1) {
      const base = 3 + i * 6;
      alerts.push(alertOf(reply.slice(base, base + 6)));
    }
    return aggregatesPending ? { type: 'applied', now, timestamp, alerts, aggregatesPending } : { type: 'applied', now, timestamp, alerts };
  }

  async #record(c: CommitCommand, tag: string, model: string, timestamp: number): Promise<void> {
    const g = this.#global;
    await this.#runRaw(
      GLOBAL_SCRIPTS.record,
      [g.seen(Math.floor(timestamp / 60_000)), g.log, g.historyDay(dayStart(timestamp)), g.totals, g.users, g.activeMonth(monthOf(timestamp))],
      [
        c.reservationId,
        String(timestamp),
        c.record,
        c.userId,
        tag,
        model,
        String(c.actual.tokens),
        String(c.actual.requests),
        String(c.actual.cost),
        String(c.inputTokens),
        String(c.outputTokens),
        String(this.#settings.logMaxLength),
        String(this.#settings.logRetentionMs),
        String(this.#settings.globalHistoryRetentionMs),
        String(activeSetExpiry(timestamp) - timestamp),
      ],
    );
  }

  async release(c: ReleaseCommand): Promise<ReleaseReply> {
    const k = userKeys(this.#prefix, c.userId);
    const reply = await this.#run(USER_SCRIPTS.release, [k.user, k.holds, k.expiries, k.done, k.doneExpiries], [
      c.reservationId,
      nowArg(c.now),
      String(this.#settings.idempotencyTtlMs),
    ]);
    return { type: reply[0] as ReleaseReply['type'], now: this.#learn(reply[1]) };
  }

  async read(c: RulesCommand): Promise<ReadReply> {
    const k = userKeys(this.#prefix, c.userId);
    const reply = await this.#run(USER_SCRIPTS.read, [k.user, k.holds, k.expiries], [String(c.configVersion), nowArg(c.now), ...ruleArgs(c.rules)]);
    const now = this.#learn(reply[1]);
    if (reply[0] === 'ok') return { type: 'ok', now, active: reply[2] === 1, windows: windowsOf(reply, 3, c.rules.length) };
    return this.#configReply(reply, now);
  }

  async getConfig(userId: string): Promise<StoredConfig & { active: boolean; exists: boolean }> {
    const k = userKeys(this.#prefix, userId);
    const [v, rules, anchor, active, exists] = await this.#run(USER_SCRIPTS.getConfig, [k.user], []);
    return {
      version: Number(v),
      rules: rules === '' ? null : String(rules),
      anchor: anchor === '' ? null : Number(anchor),
      active: active === 1,
      exists: exists === 1,
    };
  }

  async setConfig(userId: string, rules: string | null, removedRuleIds: readonly string[], anchor?: number | null): Promise<number> {
    const k = userKeys(this.#prefix, userId);
    const reply = await this.#runRaw(USER_SCRIPTS.setConfig, [k.user], [rules ?? '', anchor == null ? '' : String(anchor), ...removedRuleIds]);
    await this.#runRaw(GLOBAL_SCRIPTS.indexUser, [this.#global.users], [userId]);
    return Number(reply);
  }

  async setActive(userId: string, active: boolean): Promise<void> {
    const k = userKeys(this.#prefix, userId);
    await this.#runRaw(USER_SCRIPTS.setActive, [k.user], [active ? '1' : '0']);
    await this.#runRaw(GLOBAL_SCRIPTS.indexUser, [this.#global.users], [userId]);
  }

  async resetUsage(userId: string, ruleIds: readonly string[]): Promise<void> {
    const k = userKeys(this.#prefix, userId);
    await this.#runRaw(USER_SCRIPTS.resetUsage, [k.user], [...ruleIds]);
  }

  async deleteUser(userId: string, now?: number): Promise<void> {
    const k = userKeys(this.#prefix, userId);
    const today = dayStart(now ?? Date.now() + this.#offset);
    const days = Math.ceil(this.#settings.userHistoryRetentionMs / DAY_MS) + 2;
    const historyKeys = Array.from({ length: days + 1 }, (_, i) => k.historyDay(today + DAY_MS - i * DAY_MS));
    await this.#runRaw(USER_SCRIPTS.deleteKeys, [k.user, k.holds, k.expiries, k.done, k.doneExpiries, k.log, ...historyKeys], []);
    const month = monthOf(now ?? Date.now() + this.#offset);
    await this.#runRaw(GLOBAL_SCRIPTS.unindexUser, [this.#global.users, this.#global.activeMonth(month)], [userId, k.tag]);
  }

  async listUsers(cursor: string | undefined, limit: number): Promise<{ userIds: string[]; next?: string }> {
    const ids = (await this.#runRaw(GLOBAL_SCRIPTS.listUsers, [this.#global.users], [cursor ?? '', String(limit + 1)])) as string[];
    const page = ids.slice(0, limit);
    return ids.length > limit ? { userIds: page, next: page.at(-1)! } : { userIds: page };
  }

  async readLog(query: { userId?: string; since?: number; until?: number; limit: number }): Promise<StoredLogEntry[]> {
    const key = query.userId === undefined ? this.#global.log : userKeys(this.#prefix, query.userId).log;
    const flat = (await this.#runRaw(USER_SCRIPTS.readLog, [key], [
      query.until === undefined ? '+inf' : String(query.until),
      query.since === undefined ? '-inf' : String(query.since),
      String(query.limit),
    ])) as string[];
    const out: StoredLogEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ record: flat[i]!, timestamp: Number(flat[i + 1]) });
    return out;
  }

  async readHistory(query: { userId?: string; from: number; to: number }): Promise<HistoryBucket[]> {
    const dayKey = query.userId === undefined ? this.#global.historyDay : userKeys(this.#prefix, query.userId).historyDay;
    const keys: string[] = [];
    for (let day = dayStart(query.from) - DAY_MS; day <= query.to + DAY_MS; day += DAY_MS) keys.push(dayKey(day));
    const hashes = (await this.#runRaw(USER_SCRIPTS.readHashes, keys, [])) as string[][];
    const buckets = new Map<string, HistoryBucket>();
    for (const flat of hashes) {
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const [hourText, model, metric] = flat[i]!.split('|');
        const hour = Number(hourText);
        if (!(hour >= query.from && hour < query.to) || model === undefined) continue;
        const name = decodeModel(model);
        const key = `${hour}|${model}`;
        let b = buckets.get(key);
        if (!b) {
          b = { hour, model: name, requests: 0, inputTokens: 0, outputTokens: 0, cost: 0 };
          buckets.set(key, b);
        }
        const value = Number(flat[i + 1]);
        if (metric === 'r') b.requests += value;
        else if (metric === 'i') b.inputTokens += value;
        else if (metric === 'o') b.outputTokens += value;
        else if (metric === 'c') b.cost += value;
      }
    }
    return [...buckets.values()].sort((a, b) => a.hour - b.hour);
  }

  /**
   * The epoch marker `<prefix>:{g}:epoch`: created on first use with a random id. If the data is
   * lost (Redis restarted without persistence, FLUSHALL), the marker is gone too: the next check
   * recreates it with a new id, remembering the lost one, and every process that had seen the old
   * id reports `reset` at its next check. One small script call, never on a reserve's path.
   */
  async checkEpoch(): Promise<StoreEpoch> {
    const known = this.#epoch;
    const [id, created, previous, ack] = await this.#run(GLOBAL_SCRIPTS.epoch, [this.#global.epoch], [randomBytes(12).toString('hex'), known ?? '']);
    const current = String(id);
    const reset = known !== undefined && current !== known;
    this.#epoch = current;
    return {
      id: current,
      createdAt: Number(created),
      previous: previous === '' || previous === undefined ? null : String(previous),
      acknowledged: ack !== '0',
      reset,
      lost: reset ? known! : null,
    };
  }

  async acknowledgeReset(): Promise<void> {
    await this.#runRaw(GLOBAL_SCRIPTS.epochAck, [this.#global.epoch], []);
  }

  async stats(now?: number): Promise<GlobalStats> {
    const month = monthOf(now ?? Date.now() + this.#offset);
    const [tokens, cost, active, users] = await this.#run(GLOBAL_SCRIPTS.stats, [this.#global.totals, this.#global.users, this.#global.activeMonth(month)], []);
    return { totalTokens: Number(tokens), totalCost: Number(cost), activeUsers: Number(active), users: Number(users) };
  }

  async close(): Promise<void> {}

  async #run(script: Script, keys: string[], args: string[]): Promise<unknown[]> {
    const reply = await this.#runRaw(script, keys, args);
    if (!Array.isArray(reply)) throw new QuotaStoreError(script.name, `Unexpected reply from the ${script.name} script`);
    return reply;
  }

  #runRaw(script: Script, keys: string[], args: string[]): Promise<unknown> {
    const timeout = this.#settings.operationTimeoutMs;
    return runScript(this.#client, script, keys, args, timeout === undefined ? undefined : Date.now() + timeout);
  }

  #learn(nowRaw: unknown): number {
    const now = Number(nowRaw);
    if (!Number.isFinite(now)) throw new QuotaStoreError('read', 'The store replied without a time');
    this.#offset = now - Date.now();
    return now;
  }

  #configReply(reply: unknown[], now: number): ReadReply & ReserveReply {
    if (reply[0] === 'stale') {
      return {
        type: 'stale',
        now,
        config: { version: Number(reply[2]), rules: reply[3] === '' ? null : String(reply[3]), anchor: reply[4] === '' ? null : Number(reply[4]) },
      };
    }
    if (reply[0] === 'clock') return { type: 'clock', now, at: Number(reply[2]) };
    throw new QuotaStoreError('reply', `Unexpected reply type ${String(reply[0])}`);
  }
}

function alertOf(v: readonly unknown[]): CommitAlert {
  return { ruleId: String(v[0]), threshold: Number(v[1]), used: Number(v[2]), limit: Number(v[3]), start: Number(v[4]), end: Number(v[5]) };
}

/** Alerts kept in a commit's done entry: `ruleId,threshold,used,limit,start,end` joined with `;`. */
function parseStoredAlerts(text: string): CommitAlert[] {
  if (text === '') return [];
  return text.split(';').map((entry) => alertOf(entry.split(',')));
}

function nowArg(now: number | undefined): string {
  return now === undefined ? '' : String(now);
}

function ruleArgs(rules: RulesCommand['rules']): string[] {
  return [String(rules.length), ...rules.flatMap((r) => [r.ruleId, r.metric, String(r.limit), r.fingerprint, ...r.boundaries.map(String)])];
}

function windowsOf(reply: unknown[], first: number, count: number): WindowState[] {
  const out: WindowState[] = [];
  for (let i = 0; i < count; i += 1) {
    const b = first + i * 4;
    out.push({ start: Number(reply[b]), end: Number(reply[b + 1]), used: Number(reply[b + 2]), held: Number(reply[b + 3]) });
  }
  return out;
}

/** Model names go into hash field names joined with `|`: percent-encode them. */
function encodeModel(model: string): string {
  return encodeURIComponent(model);
}

function decodeModel(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}
