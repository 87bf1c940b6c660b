import { afterAll } from 'vitest';
import { MemoryStore, RedisStore, type QuotaStore } from '../../src/index.js';
import { deleteKeysWithPrefix } from '../support/redis-available.js';
import { redisForThisFile, uniquePrefix } from './redis.js';

/**
 * MemoryStore and RedisStore (on the test Redis, each store under a prefix of its own, its keys
 * deleted after the file), for a test that must hold on both. Call at the top level of a test file.
 */
export async function bothStores(label: string): Promise<Array<{ name: string; create: () => QuotaStore }>> {
  const client = await redisForThisFile();
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await deleteKeysWithPrefix(client, `${p}:`);
  });
  return [
    { name: 'MemoryStore', create: () => new MemoryStore() },
    {
      name: 'RedisStore',
      create: () => {
        const prefix = uniquePrefix(label);
        prefixes.push(prefix);
        return new RedisStore({ client, prefix });
      },
    },
  ];
}
