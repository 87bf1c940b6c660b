import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../../kernel/errors.js';
import { isPlainObject, rejectUnknownKeys } from '../../kernel/validate.js';
import type { HotPath, LedgerFeed, QuotaStore, StoreAdmin, StoreEpoch, StoreMaintenance, StoreSettings } from '../protocol/types.js';
import { redisAdmin } from './admin.js';
import { Aggregator } from './aggregator.js';
import { RedisContext } from './context.js';
import { redisHotPath } from './hot-path.js';
import { redisLedgerFeed } from './ledger-feed.js';
import { SCRIPTS } from './registry.js';
import type { RedisLikeClient } from './scripts.js';

/** Options of the Redis store. */
export interface RedisStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster` (or any client with the same `evalsha`/`eval`). Where it also
   * has `fcall` and `call`, the hot path runs as a Redis Functions library once loaded (falling back
   * to EVALSHA by itself where FUNCTION is refused; see docs/stores.md). The store never closes it. Recommended ioredis settings: `commandTimeout`, a small `maxRetriesPerRequest`.
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
 * Redis server's clock deciding periods. Requires Redis 7.0 or later (script flags, PEXPIRE options).
 */
export class RedisStore implements QuotaStore {
  readonly kind = 'redis';
  readonly hotPath: HotPath;
  readonly admin: StoreAdmin;
  readonly maintenance: StoreMaintenance;
  /** The ledger streams (used only when a ledger is configured). */
  readonly ledgerFeed: LedgerFeed;
  readonly #ctx: RedisContext;
  readonly #aggregator: Aggregator;
  /** Reports background failures (set by the engine in `configure`). */
  #report: StoreSettings['report'];
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
    this.#ctx = new RedisContext(options.client, prefix);
    this.#aggregator = new Aggregator(this.#ctx, (error, dropped) => this.#report?.({ operation: 'aggregate', error, dropped }));
    const ledger = redisLedgerFeed(this.#ctx);
    this.ledgerFeed = ledger;
    this.hotPath = redisHotPath(this.#ctx, this.#aggregator, ledger);
    this.admin = redisAdmin(this.#ctx);
    this.maintenance = {
      configure: (settings) => {
        this.#ctx.settings = settings;
        this.#report = settings.report;
      },
      warmup: () => this.#warmup(),
      checkEpoch: () => this.#checkEpoch(),
      acknowledgeReset: async () => {
        await this.#ctx.run(SCRIPTS.epochAck, [this.#ctx.global.epoch], []);
      },
      flush: () => this.#aggregator.flush(Date.now() + this.#ctx.settings.operationTimeoutMs),
      close: async () => {
        await this.#aggregator.flush(Date.now() + this.#ctx.settings.operationTimeoutMs).catch(() => {});
        this.#aggregator.stop();
      },
    };
  }

  /** Loads every script into the server's cache (also done lazily on NOSCRIPT). */
  async #warmup(): Promise<void> {
    const loader = this.#ctx.client as unknown as { script?: (op: string, source: string) => Promise<unknown> };
    if (typeof loader.script !== 'function') return;
    // A Cluster needs the scripts on every master; EVALSHA falls back to EVAL where one is missing.
    await Promise.all(Object.values(SCRIPTS).map((s) => loader.script!('LOAD', s.source)));
  }

  /**
   * The epoch marker `<prefix>:{g}:epoch`: created on first use with a random id. If the data is
   * lost (Redis restarted without persistence, FLUSHALL), the marker is gone too: the next check
   * recreates it with a new id, remembering the lost one, and every process that had seen the old
   * id reports `reset` at its next check. One small script call, never on a reserve's path.
   */
  async #checkEpoch(): Promise<StoreEpoch> {
    const known = this.#epoch;
    const [id, created, previous, ack] = await this.#ctx.runArray(SCRIPTS.epoch, [this.#ctx.global.epoch], [randomBytes(12).toString('hex'), known ?? '']);
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
}
