import type { Redis } from 'ioredis';
import type { LimitRule, TokenLimiter } from '../src/index.js';

export function benchLimits(rules: number): LimitRule[];
export function pairRunner(limiter: Pick<TokenLimiter, 'reserve' | 'commit' | 'flush'>, inFlight?: number): (count: number) => Promise<void>;
export function plainPairSetup(rules: number): Promise<{ client: Redis; limiter: TokenLimiter; stop(): Promise<void> }>;
export function serverCpuSeconds(client: Redis): Promise<number>;
