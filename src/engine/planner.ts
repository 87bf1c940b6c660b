import { InvalidArgumentError, QuotaStoreError } from '../kernel/errors.js';
import { LruMap } from '../kernel/lru.js';
import { accountAnchor, candidateBoundaries, effectiveAnchor, needsAnchor } from './periods.js';
import type { PlanBook } from './plans.js';
import { deserializeRules, LATEST_TIME, type NormalizedRule } from './rules.js';
import type { RuleSpec, StoredConfig } from '../stores/protocol/types.js';

/**
 * A scope's rules (a user's, or an account's) as this process believes the store has them: its own
 * rules, else its plan's, else (users only) the default plan's, else the default rules. Accounts
 * without rules or a plan have none (only their members' rules then apply).
 */
export interface ScopeConfig {
  version: number;
  /** The rules in force. */
  rules: NormalizedRule[];
  /** The scope's own rules, or null. */
  own: NormalizedRule[] | null;
  plan: string | null;
  anchor: number | null;
  /** Where `rules` come from (a plan's may change: see PlanBook). */
  source: 'own' | 'plan' | 'defaultPlan' | 'defaults' | 'none';
  /** The plan `rules` come from (the assigned plan, or the default plan), else null. */
  rulesPlan: string | null;
  /** The assigned plan is not in this process's copy of the plans (created since it was read). */
  planMissing: boolean;
  /**
   * The plan the rules would come from (the assigned one, else for a user the default plan) is
   * one the store holds and this process cannot read (see PlanBook): calls fail with this.
   */
  unreadablePlan?: QuotaStoreError;
  /** The plan book generation `rules` were resolved with. */
  generation: number;
  /** The specs last computed for this config, valid while the planned time stays in [from, until). */
  cache?: { from: number; until: number; specs: RuleSpec[] };
}

/** A user's config, with the account the user belongs to (their home), or null. */
export interface UserConfig extends ScopeConfig {
  account: string | null;
  /** True when the rules are the limiter's defaults. */
  isDefault: boolean;
}

export interface AccountConfig extends ScopeConfig {
  accountId: string;
}

/**
 * Plans the windows the store is asked about: keeps this process's view of each user's and
 * account's rules (checked by version inside every store operation, so a stale view costs a retry,
 * never a wrong answer) and an estimate of the store's clock, and computes candidate boundaries
 * around it.
 */
export class WindowPlanner {
  readonly #defaults: NormalizedRule[];
  readonly #clock: (() => number) | undefined;
  readonly #users: LruMap<string, UserConfig>;
  readonly #accounts: LruMap<string, AccountConfig>;
  readonly #boundaries = new LruMap<string, readonly [number, number, number, number]>(10_000);
  readonly #plans: PlanBook;
  readonly #defaultPlan: string | undefined;
  /** Store time minus local time, learned from replies. */
  #offset = 0;
  /** Shared by every user on the default rules, so that they share its spec cache too. */
  #defaultConfig: UserConfig;

  constructor(defaults: NormalizedRule[], clock: (() => number) | undefined, cacheSize: number, plans: PlanBook, defaultPlan?: string) {
    this.#defaults = defaults;
    this.#clock = clock;
    this.#users = new LruMap(cacheSize);
    this.#accounts = new LruMap(cacheSize);
    this.#plans = plans;
    this.#defaultPlan = defaultPlan;
    this.#defaultConfig = this.#userConfig({ version: 0, rules: null, anchor: null, plan: null }, null);
  }

  /** The limiter's clock if it has one (then it is sent to the store), else undefined. */
  explicitNow(): number | undefined {
    return this.#clock ? readClock(this.#clock) : undefined;
  }

  /** Best estimate of the store's time. */
  estimatedNow(): number {
    return this.#clock ? readClock(this.#clock) : Date.now() + this.#offset;
  }

  /** Learns the store's clock from a reply. */
  observe(storeNow: number, sentAt: number, receivedAt: number): void {
    if (this.#clock) return;
    this.#offset = storeNow - (sentAt + receivedAt) / 2;
  }

  userConfig(userId: string): UserConfig {
    const config = this.#users.get(userId);
    if (config) return this.#fresh(config) ? config : this.#learnUser(userId, storedOf(config), config.account);
    if (!this.#fresh(this.#defaultConfig)) this.#defaultConfig = this.#userConfig({ version: 0, rules: null, anchor: null, plan: null }, null);
    return this.#defaultConfig;
  }

  /** Where this process knows the user lives (their account, or null), or undefined if it does not know the user. */
  knownHome(userId: string): string | null | undefined {
    return this.#users.get(userId)?.account;
  }

  accountConfig(accountId: string): AccountConfig {
    const config = this.#accounts.get(accountId);
    if (config && this.#fresh(config)) return config;
    return this.learnAccount(accountId, config ? storedOf(config) : { version: 0, rules: null, anchor: null, plan: null });
  }

  /** True for the config every user not seen yet gets until the store says theirs (see userConfig). */
  isStandIn(config: UserConfig): boolean {
    return config === this.#defaultConfig;
  }

  /** Adopts a user's configuration and home as the store's admin read reported them. */
  adopt(userId: string, stored: StoredConfig, account: string | null): UserConfig {
    return this.#learnUser(userId, { version: stored.version, rules: stored.rules, anchor: stored.anchor, plan: stored.plan }, account);
  }

  /** Adopts the configuration a store reported for a user (keeping where they live). */
  learn(userId: string, stored: StoredConfig): UserConfig {
    return this.#learnUser(userId, stored, this.#users.get(userId)?.account ?? null);
  }

  /** Records where a user lives (a 'moved' reply, or the store's config view). */
  setHome(userId: string, account: string | null): UserConfig {
    const config = this.userConfig(userId);
    // Kept even when it is the default's home (null): where a user lives is then known (see knownHome).
    if (config.account === account && this.#users.has(userId)) return config;
    return this.#learnUser(userId, storedOf(config), account);
  }

  learnAccount(accountId: string, stored: StoredConfig): AccountConfig {
    const own = parseStored(stored.rules, 'account');
    const plan = stored.plan === null ? undefined : this.#plans.get(stored.plan);
    const config: AccountConfig = {
      accountId,
      version: stored.version,
      rules: own ?? plan?.rules ?? [],
      own,
      plan: stored.plan,
      anchor: null,
      source: own ? 'own' : plan ? 'plan' : 'none',
      rulesPlan: own ? null : plan ? stored.plan : null,
      planMissing: stored.plan !== null && !plan,
      generation: this.#plans.generation,
    };
    const unreadable = own || plan ? undefined : this.#plans.unreadable(stored.plan);
    if (unreadable) config.unreadablePlan = unreadable;
    this.#accounts.set(accountId, config);
    return config;
  }

  forget(userId: string): void {
    this.#users.delete(userId);
  }

  forgetAccount(accountId: string): void {
    this.#accounts.delete(accountId);
  }

  #learnUser(userId: string, stored: StoredConfig, account: string | null): UserConfig {
    const config = this.#userConfig(stored, account);
    this.#users.set(userId, config);
    return config;
  }

  #userConfig(stored: StoredConfig, account: string | null): UserConfig {
    const own = parseStored(stored.rules, 'user');
    const plan = stored.plan === null ? undefined : this.#plans.get(stored.plan);
    const fallback = this.#defaultPlan === undefined ? undefined : this.#plans.get(this.#defaultPlan);
    const source = own ? 'own' : plan ? 'plan' : fallback ? 'defaultPlan' : 'defaults';
    const unreadable =
      own || plan ? undefined : stored.plan !== null ? this.#plans.unreadable(stored.plan) : fallback ? undefined : this.#plans.unreadable(this.#defaultPlan ?? null);
    const config: UserConfig = {
      version: stored.version,
      rules: own ?? plan?.rules ?? fallback?.rules ?? this.#defaults,
      own,
      plan: stored.plan,
      anchor: stored.anchor,
      source,
      rulesPlan: source === 'plan' ? stored.plan : source === 'defaultPlan' ? this.#defaultPlan! : null,
      planMissing: stored.plan !== null && !plan,
      generation: this.#plans.generation,
      account,
      isDefault: source === 'defaults',
    };
    if (unreadable) config.unreadablePlan = unreadable;
    return config;
  }

  /** A config resolved from plans stays good until the plan book changes. */
  #fresh(config: ScopeConfig): boolean {
    return config.generation === this.#plans.generation || config.source === 'own';
  }

  /** Does any rule need the user's anchor that the user does not have yet? */
  needsUserAnchor(config: ScopeConfig): boolean {
    return config.anchor === null && config.rules.some((r) => needsAnchor(r.period) && r.period.kind !== 'calendar' && r.period.anchor === null);
  }

  /**
   * Rule specs with candidate windows around `at` (default: the estimated store time). The same
   * array is returned while `at` stays within the current windows of every rule, so that a store
   * can cache its encoding of them.
   */
  specs(config: ScopeConfig, at = this.estimatedNow()): RuleSpec[] {
    const cached = config.cache;
    if (cached && at >= cached.from && at < cached.until) return cached.specs;
    let from = Number.NEGATIVE_INFINITY;
    let until = Number.POSITIVE_INFINITY;
    const specs = config.rules.map((rule) => {
      const anchor = effectiveAnchor(rule.period, rule.zone, config.anchor) ?? (needsAnchor(rule.period) && 'accountId' in config ? accountAnchor(rule.zone) : null);
      const key = `${rule.fingerprint}|${anchor ?? ''}`;
      let b = this.#boundaries.get(key);
      if (!b || at < b[1] || at >= b[2]) {
        b = candidateBoundaries(rule.period, rule.zone, anchor, at);
        this.#boundaries.set(key, b);
      }
      from = Math.max(from, b[1]);
      until = Math.min(until, b[2]);
      // The fingerprint also covers the user's anchor, so that a new anchor starts a new window.
      const fingerprint = anchor === null || rule.period.kind === 'calendar' || rule.period.anchor !== null ? rule.fingerprint : `${rule.fingerprint}.${anchor}`;
      return { ruleId: rule.id, metric: rule.storeMetric, limit: rule.limit, fingerprint, boundaries: b };
    });
    config.cache = { from, until, specs };
    return specs;
  }
}

function storedOf(config: ScopeConfig): StoredConfig {
  return { version: config.version, rules: config.own === null ? null : JSON.stringify(config.own.map((r) => r.rule)), anchor: config.anchor, plan: config.plan };
}

/** A scope's stored own rules; a corrupt value is a store error, not user input. */
function parseStored(json: string | null, scope: 'user' | 'account'): NormalizedRule[] | null {
  if (json === null) return null;
  try {
    return deserializeRules(json);
  } catch (error) {
    throw new QuotaStoreError('read', `The store holds ${scope} rules that are not valid`, { cause: error });
  }
}

/**
 * The time of the limiter's own clock, in whole milliseconds as a Date keeps them: a clock built
 * on `performance.now()` has a fraction, which the stores' windows and RedisStore's scripts do not
 * take. A time that is not a number from 1970 to year 9999 (the range of periods) fails the call
 * that read it, before anything is held or changed.
 */
function readClock(clock: () => number): number {
  const value: unknown = clock();
  if (typeof value !== 'number' || !(value >= 0 && value < LATEST_TIME)) {
    throw new InvalidArgumentError('options.clock', value, 'expected the clock to return ms since the epoch, from 1970 to year 9999');
  }
  return Math.floor(value);
}
