import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { createTokenLimiter, type QuotaStore } from '../../src/index.js';
import { uniquePrefix } from '../helpers/redis.js';
import type { StampedeConfig, StampedeReport } from './stampede-worker.js';

const WORKER = fileURLToPath(new URL('./stampede-worker.ts', import.meta.url));

/**
 * Runs a stampede from `processes` separate processes, each firing `config.count` reserves at the
 * same moment; resolves with every process's report once all have committed what they admitted.
 */
export async function stampede(processes: number, config: StampedeConfig): Promise<StampedeReport[]> {
  const children = Array.from({ length: processes }, () => fork(WORKER, [JSON.stringify(config)], { execArgv: ['--import', 'tsx'], stdio: 'pipe' }));
  try {
    await Promise.all(
      children.map(
        (c) =>
          new Promise((resolve, reject) => {
            c.once('message', resolve);
            c.once('exit', (code) => reject(new Error(`stampede worker exited early with ${code}`)));
          }),
      ),
    );
    const results = children.map((c) => new Promise<StampedeReport>((resolve) => c.once('message', resolve as never)));
    for (const c of children) c.send('go');
    return await Promise.all(results);
  } finally {
    for (const c of children) c.kill();
  }
}

/** Admitted calls per user over all reports. */
export function admittedPerUser(reports: readonly StampedeReport[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of reports) for (const [u, n] of Object.entries(r.perUser)) out.set(u, (out.get(u) ?? 0) + n);
  return out;
}

/**
 * The account stampede: 50 members of one account (own limit 200 tokens each, the account's 3000),
 * 8 processes firing 125 reserves of 100 tokens each at once, spread over the members. Exactly 30
 * fit the account; no member may get more than 2 (their own limit). Checked on both scopes after
 * the commits.
 */
export async function accountStampede(redis: StampedeConfig['redis'], storeOf: (prefix: string) => QuotaStore): Promise<void> {
  const prefix = uniquePrefix('acct-stampede');
  const defaultLimits = [{ id: 'own', tokens: 200, period: 'month' as const }];
  const admin = createTokenLimiter({ store: storeOf(prefix), defaultLimits });
  await admin.admin.setAccountLimits('{acme}', [{ id: 'team', tokens: 3000, period: 'month' }]);
  const users = Array.from({ length: 50 }, (_, i) => `member-${i}`);
  for (const u of users) await admin.admin.setAccount(u, '{acme}');
  const reports = await stampede(8, { redis, prefix, users, count: 125, estimate: 100, actual: 100, defaultLimits });
  expect(reports.reduce((n, r) => n + r.unexpected, 0)).toBe(0);
  expect(reports.reduce((n, r) => n + r.admitted, 0)).toBe(30);
  expect(Math.max(...admittedPerUser(reports).values())).toBeLessThanOrEqual(2);
  const account = await admin.admin.getAccountUsage('{acme}');
  expect(account.windows[0]).toMatchObject({ used: 3000, reserved: 0 });
  let sum = 0;
  for (const u of users) {
    const usage = await admin.admin.getUsage(u);
    expect(usage.reserved).toBe(0);
    expect(usage.used).toBe((admittedPerUser(reports).get(u) ?? 0) * 100);
    sum += usage.used;
  }
  expect(sum).toBe(3000);
  await expect(admin.reserve(users.find((u) => !admittedPerUser(reports).has(u))!, { tokens: 1 })).rejects.toMatchObject({ scope: 'account', accountId: '{acme}' });
}
