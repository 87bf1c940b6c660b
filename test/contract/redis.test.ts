import { RedisStore } from '../../src/index.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';
import { describeStoreContract } from './contract.js';
import { describePlansAndAccounts } from './plans-accounts.js';

const client = await redisForThisFile();

const factory = { name: 'RedisStore', create: () => new RedisStore({ client, prefix: uniquePrefix() }) };
describeStoreContract(factory);
describePlansAndAccounts(factory);
