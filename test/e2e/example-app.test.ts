/**
 * End to end: the example app (examples/express-app: Express, RedisStore, the OpenAI emulator, the
 * page built with Vite) in headless Chromium through playwright-core. Chat calls go through the
 * app's /chat route; the widget, the dashboard and the admin table must show what
 * limiter.admin.getUsage says; a limit edited in the dialog is enforced on the next call (429).
 * Screenshots of each component in en and pt-BR land in test/e2e/screenshots/ (not committed).
 *
 * Needs Debian's chromium (/usr/bin/chromium, or CHROMIUM_PATH) and a Redis: without them the test
 * fails, it never skips.
 */
import { mkdir } from 'node:fs/promises';
import { Redis } from 'ioredis';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExample, type RunningExample } from '../../examples/express-app/start.js';
import { formatNumber } from '../../src/i18n/index.js';
import { percentNow } from '../../src/react/progress-bar.js';
import { deleteKeysWithPrefix, requireRedis, uniquePrefix } from '../support/redis-available.js';
import { REDIS_URL } from '../helpers/redis.js';
import { chat, launchChromium, signInAt } from './example-page.js';

const SHOTS = new URL('./screenshots/', import.meta.url).pathname;
const LIMIT = 2_000; // examples/express-app/start.ts DEFAULT_LIMITS

describe('example app in headless Chromium', () => {
  let example: RunningExample;
  let browser: Browser;
  let redis: Redis;
  const prefix = uniquePrefix('tl-e2e');
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    const redisUrl = await requireRedis(REDIS_URL);
    redis = new Redis(redisUrl);
    await mkdir(SHOTS, { recursive: true });
    example = await startExample({ port: 0, redisUrl, redisPrefix: prefix, buildWeb: 'always', openaiApiKey: '' });
  }, 120_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await example?.close();
    if (redis) {
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  async function signIn(user: string, lang: 'en' | 'pt-BR' = 'en'): Promise<Page> {
    const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC', viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    contexts.push(context);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
    });
    await signInAt(page, example.url, user, lang);
    Object.assign(page, { pageErrors: errors });
    return page;
  }

  // The bar announces a whole percent (aria-valuenow of 0-100) and the figures as text.
  const widgetNumbers = async (page: Page) => ({
    percent: Number(await page.locator('#widget [role="progressbar"]').getAttribute('aria-valuenow')),
    max: Number(await page.locator('#widget [role="progressbar"]').getAttribute('aria-valuemax')),
    valueText: (await page.locator('#widget [role="progressbar"]').getAttribute('aria-valuetext'))!.replace(/\u00a0/g, ' '),
    text: (await page.locator('#widget .tl-widget__used').textContent())!.replace(/\u00a0/g, ' '),
  });

  it('shows the live usage in the widget, the dashboard and the admin table; a limit edited in the dialog is enforced', async () => {
    browser = await launchChromium(); // inside the test: a missing Chromium fails it, never skips it
    // Alice chats three times through the page, with two models.
    const alice = await signIn('alice');
    expect(await chat(alice, 'Hello, how are you today?', 'gpt-4o-mini')).toBe(200);
    expect(await chat(alice, 'Write a short poem about quotas and tokens', 'gpt-4o')).toBe(200);
    expect(await chat(alice, 'And one more question about the weather', 'gpt-4o-mini')).toBe(200);
    const aliceUsage = await example.limiter.admin.getUsage('alice');
    expect(aliceUsage.used).toBeGreaterThan(0);
    expect(aliceUsage.limit).toBe(LIMIT);

    // The widget (refreshed after each chat) shows exactly admin.getUsage.
    const aliceUsed = `${formatNumber('en', aliceUsage.used)} of 2,000 tokens used`;
    await expect.poll(async () => (await widgetNumbers(alice)).valueText, { timeout: 10_000 }).toBe(aliceUsed);
    expect(await widgetNumbers(alice)).toEqual({
      percent: percentNow(aliceUsage.used, LIMIT),
      max: 100,
      valueText: aliceUsed,
      text: `${formatNumber('en', aliceUsage.used)} / 2,000 tokens`,
    });
    // The dashboard: three calls in the log, today's bar holds all of it.
    const logRows = alice.locator('#dashboard table.tl-log tbody tr');
    await expect.poll(() => logRows.count(), { timeout: 10_000 }).toBe(3);
    const today = new Date().toISOString().slice(0, 10);
    const todayLabel = await alice.locator(`#dashboard g.tl-chart__day[data-day="${today}"]`).getAttribute('aria-label');
    expect(todayLabel).toMatch(new RegExp(`: ${formatNumber('en', aliceUsage.used).replace(',', '\\,')} in total; `));
    expect(todayLabel).toContain('gpt-4o-mini: ');
    expect(todayLabel).toContain('gpt-4o: ');
    await alice.locator('#widget').screenshot({ path: `${SHOTS}widget-en.png` });
    await alice.locator('#dashboard').screenshot({ path: `${SHOTS}dashboard-en.png` });
    await alice.screenshot({ path: `${SHOTS}page-alice-en.png`, fullPage: true });

    // pt-BR: same figures, Brazilian formatting.
    await alice.selectOption('#locale', 'pt-BR');
    await alice.locator('#widget h2', { hasText: 'Uso de IA' }).waitFor();
    expect((await widgetNumbers(alice)).text).toBe(`${formatNumber('pt-BR', aliceUsage.used)} / 2.000 tokens`);
    expect(await alice.locator('#widget .tl-widget__renews').textContent()).toMatch(/^Renova em \d+ (dia|dias|hora|horas) \(/);
    await alice.locator('#dashboard table.tl-log caption', { hasText: 'Últimas chamadas' }).waitFor();
    await alice.locator('#widget').screenshot({ path: `${SHOTS}widget-pt-BR.png` });
    await alice.locator('#dashboard').screenshot({ path: `${SHOTS}dashboard-pt-BR.png` });

    // Bob chats twice through the app's chat route (his own browser session).
    const bob = await signIn('bob');
    expect(await chat(bob, 'Hi there', 'gpt-4o-mini')).toBe(200);
    expect(await chat(bob, 'What is a token?', 'gpt-4o-mini')).toBe(200);
    const bobUsage = await example.limiter.admin.getUsage('bob');

    // The admin table shows both users as admin.getUsage does.
    const root = await signIn('root');
    const row = (user: string) => root.locator(`#admin tr[data-user-id="${user}"]`);
    await row('bob').waitFor();
    for (const [user, usage] of [
      ['alice', aliceUsage],
      ['bob', bobUsage],
    ] as const) {
      const percent = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 0 }).format(usage.used / usage.limit);
      expect(await row(user).locator('[data-testid="tl-user-used"]').textContent()).toBe(`${formatNumber('en', usage.used)} / 2,000 tokens · ${percent}`);
      expect(await row(user).locator('[role="progressbar"]').getAttribute('aria-valuenow')).toBe(String(percentNow(usage.used, usage.limit)));
      expect(await row(user).locator('[data-testid="tl-user-limit"]').textContent()).toBe('2,000 tokens per month');
    }
    const stats = await example.limiter.admin.getStats();
    expect(await root.locator('#admin [data-stat="tokens"] dd').textContent()).toBe(formatNumber('en', stats.totalTokens));
    expect(stats.totalTokens).toBe(aliceUsage.used + bobUsage.used);
    await root.locator('#admin').screenshot({ path: `${SHOTS}admin-en.png` });
    await root.selectOption('#locale', 'pt-BR');
    await root.locator('#admin table.tl-users caption', { hasText: 'Usuários' }).waitFor();
    expect(await row('alice').locator('[data-testid="tl-user-limit"]').textContent()).toBe('2.000 tokens por mês');
    await root.locator('#admin').screenshot({ path: `${SHOTS}admin-pt-BR.png` });
    await root.selectOption('#locale', 'en');
    await root.locator('#admin table.tl-users caption', { hasText: 'Users' }).waitFor();

    // The admin lowers Alice's limit in the dialog: an invalid value first, then just above her usage.
    await row('alice').getByRole('button', { name: 'Edit limit' }).click();
    const dialog = root.getByRole('dialog', { name: 'Limits of alice' });
    const input = dialog.getByRole('spinbutton', { name: 'Limit' });
    await input.fill('-1');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('Enter a number of 0 or more').waitFor();
    const newLimit = aliceUsage.used + 5;
    await input.fill(String(newLimit));
    await root.screenshot({ path: `${SHOTS}admin-edit-dialog-en.png` });
    const [put] = await Promise.all([root.waitForResponse((r) => r.url().endsWith('/admin/api/users/alice/limits')), dialog.getByRole('button', { name: 'Save' }).click()]);
    expect(put.request().method()).toBe('PUT');
    expect(put.status()).toBe(200);
    expect(put.request().postDataJSON()).toEqual({ rules: [{ id: 'monthly', period: 'month', tokens: newLimit }] });
    await dialog.waitFor({ state: 'detached' });
    expect(await example.limiter.admin.getLimits('alice')).toEqual([{ id: 'monthly', tokens: newLimit, period: 'month' }]);
    await expect.poll(() => row('alice').locator('[data-testid="tl-user-limit"]').textContent(), { timeout: 10_000 }).toBe(`${formatNumber('en', newLimit)} tokens per month`);

    // Alice's next call is refused before reaching the provider; her page says why and shows the new limit.
    const providerCalls = example.emulator!.requests.length;
    await alice.selectOption('#locale', 'en');
    expect(await chat(alice, 'Another question, please', 'gpt-4o-mini')).toBe(429);
    expect(await alice.locator('#reply').getAttribute('data-http')).toBe('429');
    // Her limit is now below the hold of one call (its output maximum): the message says that waiting will not help.
    expect(await alice.locator('#reply').textContent()).toMatch(/^Token limit exceeded\. This request alone needs more than the whole limit, so it would be refused after the reset on .* too/);
    expect(example.emulator!.requests.length).toBe(providerCalls);
    expect((await example.limiter.admin.getUsage('alice')).used).toBe(aliceUsage.used);
    await expect.poll(async () => (await widgetNumbers(alice)).valueText, { timeout: 10_000 }).toContain(` of ${formatNumber('en', newLimit)} tokens used`);
    expect(await alice.locator('#widget .tl-widget').getAttribute('data-state')).toBe('warning');
    await alice.locator('#widget').screenshot({ path: `${SHOTS}widget-limited-en.png` });

    // At 100% the widget shows the exceeded state (en and pt-BR).
    await example.limiter.admin.setLimits('alice', [{ id: 'monthly', tokens: aliceUsage.used, period: 'month' }]);
    await alice.reload();
    await alice.locator('#widget .tl-widget[data-state="exceeded"]').waitFor();
    await alice.locator('#widget').screenshot({ path: `${SHOTS}widget-exceeded-en.png` });
    await alice.selectOption('#locale', 'pt-BR');
    await alice.locator('#widget', { hasText: 'Limite atingido' }).waitFor();
    await alice.locator('#widget').screenshot({ path: `${SHOTS}widget-exceeded-pt-BR.png` });

    // Disabling Bob in the panel (after confirming) refuses his next chat with 403.
    await row('bob').getByRole('button', { name: 'Disable' }).click();
    await root.getByRole('alertdialog').getByRole('button', { name: 'Disable' }).click();
    await row('bob').getByText('Disabled').waitFor();
    expect((await example.limiter.admin.getUsage('bob')).isActive).toBe(false);
    expect(await chat(bob, 'Still there?', 'gpt-4o-mini')).toBe(403);
    await bob.locator('#widget .tl-widget[data-state="disabled"]').waitFor();
    await bob.locator('#widget').screenshot({ path: `${SHOTS}widget-disabled-en.png` });

    // Without any stylesheet the components still read (plain HTML and the inline bar colours).
    await root.evaluate(() => {
      for (const sheet of Array.from(document.styleSheets)) sheet.disabled = true;
    });
    await root.screenshot({ path: `${SHOTS}page-admin-unstyled-en.png`, fullPage: true });

    for (const page of [alice, bob, root]) expect((page as Page & { pageErrors: string[] }).pageErrors).toEqual([]);
  }, 180_000);
});
