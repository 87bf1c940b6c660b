import { QuotaStoreError, TokenLimitsError } from '../kernel/errors.js';
import { isRefusal } from '../stores/protocol/refusal.js';
import { deadlines, type Deadline } from './deadlines.js';

/**
 * Runs one store operation with a deadline; any failure becomes a `QuotaStoreError` that carries no
 * secret (ioredis puts command arguments, AUTH included, on its errors: only the message is kept).
 * A timed-out operation may still complete later; its promise is observed so it never rejects
 * unhandled.
 */
export function storeCall<T>(operation: string, timeoutMs: number, fn: () => Promise<T>, until?: number, onNoAnswer?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const expire = (): void => {
      onNoAnswer?.();
      reject(new QuotaStoreError(operation, `The quota store did not answer ${operation} within ${timeoutMs} ms`));
    };
    const deadline = until === undefined ? deadlines(timeoutMs).add(expire) : deadlineAt(until, timeoutMs, expire);
    let op: Promise<T>;
    try {
      op = fn();
    } catch (error) {
      op = Promise.reject(error);
    }
    // The operation may settle after the deadline: its outcome is then ignored, never unhandled.
    op.then(
      (value) => {
        deadline.cancel();
        resolve(value);
      },
      (error: unknown) => {
        deadline.cancel();
        reject(error instanceof TokenLimitsError ? error : new QuotaStoreError(operation, `The quota store failed on ${operation}: ${messageOf(error)}`, { cause: sanitize(error) }));
      },
    );
  });
}

/**
 * The deadline of an operation that must end by `until` (ms since epoch), the end of the public
 * call it belongs to: its earlier steps (waiting for this process's own writes, a read of the
 * plans) used part of the call's `storeTimeoutMs`, and waits must not add up past it. Nearly the
 * whole time left (the common case: nothing waited) shares the timers of `timeoutMs` long deadlines
 * (a few ms late at most); less, rare and only after a wait, has a timer of its own.
 */
function deadlineAt(until: number, timeoutMs: number, expire: () => void): Deadline {
  const left = until - Date.now();
  if (left > timeoutMs - SHARED_TIMER_SLACK_MS) return deadlines(timeoutMs).add(expire);
  const timer = setTimeout(expire, Math.max(0, left));
  timer.unref?.();
  return { cancel: () => clearTimeout(timer) };
}

/** How far past a call's deadline an operation that shares the common timers may end. */
const SHARED_TIMER_SLACK_MS = 5;

/**
 * A store failure that retrying cannot fix: the store refused the command itself (the Redis
 * scripts' own validation, `ERR token-limits: ...`), as opposed to an unreachable or slow store.
 */
export function isPermanentStoreError(error: unknown): boolean {
  if (!(error instanceof TokenLimitsError)) return false;
  if (!(error instanceof QuotaStoreError)) return true;
  return isRefusal(error);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sanitize(error: unknown): Error {
  const clean = new Error(messageOf(error));
  clean.name = error instanceof Error ? error.name : 'Error';
  return clean;
}

/**
 * `source` as it is read, with any failure a `QuotaStoreError` carrying no secret, as storeCall
 * makes them (a database driver's error may hold its connection settings). No deadline: a page of
 * a long export may take its time. A reader that stops early closes `source`.
 */
export async function* ledgerErrors<T>(source: AsyncIterable<T>, operation: string): AsyncGenerator<T, void, undefined> {
  try {
    for await (const item of source) yield item;
  } catch (error) {
    throw error instanceof TokenLimitsError ? error : new QuotaStoreError(operation, `The ledger failed on ${operation}: ${messageOf(error)}`, { cause: sanitize(error) });
  }
}
