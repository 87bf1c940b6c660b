import type { CommitAlert, StoreSettings, StoredConfig } from '../protocol/types.js';
import { DEFAULT_STORE_SETTINGS } from '../protocol/window.js';
import { HourlyHistory } from './history.js';
import { RingLog } from './ring-log.js';
import { ScopeState } from './scope-state.js';
import { SortedIds } from './sorted-ids.js';

/** What MemoryStore keeps, shared by its hot path and its admin functions. */

export interface Outcome {
  status: 'committed' | 'released';
  timestamp: number;
  expiresAt: number;
  attemptId?: string;
  alerts?: CommitAlert[];
}

export class UserState extends ScopeState {
  /** The account the user belongs to, or null. */
  account: string | null = null;
  /** Terminal outcomes by reservation id, in insertion (= time) order. */
  readonly done = new Map<string, Outcome>();
  readonly log: RingLog;
  readonly history = new HourlyHistory();
  /** In `MemoryData.userIds` (see `MemoryData.list`): a commit then skips the search. */
  listed = false;

  constructor(logCapacity: number) {
    super();
    this.log = new RingLog(logCapacity);
  }

  purgeDone(now: number): void {
    for (const [id, done] of this.done) {
      if (done.expiresAt > now) break;
      this.done.delete(id);
    }
  }

  override isIdle(now: number): boolean {
    return this.account === null && super.isIdle(now);
  }
}

export class AccountState extends ScopeState {
  readonly members = new SortedIds();
}

export class MemoryData {
  settings: StoreSettings = DEFAULT_STORE_SETTINGS;
  /** By user id, least recently active first (re-inserted on every write). */
  readonly users = new Map<string, UserState>();
  /** The users listed (`listUsers`, `stats().users`): those with a commit or an admin write. */
  readonly userIds = new SortedIds();

  /** Lists a user (see `userIds`); once per user state, which leaves the list only with its state. */
  list(userId: string, user: UserState): void {
    if (user.listed) return;
    this.userIds.add(userId);
    user.listed = true;
  }
  readonly accounts = new Map<string, AccountState>();
  readonly accountIds = new SortedIds();
  readonly plans = new Map<string, { version: number; rules: string }>();
  globalLog = new RingLog(DEFAULT_STORE_SETTINGS.logMaxLength);
  readonly globalHistory = new HourlyHistory();
  readonly totals = { tokens: 0, cost: 0 };
  activeMonth = { month: '', users: new Set<string>() };

  account(accountId: string, create: boolean): AccountState | undefined {
    let account = this.accounts.get(accountId);
    if (!account && create) {
      account = new AccountState();
      this.accounts.set(accountId, account);
      this.accountIds.add(accountId);
    }
    return account;
  }

  /**
   * Per user deleted by an admin: the version their config starts at from then on, above every
   * version it had. Other processes keep the rules they read for a version they hold: a config
   * that started again at 0 after a delete gave its versions a second meaning, and those processes
   * went on applying the deleted user's old rules to the new ones.
   */
  readonly retiredVersions = new Map<string, number>();

  /** A user's config when the store holds no state for them. */
  emptyConfig(userId: string): StoredConfig {
    return { version: this.retiredVersions.get(userId) ?? 0, rules: null, anchor: null, plan: null };
  }

  /** `retire`: an admin's delete (see retiredVersions); an idle user forgotten keeps their version. */
  deleteUser(userId: string, retire = false): void {
    const user = this.users.get(userId);
    if (retire) {
      const last = Math.max(user?.version ?? 0, this.retiredVersions.get(userId) ?? 0);
      if (last > 0) this.retiredVersions.set(userId, last + 1);
    }
    if (user?.account) this.accounts.get(user.account)?.members.delete(userId);
    this.users.delete(userId);
    this.userIds.delete(userId);
    this.activeMonth.users.delete(userId);
  }

  /** Users and accounts assigned to a plan. */
  planUse(planId: string): { users: number; accounts: number } {
    let users = 0;
    let accounts = 0;
    for (const u of this.users.values()) if (u.plan === planId) users += 1;
    for (const a of this.accounts.values()) if (a.plan === planId) accounts += 1;
    return { users, accounts };
  }
}
