import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisStore } from '../../src/index.js';
import { connectRedis, uniquePrefix } from '../helpers/redis.js';
import { describeStoreContract } from './contract.js';

let client: Redis;
beforeAll(async () => {
  client = await connectRedis();
});
afterAll(() => client?.disconnect());

describeStoreContract({ name: 'RedisStore', create: () => new RedisStore({ client, prefix: uniquePrefix() }) });
