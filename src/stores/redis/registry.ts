import { EPOCH, EPOCH_ACK, INDEX_USER, LIST_USERS, RECORD, STATS, UNINDEX_USER } from './lua/global-scripts.js';
import {
  COMMIT,
  DELETE_KEYS,
  GET_CONFIG,
  READ,
  READ_HASHES,
  READ_LOG,
  RELEASE,
  RESERVE,
  RESET_USAGE,
  SET_ACTIVE,
  SET_CONFIG,
} from './lua/user-scripts.js';
import { defineScript } from './scripts.js';

/** Every script with its SHA, computed once at load. */
export const USER_SCRIPTS = {
  reserve: defineScript('reserve', RESERVE),
  commit: defineScript('commit', COMMIT),
  release: defineScript('release', RELEASE),
  read: defineScript('read', READ),
  getConfig: defineScript('get-config', GET_CONFIG),
  setConfig: defineScript('set-config', SET_CONFIG),
  setActive: defineScript('set-active', SET_ACTIVE),
  resetUsage: defineScript('reset-usage', RESET_USAGE),
  deleteKeys: defineScript('delete-keys', DELETE_KEYS),
  readHashes: defineScript('read-hashes', READ_HASHES),
  readLog: defineScript('read-log', READ_LOG),
};

export const GLOBAL_SCRIPTS = {
  record: defineScript('record', RECORD),
  indexUser: defineScript('index-user', INDEX_USER),
  unindexUser: defineScript('unindex-user', UNINDEX_USER),
  listUsers: defineScript('list-users', LIST_USERS),
  stats: defineScript('stats', STATS),
  epoch: defineScript('epoch', EPOCH),
  epochAck: defineScript('epoch-ack', EPOCH_ACK),
};
