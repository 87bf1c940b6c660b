import { QuotaStoreError } from '../kernel/errors.js';
import { LruMap } from '../kernel/lru.js';
import { candidateBoundaries, effectiveAnchor, needsAnchor } from './periods.js';
import { deserializeRules, type NormalizedRule } from './rules.js';
import type { RuleSpec, StoredConfig } from '../stores/protocol/types.js';

/** A user's rules as this process believes the store has them. */
export interface UserConfig {
  version: number;
  rules: NormalizedRule[];
  anchor: number | null;
  /** True when the rules are the limiter's defaults. */
  isDefault: boolean;
  /** The specs last computed for this config, valid while the planned time stays in [from, until). */
  cache?: { from: number; until: number; specs: RuleSpec[] };
}

/**
 * Plans the windows the store is asked about: keeps this process's view of each user's rules
 * (checked by version inside every store operation, so a stale view costs a retry, never a wrong
 * answer) and an estimate of the store's clock, and computes candidate boundaries around it.
 */
export class WindowPlanner {
  readonly #defaults: NormalizedRule[];
  readonly #clock: (() => number) | undefined;
  readonly #users: LruMap<string, UserConfig>;
  readonly #boundaries = new LruMap<string, readonly [number, number, number, number]>(10_000);
  /** Store time minus local time, learned from replies. */
  #offset = 0;

  /** Shared by every user on the default rules, so that they share its spec cache too. */
  readonly #defaultConfig: UserConfig;

  constructor(defaults: NormalizedRule[], clock: (() => number) | undefined, cacheSize: number) {
    this.#defaults = defaults;
    this.#clock = clock;
    this.#users = new LruMap(cacheSize);
    this.#defaultConfig = { version: 0, rules: defaults, anchor: null, isDefault: true };
  }

  /** The limiter's clock if it has one (then it is sent to the store), else undefined. */
  explicitNow(): number | undefined {
    return this.#clock?.();
  }

  /** Best estimate of the store's time. */
  estimatedNow(): number {
    return this.#clock ? this.#clock() : Date.now() + this.#offset;
  }

  /** Learns the store's clock from a reply. */
  observe(storeNow: number, sentAt: number, receivedAt: number): void {
    if (this.#clock) return;
    this.#offset = storeNow - (sentAt + receivedAt) / 2;
  }

  userConfig(userId: string): UserConfig {
    return this.#users.get(userId) ?? this.#defaultConfig;
  }

  /** Adopts the configuration a store reported. */
  learn(userId: string, stored: StoredConfig): UserConfig {
    let rules = this.#defaults;
    if (stored.rules !== null) {
      try {
        rules = deserializeRules(stored.rules);
      } catch (error) {
        throw new QuotaStoreError('read', 'The store holds rules that are not valid', { cause: error });
      }
    }
    const config: UserConfig = { version: stored.version, rules, anchor: stored.anchor, isDefault: stored.rules === null };
    this.#users.set(userId, config);
    return config;
  }

  forget(userId: string): void {
    this.#users.delete(userId);
  }

  /** Does any rule need the user's anchor that the user does not have yet? */
  needsUserAnchor(config: UserConfig): boolean {
    return config.anchor === null && config.rules.some((r) => needsAnchor(r.period) && r.period.kind !== 'calendar' && r.period.anchor === null);
  }

  /**
   * Rule specs with candidate windows around `at` (default: the estimated store time). The same
   * array is returned while `at` stays within the current windows of every rule, so that a store
   * can cache its encoding of them.
   */
  specs(config: UserConfig, at = this.estimatedNow()): RuleSpec[] {
    const cached = config.cache;
    if (cached && at >= cached.from && at < cached.until) return cached.specs;
    let from = Number.NEGATIVE_INFINITY;
    let until = Number.POSITIVE_INFINITY;
    const specs = config.rules.map((rule) => {
      const anchor = effectiveAnchor(rule.period, rule.zone, config.anchor);
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
