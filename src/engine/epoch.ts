import { QuotaStoreError } from '../kernel/errors.js';
import type { StoreResetEvent } from '../kernel/types.js';
import { LruMap } from '../kernel/lru.js';
import type { StoreEpoch, StoreMaintenance } from '../stores/protocol/types.js';
import type { EngineConfig } from './config.js';

/**
 * Watches the store's epoch marker, to notice when the store's data is lost (a Redis restarted
 * without persistence comes back empty): one small store call at most every `storeResetCheckMs`,
 * beside the calls, never in their path; and at once when a user this process saw holding state
 * comes back as new. Under `onStoreReset: 'deny'`, reserves are refused until the loss is
 * acknowledged (by any process).
 */
export class EpochWatch {
  readonly #seenUsers: LruMap<string, true>;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #check: Promise<void> | undefined;
  /** Set while the store's data is known lost and not acknowledged, under `onStoreReset: 'deny'`. */
  #reset: { epoch: string; previous: string } | undefined;

  constructor(
    readonly config: EngineConfig,
    readonly store: StoreMaintenance,
    readonly call: <T>(operation: string, fn: () => Promise<T>) => Promise<T>,
    readonly emit: (event: StoreResetEvent) => void,
  ) {
    this.#seenUsers = new LruMap(config.userCacheSize);
  }

  /**
   * Before a reserve: checks when due (first, under 'deny'); refuses while a loss is
   * unacknowledged. Returns nothing when there is nothing to wait for (the common case).
   */
  beforeReserve(): Promise<void> | undefined {
    if (this.config.onStoreReset === 'deny' && this.#checkedAt === Number.NEGATIVE_INFINITY) return this.check().then(() => this.refuseWhileReset());
    if (Date.now() - this.#checkedAt >= this.config.storeResetCheckMs) void this.check();
    return this.#reset ? this.refuseWhileReset() : undefined;
  }

  /**
   * After an admitted reserve: a user seen before that comes back new means the data may be lost
   * (check now). Under 'deny', a loss known by now refuses the call and releases its hold.
   */
  async afterReserve(userId: string, isNewUser: boolean, release: () => Promise<void>): Promise<void> {
    const seen = this.#seenUsers.get(userId) === true;
    this.#seenUsers.set(userId, true);
    if (this.config.onStoreReset !== 'deny') {
      if (isNewUser && seen) void this.check();
      return;
    }
    if (isNewUser && seen) await this.check();
    if (this.#reset) {
      await release().catch(() => {});
      await this.refuseWhileReset();
    }
  }

  forgetUser(userId: string): void {
    this.#seenUsers.delete(userId);
  }

  async acknowledge(): Promise<void> {
    await this.call('admin.acknowledgeStoreReset', () => this.store.acknowledgeReset());
    await this.check();
  }

  /** One check at a time; never throws (a failing store is reported by the operations themselves). */
  check(): Promise<void> {
    if (this.#check) return this.#check;
    this.#checkedAt = Date.now();
    this.#check = this.call('epoch', () => this.store.checkEpoch())
      .then(
        (epoch) => this.#onEpoch(epoch),
        () => {},
      )
      .finally(() => {
        this.#check = undefined;
      });
    return this.#check;
  }

  async refuseWhileReset(): Promise<void> {
    if (!this.#reset) return;
    // Re-read the marker (at most every 100 ms) to notice an acknowledgement made by any process;
    // a check already under way (beforeReserve starts one when due) is waited for, not ignored.
    if (this.#check) await this.#check;
    else if (Date.now() - this.#checkedAt >= Math.min(100, this.config.storeResetCheckMs)) await this.check();
    const reset = this.#reset;
    if (!reset) return;
    throw new QuotaStoreError(
      'reserve',
      `The quota store lost its data (epoch ${reset.previous} was replaced by ${reset.epoch}); calls are refused until admin.acknowledgeStoreReset() (onStoreReset: 'deny')`,
    );
  }

  #onEpoch(epoch: StoreEpoch | null): void {
    if (!epoch) return;
    if (epoch.reset) {
      this.#seenUsers.clear();
      this.config.logger?.error?.('token-limits: the quota store lost its data (epoch marker changed)', {
        epoch: epoch.id,
        previousEpoch: epoch.lost,
        policy: this.config.onStoreReset,
      });
      this.emit({ epoch: epoch.id, previousEpoch: epoch.lost, detectedAt: new Date(), policy: this.config.onStoreReset });
    }
    const unacknowledged = epoch.previous !== null && !epoch.acknowledged;
    this.#reset = this.config.onStoreReset === 'deny' && unacknowledged ? { epoch: epoch.id, previous: epoch.previous! } : undefined;
  }
}
