/**
 * What both browser tests do with the example app (examples/express-app): launch Debian's
 * Chromium, sign a user in on a page, and send a chat message from it.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Chromium, headless. Call it inside a test, so that a missing Chromium fails the test itself (it
 * never skips). playwright-core gives each launch a fresh, empty temporary profile.
 */
export async function launchChromium(): Promise<Browser> {
  expect(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`).toBe(true);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
}

/** Opens the example at `url` in `lang` on `page` and signs `user` in; resolves once their widget shows. */
export async function signInAt(page: Page, url: string, user: string, lang: string): Promise<Page> {
  await page.goto(`${url}/?lang=${lang}`);
  await page.click(`[data-login="${user}"]`);
  await page.locator('#current-user', { hasText: user }).waitFor();
  await page.locator('#widget [role="progressbar"]').waitFor();
  return page;
}

/** Sends `message` to `model` from the example's chat form; the HTTP status of its answer. */
export async function chat(page: Page, message: string, model: string): Promise<number> {
  await page.fill('#message', message);
  await page.selectOption('#model', model);
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/chat')), page.click('#send')]);
  await page.locator('#reply').waitFor();
  return response.status();
}
