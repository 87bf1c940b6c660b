import type { Cluster, Redis } from 'ioredis';
import { userKeys } from '../../../src/stores/redis/keys.js';
import { decodeStoredWindow } from '../../support/stored-window.js';

/** A user's raw state in Redis: used and held counters of one rule, and live hold entries. */
export interface RawUserState {
  used: number;
  /** The held counter, including holds whose lease ended but that no call has purged yet. */
  held: number;
  holds: number;
}

export async function rawUserState(client: Redis | Cluster, prefix: string, userId: string, ruleId = 'main'): Promise<RawUserState> {
  const k = userKeys(prefix, userId);
  const window = decodeStoredWindow(await client.hgetBuffer(k.windows, `w:${ruleId}`));
  const fields = await client.hkeys(k.windows);
  const holds = fields.filter((field) => field.startsWith('x:')).length;
  return { used: window?.used ?? 0, held: window?.held ?? 0, holds };
}

/** Sums the raw state of many users. */
export async function rawTotals(client: Redis | Cluster, prefix: string, userIds: Iterable<string>) {
  const out = { used: 0, held: 0, holds: 0, perUser: new Map<string, RawUserState>() };
  for (const id of userIds) {
    const s = await rawUserState(client, prefix, id);
    out.perUser.set(id, s);
    out.used += s.used;
    out.held += s.held;
    out.holds += s.holds;
  }
  return out;
}
