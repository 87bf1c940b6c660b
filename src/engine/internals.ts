import type { WindowUsage } from '../kernel/types.js';
import type { EngineConfig } from './config.js';
import type { UserConfig, WindowPlanner } from './planner.js';

/** What admin functions use of the engine. */
export interface EngineInternals {
  readonly config: EngineConfig;
  readonly planner: WindowPlanner;
  readWindows(userId: string): Promise<{ active: boolean; config: UserConfig; windows: WindowUsage[] }>;
  call<T>(operation: string, fn: () => Promise<T>): Promise<T>;
  /** Waits (briefly) for this process's own writes, so that admin reads see them. */
  settle(): Promise<void>;
  forgetUser(userId: string): void;
  acknowledgeStoreReset(): Promise<void>;
}
