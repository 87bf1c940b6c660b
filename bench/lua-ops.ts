/**
 * What single Lua operations of the store's scripts cost inside Redis, for work on the scripts:
 *   npx tsx bench/lua-ops.ts
 * Each operation runs 20,000 times in a loop inside one EVAL on a redis-server started for this
 * (nothing else runs on it); the time is the server's own TIME around the loop, ÷ 20,000 (the
 * empty loop costs a few ns). Median and range of 5 EVALs per operation, in ns. The operations
 * are the prelude's window and hold codecs (prelude.ts), binary and in the text form still read,
 * the rules argument, the pattern a rule argument used to need, and cmsgpack and struct alone.
 */
import { Redis } from 'ioredis';
import { PRELUDE } from '../src/stores/redis/lua/prelude.js';
import { encodeRules } from '../src/stores/redis/schema.js';
import { startRedisServer } from '../test/support/index.js';

const LOOPS = 20_000;
const RUNS = 5;

const SETUP = `
local v = 'AbCdEfGhIjKl 1798761600000 1801440000000 123456789 2000 1'
local w = { fp = 'AbCdEfGhIjKl', s = 1798761600000, e = 1801440000000, u = 123456789, h = 2000, a = 1 }
local MP = cmsgpack.pack({ 'AbCdEfGhIjKl', 1798761600000, 1801440000000, 123456789, 2000, 1 })
local BIN = struct.pack('>dddd', 1798761600000, 1801440000000, 123456789, 2000)
local BW = packed(w)
local BH = holdValue({ { id = 'monthly', fp = 'AbCdEfGhIjKl', m = 't' } }, { w }, { t = 10 }, 1799000600000)
local RULES = ARGV[1]
`;

const OPERATIONS: Array<[string, string]> = [
  ['empty loop', ''],
  ['state(v): read a stored window, binary (struct)', 'local s = state(BW)'],
  ['state(v): read a window in the text form (6-capture match)', 'local s = state(v)'],
  ['packed(w): write a window (one struct.pack)', 'local s = packed(w)'],
  ['a window in the text form, one string.format', "local s = string.format('%s %d %d %d %d %d', w.fp, w.s, w.e, w.u, w.h, w.a)"],
  ['rulesOf: read and check 10 rules (one binary value)', 'local r = rulesOf(RULES)'],
  [
    'one rule argument: its 8-capture match',
    "local id, m, limit, fp, b1, b2, b3, b4 = string.match('monthly t 1000000000000000 AbCdEfGhIjKl 1796083200000 1798761600000 1801440000000 1804118400000', '^([%w_.-]+) ([trc]) (%d+) ([%w_.-]+) (%-?%d+) (%-?%d+) (%-?%d+) (%-?%d+)$')",
  ],
  ['hold(v): read a binary hold of one share', 'local e, sh = hold(BH)'],
  ['hold(v): read a hold of one share in the text form', "local e, sh = hold('1799000600000 monthly AbCdEfGhIjKl 1798761600000 10')"],
  ['cmsgpack.unpack of 6 values', 'local t = cmsgpack.unpack(MP)'],
  ['struct.unpack of 4 doubles', "local a, b, c, d = struct.unpack('>dddd', BIN)"],
  ["an HGET of a missing key (redis.call)", "redis.call('HGET', 'no-such-key', 'f')"],
];

const TEN_RULES = encodeRules(
  Array.from({ length: 10 }, (_, i) => ({ id: `rule${i}`, metric: 't', limit: 1e15, fingerprint: 'AbCdEfGhIjKl', boundaries: [1796083200000, 1798761600000, 1801440000000, 1804118400000] })),
);
const server = await startRedisServer({ persistence: 'none' });
const client = new Redis(server.url);
try {
  for (const [label, body] of OPERATIONS) {
    const script = `${PRELUDE}\n${SETUP}\nlocal t0 = redis.call('TIME')\nfor i = 1, ${LOOPS} do\n${body}\nend\nlocal t1 = redis.call('TIME')\nreturn (tonumber(t1[1]) - tonumber(t0[1])) * 1000000 + tonumber(t1[2]) - tonumber(t0[2])`;
    const ns: number[] = [];
    for (let run = 0; run < RUNS; run += 1) ns.push((Number(await client.eval(script, 0, TEN_RULES)) / LOOPS) * 1000);
    ns.sort((a, b) => a - b);
    console.log(`${label.padEnd(56)} ${Math.round(ns[RUNS >> 1]!)} ns (${Math.round(ns[0]!)}-${Math.round(ns[RUNS - 1]!)})`);
  }
} finally {
  client.disconnect();
  await server.stop();
}
