import { describe, expect, it } from 'vitest';
import { createTokenLimiter, RedisStore, type LimitRule } from '../../src/index.js';
import { accountKeys, userKeys } from '../../src/stores/redis/keys.js';
import { SCRIPTS } from '../../src/stores/redis/registry.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';

// A release sent while its user moves from an account back to their own home. Until the move's
// last step, the user's own config still points to the account being left, so a release that
// reaches the own home then marks the call released there and drops nothing (the hold is still in
// the move's snapshot). Move-in then installed that hold, and every later release of the call was
// answered as a repeat: the hold stayed until its lease ended, refusing calls that fit.

const client = await redisForThisFile();
const tokens = (n: number, id: string): LimitRule => ({ id, tokens: n, period: 'month' });

describe('RedisStore: a release during a move back to the own home', () => {
  it('drops the hold at the own home once the move completes', async () => {
    const prefix = uniquePrefix('move-release-own');
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [tokens(1000, 'main')] });
    await limiter.admin.setAccountLimits('A', [tokens(1000, 'team')]);
    await limiter.admin.setAccount('u', 'A');
    const inFlight = await limiter.reserve('u', { tokens: 600 });
    // The first step of a move from A to the own home (setAccount's first script); then the
    // release runs while the user has not arrived, as from a process that knows nothing of it.
    const a = userKeys(prefix, 'u', 'A');
    await client.eval(SCRIPTS.moveOut.source, 4, a.config, a.windows, a.snapshot, accountKeys(prefix, 'A').members, '', 'u', '86400000');
    await limiter.release(inFlight);
    await limiter.admin.setAccount('u', null); // finishes the move, carrying the holds in flight
    expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 0, reserved: 0, account: null });
    expect((await limiter.admin.getAccountUsage('A')).windows[0]).toMatchObject({ used: 0, reserved: 0 });
    await expect(limiter.reserve('u', { tokens: 1000 })).resolves.toMatchObject({ account: null });
    await limiter.close();
  });

  it('still carries the hold of a call not yet settled, which its commit then takes off', async () => {
    const prefix = uniquePrefix('move-commit-own');
    const limiter = createTokenLimiter({ store: new RedisStore({ client, prefix }), defaultLimits: [tokens(1000, 'main')] });
    await limiter.admin.setAccountLimits('A', [tokens(1000, 'team')]);
    await limiter.admin.setAccount('u', 'A');
    const released = await limiter.reserve('u', { tokens: 300 });
    const committed = await limiter.reserve('u', { tokens: 200 });
    const a = userKeys(prefix, 'u', 'A');
    await client.eval(SCRIPTS.moveOut.source, 4, a.config, a.windows, a.snapshot, accountKeys(prefix, 'A').members, '', 'u', '86400000');
    await limiter.release(released);
    await limiter.admin.setAccount('u', null);
    expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 0, reserved: 200 });
    await limiter.commit(committed, { inputTokens: 150, outputTokens: 0 });
    expect(await limiter.admin.getUsage('u')).toMatchObject({ used: 150, reserved: 0 });
    expect((await limiter.admin.getAccountUsage('A')).windows[0]).toMatchObject({ used: 150, reserved: 0 });
    await limiter.close();
  });
});
