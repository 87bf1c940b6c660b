import { MemoryStore } from '../../src/index.js';
import { describeStoreContract } from './contract.js';
import { describePlansAndAccounts } from './plans-accounts.js';

const factory = { name: 'MemoryStore', create: () => new MemoryStore() };
describeStoreContract(factory);
describePlansAndAccounts(factory);
