import { QuotaStoreError, TokenLimitsError } from '../kernel/errors.js';
import type { AccountUsage, UserUsage } from '../kernel/types.js';
import { isRefusal } from '../stores/protocol/refusal.js';
import { MoveUnderWay, type EngineCore } from './core.js';
import type { UserWindows } from './read.js';

/** What the admin functions need of the engine. */
export interface AdminDeps {
  core: EngineCore;
  /** Waits (briefly) for this process's own writes, so that admin reads see them. */
  settle(): Promise<void>;
  userUsage(userId: string): Promise<UserUsage>;
  accountUsage(accountId: string): Promise<AccountUsage>;
  readWindows(userId: string): Promise<UserWindows>;
}

/**
 * The usage of each user of a listing's page, 50 reads at a time. A user whose stored data this
 * process cannot read (see unreadableData) is left out of the page and reported as a failed read
 * (`store-error` event and logger, with the user's id): one damaged user must not blank a whole
 * dashboard, and `UserUsage` has no field that could honestly say "unreadable". Any other failure
 * (the store down or slow) fails the page, as before: leaving users out then would hide an outage.
 */
export async function usagesOf(deps: AdminDeps, operation: string, userIds: readonly string[]): Promise<UserUsage[]> {
  const users: UserUsage[] = [];
  for (let i = 0; i < userIds.length; i += 50) {
    const ids = userIds.slice(i, i + 50);
    const reads = await Promise.allSettled(ids.map((id) => deps.userUsage(id)));
    const failed = reads.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !unreadableData(r.reason));
    if (failed) throw failed.reason;
    reads.forEach((r, j) => {
      if (r.status === 'fulfilled') users.push(r.value);
      else deps.core.storeError(`admin.${operation}`, r.reason as QuotaStoreError, 'deny', ids[j]);
    });
  }
  return users;
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
