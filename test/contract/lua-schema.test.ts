import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore } from '../../src/index.js';
import { globalKeys, userKeys } from '../../src/stores/redis/keys.js';
import { SCRIPTS } from '../../src/stores/redis/registry.js';
import { AGGREGATE_ARGS, COMMIT_ARGS, READ_ARGS, RELEASE_ARGS, RESERVE_ARGS, type FieldKind, type Schema } from '../../src/stores/redis/schema.js';
import { runScript, type Script } from '../../src/stores/redis/scripts.js';
import { specsOf } from '../helpers/specs.js';
import { connectRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * The argument schema is the one contract between the TypeScript store and its Lua scripts: every
 * script binds each schema field to a validated local at its top, and refuses a malformed value of
 * any field before its first write (cjson accepts NaN, Infinity and hex; Lua has no rollback).
 */
let client: Redis;
beforeAll(async () => {
  client = await connectRedis();
});
afterAll(() => client?.disconnect());

/** Malformed JSON values per field kind (raw JSON text, so NaN and Infinity reach cjson). */
const BAD: Record<FieldKind, string[]> = {
  count: ['NaN', 'Infinity', '-Infinity', '-1', '1.5', '9007199254740992', '1e309', '"12"', 'null', 'true', '[]', '{}'],
  time: ['NaN', 'Infinity', '-1', '1.5', '1e309', '"12"', 'true', '[]'],
  id: ['""', '"a b"', `"${'x'.repeat(65)}"`, '12', 'null', '"é"', '"a{b}"'],
  flag: ['"true"', '1', 'null'],
  amounts: ['[1,2,-3]', '[1,NaN,1]', '"x"', '{"t":1}', '[1,2,3,4]', 'null'],
  rules: [
    '[["m","t",-1,"fp",0,1,2,3]]',
    '[["m","x",10,"fp",0,1,2,3]]',
    '[["m","t",10,"f p",0,1,2,3]]',
    '[["m","t",10,"fp",0,2,1,3]]',
    '[["m","t",10,"fp",0,1,2,NaN]]',
    '[["m b","t",10,"fp",0,1,2,3]]',
    '{"a":1}',
    `[${Array.from({ length: 17 }, (_, i) => `["r${i}","t",10,"fp",0,1,2,3]`).join(',')}]`,
  ],
  thresholds: ['[500,400]', '[-1]', '[NaN]', '"x"', '[1,2,3,4,5,6,7,8,9,10,11]'],
  model: ['""', '"a|b"', `"${'x'.repeat(1025)}"`, '5', 'null'],
  buckets: ['[[0,"m",1,1,1]]', '[[0,"a|b",1,1,1,1]]', '[[-1,"m",1,1,1,1]]', '[[0,"m",1,1,1,NaN]]'],
  texts: ['[""]', '[5]', '"x"'],
  ids: ['["a b"]', '[5]'],
  counts: ['[-1]', '[NaN]', '[1.5]'],
};

interface Case {
  name: string;
  script: Script;
  schema: Schema;
  keys: string[];
  args: Record<string, unknown>;
  extra: string[];
}

describe('Lua scripts and their argument schema', () => {
  it('every script binds each schema field to a validated local at its top', () => {
    const pairs: Array<[Script, Schema]> = [
      [SCRIPTS.reserve, RESERVE_ARGS],
      [SCRIPTS.commit, COMMIT_ARGS],
      [SCRIPTS.release, RELEASE_ARGS],
      [SCRIPTS.read, READ_ARGS],
      [SCRIPTS.aggregate, AGGREGATE_ARGS],
    ];
    for (const [script, schema] of pairs) {
      for (const [field, kind] of Object.entries(schema)) {
        expect(script.source, `${script.name}.${field}`).toContain(`local ${field} = check.${kind}(args.${field}, '${field}')`);
      }
      // No script reads an argument other than through the schema.
      expect(script.source.match(/args\.(\w+)/g)?.map((m) => m.slice(5)).sort()).toEqual(Object.keys(schema).sort());
    }
  });

  it('refuses a malformed value of any field of any script with a typed error, writing nothing', async () => {
    const prefix = uniquePrefix('schema');
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }] });
    const r = await limiter.reserve('lua', { tokens: 100 });
    await limiter.commit(r, { inputTokens: 10, outputTokens: 10 });
    await limiter.reserve('lua', { tokens: 50 });
    await limiter.flush();
    const now = Date.now();
    const rules = specsOf([{ id: 'm', tokens: 1000, period: 'month' }], now).map((s) => [s.ruleId, 't', s.limit, s.fingerprint, ...s.boundaries]);
    const k = userKeys(prefix, 'lua');
    const g = globalKeys(prefix);
    const id = 'aaaaaaaa-0000-0000-0000-000000000009';
    const cases: Case[] = [
      { name: 'reserve', script: SCRIPTS.reserve, schema: RESERVE_ARGS, keys: [k.config, k.windows, k.expiries], extra: [],
        args: { id, version: 0, now, lease: 60_000, initAnchor: false, amounts: [10, 1, 0], rules } },
      { name: 'commit', script: SCRIPTS.commit, schema: COMMIT_ARGS, keys: [k.config, k.windows, k.expiries, k.log, k.historyMonth('209901')], extra: ['{"id":"x"}'],
        args: { id, attempt: 'a1', version: 0, now, amounts: [10, 1, 0], costUnknown: false, rules, thresholds: [800], model: 'gpt', inputTokens: 5, outputTokens: 5, doneTtl: 60_000, logMax: 10, logTtl: 60_000, historyTtl: 60_000 } },
      { name: 'release', script: SCRIPTS.release, schema: RELEASE_ARGS, keys: [k.windows, k.expiries], extra: [], args: { id, now, doneTtl: 60_000 } },
      { name: 'read', script: SCRIPTS.read, schema: READ_ARGS, keys: [k.config, k.windows, k.expiries], extra: [], args: { version: 0, now, rules } },
      { name: 'aggregate', script: SCRIPTS.aggregate, schema: AGGREGATE_ARGS, keys: [g.batches, g.log, g.historyMonth('209901'), g.totals, g.users, g.activeMonth('2099-01')], extra: ['{"id":"x"}'],
        args: { batch: 'b1', now, logMax: 10, logTtl: 60_000, historyTtl: 60_000, activeTtl: 60_000, totals: [10, 1, 0], hours: [[0, 'gpt', 1, 5, 5, 0]], users: ['lua'], tags: ['t'], logTimes: [now] } },
    ];
    const before = await snapshot(client, prefix);
    let refused = 0;
    for (const c of cases) {
      for (const [field, kind] of Object.entries(c.schema)) {
        for (const bad of BAD[kind]) {
          const json = JSON.stringify({ ...c.args, [field]: '@@' }).replace('"@@"', bad);
          await expect(runScript(client, c.script, c.keys, [json, ...c.extra]), `${c.name}.${field}=${bad.slice(0, 30)}`).rejects.toThrow(
            new RegExp(`token-limits: invalid ${field}`),
          );
          refused += 1;
        }
      }
      // Not an object at all.
      await expect(runScript(client, c.script, c.keys, ['[1,2]', ...c.extra])).rejects.toThrow(/token-limits: invalid/);
    }
    expect(refused).toBeGreaterThan(150);
    expect(await snapshot(client, prefix)).toEqual(before);
    expect((await limiter.admin.getUsage('lua')).used).toBe(20);
  });
});

async function snapshot(client: Redis, prefix: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await client.keys(`${prefix}:*`)).sort()) {
    const type = await client.type(key);
    out[key] =
      type === 'hash' ? await client.hgetall(key) : type === 'zset' ? await client.zrange(key, 0, -1, 'WITHSCORES') : type === 'set' ? (await client.smembers(key)).sort() : await client.get(key);
  }
  return out;
}
