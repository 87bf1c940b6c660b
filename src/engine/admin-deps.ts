import { QuotaStoreError, TokenLimitsError } from '../kernel/errors.js';
import type { AccountUsage, UserUsage } from '../kernel/types.js';
import { isRefusal } from '../stores/protocol/refusal.js';
import { MoveUnderWay, type EngineCore } from './core.js';
import type { UserWindows } from './read.js';

/** What the admin functions need of the engine. */
export interface AdminDeps {
  core: EngineCore;
  /**
   * Waits (briefly) for this process's own writes, so that admin reads see them. Returns when the
   * admin call's time ends (ms since epoch) if the store went unanswered meanwhile: its next store
   * operation is then given what is left; undefined when the store answers.
   */
  settle(): Promise<number | undefined>;
  /** `until`: when the read must end, by default `storeTimeoutMs` from its start. */
  userUsage(userId: string, until?: number): Promise<UserUsage>;
  accountUsage(accountId: string, until?: number): Promise<AccountUsage>;
  readWindows(userId: string, until?: number): Promise<UserWindows>;
}

/**
 * The usage of each user of a listing's page, 50 reads at a time. A user whose stored data this
 * process cannot read (see unreadableData) is left out of the page and reported as a failed read
 * (`store-error` event and logger, with the user's id): one damaged user must not blank a whole
 * dashboard, and `UserUsage` has no field that could honestly say "unreadable". Any other failure
 * (the store down or slow) fails the page, as before: leaving users out then would hide an outage.
 */
export function usagesOf(deps: AdminDeps, operation: string, userIds: readonly string[]): Promise<UserUsage[]> {
  return readableOf(deps, operation, userIds, (id) => deps.userUsage(id), (id) => ({ userId: id }));
}

/**
 * What `read` answers for each id of a listing's page, 50 reads at a time, leaving out (and
 * reporting, named by `who`) each one whose stored data cannot be read; any other failure fails the
 * page. listAccounts uses it for accounts, as usagesOf does for users.
 */
export async function readableOf<T>(
  deps: AdminDeps,
  operation: string,
  ids: readonly string[],
  read: (id: string) => Promise<T>,
  who: (id: string) => { userId: string } | { accountId: string },
): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += 50) {
    const chunk = ids.slice(i, i + 50);
    const reads = await Promise.allSettled(chunk.map((id) => read(id)));
    const failed = reads.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !unreadableData(r.reason));
    if (failed) throw failed.reason;
    reads.forEach((r, j) => {
      if (r.status === 'fulfilled') out.push(r.value);
      else reportUnreadable(deps, `admin.${operation}`, r.reason as QuotaStoreError, who(chunk[j]!));
    });
  }
  return out;
}

/** A `store-error` event (policy `deny`: the item was not listed) and a logger warning, naming the item. */
function reportUnreadable(deps: AdminDeps, operation: string, error: QuotaStoreError, who: { userId: string } | { accountId: string }): void {
  const { core } = deps;
  if ('userId' in who) {
    core.storeError(operation, error, 'deny', who.userId);
    return;
  }
  core.events.emit('store-error', { operation, error, policy: 'deny', accountId: who.accountId });
  core.config.logger?.warn?.(`token-limits: ${operation} failed`, { policy: 'deny', error: error.message, accountId: who.accountId });
}

/**
 * Whether a read failed on what one user's stored data holds, rather than on the store: rules or a
 * plan this version cannot decode (the engine wraps the decoding error as the cause), a value the
 * store's scripts refuse (REFUSAL_PREFIX), or a key of the wrong type (hand-edited); or the user is
 * in a move between accounts that did not end within storeTimeoutMs (one that stopped half-way
 * stays so until setAccount finishes it). Reading again cannot fix these; an unreachable or slow
 * store is none of them.
 */
function unreadableData(error: unknown): boolean {
  if (!(error instanceof QuotaStoreError)) return false;
  if (error.cause instanceof TokenLimitsError || error.cause instanceof SyntaxError || error.cause instanceof MoveUnderWay) return true;
  return isRefusal(error) || error.message.includes('WRONGTYPE');
}

type Chunk = string | Uint8Array;

/**
 * `source` with a deadline of `timeoutMs` on each read until `lines` line ends came (a CSV's header
 * and first row, a JSON line) or it ended: the export's first read of the ledger. Without it, a
 * ledger that did not answer (a table locked by a migration, a database that accepts connections
 * and stalls) held `admin.exportUsage` and `GET /export` until the pg pool's own timeouts, if any.
 * A read past its deadline throws QuotaStoreError and closes `source`; the query it waited for is
 * observed, never unhandled. Written out rather than as an async generator: a generator's `return()`
 * before its first `next()` does not close what it wraps.
 */
export function firstAnswerWithin(source: AsyncIterable<Chunk>, lines: number, timeoutMs: number, operation: string): AsyncIterable<Chunk> {
  return {
    [Symbol.asyncIterator]() {
      const inner = source[Symbol.asyncIterator]();
      let seen = 0;
      const close = () => Promise.resolve(inner.return?.()).catch(() => undefined);
      return {
        async next() {
          if (seen >= lines) return inner.next();
          const read = inner.next();
          let timer: ReturnType<typeof setTimeout> | undefined;
          const late = new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              void close();
              reject(new QuotaStoreError(operation, `The ledger did not answer ${operation} within ${timeoutMs} ms`));
            }, timeoutMs);
            timer.unref?.();
          });
          read.catch(() => undefined);
          try {
            const result = await Promise.race([read, late]);
            if (result.done === true) seen = lines;
            else seen += lineEnds(result.value);
            return result;
          } finally {
            clearTimeout(timer);
          }
        },
        async return() {
          await close();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

function lineEnds(chunk: Chunk): number {
  let n = 0;
  if (typeof chunk === 'string') {
    for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) n += 1;
  } else {
    for (const byte of chunk) if (byte === 0x0a) n += 1;
  }
  return n;
}
