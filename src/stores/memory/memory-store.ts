import { QuotaStoreError } from '../../core/errors.js';
import { parsePositiveInt } from '../../core/validate.js';
import type {
  Amounts,
  CommitAlert,
  CommitCommand,
  CommitReply,
  GlobalStats,
  HeldWindow,
  HistoryBucket,
  QuotaStore,
  ReadReply,
  ReleaseCommand,
  ReleaseReply,
  ReserveCommand,
  ReserveReply,
  RetentionSettings,
  RuleSpec,
  StoredConfig,
  StoredLogEntry,
  WindowState,
} from '../types.js';
import { DEFAULT_RETENTION, pickWindow, type PickedWindow } from '../window.js';

/** Options of the embedded store. */
export interface MemoryStoreOptions {
  /**
   * Most users kept. A new user beyond it is refused with `QuotaStoreError` (handled by the
   * `onStoreError` policy) rather than evicting someone's quota, which would grant a fresh one.
   * @default 100_000 (about 270 MB with one logged call each; see the README)
   */
  maxUsers?: number;
  /** The store's clock (ms since epoch). @default Date.now */
  clock?: () => number;
}

interface RuleState {
  fingerprint: string;
  start: number;
  end: number;
  used: number;
  held: number;
  limit: number;
  /** Bit k set: alert threshold k fired in this window. */
  alerts: number;
}

interface Hold {
  expiresAt: number;
  windows: HeldWindow[];
}

interface UserState {
  version: number;
  rules: string | null;
  anchor: number | null;
  active: boolean;
  windows: Map<string, RuleState>;
  holds: Map<string, Hold>;
  /** Terminal outcomes by reservation id, in insertion (= time) order. */
  done: Map<string, { status: 'committed' | 'released'; timestamp: number; expiresAt: number; attemptId?: string; alerts?: CommitAlert[] }>;
  log: StoredLogEntry[];
  /** Hour start -> model -> bucket. */
  history: Map<number, Map<string, HistoryBucket>>;
}

/**
 * The embedded default store: every operation runs synchronously inside one call, so it is atomic
 * within the process. State lives in this process only: use `RedisStore` when several processes
 * share quotas or when usage must survive a restart.
 */
export class MemoryStore implements QuotaStore {
  readonly kind = 'memory';
  readonly #users = new Map<string, UserState>();
  readonly #maxUsers: number;
  readonly #clock: () => number;
  #settings: RetentionSettings = DEFAULT_RETENTION;
  readonly #globalLog: StoredLogEntry[] = [];
  readonly #globalHistory = new Map<number, Map<string, HistoryBucket>>();
  readonly #totals = { tokens: 0, cost: 0, requests: 0 };
  readonly #activeByMonth = new Map<string, Set<string>>();

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxUsers = options.maxUsers === undefined ? 100_000 : parsePositiveInt(options.maxUsers, 'options.maxUsers');
    this.#clock = options.clock ?? Date.now;
  }

  configure(settings: RetentionSettings): void {
    this.#settings = settings;
  }

  async reserve(command: ReserveCommand): Promise<ReserveReply> {
    const now = command.now ?? this.#clock();
    const user = this.#users.get(command.userId);
    if (user && !user.active) return { type: 'disabled', now };
    const version = user?.version ?? 0;
    if (version !== command.configVersion) return { type: 'stale', now, config: configOf(user) };
    if (command.initAnchor && (user?.anchor ?? null) === null) {
      const created = this.#userForWrite(command.userId);
      created.anchor = now;
      created.version += 1;
      return { type: 'stale', now, config: configOf(created) };
    }
    const replayed = user?.holds.has(command.reservationId) ?? false;
    if (!replayed && user?.done.has(command.reservationId)) return { type: 'closed', now };

    const picked = pickAll(command.rules, now, user);
    if ('at' in picked) return { type: 'clock', now, at: picked.at };

    const state = this.#userForWrite(command.userId);
    const windows = this.#roll(state, command.rules, picked.windows);
    this.#purge(state, now);
    if (replayed) return { type: 'ok', now, windows: windows.map(view), replayed: true, isNewUser: false };

    for (const [index, spec] of command.rules.entries()) {
      const rule = windows[index]!;
      if (command.force !== true && rule.used + rule.held + amountOf(command.amounts, spec.metric) > spec.limit) {
        return { type: 'rejected', now, ruleIndex: index, windows: windows.map(view) };
      }
    }
    const held: HeldWindow[] = command.rules.map((spec, index) => {
      const rule = windows[index]!;
      const amount = amountOf(command.amounts, spec.metric);
      rule.held += amount;
      return { ruleId: spec.ruleId, fingerprint: spec.fingerprint, start: rule.start, metric: spec.metric, amount };
    });
    state.holds.set(command.reservationId, { expiresAt: now + command.leaseMs, windows: held });
    return { type: 'ok', now, windows: windows.map(view), replayed: false, isNewUser: user === undefined };
  }

  async commit(command: CommitCommand): Promise<CommitReply> {
    const now = command.now ?? this.#clock();
    const state = this.#userForWrite(command.userId);
    this.#purgeDone(state, now);
    const done = state.done.get(command.reservationId);
    if (done) {
      if (done.status !== 'committed') return { type: 'released', now };
      const ownAttempt = command.attemptId !== undefined && done.attemptId === command.attemptId;
      return { type: 'duplicate', now, timestamp: done.timestamp, ownAttempt, alerts: ownAttempt ? [...(done.alerts ?? [])] : [] };
    }
    this.#dropHold(state, command.reservationId);
    const alerts: Extract<CommitReply, { type: 'applied' }>['alerts'] = [];
    for (const held of command.windows) {
      let rule = state.windows.get(held.ruleId);
      let recreated = false;
      if (!rule && held.end !== undefined) {
        // The window's state is gone (the user was deleted while the call was in flight): recreate
        // it from the hold so the usage is not dropped; no alert (the limit is unknown until the next reserve).
        rule = { fingerprint: held.fingerprint, start: held.start, end: held.end, used: 0, held: 0, limit: 0, alerts: 0 };
        state.windows.set(held.ruleId, rule);
        recreated = true;
      }
      // Usage lands in the window the reservation was made in; if that window has rolled over,
      // the record and history still keep it, the current window does not.
      if (!rule || rule.fingerprint !== held.fingerprint || rule.start !== held.start) continue;
      rule.used += amountOf(command.actual, held.metric);
      if (recreated) continue;
      for (const [k, perMille] of command.thresholds.entries()) {
        const bit = 2 ** k;
        if ((rule.alerts & bit) === 0 && crossed(rule.used, rule.limit, perMille)) {
          rule.alerts |= bit;
          alerts.push({ ruleId: held.ruleId, threshold: k, used: rule.used, limit: rule.limit, start: rule.start, end: rule.end });
        }
      }
    }
    state.done.set(command.reservationId, {
      status: 'committed',
      timestamp: now,
      expiresAt: now + this.#settings.idempotencyTtlMs,
      ...(command.attemptId === undefined ? {} : { attemptId: command.attemptId, alerts: [...alerts] }),
    });
    const entry = { timestamp: now, record: command.record };
    pushBounded(state.log, entry, this.#settings.userLogMaxLength, now - this.#settings.logRetentionMs);
    pushBounded(this.#globalLog, entry, this.#settings.logMaxLength, now - this.#settings.logRetentionMs);
    addHistory(state.history, now, command, now - this.#settings.userHistoryRetentionMs);
    addHistory(this.#globalHistory, now, command, now - this.#settings.globalHistoryRetentionMs);
    this.#totals.tokens += command.actual.tokens;
    this.#totals.cost += command.actual.cost;
    this.#totals.requests += command.actual.requests;
    const month = monthKey(now);
    let active = this.#activeByMonth.get(month);
    if (!active) {
      this.#activeByMonth.clear(); // only the current month is asked for
      active = new Set();
      this.#activeByMonth.set(month, active);
    }
    active.add(command.userId);
    return { type: 'applied', now, timestamp: now, alerts };
  }

  async release(command: ReleaseCommand): Promise<ReleaseReply> {
    const now = command.now ?? this.#clock();
    const state = this.#userForWrite(command.userId);
    this.#purgeDone(state, now);
    const done = state.done.get(command.reservationId);
    if (done) return { type: done.status === 'committed' ? 'committed' : 'duplicate', now };
    this.#dropHold(state, command.reservationId);
    // Marked even when no hold exists, so a late replay of the reserve cannot hold it again.
    state.done.set(command.reservationId, { status: 'released', timestamp: now, expiresAt: now + this.#settings.idempotencyTtlMs });
    return { type: 'released', now };
  }

  async read(command: { userId: string; configVersion: number; rules: readonly RuleSpec[]; now?: number }): Promise<ReadReply> {
    const now = command.now ?? this.#clock();
    const user = this.#users.get(command.userId);
    const version = user?.version ?? 0;
    if (version !== command.configVersion) return { type: 'stale', now, config: configOf(user) };
    const picked = pickAll(command.rules, now, user);
    if ('at' in picked) return { type: 'clock', now, at: picked.at };
    const windows = picked.windows.map((p, index): WindowState => {
      if (p.rollover || !user) return { start: p.start, end: p.end, used: 0, held: 0 };
      const stored = user.windows.get(command.rules[index]!.ruleId)!;
      let held = stored.held;
      for (const hold of user.holds.values()) {
        if (hold.expiresAt > now) continue;
        for (const w of hold.windows) {
          if (w.ruleId === command.rules[index]!.ruleId && w.fingerprint === stored.fingerprint && w.start === stored.start) {
            held -= w.amount;
          }
        }
      }
      return { start: p.start, end: p.end, used: stored.used, held: Math.max(0, held) };
    });
    return { type: 'ok', now, active: user?.active ?? true, windows };
  }

  async getConfig(userId: string): Promise<StoredConfig & { active: boolean; exists: boolean }> {
    const user = this.#users.get(userId);
    return { ...configOf(user), active: user?.active ?? true, exists: user !== undefined };
  }

  async setConfig(userId: string, rules: string | null, removedRuleIds: readonly string[], anchor?: number | null): Promise<number> {
    const state = this.#userForWrite(userId);
    state.rules = rules;
    if (anchor !== undefined) state.anchor = anchor;
    for (const id of removedRuleIds) state.windows.delete(id);
    state.version += 1;
    return state.version;
  }

  async setActive(userId: string, active: boolean): Promise<void> {
    this.#userForWrite(userId).active = active;
  }

  async resetUsage(userId: string, ruleIds: readonly string[]): Promise<void> {
    const user = this.#users.get(userId);
    if (!user) return;
    for (const id of ruleIds) {
      const rule = user.windows.get(id);
      if (rule) {
        rule.used = 0;
        rule.alerts = 0;
      }
    }
  }

  async deleteUser(userId: string): Promise<void> {
    this.#users.delete(userId);
    for (const active of this.#activeByMonth.values()) active.delete(userId);
  }

  async listUsers(cursor: string | undefined, limit: number): Promise<{ userIds: string[]; next?: string }> {
    // Sorted by UTF-16 code units; ids are compared as Redis compares bytes only for ASCII, which
    // is what paging needs: a stable, total order.
    const ids = [...this.#users.keys()].filter((id) => cursor === undefined || id > cursor).sort(compareIds);
    const page = ids.slice(0, limit);
    const last = page.at(-1);
    return ids.length > limit && last !== undefined ? { userIds: page, next: last } : { userIds: page };
  }

  async readLog(query: { userId?: string; since?: number; until?: number; limit: number }): Promise<StoredLogEntry[]> {
    const source = query.userId === undefined ? this.#globalLog : (this.#users.get(query.userId)?.log ?? []);
    const out: StoredLogEntry[] = [];
    for (let i = source.length - 1; i >= 0 && out.length < query.limit; i -= 1) {
      const entry = source[i]!;
      if (query.until !== undefined && entry.timestamp > query.until) continue;
      if (query.since !== undefined && entry.timestamp < query.since) continue;
      out.push(entry);
    }
    return out;
  }

  async readHistory(query: { userId?: string; from: number; to: number }): Promise<HistoryBucket[]> {
    const source = query.userId === undefined ? this.#globalHistory : this.#users.get(query.userId)?.history;
    if (!source) return [];
    const out: HistoryBucket[] = [];
    for (const [hour, models] of source) {
      if (hour < query.from || hour >= query.to) continue;
      for (const bucket of models.values()) out.push({ ...bucket });
    }
    return out.sort((a, b) => a.hour - b.hour || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  }

  async stats(now?: number): Promise<GlobalStats> {
    const active = this.#activeByMonth.get(monthKey(now ?? this.#clock()));
    return { totalTokens: this.#totals.tokens, totalCost: this.#totals.cost, activeUsers: active?.size ?? 0, users: this.#users.size };
  }

  async close(): Promise<void> {}

  /** Users held (for the bench's bytes-per-user figure). */
  get size(): number {
    return this.#users.size;
  }

  #userForWrite(userId: string): UserState {
    let user = this.#users.get(userId);
    if (!user) {
      if (this.#users.size >= this.#maxUsers) {
        throw new QuotaStoreError('write', `MemoryStore is full (maxUsers ${this.#maxUsers})`);
      }
      user = {
        version: 0,
        rules: null,
        anchor: null,
        active: true,
        windows: new Map(),
        holds: new Map(),
        done: new Map(),
        log: [],
        history: new Map(),
      };
      this.#users.set(userId, user);
    }
    return user;
  }

  /** Starts new windows where the picked one differs from the stored one; returns each rule's state. */
  #roll(state: UserState, rules: readonly RuleSpec[], picked: readonly PickedWindow[]): RuleState[] {
    return rules.map((spec, index) => {
      const p = picked[index]!;
      let rule = state.windows.get(spec.ruleId);
      if (!rule || p.rollover) {
        rule = { fingerprint: spec.fingerprint, start: p.start, end: p.end, used: 0, held: 0, limit: spec.limit, alerts: 0 };
        state.windows.set(spec.ruleId, rule);
      }
      rule.limit = spec.limit;
      return rule;
    });
  }

  #purge(state: UserState, now: number): void {
    for (const [id, hold] of state.holds) {
      if (hold.expiresAt <= now) this.#dropHold(state, id);
    }
    this.#purgeDone(state, now);
  }

  #purgeDone(state: UserState, now: number): void {
    // Insertion order is time order, so expired entries are at the front.
    for (const [id, done] of state.done) {
      if (done.expiresAt > now) break;
      state.done.delete(id);
    }
  }

  #dropHold(state: UserState, reservationId: string): void {
    const hold = state.holds.get(reservationId);
    if (!hold) return;
    state.holds.delete(reservationId);
    for (const w of hold.windows) {
      const rule = state.windows.get(w.ruleId);
      if (rule && rule.fingerprint === w.fingerprint && rule.start === w.start) rule.held = Math.max(0, rule.held - w.amount);
    }
  }
}

function configOf(user: UserState | undefined): StoredConfig {
  return { version: user?.version ?? 0, rules: user?.rules ?? null, anchor: user?.anchor ?? null };
}

function pickAll(rules: readonly RuleSpec[], now: number, user: UserState | undefined): { windows: PickedWindow[] } | { at: number } {
  const windows: PickedWindow[] = [];
  for (const spec of rules) {
    const stored = user?.windows.get(spec.ruleId);
    const picked = pickWindow(spec, now, stored ? { fingerprint: stored.fingerprint, start: stored.start } : undefined);
    if ('at' in picked) return picked;
    windows.push(picked);
  }
  return { windows };
}

function view(rule: RuleState): WindowState {
  return { start: rule.start, end: rule.end, used: rule.used, held: rule.held };
}

export function amountOf(amounts: Amounts, metric: RuleSpec['metric']): number {
  return metric === 'tokens' ? amounts.tokens : metric === 'requests' ? amounts.requests : amounts.cost;
}

function crossed(used: number, limit: number, perMille: number): boolean {
  return used > 0 && used * 1000 >= limit * perMille;
}

function pushBounded(list: StoredLogEntry[], entry: StoredLogEntry, maxLength: number, oldest: number): void {
  list.push(entry);
  let drop = Math.max(0, list.length - maxLength);
  while (drop < list.length && list[drop]!.timestamp < oldest) drop += 1;
  if (drop > 0) list.splice(0, drop);
}

function addHistory(history: Map<number, Map<string, HistoryBucket>>, now: number, command: CommitCommand, oldest: number): void {
  const hour = Math.floor(now / 3_600_000) * 3_600_000;
  let models = history.get(hour);
  if (!models) {
    models = new Map();
    history.set(hour, models);
    for (const key of history.keys()) {
      if (key >= oldest) break; // hours are inserted in time order
      history.delete(key);
    }
  }
  let bucket = models.get(command.model);
  if (!bucket) {
    bucket = { hour, model: command.model, requests: 0, inputTokens: 0, outputTokens: 0, cost: 0 };
    models.set(command.model, bucket);
  }
  bucket.requests += command.actual.requests;
  bucket.inputTokens += command.inputTokens;
  bucket.outputTokens += command.outputTokens;
  bucket.cost += command.actual.cost;
}

function monthKey(now: number): string {
  return new Date(now).toISOString().slice(0, 7);
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
