import { QuotaStoreError, TokenLimitExceededError, type Reservation, type TokenLimiter, type UsageRecord } from '../../../src/index.js';

/**
 * In-process call loops for the fault suite (the same bookkeeping as load-worker.ts, for scenarios
 * that run against a proxy in the test process): every operation is timed against a bound, and
 * what was admitted and committed is tallied per user.
 */
export interface DriverOptions {
  users: readonly string[];
  concurrency: number;
  /** Tokens held per call. */
  r: number;
  /** Tokens committed per call (≤ r). */
  a: (user: string) => number;
  providerMs: number;
  boundMs: { reserve: number; commit: number };
}

export interface Tally {
  calls: number;
  admitted: number;
  unmetered: number;
  rejected: number;
  storeErrors: number;
  otherErrors: string[];
  commitQueued: number;
  committedAll: Map<string, number>;
  late: number;
  maxMs: { reserve: number; commit: number };
  pending: number;
  /** Calls admitted and not yet committed (in the provider phase). */
  inProvider: number;
  usage: Map<string, number>;
}

export function createTally(): Tally {
  return {
    calls: 0,
    admitted: 0,
    unmetered: 0,
    rejected: 0,
    storeErrors: 0,
    otherErrors: [],
    commitQueued: 0,
    committedAll: new Map(),
    late: 0,
    maxMs: { reserve: 0, commit: 0 },
    pending: 0,
    inProvider: 0,
    usage: new Map(),
  };
}

/** Counts usage events per reservation id (more than one is a duplicate effect). */
export function countUsageEvents(limiter: TokenLimiter, tally: Tally): void {
  limiter.on('usage', (record: UsageRecord) => tally.usage.set(record.id, (tally.usage.get(record.id) ?? 0) + 1));
}

export async function timed<T>(tally: Tally, kind: 'reserve' | 'commit', bound: number, op: () => Promise<T>): Promise<T> {
  const started = performance.now();
  let settled = false;
  tally.pending += 1;
  const timer = setTimeout(() => {
    if (!settled) tally.late += 1;
  }, bound);
  try {
    return await op();
  } finally {
    settled = true;
    tally.pending -= 1;
    clearTimeout(timer);
    tally.maxMs[kind] = Math.max(tally.maxMs[kind], performance.now() - started);
  }
}

/** Runs call loops until `stop()`; resolves when every loop has finished its current call. */
export function drive(limiter: TokenLimiter, tally: Tally, o: DriverOptions): { stop(): Promise<void> } {
  let running = true;
  const loop = async () => {
    while (running) {
      const user = o.users[Math.floor(Math.random() * o.users.length)]!;
      tally.calls += 1;
      let reservation: Reservation;
      try {
        reservation = await timed(tally, 'reserve', o.boundMs.reserve, () => limiter.reserve(user, { tokens: o.r }));
      } catch (error) {
        if (error instanceof TokenLimitExceededError) tally.rejected += 1;
        else if (error instanceof QuotaStoreError) tally.storeErrors += 1;
        else if (tally.otherErrors.length < 5) tally.otherErrors.push(String(error));
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      if (reservation.unmetered) tally.unmetered += 1;
      else tally.admitted += 1;
      tally.inProvider += 1;
      await new Promise((resolve) => setTimeout(resolve, o.providerMs));
      tally.inProvider -= 1;
      const a = o.a(user);
      tally.committedAll.set(user, (tally.committedAll.get(user) ?? 0) + a);
      try {
        await timed(tally, 'commit', o.boundMs.commit, () => limiter.commit(reservation, { inputTokens: a, outputTokens: 0 }));
      } catch (error) {
        if (error instanceof QuotaStoreError && /queued/.test(error.message)) tally.commitQueued += 1;
        else if (tally.otherErrors.length < 5) tally.otherErrors.push(`commit: ${String(error)}`);
      }
    }
  };
  const loops = Array.from({ length: o.concurrency }, loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * Resolves once at least one call is in its provider phase (admitted, commit not yet sent), so a
 * fault started right after it (synchronously) is sure to catch a commit: on a loaded machine the
 * loops may all be waiting on reserves at any one moment, and a fault timed by a sleep alone would
 * then catch no commit at all.
 */
export async function untilCallInProvider(tally: Tally, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (tally.inProvider === 0) {
    if (Date.now() > deadline) throw new Error('no call reached its provider phase');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Waits until the limiter's queue of pending writes is empty (or the deadline passes). */
export async function drained(limiter: TokenLimiter, timeoutMs = 30_000): Promise<number> {
  const internals = limiter;
  const deadline = Date.now() + timeoutMs;
  while (internals.pendingWrites > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  return internals.pendingWrites;
}

export function sum(values: Iterable<number>): number {
  let n = 0;
  for (const v of values) n += v;
  return n;
}
