/**
 * P5 (the Lua half) of reliability.md §4: malformed numbers sent straight to the Lua scripts, past
 * the TypeScript validation, in every numeric argument of reserve, commit, release, record and
 * epoch. Each must be refused by the script before its first write: the whole dataset's digest
 * (DEBUG DIGEST) is unchanged after every attempt.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore } from '../../src/index.js';
import { globalKeys, userKeys } from '../../src/stores/redis/keys.js';
import { GLOBAL_SCRIPTS, USER_SCRIPTS } from '../../src/stores/redis/registry.js';
import { runScript, type Script } from '../../src/stores/redis/scripts.js';
import { startRedisServer, type RedisServer } from '../support/index.js';
import { recordFigures } from './support/figures.js';

const BAD = ['nan', 'NaN', 'inf', '-inf', '1e309', '1e2', '0x10', ' 12', '12 ', '-5', '1.5', '9007199254740992', '99999999999999999', '007', '+1', '1,5', '１２'];

let server: RedisServer;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer({ args: ['--enable-debug-command', 'yes'] });
  client = server.client();
});
afterAll(async () => {
  await server?.stop();
});

const digest = async () => String(await client.call('DEBUG', 'DIGEST'));

describe('P5: malformed numbers straight to the Lua scripts', () => {
  it('every numeric argument of reserve, commit, release, record and epoch refuses each malformed value with no write at all', async () => {
    const prefix = 'lua';
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [{ id: 'm', tokens: 1000, period: 'month' }] });
    const r = await limiter.reserve('u', { tokens: 100 });
    await limiter.commit(r, { inputTokens: 10, outputTokens: 10 });
    const held = await limiter.reserve('u', { tokens: 50 });
    const w = held.windows[0]!;
    const [, , start, fingerprint] = w.windowKey.split(':') as [string, string, string, string];
    const k = userKeys(prefix, 'u');
    const g = globalKeys(prefix);
    const b = [Date.parse('2026-10-01'), Date.parse('2026-11-01'), Date.parse('2026-12-01'), Date.parse('2027-01-01')].map(String);
    const id = 'aaaaaaaa-0000-0000-0000-000000000009';
    const end = String(w.resetAt.getTime());

    interface Case {
      script: Script;
      keys: string[];
      args: string[];
      /** 1-based ARGV positions holding numbers. */
      numeric: number[];
      /** Positions where '' is valid (the server clock). */
      emptyOk: number[];
    }
    const cases: Case[] = [
      {
        script: USER_SCRIPTS.reserve,
        keys: [k.user, k.holds, k.expiries, k.done],
        args: [id, '0', '', '60000', '0', '10', '1', '0', '0', '1', 'm', 'tokens', '1000', fingerprint, ...b],
        numeric: [2, 3, 4, 6, 7, 8, 10, 13, 15, 16, 17, 18],
        emptyOk: [3],
      },
      {
        script: USER_SCRIPTS.commit,
        keys: [k.user, k.holds, k.expiries, k.done, k.doneExpiries, k.log, k.historyDay(0)],
        args: [held.id, '', '10', '1', '0', '5', '5', '{}', 'gpt', '10', '1000', '1000', '1000', '1', '800', '1', 'm', fingerprint, start, 'tokens', '50', 'attempt-1', end],
        numeric: [2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 19, 21, 23],
        emptyOk: [2, 23],
      },
      {
        script: USER_SCRIPTS.release,
        keys: [k.user, k.holds, k.expiries, k.done, k.doneExpiries],
        args: [held.id, '', '1000'],
        numeric: [2, 3],
        emptyOk: [2],
      },
      {
        script: GLOBAL_SCRIPTS.record,
        keys: [g.seen(0), g.log, g.historyDay(0), g.totals, g.users, g.activeMonth('2026-11')],
        args: [id, '1700000000000', '{}', 'u', 'tag', 'gpt', '10', '1', '0', '5', '5', '100', '1000', '1000', '1000'],
        numeric: [2, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        emptyOk: [],
      },
    ];
    const before = await digest();
    let attempts = 0;
    const admitted: string[] = [];
    for (const c of cases) {
      for (const position of c.numeric) {
        for (const value of [...BAD, ...(c.emptyOk.includes(position) ? [] : [''])]) {
          const args = [...c.args];
          args[position - 1] = value;
          attempts += 1;
          const outcome = await runScript(client, c.script, c.keys, args).then(
            () => 'ran',
            (e: Error) => e.message,
          );
          if (!/token-limits: invalid|boundaries must increase/.test(outcome)) admitted.push(`${c.script.name} ARGV[${position}]=${JSON.stringify(value)}: ${outcome}`);
          expect(await digest(), `${c.script.name} ARGV[${position}]=${JSON.stringify(value)}`).toBe(before);
        }
      }
    }
    // The epoch script's ids are identifiers, not numbers: garbage is refused the same way.
    for (const value of ['', 'a b', 'x'.repeat(65), '{}']) {
      attempts += 1;
      await expect(runScript(client, GLOBAL_SCRIPTS.epoch, [g.epoch], [value, ''])).rejects.toThrow(/token-limits: invalid/);
      expect(await digest()).toBe(before);
    }
    recordFigures({
      scenario: 'P5',
      name: 'malformed numbers sent past TypeScript straight to the Lua scripts',
      criterion: 'rejected in Lua too; counters unchanged (no partial write)',
      measured: { 'malformed calls': attempts, 'accepted by a script': admitted.length, 'dataset digest changed': 'never' },
    });
    expect(admitted).toEqual([]);
    // The valid arguments do work (the cases were not broken to begin with).
    await expect(runScript(client, USER_SCRIPTS.release, [k.user, k.holds, k.expiries, k.done, k.doneExpiries], [held.id, '', '1000'])).resolves.toBeTruthy();
    expect((await limiter.admin.getUsage('u'))).toMatchObject({ used: 20, reserved: 0 });
  });
});
