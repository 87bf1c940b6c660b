import { InvalidArgumentError, QuotaStoreError } from '../kernel/errors.js';
import type { Reservation, UsageRecord } from '../kernel/types.js';
import type { CommitAlert, CommitCommand } from '../stores/protocol/types.js';
import type { PreparedCommit } from './commit.js';
import { MAX_ATTEMPTS, waitForMove, type CallKind, type EngineCore } from './core.js';
import { toPublic } from './estimate.js';
import type { ScopeConfig } from './planner.js';

/** Where a commit or release goes: the account the call was reserved in (its hold is there). */
export function homeOf(core: EngineCore, reservation: Reservation, userId: string): string | null {
  const claimed = (reservation as { account?: unknown }).account;
  if (claimed === null || typeof claimed === 'string') return claimed;
  return core.planner.userConfig(userId).account;
}

/**
 * One try of a commit: charges the call at the home it was reserved in; if the user has moved since
 * ('forward'), charges the user's share at the new home. The usage event fires once, for the step
 * that completes the commit.
 */
export async function commitOnce(core: EngineCore, prepared: PreparedCommit, home: string | null, call: CallKind, attemptId: string): Promise<UsageRecord> {
  const alerts: Array<{ alert: CommitAlert; config: ScopeConfig; accountId: string | null }> = [];
  let target = home;
  let forwarded = false;
  let at: number | undefined;
  const plans = { read: false };
  const visited = new Set<string | null>();
  const deadline = Date.now() + core.config.storeTimeoutMs;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    visited.add(target);
    let config = core.planner.userConfig(prepared.userId);
    if (config.unreadablePlan) config = await core.configOf(prepared.userId);
    if (await core.readPlansFor(plans, config, target === null ? undefined : core.planner.accountConfig(target))) continue;
    if (core.planner.needsUserAnchor(config)) {
      // A commit for a user whose rolling period has not started (a reservation from another
      // process, or none): start it as a reserve would; the next reply is 'stale' with it.
      const anchor = core.planner.estimatedNow();
      await core.call('commit', () => core.config.store.admin.updateUser(prepared.userId, { anchor }));
      config = core.planner.userConfig(prepared.userId);
    }
    const account = target === null ? undefined : core.planner.accountConfig(target);
    const user = core.planner.needsUserAnchor(config) ? { rules: [], specs: [] } : core.scopePlan(config, at);
    const acct = account ? core.scopePlan(account, at) : undefined;
    const rules = acct === undefined ? user.rules : [...user.rules, ...acct.rules];
    const matches = rules.map((r) => !r.filtered || r.matches(call));
    // Built field by field rather than with spread-in optional fields: one object shape per call.
    const command: CommitCommand = {
      userId: prepared.userId,
      reservationId: prepared.id,
      attemptId,
      home: target,
      user: { configVersion: config.version, rules: user.specs },
      matches,
      actual: prepared.actual,
      costUnknown: prepared.costUnknown,
      thresholds: core.config.thresholdsPerMille,
      record: prepared.json,
      history: prepared.history,
    };
    if (account && acct) command.account = { configVersion: account.version, rules: acct.specs };
    if (forwarded) command.forwarded = true;
    if (core.config.ledger !== undefined) command.ledger = { accountId: home, costMicros: prepared.costMicros, cacheWriteTokens: prepared.cacheWriteTokens };
    const now = core.planner.explicitNow();
    if (now !== undefined) command.now = now;
    const reply = await core.call('commit', () => core.config.store.hotPath.commit(command));
    core.committer.storeAnswered();
    const configOf = (scope: 'user' | 'account'): ScopeConfig => (scope === 'account' && account ? account : config);
    switch (reply.type) {
      case 'stale':
        if (reply.scope === 'user') core.planner.learn(prepared.userId, reply.config);
        else core.planner.learnAccount(target!, reply.config);
        at = undefined;
        continue;
      case 'clock':
        at = reply.at;
        continue;
      case 'moved':
      case 'moving':
        // A commit is answered where its call was reserved; these come only to a forwarded share
        // whose user is moving on (or not yet in): follow the user, waiting while a move completes.
        if (reply.type === 'moving' || visited.has(reply.home)) await waitForMove('commit', prepared.userId, attempt, deadline);
        if (reply.type === 'moved') {
          core.planner.setHome(prepared.userId, reply.home);
          target = reply.home;
        }
        continue;
      case 'released':
        throw new InvalidArgumentError('reservation', prepared.id, 'this reservation was already released');
      case 'forward':
        for (const alert of reply.alerts) alerts.push({ alert, config: configOf(alert.scope), accountId: target });
        core.planner.setHome(prepared.userId, reply.home);
        target = reply.home;
        forwarded = true;
        at = undefined;
        continue;
      default: {
        const record: UsageRecord = { ...prepared.record, timestamp: new Date(reply.timestamp) };
        // A duplicate of this very attempt (its first reply was lost) was applied by this call.
        if (reply.type === 'applied' || reply.ownAttempt) {
          for (const alert of reply.alerts) alerts.push({ alert, config: configOf(alert.scope), accountId: target });
          emitCommitted(core, prepared, record, alerts);
        }
        return record;
      }
    }
  }
  throw new QuotaStoreError('commit', 'The store kept reporting a changed configuration, clock or home');
}

function emitCommitted(
  core: EngineCore,
  prepared: PreparedCommit,
  record: UsageRecord,
  alerts: Array<{ alert: CommitAlert; config: ScopeConfig; accountId: string | null }>,
): void {
  core.events.emit('usage', record);
  for (const { alert, config, accountId } of alerts) {
    const metric = config.rules.find((r) => r.id === alert.ruleId)?.metric ?? 'tokens';
    core.events.emit('alert', {
      userId: prepared.userId,
      scope: alert.scope,
      ...(alert.scope === 'account' && accountId !== null ? { accountId } : {}),
      ruleId: alert.ruleId,
      metric,
      threshold: core.config.thresholds[alert.threshold] ?? 1,
      limit: toPublic(metric, alert.limit),
      used: toPublic(metric, alert.used),
      periodStart: new Date(alert.start),
      resetAt: new Date(alert.end),
    });
  }
}

export async function releaseOnce(core: EngineCore, userId: string, reservationId: string, home: string | null): Promise<void> {
  let at = home;
  const deadline = Date.now() + core.config.storeTimeoutMs;
  // Bounded as a commit's tries are; past them, a hold not found ends with its lease.
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const reply = await core.call('release', () => core.config.store.hotPath.release({ userId, reservationId, home: at, ...core.now() }));
    if (attempt === 0) core.committer.storeAnswered();
    if (reply.type === 'moving') {
      // Sent before the user arrived there: nothing was written; sent again once they have.
      await waitForMove('release', userId, attempt, deadline);
      continue;
    }
    // A user moved since the call was reserved took its hold with them (a store's move carries
    // the holds of calls in flight): it is dropped where they live now too. The store says where
    // they went (a move made by another process); else this process may know.
    if (reply.movedTo !== undefined) core.planner.setHome(userId, reply.movedTo);
    const next = reply.movedTo !== undefined ? reply.movedTo : at === home ? movedHome(core, userId, at) : undefined;
    if (next === undefined || next === at) return;
    at = next;
  }
}

/**
 * Where the user lives now, as this process knows it, when that is not `home`; else undefined (a
 * user this process does not know costs no second store call).
 */
export function movedHome(core: EngineCore, userId: string, home: string | null): string | null | undefined {
  const now = core.planner.knownHome(userId);
  return now === undefined || now === home ? undefined : now;
}

