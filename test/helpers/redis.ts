import { Redis } from 'ioredis';
import { defaultRedisUrl, requireRedis, uniquePrefix as harnessPrefix } from '../support/redis-available.js';

export const REDIS_URL = defaultRedisUrl();

/** A client on the test Redis; throws (tests fail, never skip) when no Redis answers. */
export async function connectRedis(): Promise<Redis> {
  return new Redis(await requireRedis(REDIS_URL));
}

/** A random store prefix (letters, digits, `-` and `:` only). */
export function uniquePrefix(label = 'tl-test'): string {
  return harnessPrefix(label).replace(/:$/, '');
}
