import {
  DELETE_KEYS,
  DELETE_MEMBER,
  GET_ACCOUNT,
  GET_CONFIG,
  LIST_LEX,
  MOVE_IN,
  READ_TRAIL,
  WRITE_TRAIL,
  MOVE_OUT,
  READ,
  READ_ACCOUNT,
  READ_HASHES,
  READ_LOG,
  READ_REFUSALS,
  RECORD_REFUSAL,
  RESET_USAGE,
  SET_POINTER,
  UPDATE_ACCOUNT,
  UPDATE_USER,
} from './lua/admin.js';
import { AGGREGATE, DELETE_PLAN, EPOCH, EPOCH_ACK, GET_PLANS, INDEX_USER, LIST_USERS, PLAN_USE, SET_PLAN, STATS, UNINDEX_USER } from './lua/global.js';
import { COMMIT, RELEASE, RENEW, RESERVE } from './lua/hot-path.js';
import { LEDGER_ACK, LEDGER_INDEX, LEDGER_LAG, LEDGER_PRUNE, LEDGER_READ, LEDGER_STREAMS } from './lua/ledger.js';
import { buildLibrary } from './functions.js';
import { defineScript } from './scripts.js';

/** Every script with its SHA, computed once at load. */
export const SCRIPTS = {
  reserve: defineScript('reserve', RESERVE),
  commit: defineScript('commit', COMMIT),
  release: defineScript('release', RELEASE),
  renew: defineScript('renew', RENEW),
  read: defineScript('read', READ),
  readAccount: defineScript('read-account', READ_ACCOUNT),
  getAccount: defineScript('get-account', GET_ACCOUNT),
  updateAccount: defineScript('update-account', UPDATE_ACCOUNT),
  moveOut: defineScript('move-out', MOVE_OUT),
  moveIn: defineScript('move-in', MOVE_IN),
  readTrail: defineScript('read-trail', READ_TRAIL),
  writeTrail: defineScript('write-trail', WRITE_TRAIL),
  setPointer: defineScript('set-pointer', SET_POINTER),
  listLex: defineScript('list-lex', LIST_LEX),
  setPlan: defineScript('set-plan', SET_PLAN),
  getPlans: defineScript('get-plans', GET_PLANS),
  deletePlan: defineScript('delete-plan', DELETE_PLAN),
  planUse: defineScript('plan-use', PLAN_USE),
  getConfig: defineScript('get-config', GET_CONFIG),
  updateUser: defineScript('update-user', UPDATE_USER),
  resetUsage: defineScript('reset-usage', RESET_USAGE),
  deleteKeys: defineScript('delete-keys', DELETE_KEYS),
  deleteMember: defineScript('delete-member', DELETE_MEMBER),
  readHashes: defineScript('read-hashes', READ_HASHES),
  readLog: defineScript('read-log', READ_LOG),
  recordRefusal: defineScript('record-refusal', RECORD_REFUSAL),
  readRefusals: defineScript('read-refusals', READ_REFUSALS),
  aggregate: defineScript('aggregate', AGGREGATE),
  indexUser: defineScript('index-user', INDEX_USER),
  unindexUser: defineScript('unindex-user', UNINDEX_USER),
  listUsers: defineScript('list-users', LIST_USERS),
  stats: defineScript('stats', STATS),
  epoch: defineScript('epoch', EPOCH),
  epochAck: defineScript('epoch-ack', EPOCH_ACK),
  ledgerRead: defineScript('ledger-read', LEDGER_READ),
  ledgerAck: defineScript('ledger-ack', LEDGER_ACK),
  ledgerLag: defineScript('ledger-lag', LEDGER_LAG),
  ledgerIndex: defineScript('ledger-index', LEDGER_INDEX),
  ledgerStreams: defineScript('ledger-streams', LEDGER_STREAMS),
  ledgerPrune: defineScript('ledger-prune', LEDGER_PRUNE),
};

/** The scripts on a wrapped call's path, also loaded as one Redis Functions library (functions.ts). */
export const HOT_PATH_LIBRARY = buildLibrary([SCRIPTS.reserve, SCRIPTS.commit, SCRIPTS.release]);
