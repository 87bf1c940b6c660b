import { MemoryStore, QuotaStoreError, type QuotaStore } from '../../src/index.js';

export type FlakyMode = 'ok' | 'fail' | 'hang' | 'apply-then-hang';

/**
 * A store that delegates to a real MemoryStore but can fail, hang, or apply a write and never
 * answer (the ambiguous timeout of reliability.md finding 2). A test double of the store, not of Redis.
 */
export function flakyStore(inner: QuotaStore = new MemoryStore()) {
  let mode: FlakyMode = 'ok';
  const calls: string[] = [];
  const part = <P extends object>(target: P, skip: readonly string[] = []): P =>
    new Proxy(target, {
      get(real, key) {
        const value = Reflect.get(real, key, real) as unknown;
        if (typeof value !== 'function') return value;
        if (skip.includes(String(key))) return (value as (...a: unknown[]) => unknown).bind(real);
        return (...args: unknown[]) => {
          calls.push(String(key));
          if (mode === 'fail') return Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6399'));
          if (mode === 'hang') return new Promise(() => {});
          if (mode === 'apply-then-hang') {
            void (value as (...a: unknown[]) => Promise<unknown>).apply(real, args);
            return new Promise(() => {});
          }
          return (value as (...a: unknown[]) => Promise<unknown>).apply(real, args);
        };
      },
    });
  const store: QuotaStore = {
    kind: inner.kind,
    hotPath: part(inner.hotPath),
    admin: part(inner.admin),
    maintenance: part(inner.maintenance, ['configure', 'close']),
  };
  return {
    store,
    calls,
    set(next: FlakyMode) {
      mode = next;
    },
  };
}

export { QuotaStoreError };

/**
 * `inner` with its hot path's `commit` replaced by `commit` (which gets the real one to call when
 * it wants): a commit held at a gate, or failing for some users only. A test double of the store.
 */
export function withCommit(
  inner: QuotaStore,
  commit: (command: Parameters<QuotaStore['hotPath']['commit']>[0], real: QuotaStore['hotPath']['commit']) => ReturnType<QuotaStore['hotPath']['commit']>,
): QuotaStore {
  const real = inner.hotPath.commit.bind(inner.hotPath);
  return {
    kind: inner.kind,
    hotPath: {
      reserve: inner.hotPath.reserve.bind(inner.hotPath),
      release: inner.hotPath.release.bind(inner.hotPath),
      renew: inner.hotPath.renew.bind(inner.hotPath),
      commit: (c) => commit(c, real),
    },
    admin: inner.admin,
    maintenance: inner.maintenance,
    ...(inner.ledgerFeed === undefined ? {} : { ledgerFeed: inner.ledgerFeed }),
  };
}
