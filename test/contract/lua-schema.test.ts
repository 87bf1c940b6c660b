import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore } from '../../src/index.js';
import { accountKeys, globalKeys, userKeys } from '../../src/stores/redis/keys.js';
import { ruleArgs } from '../../src/stores/redis/hot-path.js';
import { HOT_PATH_LIBRARY, SCRIPTS } from '../../src/stores/redis/registry.js';
import { slotOf, slotTag } from '../../src/stores/redis/slots.js';
import {
  AGGREGATE_ARGS,
  argSlots,
  COMMIT_ARGS,
  encodeArgs,
  encodeRules,
  READ_ACCOUNT_ARGS,
  READ_ARGS,
  RELEASE_ARGS,
  RENEW_ARGS,
  RESERVE_ARGS,
  type FieldKind,
  type RuleArg,
  type Schema,
  type ScriptArg,
} from '../../src/stores/redis/schema.js';
import { runScript, type Script } from '../../src/stores/redis/scripts.js';
import { specsOf } from '../helpers/specs.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';

/**
 * The argument schema is the one contract between the TypeScript store and its Lua scripts: every
 * script binds each schema field to a validated local at its top, and refuses a malformed value of
 * any field before its first write (cjson accepts NaN, Infinity and hex; Lua has no rollback).
 */
const client = await redisForThisFile();

/**
 * Malformed values per field kind: for a header double (count, time, flag, amounts), doubles written
 * over each of its doubles in the header in turn; for an inline field (id, model, bits, rules,
 * thresholds), values encoded in its place in the header; for the others, ARGV strings put in the
 * field's first slot.
 */
const BAD_DOUBLES: Partial<Record<FieldKind, number[]>> = {
  count: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, 1.5, 2 ** 53, -0.5, Number.MIN_VALUE],
  // -1 stands for "the server's clock": other negative times are refused.
  time: [Number.NaN, Number.POSITIVE_INFINITY, -2, 1.5, 2 ** 53],
  flag: [2, -1, 0.5, Number.NaN],
  amounts: [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY],
};
const BAD: Record<FieldKind, string[]> = {
  count: [],
  time: [],
  flag: [],
  amounts: [],
  id: ['', 'a b', 'x'.repeat(65), 'é', 'a{b}', 'a;b'],
  rules: ['nan', '-1', '17', 'x', 't'],
  // Bytes that are not a whole number of doubles.
  thresholds: ['nan', 'x', '1234567', '123456789'],
  model: ['', 'a|b', 'x'.repeat(1025)],
  buckets: ['nan', '-1', '4097'],
  texts: ['nan', '-1', '4097'],
  ids: ['nan', '-1', '4097'],
  counts: ['nan', '-1', '4097'],
  bits: ['', '2', 'x', '1 ', '1'.repeat(33)],
};

/** Malformed thresholds, as doubles: not counts, not ascending, more than 10. */
const BAD_THRESHOLDS: number[][] = [[Number.NaN], [-1], [1.5], [2 ** 53], [Number.POSITIVE_INFINITY], [900, 800], [800, 800], Array.from({ length: 11 }, (_, i) => 100 + i)];

/** Malformed rule lists, from one valid rule: each breaks one thing `FieldKinds.rules` requires. */
function badRules(base: RuleArg): Array<[string, Buffer]> {
  const one = (change: Partial<RuleArg>) => encodeRules([{ ...base, ...change }]);
  const valid = encodeRules([base]);
  const [b1, b2, b3] = base.boundaries as [number, number, number, number];
  return [
    ['id a{b', one({ id: 'a{b' })],
    ['id empty', one({ id: '' })],
    ['id of 65', one({ id: 'x'.repeat(65) })],
    ['metric x', one({ metric: 'x' })],
    ['limit -1', one({ limit: -1 })],
    ['limit NaN', one({ limit: Number.NaN })],
    ['limit 1.5', one({ limit: 1.5 })],
    ['limit 2^53', one({ limit: 2 ** 53 })],
    ['limit Infinity', one({ limit: Number.POSITIVE_INFINITY })],
    ['fingerprint f;p', one({ fingerprint: 'f;p' })],
    ['fingerprint empty', one({ fingerprint: '' })],
    ['last boundary Infinity', one({ boundaries: [b1, b2, b3, Number.POSITIVE_INFINITY] })],
    ['last boundary 0', one({ boundaries: [b1, b2, b3, 0] })],
    ['first boundary NaN', one({ boundaries: [Number.NaN, b2, b3, base.boundaries[3]!] })],
    ['boundary 1.5', one({ boundaries: [b1, b2 + 0.5, b3, base.boundaries[3]!] })],
    ['17 rules', encodeRules(Array.from({ length: 17 }, (_, i) => ({ ...base, id: `r${i}` })))],
    ['cut short', valid.subarray(0, valid.length - 1)],
    ['a trailing byte', Buffer.concat([valid, Buffer.from('t')])],
    ['an id length past the end', Buffer.concat([valid.subarray(0, 42), Buffer.from([200]), valid.subarray(43)])],
    ['a fingerprint length short of its text', Buffer.concat([valid.subarray(0, 43), Buffer.from([valid[43]! - 1]), valid.subarray(44)])],
    ['a count of 2 with one rule', Buffer.concat([Buffer.from([2]), valid.subarray(1)])],
    ['a count of 0 with one rule', Buffer.concat([Buffer.from([0]), valid.subarray(1)])],
  ];
}

interface Case {
  name: string;
  script: Script;
  schema: Schema;
  keys: string[];
  args: Record<string, unknown>;
  extra: string[];
}

/** Every field bound once: `local <name> =` in schema order, and the ARGV cursor only. */
function bindsInOrder(source: string, schema: Schema): boolean {
  let at = 0;
  for (const name of Object.keys(schema)) {
    const i = source.indexOf(`-- ${name}: ${schema[name]}\nlocal ${name} =`, at);
    if (i < 0) return false;
    at = i;
  }
  return true;
}

describe('Lua scripts and their argument schema', () => {
  it('every script binds each schema field to a validated local at its top, in schema order', () => {
    const pairs: Array<[Script, Schema]> = [
      [SCRIPTS.reserve, RESERVE_ARGS],
      [SCRIPTS.commit, COMMIT_ARGS],
      [SCRIPTS.release, RELEASE_ARGS],
      [SCRIPTS.renew, RENEW_ARGS],
      [SCRIPTS.read, READ_ARGS],
      [SCRIPTS.readAccount, READ_ACCOUNT_ARGS],
      [SCRIPTS.aggregate, AGGREGATE_ARGS],
    ];
    for (const [script, schema] of pairs) {
      expect(bindsInOrder(script.source, schema), script.name).toBe(true);
      // Arguments are read through the generated bindings only: no script indexes ARGV by a number.
      expect(script.source.match(/ARGV\[\d+\]/g), script.name).toBeNull();
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
    const [spec] = specsOf([{ id: 'm', tokens: 1000, period: 'month' }], now);
    const rules = ruleArgs([spec!]);
    const baseRule: RuleArg = { id: 'm', metric: 't', limit: 1000, fingerprint: spec!.fingerprint, boundaries: spec!.boundaries };
    const noRules = ruleArgs([]);
    const k = userKeys(prefix, 'lua');
    // A member of an account: its keys share the account's slot; the account's config and windows follow the user's.
    const m = userKeys(prefix, 'lua', 'team');
    const a = accountKeys(prefix, 'team');
    const g = globalKeys(prefix);
    const id = 'aaaaaaaa-0000-0000-0000-000000000009';
    const reserve = { id, inAccount: false, version: 0, accountVersion: 0, now, lease: 60_000, initAnchor: false, amounts: [10, 1, 0], rules, accountRules: noRules };
    const commit = { id, inAccount: false, accountVersion: 0, forwarded: false, bucket: 'b', month: '209901', attempt: 'a1', version: 0, now, amounts: [10, 1, 0], costUnknown: false, model: 'gpt', inputTokens: 5, outputTokens: 5, doneTtl: 60_000, logMax: 10, logTtl: 60_000, historyTtl: 60_000, thresholds: [800], rules, accountRules: noRules, matches: '1' };
    const read = { inAccount: false, version: 0, accountVersion: 0, now, rules, accountRules: noRules };
    const cases: Case[] = [
      { name: 'reserve', script: SCRIPTS.reserve, schema: RESERVE_ARGS, keys: [k.config, k.windows, k.outcomes('b')], extra: [], args: reserve },
      { name: 'reserve in an account', script: SCRIPTS.reserve, schema: RESERVE_ARGS, keys: [m.config, m.windows, m.outcomes('b'), a.config, a.windows], extra: [],
        args: { ...reserve, inAccount: true, accountRules: rules } },
      { name: 'commit', script: SCRIPTS.commit, schema: COMMIT_ARGS, keys: [k.config, k.windows, k.outcomes('b'), k.log, k.historyMonth('209901')], extra: ['{"id":"x"}'], args: commit },
      { name: 'commit in an account', script: SCRIPTS.commit, schema: COMMIT_ARGS, keys: [m.config, m.windows, m.outcomes('b'), m.log, m.historyMonth('209901'), a.config, a.windows], extra: ['{"id":"x"}'],
        args: { ...commit, inAccount: true, accountRules: rules, matches: '11' } },
      { name: 'commit with a ledger note', script: SCRIPTS.commit, schema: COMMIT_ARGS, keys: [k.config, k.windows, k.outcomes('b'), k.log, k.historyMonth('209901'), `${prefix}:{${slotTag(slotOf(k.tag))}}:lq`],
        extra: ['{"id":"x"}', '{"accountId":null}'], args: commit },
      { name: 'release', script: SCRIPTS.release, schema: RELEASE_ARGS, keys: [k.windows, k.outcomes('b')], extra: [], args: { id, bucket: 'b', now, doneTtl: 60_000 } },
      { name: 'renew', script: SCRIPTS.renew, schema: RENEW_ARGS, keys: [k.windows], extra: [], args: { id, now, lease: 60_000 } },
      { name: 'renew in an account', script: SCRIPTS.renew, schema: RENEW_ARGS, keys: [m.windows, a.windows], extra: [], args: { id, now, lease: 60_000 } },
      { name: 'read', script: SCRIPTS.read, schema: READ_ARGS, keys: [k.config, k.windows], extra: [], args: read },
      { name: 'read in an account', script: SCRIPTS.read, schema: READ_ARGS, keys: [m.config, m.windows, a.config, a.windows], extra: [], args: { ...read, inAccount: true, accountRules: rules } },
      { name: 'read an account', script: SCRIPTS.readAccount, schema: READ_ACCOUNT_ARGS, keys: [a.config, a.windows], extra: [], args: { version: 0, now, rules } },
      { name: 'aggregate', script: SCRIPTS.aggregate, schema: AGGREGATE_ARGS, keys: [g.applied('s1'), g.log, g.historyMonth('209901'), g.totals, g.users, g.activeMonth('2099-01')], extra: ['{"id":"x"}'],
        args: { source: 's1', sequence: 1, guardTtl: 60_000, logMax: 10, logTtl: 60_000, historyTtl: 60_000, activeTtl: 60_000, totals: [10, 1, 0], hours: [[0, 'gpt', 1, 5, 5, 0]], users: ['lua'], tags: ['t'], logTimes: [now] } },
    ];
    const before = await snapshot(client, prefix);
    let refused = 0;
    let byFunction = 0;
    // The hot-path scripts also run as library functions (functions.ts): each bad value is sent
    // both ways, and must be refused both ways.
    await client.call('FUNCTION', 'LOAD', HOT_PATH_LIBRARY.source).catch((error: Error) => {
      if (!error.message.includes('already exists')) throw error;
    });
    const refuses = async (c: Case, argv: ScriptArg[], what: string, field: string) => {
      const error = new RegExp(`token-limits: invalid ${field}`);
      await expect(runScript(client, c.script, c.keys, argv), `${c.name} ${what}`).rejects.toThrow(error);
      refused += 1;
      const fn = HOT_PATH_LIBRARY.functions.get(c.script);
      if (fn !== undefined) {
        await expect(client.fcall(fn, c.keys.length, ...c.keys, ...argv), `${c.name} ${what} by FCALL`).rejects.toThrow(error);
        byFunction += 1;
      }
    };
    for (const c of cases) {
      const valid = encodeArgs(c.schema, c.args as never, c.extra);
      const slots = argSlots(c.schema, c.args as never);
      for (const [field, kind] of Object.entries(c.schema)) {
        const slot = slots[field]!;
        if ('header' in slot) {
          // Each double of the field in turn (an amounts field has three).
          for (let d = 0; d < slot.length; d += 1) {
            for (const bad of BAD_DOUBLES[kind]!) {
              const argv = [...valid];
              const header = Buffer.from(argv[0] as Buffer);
              header.writeDoubleLE(bad, 8 * (slot.header + d));
              argv[0] = header;
              await refuses(c, argv, `${field}[${d}]=${bad}`, field);
            }
          }
          continue;
        }
        if ('inline' in slot) {
          // Encoded in the field's place in the header, as the store would send it.
          const bads: Array<[string, unknown]> = [...BAD[kind], ...(kind === 'thresholds' ? BAD_THRESHOLDS : [])].map((bad) => [`=${String(bad).slice(0, 20)}`, bad]);
          if (kind === 'rules' && (c.args[field] as Buffer).length > 0) bads.push(...badRules(baseRule).map(([what, bad]): [string, unknown] => [`: ${what}`, bad]));
          for (const [what, bad] of bads) {
            const argv = encodeArgs(c.schema, { ...c.args, [field]: bad } as never, c.extra);
            await refuses(c, argv, `${field}${what}`, field);
          }
          continue;
        }
        const { first } = slot;
        for (const bad of BAD[kind]) {
          const argv = [...valid];
          argv[first - 1] = bad;
          await refuses(c, argv, `${field}=${bad.slice(0, 20)}`, field);
        }
      }
    }
    // A header of the wrong length, or none: refused before any field is read.
    for (const c of cases) {
      const valid = encodeArgs(c.schema, c.args as never, c.extra);
      const header = valid[0] as Buffer;
      for (const [what, bad] of [
        ['cut short', header.subarray(0, header.length - 1)],
        ['a byte too long', Buffer.concat([header, Buffer.from([0])])],
        ['empty', Buffer.alloc(0)],
      ] as const) {
        await refuses(c, [bad, ...valid.slice(1)], `header ${what}`, 'header');
      }
      await refuses(c, [], 'no arguments', 'header');
    }
    // A ledger note must come with the stream key, and be a non-empty string.
    const ledgerKeys = [k.config, k.windows, k.outcomes('b'), k.log, k.historyMonth('209901')];
    const commitArgs = encodeArgs(COMMIT_ARGS, commit as never, ['{"id":"x"}']);
    await refuses({ name: 'commit', script: SCRIPTS.commit, schema: COMMIT_ARGS, keys: ledgerKeys, extra: [], args: commit }, [...commitArgs, '{}'], 'note without its stream', 'ledger note');
    await refuses({ name: 'commit', script: SCRIPTS.commit, schema: COMMIT_ARGS, keys: [...ledgerKeys, `${prefix}:{${slotTag(slotOf(k.tag))}}:lq`], extra: [], args: commit }, [...commitArgs, ''], 'empty note', 'ledger note');
    await refuses({ name: 'commit', script: SCRIPTS.commit, schema: COMMIT_ARGS, keys: [...ledgerKeys, `${prefix}:{${slotTag(slotOf(k.tag))}}:lq`], extra: [], args: commit }, [...commitArgs, 'x'.repeat(1_048_577)], 'note over 1 MB', 'ledger note');
    expect(refused).toBeGreaterThan(150);
    expect(byFunction).toBeGreaterThan(100);
    expect(await snapshot(client, prefix)).toEqual(before);
    expect((await limiter.admin.getUsage('lua')).used).toBe(20);
  });

  it('aggregate indexes every user of a batch as large as the schema allows (4,096), once each', async () => {
    const prefix = uniquePrefix('aggregate');
    const g = globalKeys(prefix);
    const users = Array.from({ length: 4096 }, (_, i) => `user-${i}`);
    const args = { source: 'big', sequence: 1, guardTtl: 60_000, logMax: 10, logTtl: 60_000, historyTtl: 60_000, activeTtl: 60_000, totals: [1, 1, 0], hours: [], users, tags: ['t'], logTimes: [] };
    const keys = [g.applied('big'), g.log, g.historyMonth('209901'), g.totals, g.users, g.activeMonth('2099-01')];
    expect(await runScript(client, SCRIPTS.aggregate, keys, encodeArgs(AGGREGATE_ARGS, args as never))).toBe(1);
    expect(await client.zcard(g.users)).toBe(4096);
    expect(await client.zscore(g.users, 'user-4095')).toBe('0');
    // Users already indexed stay as they are (NX), and a replayed batch is a no-op.
    await client.zadd(g.users, 5, 'user-0');
    expect(await runScript(client, SCRIPTS.aggregate, keys, encodeArgs(AGGREGATE_ARGS, { ...args, sequence: 2 } as never))).toBe(1);
    expect(await client.zscore(g.users, 'user-0')).toBe('5');
    expect(await runScript(client, SCRIPTS.aggregate, keys, encodeArgs(AGGREGATE_ARGS, args as never))).toBe(0);
    expect(await client.zcard(g.users)).toBe(4096);
    await client.del(...keys);
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
