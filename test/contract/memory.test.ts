import { MemoryStore } from '../../src/index.js';
import { describeStoreContract } from './contract.js';

describeStoreContract({ name: 'MemoryStore', create: () => new MemoryStore() });
