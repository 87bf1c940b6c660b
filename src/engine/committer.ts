import { QuotaStoreError } from '../kernel/errors.js';
import { isPermanentStoreError } from './store-call.js';

/** A write after the call (a commit or a release); idempotent by reservation id, so retries are safe. */
export interface BackgroundWrite<T> {
  kind: 'commit' | 'release';
  userId: string;
  reservationId: string;
  /** One try; rejects with a `QuotaStoreError` when the store failed. */
  attempt(): Promise<T>;
}

export interface CommitterEvents {
  /** The first try failed; the write waits in the queue. */
  queued(write: BackgroundWrite<unknown>, error: QuotaStoreError): void;
  /** A retry of a queued write failed as the store still fails (retrying can still help). */
  retryFailed(write: BackgroundWrite<unknown>, error: QuotaStoreError): void;
  /** The write was given up: the queue was full, or the store refused it for good. */
  dropped(write: BackgroundWrite<unknown>, error: QuotaStoreError): void;
}

interface Queued {
  write: BackgroundWrite<unknown>;
  attempts: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Retries on their way to the store: while one is, it may land, so the write is not the one to drop. */
  retrying: number;
  dueAt: number;
  finished: Promise<void>;
  finish(): void;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2_000;

/**
 * Commits and releases, off the caller's path. A write is tried at the end of the current turn of
 * the event loop (see `#startWaiting`); if the store fails it is queued and retried on its own
 * schedule (exponential backoff per write, so one write that keeps failing never holds the others
 * back), and all queued writes are retried as soon as the store answers anything again. A write
 * the store refuses for good (its own validation) is dropped with an event. The queue is bounded:
 * beyond `max`, the oldest write not being retried at that moment is dropped with an event (one
 * being retried may land, and a write reported dropped must not).
 * `flush` resolves once every write handed over before it has landed (or was dropped).
 */
export class Committer {
  /**
   * Writes started or waiting to start, by the user they are for: a refused reserve and a read
   * wait for their user's (`writesOf`), which then costs the same however many writes of other
   * users are in flight (a scan of them all took 124 µs with 10,000 in flight, as a slow store
   * under load can have).
   */
  readonly #inFlight = new Map<string, Array<Promise<unknown>>>();
  /** The same writes, each with its first try: what `flush` follows until each has landed. */
  readonly #trying = new Map<BackgroundWrite<unknown>, Promise<unknown>>();
  readonly #queue = new Map<BackgroundWrite<unknown>, Queued>();
  /** Writes handed over in this turn of the event loop, not started yet (see `#startWaiting`). */
  #waiting: Array<() => void> = [];
  #closed = false;
  #lastWake = 0;

  constructor(
    readonly max: number,
    readonly events: CommitterEvents,
  ) {}

  get pending(): number {
    let queuedOnly = 0;
    for (const write of this.#queue.keys()) if (!this.#trying.has(write)) queuedOnly += 1;
    return this.#trying.size + queuedOnly;
  }

  /**
   * Tries `write` once the current turn of the event loop is over (see `#startWaiting`).
   * Resolves with its result; rejects with the first failure (the write stays queued if retrying
   * can help).
   */
  run<T>(write: BackgroundWrite<T>): Promise<T> {
    const tracked = new Promise<T>((resolve, reject) => {
      this.#waiting.push(() => {
        try {
          write.attempt().then(resolve, reject);
        } catch (error) {
          reject(error);
        }
      });
      if (this.#waiting.length === 1) setImmediate(this.#startWaiting);
    }).then(undefined, (error: unknown) => {
      // A write the store refuses (its scripts' own validation) is never retried: reported as
      // dropped, as a queued write given up is, so that it is never silently left uncharged.
      if (error instanceof QuotaStoreError && isPermanentStoreError(error)) this.events.dropped(write as BackgroundWrite<unknown>, error);
      if (!(error instanceof QuotaStoreError) || isPermanentStoreError(error)) throw error;
      // Closed: nothing retries it any more, so it is lost; reported as such, never silently.
      if (this.#closed) {
        this.events.dropped(write as BackgroundWrite<unknown>, error);
        throw error;
      }
      this.#enqueue(write as BackgroundWrite<unknown>);
      this.events.queued(write as BackgroundWrite<unknown>, error);
      throw new QuotaStoreError(write.kind, `${error.message}; the ${write.kind} is queued and will be retried`, { cause: error });
    });
    const userId = write.userId;
    const mine = this.#inFlight.get(userId);
    if (mine === undefined) this.#inFlight.set(userId, [tracked]);
    else mine.push(tracked);
    this.#trying.set(write as BackgroundWrite<unknown>, tracked);
    const done = (): void => {
      this.#trying.delete(write as BackgroundWrite<unknown>);
      const writes = this.#inFlight.get(userId)!;
      if (writes.length === 1) this.#inFlight.delete(userId);
      else writes.splice(writes.indexOf(tracked), 1);
    };
    tracked.then(done, done);
    return tracked;
  }

  /**
   * Starts the writes handed over so far. They wait for the end of the turn in which they were
   * handed over so that the code that turn resumes comes first: a wrapped call's result reaches its
   * caller before its commit is built and sent, instead of after (the commit's CPU time, 18-28 µs
   * with MemoryStore, is then off the caller's path). `flush` starts them at once, so that it never
   * depends on a timer (an application's fake timers included).
   */
  readonly #startWaiting = (): void => {
    const waiting = this.#waiting;
    if (waiting.length === 0) return;
    this.#waiting = [];
    for (const start of waiting) start();
  };

  /**
   * Starts the waiting writes; then, if some of `userId`'s writes have not landed yet, a promise
   * that resolves once they have (or failed: each try is bounded by the store deadline). Reads and
   * refused reserves wait for it, so that they see what this process committed before (writes
   * queued for retry are not waited for).
   */
  writesOf(userId: string): Promise<void> | undefined {
    this.#startWaiting();
    const mine = this.#inFlight.get(userId);
    return mine && Promise.allSettled(mine).then(() => undefined);
  }

  /** The store answered: queued writes are retried now rather than at their backoff time. */
  storeAnswered(): void {
    if (this.#queue.size === 0 || this.#closed) return;
    const now = Date.now();
    if (now - this.#lastWake < 50) return;
    this.#lastWake = now;
    let i = 0;
    for (const item of this.#queue.values()) {
      if (item.dueAt - now > 20) this.#schedule(item, Math.min(500, (i += 1)));
    }
  }

  /**
   * Resolves once every write handed over so far has landed or was dropped; rejects at `deadline`
   * otherwise. A write whose try fails while this waits is queued, and then waited for too: its
   * first try ending is not its landing.
   */
  async flush(deadline: number): Promise<void> {
    this.#startWaiting();
    const followed = new Set([...this.#trying.keys(), ...this.#queue.keys()]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()));
      timer.unref?.();
    });
    try {
      for (;;) {
        const waits: Array<Promise<unknown>> = [];
        for (const write of followed) {
          const queued = this.#queue.get(write);
          const trying = this.#trying.get(write);
          if (queued !== undefined) {
            // Retried now rather than at its backoff time (once per round: a retry on its way stays).
            if (queued.retrying === 0) this.#schedule(queued, 0);
            waits.push(queued.finished);
          } else if (trying !== undefined) {
            waits.push(trying);
          } else {
            followed.delete(write);
          }
        }
        if (waits.length === 0) return;
        const outcome = await Promise.race([Promise.allSettled(waits).then(() => 'done' as const), timeout]);
        if (outcome === 'timeout') {
          throw new QuotaStoreError('flush', `${this.pending} commits or releases are still waiting for the quota store`);
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops retrying after one last try of every queued write (within `deadline`). A write still
   * queued then, or whose try still running fails later, is lost: each is reported as dropped.
   */
  async close(deadline: number): Promise<void> {
    await this.flush(deadline).catch(() => {});
    this.#closed = true;
    for (const item of [...this.#queue.values()]) {
      if (item.retrying > 0) continue; // its try may still land; if it fails, #retry reports it
      this.#remove(item);
      this.events.dropped(item.write, new QuotaStoreError(item.write.kind, `The limiter closed before the quota store took this ${item.write.kind}`));
    }
  }

  #enqueue(write: BackgroundWrite<unknown>): void {
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const item: Queued = { write, attempts: 0, timer: undefined, retrying: 0, dueAt: 0, finished, finish };
    this.#queue.set(write, item);
    if (this.#queue.size > this.max) {
      // The new write is not being retried, so there is always one to drop.
      let oldest = item;
      for (const queued of this.#queue.values()) {
        if (queued.retrying === 0) {
          oldest = queued;
          break;
        }
      }
      this.#remove(oldest);
      this.events.dropped(oldest.write, new QuotaStoreError(oldest.write.kind, `The queue of writes waiting for the store is full: a ${oldest.write.kind} was dropped`));
    }
    this.#schedule(item, backoff(0));
  }

  #schedule(item: Queued, delay: number): void {
    if (this.#closed || !this.#queue.has(item.write)) return;
    clearTimeout(item.timer);
    item.dueAt = Date.now() + delay;
    item.timer = setTimeout(() => void this.#retry(item), delay);
    item.timer.unref?.();
  }

  async #retry(item: Queued): Promise<void> {
    item.timer = undefined;
    item.retrying += 1;
    try {
      await item.write.attempt();
      item.retrying -= 1;
      this.#remove(item);
    } catch (error) {
      item.retrying -= 1;
      if (!this.#queue.has(item.write)) return;
      // After close() nothing retries it: lost, and reported as such.
      if (isPermanentStoreError(error) || !(error instanceof QuotaStoreError) || this.#closed) {
        this.#remove(item);
        const reason = error instanceof QuotaStoreError ? error : new QuotaStoreError(item.write.kind, (error as Error).message, { cause: error });
        this.events.dropped(item.write, reason);
        return;
      }
      item.attempts += 1;
      this.events.retryFailed(item.write, error);
      this.#schedule(item, backoff(item.attempts));
    }
  }

  #remove(item: Queued): void {
    clearTimeout(item.timer);
    this.#queue.delete(item.write);
    item.finish();
  }
}

function backoff(attempts: number): number {
  const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempts);
  return Math.round(base * (0.75 + Math.random() * 0.25));
}
