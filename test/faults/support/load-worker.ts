/**
 * A load process for the fault suite: runs `concurrency` call loops (reserve, a simulated provider
 * call, commit) against a RedisStore until told to stop, timing every operation, then drains the
 * limiter's pending writes and reports what it saw. Started by `workers.ts` with `fork()`.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { createTokenLimiter, QuotaStoreError, RedisStore, TokenLimitExceededError, type Reservation } from '../../../src/index.js';

export interface HotUser {
  id: string;
  /** Tokens held per call; the commit charges exactly this much (a = r). */
  r: number;
  /** Fraction of calls that go to this user. */
  share: number;
}

export interface LoadConfig {
  redis: { url: string } | { cluster: Array<{ host: string; port: number }> };
  redisOptions?: RedisOptions;
  prefix: string;
  onStoreError: 'deny' | 'allow';
  onStoreReset?: 'continue' | 'deny';
  storeTimeoutMs: number;
  leaseMs: number;
  concurrency: number;
  hot: HotUser[];
  /** Users with the default (huge) limit; each call holds `coldR` and commits 1..coldR. */
  coldUsers: number;
  coldR: number;
  /** Simulated provider call between reserve and commit. */
  providerMs: number;
  /** An operation still pending after this long counts as late (hung). */
  boundMs: { reserve: number; commit: number };
  /** Default rule limit (tokens per month). */
  defaultLimit: number;
}

export interface UserTally {
  /** Calls admitted with a hold (metered). */
  admitted: number;
  /** Calls let through unmetered (onStoreError: 'allow'). */
  unmetered: number;
  unmeteredTokens: number;
  /** Tokens of every commit made for admitted calls (acknowledged, queued, or failed). */
  committedAll: number;
  /** Tokens of commits acknowledged to the caller. */
  committedAck: number;
}

export interface WorkerReport {
  pid: number;
  calls: number;
  rejected: number;
  storeErrors: number;
  /** Messages of the first store errors (distinct). */
  storeErrorSamples: string[];
  otherErrors: string[];
  commitQueued: number;
  commitFailed: number;
  maxMs: { reserve: number; commit: number };
  /** Operations still pending when their bound passed (settled later, or never). */
  late: { reserve: number; commit: number };
  /** Operations that never settled before the report (hung for good). */
  neverSettled: number;
  users: Record<string, UserTally>;
  usageEvents: number;
  duplicateUsageEvents: number;
  storeResetEvents: number;
  pendingAtEnd: number;
}

type Message =
  | { type: 'start' }
  | { type: 'stop' }
  /**
   * Fires `count` reserves at once for one user, then commits the admitted ones with `a` each
   * (or, with `a` null, keeps them held until 'commit-held').
   */
  | { type: 'stampede'; user: string; count: number; r: number; a: number | null }
  | { type: 'commit-held'; a: number }
  /** Reserves `count` holds and answers 'held' (then waits to be killed: a crash between reserve and commit). */
  | { type: 'hold'; user: string; count: number; r: number };

export interface StampedeReport {
  admitted: number;
  rejected: number;
  storeErrors: number;
  otherErrors: string[];
  committed: number;
  maxMs: number;
}

const config = JSON.parse(process.argv[2]!) as LoadConfig;
const client =
  'url' in config.redis
    ? new Redis(config.redis.url, config.redisOptions ?? {})
    : new Cluster(config.redis.cluster, { redisOptions: config.redisOptions ?? {}, scaleReads: 'master' });
client.on('error', () => {});
const limiter = createTokenLimiter({
  store: new RedisStore({ client, prefix: config.prefix }),
  defaultLimits: [{ id: 'main', tokens: config.defaultLimit, period: 'month' }],
  onStoreError: config.onStoreError,
  onStoreReset: config.onStoreReset ?? 'continue',
  storeTimeoutMs: config.storeTimeoutMs,
  leaseMs: config.leaseMs,
  maxPendingOperations: 1_000_000,
});

const report: WorkerReport = {
  pid: process.pid,
  calls: 0,
  rejected: 0,
  storeErrors: 0,
  storeErrorSamples: [],
  otherErrors: [],
  commitQueued: 0,
  commitFailed: 0,
  maxMs: { reserve: 0, commit: 0 },
  late: { reserve: 0, commit: 0 },
  neverSettled: 0,
  users: {},
  usageEvents: 0,
  duplicateUsageEvents: 0,
  storeResetEvents: 0,
  pendingAtEnd: 0,
};
const seen = new Set<string>();
limiter.on('usage', (record) => {
  report.usageEvents += 1;
  if (seen.has(record.id)) report.duplicateUsageEvents += 1;
  seen.add(record.id);
});
limiter.on('store-reset', () => {
  report.storeResetEvents += 1;
});

let pending = 0;
/** Times an operation; counts it late if it is still pending after its bound. */
async function timed<T>(kind: 'reserve' | 'commit', op: () => Promise<T>): Promise<T> {
  const started = performance.now();
  let settled = false;
  pending += 1;
  const timer = setTimeout(() => {
    if (!settled) report.late[kind] += 1;
  }, config.boundMs[kind]);
  try {
    return await op();
  } finally {
    settled = true;
    pending -= 1;
    clearTimeout(timer);
    report.maxMs[kind] = Math.max(report.maxMs[kind], performance.now() - started);
  }
}

function tally(userId: string): UserTally {
  return (report.users[userId] ??= { admitted: 0, unmetered: 0, unmeteredTokens: 0, committedAll: 0, committedAck: 0 });
}

function pickUser(): { id: string; r: number; a: () => number } {
  let x = Math.random();
  for (const hot of config.hot) {
    if (x < hot.share) return { id: hot.id, r: hot.r, a: () => hot.r };
    x -= hot.share;
  }
  const id = `cold-${Math.floor(Math.random() * config.coldUsers)}`;
  return { id, r: config.coldR, a: () => 1 + Math.floor(Math.random() * config.coldR) };
}

let running = false;
async function loop(): Promise<void> {
  while (running) {
    const user = pickUser();
    report.calls += 1;
    let reservation;
    try {
      reservation = await timed('reserve', () => limiter.reserve(user.id, { tokens: user.r }));
    } catch (error) {
      if (error instanceof TokenLimitExceededError) report.rejected += 1;
      else if (error instanceof QuotaStoreError) {
        report.storeErrors += 1;
        const sample = error.message.replace(/\d+/g, 'N').slice(0, 160);
        if (report.storeErrorSamples.length < 5 && !report.storeErrorSamples.includes(sample)) report.storeErrorSamples.push(sample);
      } else if (report.otherErrors.length < 5) report.otherErrors.push(String(error));
      // Back off a little after a store error, as an app would (and so a dead store is not spun on).
      if (!(error instanceof TokenLimitExceededError)) await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    const t = tally(user.id);
    const a = user.a();
    if (reservation.unmetered) {
      t.unmetered += 1;
      t.unmeteredTokens += a;
    } else {
      t.admitted += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, config.providerMs));
    t.committedAll += a;
    try {
      await timed('commit', () => limiter.commit(reservation, { inputTokens: a, outputTokens: 0, model: 'gpt-4o-mini' }));
      t.committedAck += a;
    } catch (error) {
      if (error instanceof QuotaStoreError && /queued/.test(error.message)) report.commitQueued += 1;
      else {
        report.commitFailed += 1;
        if (report.otherErrors.length < 5) report.otherErrors.push(`commit: ${String(error)}`);
      }
    }
  }
}

await limiter.warmup();
process.send!({ type: 'ready' });

let loops: Promise<void>[] = [];
// Orphaned by a parent that died or gave up on us: stop, rather than load the machine forever.
process.on('disconnect', () => process.exit(1));
process.on('message', (message: Message) => {
  if (message.type === 'start') {
    running = true;
    loops = Array.from({ length: config.concurrency }, () => loop());
  } else if (message.type === 'stop') {
    running = false;
    void finish();
  } else if (message.type === 'stampede') {
    void stampede(message);
  } else if (message.type === 'commit-held') {
    void (async () => {
      const held = kept.splice(0);
      const out: StampedeReport = { admitted: held.length, rejected: 0, storeErrors: 0, otherErrors: [], committed: 0, maxMs: 0 };
      await commitAll(held, message.a, out);
      process.send!({ type: 'stampede', report: out });
    })();
  } else if (message.type === 'hold') {
    void (async () => {
      const held = await Promise.all(Array.from({ length: message.count }, () => limiter.reserve(message.user, { tokens: message.r })));
      process.send!({ type: 'held', ids: held.map((r) => r.id), expiresAt: held.map((r) => r.expiresAt.getTime()) });
    })();
  }
});

async function stampede(m: Extract<Message, { type: 'stampede' }>): Promise<void> {
  const out: StampedeReport = { admitted: 0, rejected: 0, storeErrors: 0, otherErrors: [], committed: 0, maxMs: 0 };
  const started = performance.now();
  const outcomes = await Promise.allSettled(Array.from({ length: m.count }, () => limiter.reserve(m.user, { tokens: m.r })));
  out.maxMs = performance.now() - started;
  const admitted = [];
  for (const o of outcomes) {
    if (o.status === 'fulfilled') admitted.push(o.value);
    else if (o.reason instanceof TokenLimitExceededError) out.rejected += 1;
    else if (o.reason instanceof QuotaStoreError) {
      out.storeErrors += 1;
      if (out.otherErrors.length < 3) out.otherErrors.push(String(o.reason));
    } else if (out.otherErrors.length < 5) out.otherErrors.push(String(o.reason));
  }
  out.admitted = admitted.length;
  if (m.a === null) kept.push(...admitted);
  else await commitAll(admitted, m.a, out);
  process.send!({ type: 'stampede', report: out });
}

const kept: Reservation[] = [];

async function commitAll(held: Reservation[], a: number, out: StampedeReport): Promise<void> {
  const commits = await Promise.allSettled(held.map((r) => limiter.commit(r, { inputTokens: a, outputTokens: 0 })));
  for (const c of commits) {
    if (c.status === 'fulfilled') out.committed += a;
    else if (out.otherErrors.length < 5) out.otherErrors.push(`commit: ${String(c.reason)}`);
  }
}

async function finish(): Promise<void> {
  // Every loop ends once its current operation settles; an operation that never settles is hung.
  const deadline = Math.max(config.boundMs.reserve, config.boundMs.commit) * 3;
  await Promise.race([Promise.all(loops), new Promise((resolve) => setTimeout(resolve, deadline))]);
  report.neverSettled = pending;
  // Drain the queued commits and releases (the store is back by now).
  const internals = limiter;
  const drainBy = Date.now() + 30_000;
  while (internals.pendingWrites > 0 && Date.now() < drainBy) await new Promise((resolve) => setTimeout(resolve, 50));
  await limiter.close();
  report.pendingAtEnd = internals.pendingWrites;
  process.send!({ type: 'report', report }, () => {
    client.disconnect();
    process.exit(0);
  });
}
