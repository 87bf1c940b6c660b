import { QuotaStoreError } from '../kernel/errors.js';
import type { StoredPlan } from '../stores/protocol/types.js';
import { deserializeRules, type NormalizedRule } from './rules.js';

/** A plan as the engine uses it. */
export interface PlanRules {
  planId: string;
  version: number;
  rules: NormalizedRule[];
  users: number;
  accounts: number;
}

/**
 * This process's copy of the plans. Plans live in the store (every process agrees), outside any
 * user's slot, so a user's operation cannot check a plan's version atomically: the copy is read
 * again at most every `refreshMs` beside calls (never in their path), and at once after this
 * process changes a plan. A plan edit therefore reaches every process within `refreshMs`, and the
 * process that made it on its next call.
 */
export class PlanBook {
  #plans = new Map<string, PlanRules>();
  #loadedAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<void> | undefined;
  /** Bumped whenever the copy changes, so that configs resolved from it know they are stale. */
  generation = 0;

  constructor(
    readonly load: () => Promise<StoredPlan[]>,
    readonly refreshMs: number,
  ) {}

  get(planId: string): PlanRules | undefined {
    return this.#plans.get(planId);
  }

  all(): PlanRules[] {
    return [...this.#plans.values()];
  }

  /** True once a copy was loaded (before that, a plan not found may simply not be loaded yet). */
  get loaded(): boolean {
    return this.#loadedAt !== Number.NEGATIVE_INFINITY;
  }

  /** Starts a refresh if the copy is older than `refreshMs`; never throws. */
  maybeRefresh(): void {
    if (Date.now() - this.#loadedAt >= this.refreshMs) void this.refresh().catch(() => {});
  }

  /** Reads the plans again (one at a time). */
  refresh(): Promise<void> {
    this.#loading ??= this.load()
      .then((stored) => {
        const next = new Map<string, PlanRules>();
        for (const p of stored) {
          const known = this.#plans.get(p.planId);
          let rules: NormalizedRule[];
          try {
            rules = known && known.version === p.version ? known.rules : deserializeRules(p.rules);
          } catch (error) {
            throw new QuotaStoreError('plans', `The store holds rules of plan ${JSON.stringify(p.planId)} that are not valid`, { cause: error });
          }
          next.set(p.planId, { planId: p.planId, version: p.version, rules, users: p.users, accounts: p.accounts });
        }
        if (!sameVersions(this.#plans, next)) this.generation += 1;
        this.#plans = next;
        this.#loadedAt = Date.now();
      })
      .finally(() => {
        this.#loading = undefined;
      });
    return this.#loading;
  }
}

function sameVersions(a: Map<string, PlanRules>, b: Map<string, PlanRules>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, p] of a) if (b.get(id)?.version !== p.version) return false;
  return true;
}
