import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/express-app/app.js';
import { configureTokenLimits, MemoryStore, RedisStore, withTokenLimits } from '../../src/index.js';
import { expectedUsage, startEmulator } from '../../src/testing/index.js';
import { connectRedis, uniquePrefix } from '../helpers/redis.js';
import { listen, sleep } from './helpers.js';

/**
 * The example app (examples/express-app): the real OpenAI SDK, wrapped once at start-up with no
 * user, against the provider emulator; the middleware picks the user of each request.
 */
describe.each(['memory', 'redis'] as const)('example Express app on %s', (kind) => {
  const closers: Array<() => unknown> = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('charges every concurrent chat to the signed-in user, refuses over quota, serves the admin API', async () => {
    const emulator = await startEmulator();
    closers.push(() => emulator.close());
    let store;
    if (kind === 'redis') {
      const redis = await connectRedis();
      closers.push(() => redis.disconnect());
      store = new RedisStore({ client: redis, prefix: uniquePrefix('tl-example') });
    } else {
      store = new MemoryStore();
    }
    const limiter = configureTokenLimits({ store, defaultLimits: [{ id: 'monthly', tokens: 1_000_000, period: 'month' }] });
    const openai = withTokenLimits(new OpenAI({ apiKey: 'emulated', baseURL: emulator.openaiBaseURL, maxRetries: 0 }));
    const app = await listen(createApp({ openai, limiter }) as never);
    closers.push(() => app.close());

    const login = async (user: string): Promise<string> => {
      const res = await fetch(`${app.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user }) });
      expect(res.status).toBe(200);
      return res.headers.getSetCookie()[0]!.split(';')[0]!;
    };
    const cookies = { alice: await login('alice'), bob: await login('bob'), root: await login('root') };
    const chat = (who: keyof typeof cookies, message: string, extra: Record<string, string> = {}) =>
      fetch(`${app.url}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: cookies[who], ...extra },
        body: JSON.stringify({ message, userId: 'root' }), // a spoofed id in the body is ignored
      });

    // 20 concurrent chats, alternating users, random provider latency.
    const answers = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const who = i % 2 === 0 ? 'alice' : 'bob';
        await sleep(Math.random() * 10);
        const res = await chat(who, `${who}: question number ${i} ${'padding '.repeat(i)}`, { 'x-emulator-delay-ms': String(Math.floor(Math.random() * 40)) });
        return res.status;
      }),
    );
    expect(answers).toEqual(Array(20).fill(200));

    // What the provider reported, attributed by the message text, equals what each user was charged.
    const totals = { alice: 0, bob: 0 } as Record<string, number> & { alice: number; bob: number };
    for (const request of emulator.requests) {
      const content = (request.body as { messages: Array<{ content: string }> }).messages[0]!.content;
      const usage = expectedUsage(request);
      totals[content.split(':')[0]!]! += usage.inputTokens + usage.outputTokens;
    }
    expect(emulator.requests).toHaveLength(20);
    expect((await limiter.admin.getUsage('alice')).used).toBe(totals.alice);
    expect((await limiter.admin.getUsage('bob')).used).toBe(totals.bob);
    expect((await limiter.admin.getUsage('root')).used).toBe(0);

    // Admin API, authorized by the session.
    const users = await fetch(`${app.url}/admin/api/users`, { headers: { cookie: cookies.root } });
    expect(((await users.json()) as { users: Array<{ userId: string }> }).users.map((u) => u.userId)).toEqual(['alice', 'bob']);
    expect((await fetch(`${app.url}/admin/api/users`, { headers: { cookie: cookies.alice } })).status).toBe(403);
    expect((await fetch(`${app.url}/admin/api/users`)).status).toBe(401);
    const mine = (await (await fetch(`${app.url}/admin/api/me/usage`, { headers: { cookie: cookies.bob } })).json()) as { used: number };
    expect(mine.used).toBe(totals.bob);

    // An admin lowers Alice's limit: her next chat is refused before reaching the provider.
    const put = await fetch(`${app.url}/admin/api/users/alice/limits`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', cookie: cookies.root },
      body: JSON.stringify({ rules: [{ id: 'monthly', tokens: totals.alice + 10, period: 'month' }] }),
    });
    expect(put.status).toBe(200);
    const refused = await chat('alice', 'alice: one more');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.headers.get('ratelimit')).toBe(`"monthly";r=10;t=${refused.headers.get('retry-after')}`);
    expect(await refused.json()).toMatchObject({ code: 'token_limit_exceeded', limit: totals.alice + 10, used: totals.alice, remaining: 10 });
    expect(emulator.requests).toHaveLength(20);

    // Disabled: 403. Bob is unaffected throughout.
    await fetch(`${app.url}/admin/api/users/bob/disable`, { method: 'POST', headers: { cookie: cookies.root } });
    expect((await chat('bob', 'bob: hello?')).status).toBe(403);
    await fetch(`${app.url}/admin/api/users/bob/enable`, { method: 'POST', headers: { cookie: cookies.root } });
    expect((await chat('bob', 'bob: back')).status).toBe(200);

    // The app's own behaviour is unchanged: its 401 for anonymous chats, its /me.
    const anon = await fetch(`${app.url}/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":"x"}' });
    expect(anon.status).toBe(401);
    expect(await anon.json()).toEqual({ error: 'sign in first' });
    expect(await (await fetch(`${app.url}/me`, { headers: { cookie: cookies.alice } })).json()).toEqual({ user: { id: 'alice', name: 'Alice', admin: false } });
  });
});
