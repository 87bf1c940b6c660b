import { DELETE_KEYS, GET_CONFIG, READ, READ_HASHES, READ_LOG, RESET_USAGE, UPDATE_USER } from './lua/admin.js';
import { AGGREGATE, EPOCH, EPOCH_ACK, INDEX_USER, LIST_USERS, STATS, UNINDEX_USER } from './lua/global.js';
import { COMMIT, RELEASE, RESERVE } from './lua/hot-path.js';
import { defineScript } from './scripts.js';

/** Every script with its SHA, computed once at load. */
export const SCRIPTS = {
  reserve: defineScript('reserve', RESERVE),
  commit: defineScript('commit', COMMIT),
  release: defineScript('release', RELEASE),
  read: defineScript('read', READ),
  getConfig: defineScript('get-config', GET_CONFIG),
  updateUser: defineScript('update-user', UPDATE_USER),
  resetUsage: defineScript('reset-usage', RESET_USAGE),
  deleteKeys: defineScript('delete-keys', DELETE_KEYS),
  readHashes: defineScript('read-hashes', READ_HASHES),
  readLog: defineScript('read-log', READ_LOG),
  aggregate: defineScript('aggregate', AGGREGATE),
  indexUser: defineScript('index-user', INDEX_USER),
  unindexUser: defineScript('unindex-user', UNINDEX_USER),
  listUsers: defineScript('list-users', LIST_USERS),
  stats: defineScript('stats', STATS),
  epoch: defineScript('epoch', EPOCH),
  epochAck: defineScript('epoch-ack', EPOCH_ACK),
};
