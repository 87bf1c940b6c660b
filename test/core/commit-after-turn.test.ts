import OpenAI from 'openai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTokenLimiter, InvalidArgumentError, MemoryStore, RedisStore, TokenLimitExceededError, withTokenLimits, type QuotaStore } from '../../src/index.js';
import { useEmulator } from '../emulator/harness.js';
import { flakyStore, withCommit } from '../helpers/flaky-store.js';
import { redisForThisFile, uniquePrefix } from '../helpers/redis.js';

/**
 * A commit (or release) starts after the turn of the event loop in which it was handed over, so
 * that a wrapped call's result reaches its caller before the commit's work is done. What must not
 * change with it: flush, reads and the same user's next reserve see it as if it had been sent at
 * once. On both stores.
 */
const client = await redisForThisFile();
afterEach(() => {
  vi.useRealTimers();
});

/** A store whose hot-path commits are counted as they reach it (flakyStore records every call). */
function counted(store: QuotaStore): { store: QuotaStore; commits: () => number } {
  const flaky = flakyStore(store);
  return { store: flaky.store, commits: () => flaky.calls.filter((c) => c === 'commit').length };
}

const STORES: Array<[string, () => QuotaStore]> = [
  ['MemoryStore', () => new MemoryStore()],
  ['RedisStore', () => new RedisStore({ client, prefix: uniquePrefix('turn') })],
];

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe.each(STORES)('commits after the caller’s turn, on %s', (_name, makeStore) => {
  const limits = [{ id: 'd', tokens: 100, period: 'day' as const }];
  /** A limiter on a new store of this kind (counted), and a reservation of `tokens` for `user`. */
  async function reserved(user: string, tokens: number) {
    const { store, commits } = counted(makeStore());
    const limiter = createTokenLimiter({ store, defaultLimits: limits });
    return { limiter, commits, reservation: await limiter.reserve(user, { tokens }) };
  }

  it('reaches the store only after the turn in which it was handed over', async () => {
    const { limiter, commits, reservation: r } = await reserved('a', 50);
    const committed = limiter.commit(r, { inputTokens: 5, outputTokens: 5 });
    expect(limiter.pendingWrites).toBe(1);
    for (let i = 0; i < 20; i += 1) await Promise.resolve();
    expect(commits()).toBe(0);
    await nextTurn();
    expect(commits()).toBe(1);
    expect(await committed).toMatchObject({ inputTokens: 5, outputTokens: 5, totalTokens: 10 });
    expect(limiter.pendingWrites).toBe(0);
    await limiter.close();
  });

  it('flush starts the waiting writes itself, with no timer (an application’s fake timers included)', async () => {
    const { limiter, commits, reservation: r } = await reserved('b', 50);
    vi.useFakeTimers({ toFake: ['setImmediate', 'setTimeout'] });
    void limiter.commit(r, { inputTokens: 7, outputTokens: 3 });
    await limiter.flush();
    expect(commits()).toBe(1);
    vi.useRealTimers();
    expect(await limiter.admin.getUsage('b')).toMatchObject({ used: 10, reserved: 0 });
    await limiter.close();
  });

  it('the same user’s next reserve is not refused for the hold a waiting commit replaces', async () => {
    const { limiter, reservation: first } = await reserved('c', 90);
    void limiter.commit(first, { inputTokens: 6, outputTokens: 4 });
    // 90 held until the commit lands; 10 used after it: 80 more fit.
    const second = await limiter.reserve('c', { tokens: 80 });
    await limiter.commit(second, { inputTokens: 80, outputTokens: 0 });
    await expect(limiter.reserve('c', { tokens: 11 })).rejects.toBeInstanceOf(TokenLimitExceededError);
    expect(await limiter.admin.getUsage('c')).toMatchObject({ used: 90, reserved: 0 });
    await limiter.close();
  });

  it('check and reads see the commits handed over before them', async () => {
    const { limiter, reservation: r } = await reserved('d', 95);
    void limiter.commit(r, { inputTokens: 10, outputTokens: 10 });
    expect(await limiter.check('d', { tokens: 80 })).toMatchObject({ allowed: true });
    expect((await limiter.check('d', { tokens: 81 })).allowed).toBe(false);
    const r2 = await limiter.reserve('d', { tokens: 30 });
    void limiter.commit(r2, { inputTokens: 30, outputTokens: 0 });
    expect(await limiter.admin.getUsage('d')).toMatchObject({ used: 50, reserved: 0 });
    await limiter.close();
  });

  it('commits the usage as it was when commit was called, and refuses a malformed one writing nothing', async () => {
    const { limiter, reservation: r } = await reserved('e', 40);
    const usage = { inputTokens: 3, outputTokens: 4, model: 'gpt-4o' };
    const committed = limiter.commit(r, usage);
    usage.inputTokens = 30;
    usage.model = 'changed';
    expect(await committed).toMatchObject({ inputTokens: 3, outputTokens: 4, model: 'gpt-4o' });
    const held = await limiter.reserve('e', { tokens: 40 });
    await expect(limiter.commit(held, { inputTokens: -1, outputTokens: 4 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(limiter.commit(held, null as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await limiter.admin.getUsage('e')).toMatchObject({ used: 7, reserved: 40 });
    await limiter.close();
  });
});

describe('a wrapped call', () => {
  const emulator = useEmulator();

  it('returns its result before its commit reaches the store; flush and reads see the commit', async () => {
    const { store, commits } = counted(new MemoryStore());
    const limiter = createTokenLimiter({ store, defaultLimits: [{ id: 'm', tokens: 1_000_000, period: 'month' }] });
    const openai = withTokenLimits(new OpenAI({ apiKey: 'test', baseURL: emulator().openaiBaseURL, maxRetries: 0 }), 'f', { limiter });
    const answer = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_completion_tokens: 20 });
    expect(commits()).toBe(0);
    expect(limiter.pendingWrites).toBe(1);
    const usage = await limiter.admin.getUsage('f');
    expect(commits()).toBe(1);
    expect(usage.used).toBe(answer.usage!.total_tokens);
    await limiter.close();
  });
});

describe('writes in flight, by user', () => {
  it('a refused reserve waits for all of its own user’s writes and for no one else’s', async () => {
    const inner = new MemoryStore();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    // User b's commits reach the store only once the gate opens.
    const store = withCommit(inner, async (c, commit) => {
      if (c.userId === 'b') await gate;
      return commit(c);
    });
    const limiter = createTokenLimiter({ store, defaultLimits: [{ id: 'd', tokens: 100, period: 'day' }] });
    void limiter.commit(await limiter.reserve('b', { tokens: 10 }), { inputTokens: 1, outputTokens: 1 });
    const first = await limiter.reserve('a', { tokens: 50 });
    const second = await limiter.reserve('a', { tokens: 50 });
    void limiter.commit(first, { inputTokens: 5, outputTokens: 5 });
    void limiter.commit(second, { inputTokens: 5, outputTokens: 5 });
    expect(limiter.pendingWrites).toBe(3);
    // 100 held until both of a's commits land, 20 used after them: 80 fits only then.
    const third = await Promise.race([limiter.reserve('a', { tokens: 80 }), new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), 2_000))]);
    expect(third).not.toBe('stuck');
    expect(limiter.pendingWrites).toBe(1);
    expect(await limiter.check('a', { tokens: 1 })).toMatchObject({ allowed: false });
    open();
    await limiter.flush();
    expect(limiter.pendingWrites).toBe(0);
    expect(await limiter.admin.getUsage('b')).toMatchObject({ used: 2, reserved: 0 });
    await limiter.close();
  });
});
