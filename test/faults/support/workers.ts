import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadConfig, StampedeReport, UserTally, WorkerReport } from './load-worker.js';

const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url));

export interface LoadRun {
  /** Tells every worker to start its call loops. */
  start(): void;
  /** Stops the loops, waits for every worker's report (after it drained its pending writes). */
  stop(): Promise<WorkerReport[]>;
  kill(): void;
  /**
   * Each worker fires `count` concurrent reserves for `user` at the same moment, then commits what
   * it admitted with `a` each; with `a` null it keeps the holds until {@link LoadRun.commitHeld}.
   */
  stampede(user: string, count: number, r: number, a: number | null): Promise<StampedeReport[]>;
  commitHeld(a: number): Promise<StampedeReport[]>;
  /** Each worker reserves `count` holds; resolves with their expiries once all are held. */
  hold(user: string, count: number, r: number): Promise<number[]>;
  readonly children: readonly ChildProcess[];
}

function nextMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`load worker exited with ${code} while waiting for '${type}'`));
    const onMessage = (m: { type: string } & Record<string, unknown>) => {
      if (m.type === type) {
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as T);
      }
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Forks `count` load workers with the same config and waits until each has warmed up. */
export async function startLoad(count: number, config: LoadConfig): Promise<LoadRun> {
  const children: ChildProcess[] = Array.from({ length: count }, () =>
    fork(WORKER, [JSON.stringify(config)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const reports = children.map(
    (child) =>
      new Promise<WorkerReport>((resolve, reject) => {
        child.on('message', (m: { type: string; report?: WorkerReport }) => {
          if (m.type === 'report') resolve(m.report!);
        });
        child.once('exit', (code) => reject(new Error(`load worker ${child.pid} exited with ${code} before reporting`)));
      }),
  );
  for (const r of reports) r.catch(() => {});
  // A worker that dies during start fails the run: the others must not outlive it.
  const started = Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: { type: string }) => {
            if (m.type === 'ready') {
              child.off('message', onMessage);
              resolve();
            }
          };
          child.on('message', onMessage);
          child.once('exit', (code) => reject(new Error(`load worker exited with ${code} during start`)));
        }),
    ),
  );
  try {
    await started;
  } catch (error) {
    for (const child of children) child.kill('SIGKILL');
    throw error;
  }
  return {
    start() {
      for (const child of children) child.send({ type: 'start' });
    },
    async stop() {
      for (const child of children) child.send({ type: 'stop' });
      return Promise.all(reports);
    },
    kill() {
      for (const child of children) child.kill('SIGKILL');
    },
    async stampede(user, count, r, a) {
      const replies = children.map((child) => nextMessage<{ report: StampedeReport }>(child, 'stampede'));
      for (const child of children) child.send({ type: 'stampede', user, count, r, a });
      return (await Promise.all(replies)).map((m) => m.report);
    },
    async commitHeld(a) {
      const replies = children.map((child) => nextMessage<{ report: StampedeReport }>(child, 'stampede'));
      for (const child of children) child.send({ type: 'commit-held', a });
      return (await Promise.all(replies)).map((m) => m.report);
    },
    async hold(user, count, r) {
      const replies = children.map((child) => nextMessage<{ expiresAt: number[] }>(child, 'held'));
      for (const child of children) child.send({ type: 'hold', user, count, r });
      return (await Promise.all(replies)).flatMap((m) => m.expiresAt);
    },
    children,
  };
}

/** Sums the workers' reports. */
export function totals(reports: WorkerReport[]) {
  const users: Record<string, UserTally> = {};
  for (const r of reports) {
    for (const [id, t] of Object.entries(r.users)) {
      const u = (users[id] ??= { admitted: 0, unmetered: 0, unmeteredTokens: 0, committedAll: 0, committedAck: 0 });
      u.admitted += t.admitted;
      u.unmetered += t.unmetered;
      u.unmeteredTokens += t.unmeteredTokens;
      u.committedAll += t.committedAll;
      u.committedAck += t.committedAck;
    }
  }
  const sum = (f: (r: WorkerReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  return {
    users,
    calls: sum((r) => r.calls),
    admitted: Object.values(users).reduce((n, u) => n + u.admitted, 0),
    unmetered: Object.values(users).reduce((n, u) => n + u.unmetered, 0),
    rejected: sum((r) => r.rejected),
    storeErrors: sum((r) => r.storeErrors),
    otherErrors: reports.flatMap((r) => r.otherErrors),
    storeErrorSamples: [...new Set(reports.flatMap((r) => r.storeErrorSamples))],
    commitQueued: sum((r) => r.commitQueued),
    commitFailed: sum((r) => r.commitFailed),
    late: sum((r) => r.late.reserve + r.late.commit),
    neverSettled: sum((r) => r.neverSettled),
    maxReserveMs: Math.max(...reports.map((r) => r.maxMs.reserve)),
    maxCommitMs: Math.max(...reports.map((r) => r.maxMs.commit)),
    usageEvents: sum((r) => r.usageEvents),
    duplicateUsageEvents: sum((r) => r.duplicateUsageEvents),
    storeResetEvents: sum((r) => r.storeResetEvents),
    pendingAtEnd: sum((r) => r.pendingAtEnd),
  };
}
