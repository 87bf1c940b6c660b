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
 * This process's copy of the plans. Plans live in the store (every process agrees) under the global
 * hash tag, outside any user's slot, so a user's operation cannot check a plan's version atomically
 * (on a Cluster the plan is on another node). Checking it on every call would put one key on every
 * call's path, and bumping every member's version on an edit would write to each of a plan's users:
 * instead the copy is kept at most `planRefreshMs` old (see EngineCore.plansReady) and read at once
 * after this process changes a plan, or meets a plan it does not know. A plan edit therefore
 * reaches every process within `planRefreshMs`, and the process that made it on its next call.
 */
export class PlanBook {
  #plans = new Map<string, PlanRules>();
  /** The JSON each plan in the copy was read from: its rules are reused only for the same text. */
  #json = new Map<string, string>();
  /**
   * Plans the store holds that this process cannot read (written by a newer version, or damaged),
   * with the error their users' calls fail with. Left out of the copy, not failing the whole read:
   * one such plan made every call of every plan's users fail.
   */
  #unreadable = new Map<string, QuotaStoreError>();
  #loadedAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<void> | undefined;
  /** A read to start once the one under way ends (see refresh), shared by the callers meanwhile. */
  #next: Promise<void> | undefined;
  /** When the last read failed (the store did not answer); -Infinity after a success. */
  failedAt = Number.NEGATIVE_INFINITY;
  /** Bumped whenever the copy changes, so that configs resolved from it know they are stale. */
  generation = 0;

  constructor(readonly load: () => Promise<StoredPlan[]>) {}

  get(planId: string): PlanRules | undefined {
    return this.#plans.get(planId);
  }

  /** The plans the store holds that the copy lacks, as they cannot be read, with why. */
  unreadablePlans(): ReadonlyMap<string, QuotaStoreError> {
    return this.#unreadable;
  }

  /** Why plan `planId` is not in the copy although the store holds it (see #unreadable), if so. */
  unreadable(planId: string | null): QuotaStoreError | undefined {
    return planId === null ? undefined : this.#unreadable.get(planId);
  }

  all(): PlanRules[] {
    return [...this.#plans.values()];
  }

  /** True once a copy was loaded (before that, a plan not found may simply not be loaded yet). */
  get loaded(): boolean {
    return this.#loadedAt !== Number.NEGATIVE_INFINITY;
  }

  /** How old the copy is (ms); infinite before the first read. */
  age(): number {
    return Date.now() - this.#loadedAt;
  }

  /** Starts a refresh in the background (unless one is running); never throws. */
  refreshBeside(): void {
    if (!this.#loading) void this.#read().catch(() => {});
  }

  /**
   * The plans as they are now: a read that starts no earlier than this call. A read already under
   * way may have started before what the caller must see (a plan it has just written, a plan
   * another process created that a user's config names): the copy is read once more after it
   * (one read for every caller meanwhile). Joining it instead left this process on the plan before
   * an edit, and checked a user whose plan it missed against the default rules.
   */
  refresh(): Promise<void> {
    const underWay = this.#loading;
    if (underWay === undefined) return this.#read();
    this.#next ??= underWay
      .catch(() => {})
      .then(() => {
        this.#next = undefined;
        // A read started since the one waited for ended started after this call too.
        return this.#loading ?? this.#read();
      });
    return this.#next;
  }

  /** The read under way, or a new one (one at a time). */
  readUnderWay(): Promise<void> {
    return this.#loading ?? this.#read();
  }

  #read(): Promise<void> {
    this.#loading ??= this.load()
      .then((stored) => {
        const next = new Map<string, PlanRules>();
        const json = new Map<string, string>();
        const unreadable = new Map<string, QuotaStoreError>();
        for (const p of stored) {
          const known = this.#plans.get(p.planId);
          let rules: NormalizedRule[];
          try {
            // Same version and same text: a plan deleted and created again (by a store that reused
            // its version) or restored from a backup brings other rules under a version seen before.
            const same = known !== undefined && known.version === p.version && this.#json.get(p.planId) === p.rules;
            rules = same ? known.rules : deserializeRules(p.rules);
          } catch (error) {
            const message = `The store holds rules of plan ${JSON.stringify(p.planId)} that this version cannot read (written by a newer one, or damaged)`;
            unreadable.set(p.planId, new QuotaStoreError('plans', message, { cause: error }));
            continue;
          }
          next.set(p.planId, { planId: p.planId, version: p.version, rules, users: p.users, accounts: p.accounts });
          json.set(p.planId, p.rules);
        }
        // A plan that became unreadable (or readable again) changes what its users' configs say.
        if (!sameVersions(this.#plans, next) || !sameTexts(this.#json, json) || !sameKeys(this.#unreadable, unreadable)) this.generation += 1;
        this.#plans = next;
        this.#json = json;
        this.#unreadable = unreadable;
        this.#loadedAt = Date.now();
        this.failedAt = Number.NEGATIVE_INFINITY;
      })
      .catch((error: unknown) => {
        this.failedAt = Date.now();
        throw error;
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

function sameTexts(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, text] of a) if (b.get(id) !== text) return false;
  return true;
}

function sameKeys(a: Map<string, unknown>, b: Map<string, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const id of a.keys()) if (!b.has(id)) return false;
  return true;
}
