import type { AccountUsage, UserUsage } from '../kernel/types.js';
import type { EngineCore } from './core.js';
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
