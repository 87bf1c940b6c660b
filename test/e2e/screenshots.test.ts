/**
 * Every component of token-limits/react, as a person sees it: the example app (Express, RedisStore,
 * the OpenAI emulator, the page built with Vite) in headless Chromium, after a few calls (one
 * refused), signed in as the admin (who sees the widget, the dashboard and the admin panel).
 * Screenshots of each component in en and pt-BR at 1280 px and 390 px land in
 * test/e2e/screenshots/ (gitignored); at 390 px nothing may scroll sideways: not the page, and
 * no element inside a component.
 *
 * Needs Debian's chromium (/usr/bin/chromium, or CHROMIUM_PATH) and a Redis: without them the test
 * fails, it never skips.
 */
import { mkdir } from 'node:fs/promises';
import { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExample, type RunningExample } from '../../examples/express-app/start.js';
import { deleteKeysWithPrefix, requireRedis, uniquePrefix } from '../support/redis-available.js';
import { REDIS_URL } from '../helpers/redis.js';
import { chat, launchChromium, signInAt } from './example-page.js';

const SHOTS = new URL('./screenshots/', import.meta.url).pathname;
const COMPONENTS = { widget: '#widget', dashboard: '#dashboard', admin: '#admin' } as const;
const WIDTHS = [1280, 390] as const;
const LOCALES = ['en', 'pt-BR'] as const;

/** Elements inside `selector` wider than their box (they scroll, or push the page, sideways). */
function overflowing(page: Page, selector: string): Promise<string[]> {
  return page.evaluate((sel) => {
    const root = document.querySelector(sel);
    if (!root) return [`${sel} not found`];
    const found: string[] = [];
    const name = (el: Element) => `${el.tagName.toLowerCase()}.${(el.getAttribute('class') ?? '').replace(/ /g, '.')}`;
    for (const el of [root, ...Array.from(root.querySelectorAll('*'))]) {
      const box = el.getBoundingClientRect();
      if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible' && el.clientWidth > 1) {
        found.push(`${name(el)} scrolls: ${el.scrollWidth} > ${el.clientWidth}`);
      }
      if (box.right > window.innerWidth + 1 && box.width > 0) found.push(`${name(el)} ends at ${Math.round(box.right)} px`);
    }
    return found.slice(0, 10);
  }, selector);
}

describe('screenshots of every component, en and pt-BR, desktop and phone', () => {
  let example: RunningExample;
  let browser: Browser;
  let redis: Redis;
  const prefix = uniquePrefix('tl-shots');

  beforeAll(async () => {
    const redisUrl = await requireRedis(REDIS_URL);
    redis = new Redis(redisUrl);
    await mkdir(SHOTS, { recursive: true });
    example = await startExample({ port: 0, redisUrl, redisPrefix: prefix, buildWeb: 'always', openaiApiKey: '' });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await example?.close();
    if (redis) {
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  async function open(user: string, width: number, lang: string): Promise<Page> {
    const context = await browser.newContext({ locale: 'en-US', timezoneId: 'America/Sao_Paulo', viewport: { width, height: 900 }, deviceScaleFactor: 1 });
    return signInAt(await context.newPage(), example.url, user, lang);
  }

  it('saves each component at 1280 and 390 px in both languages; nothing scrolls sideways at 390 px', async () => {
    browser = await launchChromium();

    // A few calls: the admin's own, a user's, and one refused by a small limit.
    const root = await open('root', 1280, 'en');
    expect(await chat(root, 'Hello, how are you today?', 'gpt-4o-mini')).toBe(200);
    expect(await chat(root, 'Write a short poem about quotas and tokens', 'gpt-4o')).toBe(200);
    const alice = await open('alice', 1280, 'en');
    expect(await chat(alice, 'What is a token?', 'gpt-4o-mini')).toBe(200);
    await example.limiter.admin.setLimits('alice', [{ id: 'monthly', tokens: 10, period: 'month' }]);
    expect(await chat(alice, 'Another question, please', 'gpt-4o-mini')).toBe(429);
    await alice.context().close();
    await root.context().close();

    const problems: string[] = [];
    for (const lang of LOCALES) {
      for (const width of WIDTHS) {
        const page = await open('root', width, lang);
        await page.locator('#admin tr[data-user-id="alice"]').waitFor();
        await page.locator('#dashboard table.tl-log tbody tr').first().waitFor();
        for (const [name, selector] of Object.entries(COMPONENTS)) {
          await page.locator(selector).screenshot({ path: `${SHOTS}${name}-${lang}-${width}.png` });
          if (width === 390) for (const p of await overflowing(page, selector)) problems.push(`${name} ${lang}: ${p}`);
        }
        await page.screenshot({ path: `${SHOTS}page-${lang}-${width}.png`, fullPage: true });
        if (width === 390) {
          const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
          if (pageWidth > 390) problems.push(`page ${lang}: ${pageWidth} px wide`);
        }
        await page.context().close();
      }
    }
    expect(problems).toEqual([]);
  }, 240_000);
});
