import { randomBytes } from 'node:crypto';
import { QuotaStoreError } from '../kernel/errors.js';
import type { LimiterEvents } from '../kernel/types.js';
import type { ConfigReply, RuleSpec } from '../stores/protocol/types.js';
import { Committer } from './committer.js';
import type { EngineConfig } from './config.js';
import { EpochWatch } from './epoch.js';
import { Emitter } from './events.js';
import { OutageBudget } from './outage.js';
import { PlanBook } from './plans.js';
import { WindowPlanner, type AccountConfig, type ScopeConfig, type UserConfig } from './planner.js';
import type { NormalizedRule } from './rules.js';
import { storeCall } from './store-call.js';

/** Every event a limiter emits (`limiter.on` refuses other names). */
const LIMITER_EVENTS = ['usage', 'alert', 'rejected', 'store-error', 'store-reset', 'ledger-error', 'ledger-lag'] as const;
// Fails to compile when an event is added to LimiterEvents and not to the list above.
const ALL_EVENTS_LISTED: Exclude<keyof LimiterEvents, (typeof LIMITER_EVENTS)[number]> extends never ? true : never = true;
void ALL_EVENTS_LISTED;

/**
 * Replies that ask for new rules, boundaries or a new home before the store can answer, per
 * operation. A move costs a call up to three ('moved', 'moving', then 'stale' at the new home), a
 * rule or plan change one, a period boundary one; beyond this the operation fails with
 * QuotaStoreError, holding nothing (a user moved between accounts many times a second).
 */
export const MAX_ATTEMPTS = 10;

/** What a call is, for rules that count only some models or providers. */
export interface CallKind {
  model?: string | undefined;
  provider?: string | undefined;
}

/** One scope's rules for a command: the specs sent, and the rules they come from. */
export interface ScopePlan {
  rules: NormalizedRule[];
  specs: RuleSpec[];
}

/** What the engine's parts share: config, planner, events, the background committer, store calls. */
export class EngineCore {
  readonly planner: WindowPlanner;
  readonly plans: PlanBook;
  readonly events: Emitter<LimiterEvents>;
  readonly committer: Committer;
  readonly epoch: EpochWatch;
  readonly outage: OutageBudget;
  closed = false;

  constructor(readonly config: EngineConfig) {
    const { store } = config;
    this.plans = new PlanBook(() => this.call('plans', () => store.admin.getPlans()));
    this.planner = new WindowPlanner(config.defaultRules, config.clock, config.userCacheSize, this.plans, config.defaultPlan);
    this.events = new Emitter<LimiterEvents>(LIMITER_EVENTS, config.logger);
    store.maintenance.configure({
      ...config.settings,
      report: ({ operation, error, dropped }) => this.storeError(operation, error, dropped > 0 ? 'dropped' : 'queued'),
    });
    this.committer = new Committer(config.maxPendingOperations, {
      // A write that fails tells of the store as a reserve's failure does: the outage goes on (a
      // process whose calls come further apart than quietMs got a new fail-open budget for each).
      queued: (w, error) => {
        this.outage.failed();
        this.storeError(w.kind, error, 'queued', w.userId);
      },
      retryFailed: () => this.outage.failed(),
      dropped: (w, error) => this.storeError(w.kind, error, 'dropped', w.userId),
    });
    this.epoch = new EpochWatch(config, store.maintenance, (op, fn) => this.call(op, fn), (e) => this.events.emit('store-reset', e));
    this.outage = new OutageBudget(config.allowBudget, config.outageQuietMs);
  }

  /**
   * One store operation, failing after `storeTimeoutMs`, or at `until` (ms since epoch) when given:
   * the end of the public call it is a step of, so that a call's waits never add up past its
   * `storeTimeoutMs` when the store does not answer.
   */
  call<T>(operation: string, fn: () => Promise<T>, until?: number): Promise<T> {
    return storeCall(operation, this.config.storeTimeoutMs, fn, until, this.#noAnswer);
  }

  /** When a store operation last ended for want of an answer (ms since epoch; -Infinity: never). */
  noAnswerAt = Number.NEGATIVE_INFINITY;
  readonly #noAnswer = (): void => {
    this.noAnswerAt = Date.now();
  };

  /** `{ now }` when the engine has its own clock (tests), else nothing: the store's clock decides. */
  now(): { now?: number } {
    const now = this.planner.explicitNow();
    return now === undefined ? {} : { now };
  }

  /**
   * Keeps this process's copy of the plans at most `planRefreshMs` old: read again beside calls
   * once half that age, and before a call only when older (after the process was idle), so that a
   * busy process never waits for it.
   */
  async plansReady(): Promise<void> {
    const age = this.plans.age();
    // While the store fails, calls do not each wait for a read that just failed: one tries beside.
    const failing = Date.now() - this.plans.failedAt < this.config.planRefreshMs;
    if (age >= this.config.planRefreshMs && !failing) await this.#planRead();
    else if (age >= this.config.planRefreshMs) this.plans.refreshBeside();
    else if (age >= this.config.planRefreshMs / 2) this.plans.refreshBeside();
  }

  /**
   * Reads the plans again, waiting at most a quarter of `storeTimeoutMs` (the read goes on beside):
   * a call's decision must come within `storeTimeoutMs` + ε even when the store does not answer,
   * and the reserve itself needs that time. A slow read leaves the call on the copy it has. A read
   * already under way will do: the copy is only old here, nothing this call must see was written.
   */
  async #planRead(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cap = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.config.storeTimeoutMs / 4);
    });
    try {
      await Promise.race([this.plans.readUnderWay().catch(() => {}), cap]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A config may name a plan this process's copy lacks (another process created it since the copy
   * was read): reads the plans again, once per operation (`state.read`). True if it did, then the
   * caller resolves its configs again. Throws the store's error when the plans cannot be read.
   */
  /**
   * `userId`'s config, asked of the store when what this process has is the stand-in every user
   * not seen yet gets, and that stand-in names a default plan this process cannot read: the user
   * may have rules or a plan of their own, which the store's replies would only tell after the call
   * was refused (see readPlansFor). One extra read, on that rare path only.
   */
  async configOf(userId: string): Promise<UserConfig> {
    const config = this.planner.userConfig(userId);
    if (!config.unreadablePlan || !this.planner.isStandIn(config)) return config;
    const stored = await this.call('config', () => this.config.store.admin.getConfig(userId));
    return this.planner.adopt(userId, stored, stored.account);
  }

  async readPlansFor(state: { read: boolean }, ...configs: Array<ScopeConfig | undefined>): Promise<boolean> {
    // A plan this process cannot read fails the calls of its users (only theirs), as a failed read does.
    for (const config of configs) if (config?.unreadablePlan) throw config.unreadablePlan;
    if (state.read || !configs.some((c) => c?.planMissing)) return false;
    state.read = true;
    // Waited for in full, and a failed read fails the call (the store-error policy applies):
    // going on would check the user against the default rules instead of their plan.
    await this.plans.refresh();
    return true;
  }

  /** A scope's specs (around `at`), keeping only the rules the call counts against when `call` is given. */
  scopePlan(config: ScopeConfig, at: number | undefined, call?: CallKind): ScopePlan {
    const specs = this.planner.specs(config, at);
    if (!call || !config.rules.some((r) => r.filtered)) return { rules: config.rules, specs };
    const rules: NormalizedRule[] = [];
    const kept: RuleSpec[] = [];
    config.rules.forEach((rule, i) => {
      if (!rule.filtered || rule.matches(call)) {
        rules.push(rule);
        kept.push(specs[i]!);
      }
    });
    return { rules, specs: kept };
  }

  /** The account config of a user's home, or undefined. */
  accountOf(config: UserConfig): AccountConfig | undefined {
    return config.account === null ? undefined : this.planner.accountConfig(config.account);
  }

  storeError(operation: string, error: QuotaStoreError, policy: 'deny' | 'allow' | 'queued' | 'dropped', userId?: string): void {
    this.events.emit('store-error', { operation, error, policy, ...(userId === undefined ? {} : { userId }) });
    this.config.logger?.warn?.(`token-limits: ${operation} failed`, { policy, error: error.message, ...(userId === undefined ? {} : { userId }) });
  }
}

/** This process's random id prefix: with a counter, ids are unique without per-id randomness. */
const PROCESS_TOKEN = randomBytes(9).toString('base64url');
let idCounter = 0;

/**
 * A reservation (or commit attempt) id: `<time in base 36>-<process token><counter>`. The time lets
 * a store group outcomes by when the reservation was made (RedisStore keeps them per 10 minutes).
 */
export function newId(now: number): string {
  idCounter = (idCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${Math.max(0, Math.floor(now)).toString(36)}-${PROCESS_TOKEN}${idCounter.toString(36)}`;
}

/** Waits a little before asking a store again about a user being moved between accounts. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits a little before the next try while a user is between the steps of a move between accounts
 * (20, 40, 60... ms); throws a QuotaStoreError once that wait would end past `deadline` (a call's
 * start + storeTimeoutMs; a commit or release that fails so is queued and tried again later). A
 * move that stopped half-way (its process died) stays so until setAccount finishes it: without
 * the deadline a call waited its ten tries (over a second) whatever `storeTimeoutMs` said.
 */
export async function waitForMove(operation: string, userId: string, attempt: number, deadline: number): Promise<void> {
  const ms = 20 * (attempt + 1);
  if (Date.now() + ms > deadline) {
    const who = JSON.stringify(userId.length > 60 ? `${userId.slice(0, 60)}…` : userId);
    throw new QuotaStoreError(operation, `User ${who} is being moved between accounts (setAccount finishes a move that stopped half-way)`, {
      cause: new MoveUnderWay(),
    });
  }
  await pause(ms);
}

/**
 * The cause of the QuotaStoreError of a call that gave up waiting for a move (see waitForMove):
 * about one user's state, not the store's health (an admin listing leaves that user out).
 */
export class MoveUnderWay extends Error {
  constructor() {
    super('a move between accounts is under way');
    this.name = 'MoveUnderWay';
  }
}

/**
 * Follows a reply that asks a rules command to be sent again (`stale`, `clock`, `moved`, `moving`),
 * shared by reserve and read: learns the stored config or the user's home, or waits while a move is
 * between its steps, until `deadline` (the call's start + storeTimeoutMs). Returns the `at` of the
 * next try (around which boundaries are computed).
 */
export async function followRetry(
  core: EngineCore,
  operation: string,
  userId: string,
  account: string | null,
  reply: ConfigReply,
  visited: ReadonlySet<string | null>,
  attempt: number,
  at: number | undefined,
  deadline: number,
): Promise<number | undefined> {
  switch (reply.type) {
    case 'stale':
      if (reply.scope === 'user') core.planner.learn(userId, reply.config);
      else core.planner.learnAccount(account!, reply.config);
      return undefined;
    case 'clock':
      return reply.at;
    case 'moved':
      // Sent back to a home already tried: a move is between its steps; give it a moment.
      if (visited.has(reply.home)) await waitForMove(operation, userId, attempt, deadline);
      core.planner.setHome(userId, reply.home);
      return at;
    case 'moving':
      await waitForMove(operation, userId, attempt, deadline);
      return at;
  }
}
