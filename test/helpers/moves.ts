import type { Redis } from 'ioredis';
import { accountKeys, userKeys, userTag } from '../../src/stores/redis/keys.js';
import { SCRIPTS } from '../../src/stores/redis/registry.js';

/**
 * What a process that died during `setAccount(userId, to)` leaves on Redis: its move lock (freed by
 * its expiry, 10 s later), and the user moved out of account `from`, not yet into `to`. Returns the
 * lock's key.
 */
export async function stopMoveHalfWay(client: Redis, prefix: string, userId: string, from: string, to: string): Promise<string> {
  const lock = `${prefix}:{${userTag(userId)}}:ml`;
  await client.set(lock, 'a-process-that-died', 'PX', 10_000);
  const a = userKeys(prefix, userId, from);
  await client.eval(SCRIPTS.moveOut.source, 4, a.config, a.windows, a.snapshot, accountKeys(prefix, from).members, to, userId, '86400000');
  return lock;
}
