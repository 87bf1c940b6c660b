import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisStore } from '../../src/index.js';
import { connectRedis, uniquePrefix } from '../helpers/redis.js';
import { describeStoreContract } from './contract.js';
import { describePlansAndAccounts } from './plans-accounts.js';

let client: Redis;
beforeAll(async () => {
  client = await connectRedis();
});
afterAll(() => client?.disconnect());

const factory = { name: 'RedisStore', create: () => new RedisStore({ client, prefix: uniquePrefix() }) };
describeStoreContract(factory);
describePlansAndAccounts(factory);
