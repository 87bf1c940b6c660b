import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore, TokenLimitExceededError } from '../../src/index.js';
import { createPostgresLedger } from '../../src/postgres/index.js';
import { accountKeys, accountTag, globalKeys, userKeys, userTag } from '../../src/stores/redis/keys.js';
import { slotOf, slotTag } from '../../src/stores/redis/slots.js';
import { connectPostgres, dropSchema, uniqueSchema } from '../helpers/postgres.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { waitFor } from '../support/wait.js';
import { commandCalls, libraryLoaded, uniquePrefix } from '../helpers/redis.js';
import { describeStoreContract } from './contract.js';
import { describePlansAndAccounts, ODD_IDS } from './plans-accounts.js';
import { accountStampede } from './stampede.js';

// The whole store contract, run again on a 3-master Redis Cluster started by this test.
let cluster: RedisCluster;
let client: Cluster;
beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  client = cluster.client();
}, 60_000);
afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

const factory = { name: 'RedisStore on Redis Cluster', create: () => new RedisStore({ client, prefix: uniquePrefix('cl') }) };
describeStoreContract(factory);
describePlansAndAccounts(factory);

describe('Redis Cluster specifics', () => {
  it("appends ledger records to a stream in the user's slot (per CLUSTER KEYSLOT), and drains them all", async () => {
    for (const id of ['', '}', '}x', '{a}', 'a:b', '\n', '🦄', 'x'.repeat(10_240)]) {
      for (const tag of [userTag(id), accountTag(id)]) {
        const home = await cluster.keySlot(`tl:{${tag}}:c`);
        expect(slotOf(tag)).toBe(home);
        expect(await cluster.keySlot(`tl:{${slotTag(home)}}:lq`)).toBe(home);
      }
    }
    const pool = await connectPostgres();
    const schema = uniqueSchema();
    try {
      const ledger = createPostgresLedger({ pool, schema, drain: { pollMs: 20 } });
      await ledger.migrate();
      const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix: uniquePrefix('cl') }), ledger });
      await limiter.admin.setAccount('m0', 'acct');
      const users = Array.from({ length: 40 }, (_, i) => `m${i}`);
      await Promise.all(
        users.flatMap((u) => [1, 2, 3].map(async (n) => limiter.commit(await limiter.reserve(u, { tokens: n }), { inputTokens: n, outputTokens: 1, model: 'gpt-4o', costUsd: 0 }))),
      );
      await limiter.flushLedger();
      const { rows } = await pool.query(`SELECT count(DISTINCT id)::int AS ids, count(*)::int AS n, count(account_id)::int AS accounted FROM ${ledger.tableName}`);
      expect(rows[0]).toEqual({ ids: 120, n: 120, accounted: 3 });
      expect(await ledger.reconcile({ from: Date.now() - 3_600_000, to: Date.now() + 60_000 })).toEqual([]);
      await limiter.close();
    } finally {
      await dropSchema(pool, schema);
      await pool.end();
    }
  });

  it('puts every key of a user in one slot (per CLUSTER KEYSLOT), whatever the id', async () => {
    const ids = ['', '}', '}x', '{a}', '{hot}1', '{hot}2', 'a:b', '\n', '\u0000', '🦄', 'x'.repeat(10_240)];
    const slotsOfUsers = new Set<number>();
    for (const id of ids) {
      const k = userKeys('tl', id);
      const slots = new Set(await Promise.all([k.config, k.windows, k.outcomes('x'), k.log, k.historyMonth('202601')].map((key) => cluster.keySlot(key))));
      expect(slots.size, JSON.stringify(id.slice(0, 20))).toBe(1);
      slotsOfUsers.add([...slots][0]!);
    }
    // "{hot}1" and "{hot}2" do not land on the slot their raw hash tag would choose together.
    expect(slotsOfUsers.size).toBeGreaterThan(5);
    const g = globalKeys('tl');
    expect(new Set(await Promise.all([g.users, g.log, g.totals, g.applied('src'), g.epoch, g.historyMonth('202601'), g.activeMonth('2026-01')].map((key) => cluster.keySlot(key)))).size).toBe(1);
  });

  it('spreads users over the masters and admits exactly 10 of 1000 concurrent reservations', async () => {
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix: uniquePrefix('cl') }), defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }] });
    const outcomes = await Promise.allSettled(Array.from({ length: 1000 }, () => limiter.reserve('hot', { tokens: 100 })));
    const admitted = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    expect(admitted).toHaveLength(10);
    expect(outcomes.filter((o) => o.status === 'rejected').every((o) => (o as PromiseRejectedResult).reason instanceof TokenLimitExceededError)).toBe(true);
    await Promise.all(admitted.map((r) => limiter.commit(r, { inputTokens: 100, outputTokens: 0 })));
    expect(await limiter.admin.getUsage('hot')).toMatchObject({ used: 1000, reserved: 0 });
  });

  it('admits exactly what fits on both scopes when 8 processes race 1000 reservations for 50 members of one account', async () => {
    await accountStampede({ cluster: [...cluster.startupNodes] }, (prefix) => new RedisStore({ client, prefix }));
  }, 180_000);

  it("puts an account's keys and its members' keys in one slot, whatever the ids", async () => {
    for (const account of ODD_IDS) {
      const a = accountKeys('tl', account);
      const keys = [a.config, a.windows, a.members];
      for (const user of ['u', '{u}', '🦄']) {
        const k = userKeys('tl', user, account);
        keys.push(k.config, k.windows, k.outcomes('x'), k.log, k.historyMonth('202601'), k.snapshot);
      }
      expect(new Set(await Promise.all(keys.map((key) => cluster.keySlot(key)))).size, JSON.stringify(account.slice(0, 20))).toBe(1);
    }
  });

  it('recovers from SCRIPT FLUSH and FUNCTION FLUSH on every master, and loads the library on each again', async () => {
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix: uniquePrefix('cl') }), defaultLimits: [{ id: 'm', tokens: 10_000, period: 'month' }] });
    const users = Array.from({ length: 12 }, (_, i) => `flush-${i}`);
    const round = async () => {
      for (const u of users) await limiter.commit(await limiter.reserve(u, { tokens: 10 }), { inputTokens: 5, outputTokens: 5 });
      await limiter.flush();
    };
    const masters = () => client.nodes('master');
    const loadedEverywhere = async () => (await Promise.all(masters().map((node) => libraryLoaded(node)))).every(Boolean) || undefined;
    await round();
    await waitFor(loadedEverywhere, { timeoutMs: 10_000, what: 'the library loaded on every master' });
    await Promise.all(masters().flatMap((node) => [node.script('FLUSH'), node.call('FUNCTION', 'FLUSH')]));
    await round();
    await waitFor(loadedEverywhere, { timeoutMs: 10_000, what: 'the library loaded on every master' });
    const before = await Promise.all(masters().map((node) => commandCalls(node, 'fcall')));
    await round();
    const after = await Promise.all(masters().map((node) => commandCalls(node, 'fcall')));
    // The users live on every master (spread checked above): each master ran some of them by FCALL.
    for (const [i, calls] of after.entries()) expect(calls, `master ${i}`).toBeGreaterThan(before[i]!);
    expect(after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0)).toBe(2 * users.length);
    for (const u of users) expect((await limiter.admin.getUsage(u)).used).toBe(30);
    expect((await limiter.admin.getStats()).totalTokens).toBe(360);
  });
});
