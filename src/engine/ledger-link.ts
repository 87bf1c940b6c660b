import type { LedgerLag, LedgerSource } from '../kernel/types.js';
import type { EngineCore } from './core.js';
import { LedgerDrainer } from './ledger-drain.js';

const HOUR_MS = 3_600_000;
/** The longest history read of the stores, by hour (see MAX_HISTORY_DAYS). */
const CHUNK_MS = 31 * 24 * HOUR_MS;

/** The engine's side of a ledger: the drainer (when this process drains) and the store's figures for reconciling. */
export class LedgerLink {
  readonly drainer: LedgerDrainer | undefined;

  constructor(readonly core: EngineCore) {
    const { ledger, store } = core.config;
    if (ledger === undefined || store.ledgerFeed === undefined) return;
    ledger.attach(storeSource(core));
    if (ledger.drain === false) return;
    this.drainer = new LedgerDrainer(store.ledgerFeed, ledger, ledger.drain, {
      error: (event) => {
        core.events.emit('ledger-error', event);
        const what = event.policy === 'dead-lettered' ? 'ledger records moved to the dead-letter stream, unwritten' : 'writing to the ledger failed';
        core.config.logger?.warn?.(`token-limits: ${what}`, { policy: event.policy, records: event.records, error: event.error.message });
      },
      lag: (lag) => core.events.emit('ledger-lag', lag),
      wantsLag: () => core.events.listenerCount('ledger-lag') > 0,
    });
    this.drainer.start();
  }

  async lag(): Promise<LedgerLag | null> {
    const feed = this.core.config.store.ledgerFeed;
    if (this.core.config.ledger === undefined || feed === undefined) return null;
    if (this.drainer !== undefined) return this.drainer.lag();
    const { pending, oldest } = await feed.lag();
    return { pending, oldestMs: oldest === null ? null : Math.max(0, Date.now() - oldest), written: 0, failures: 0 };
  }
}

/** The store's figures, from its hourly history (the same script step that charges a call counts it there). */
function storeSource(core: EngineCore): LedgerSource {
  const { admin } = core.config.store;
  const call = <T>(operation: string, fn: () => Promise<T>): Promise<T> => core.call(`ledger.${operation}`, fn);
  return {
    async listUserIds() {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await call('listUsers', () => admin.listUsers({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) }));
        ids.push(...page.userIds);
        cursor = page.next;
      } while (cursor !== undefined);
      return ids;
    },
    async usageOf(userId, from, to) {
      const total = { requests: 0, totalTokens: 0, costMicros: 0 };
      // The store keeps no hour older than its retention after that hour's month (nor any far
      // ahead of its clock): reading only where hours can be makes a range of years (from: 0)
      // cost what a range within the retention does, and answers the same.
      const now = core.planner.explicitNow() ?? Date.now();
      const first = Math.max(from, Math.floor((now - core.config.settings.userHistoryRetentionMs - 2 * CHUNK_MS) / HOUR_MS) * HOUR_MS);
      const end = Math.min(to, now + CHUNK_MS);
      for (let start = first; start < end; start += CHUNK_MS) {
        const stop = Math.min(end, start + CHUNK_MS);
        const buckets = await call('readHistory', () => admin.readHistory({ userId, from: start, to: stop, granularity: 'hour' }));
        for (const b of buckets) {
          total.requests += b.requests;
          total.totalTokens += b.inputTokens + b.outputTokens;
          total.costMicros += b.cost;
        }
      }
      return total;
    },
  };
}
