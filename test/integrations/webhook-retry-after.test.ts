import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/index.js';
import { createAlertWebhook, type AlertWebhook, type WebhookDeliveryError } from '../../src/integrations/http/index.js';
import { alertEvent, eventually, listen, sleep, type Running } from './helpers.js';

const SECRET = 'whsec_test_0123456789abcdef';

/** A real local receiver; `answer(n)` gives the status and headers of the n-th delivery (from 1). */
async function receiver(answer: (n: number) => [number, Record<string, string>?]) {
  const at: number[] = [];
  const running = await listen((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      at.push(Date.now());
      const [status, headers = {}] = answer(at.length);
      res.writeHead(status, headers).end();
    });
  });
  return { ...running, at, url: `${running.url}/hook`, gaps: () => at.slice(1).map((t, i) => t - at[i]!) };
}

const alert = alertEvent;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function track<T extends Running | AlertWebhook>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

describe('alert webhook: Retry-After', () => {
  it('429 with Retry-After in seconds: the next attempt waits at least that long', async () => {
    const rx = track(await receiver((n) => (n === 1 ? [429, { 'retry-after': '1' }] : [204])));
    const errors: WebhookDeliveryError[] = [];
    const hook = track(createAlertWebhook({ url: rx.url, secret: SECRET, backoffMs: 10, onError: (e) => errors.push(e) }));
    hook.send(alert());
    await hook.flush();
    expect(rx.at).toHaveLength(2);
    expect(rx.gaps()[0]).toBeGreaterThanOrEqual(990);
    expect(errors).toEqual([]);
  });

  it('503 with Retry-After as an HTTP date: waits until then', async () => {
    // An IMF-fixdate has whole seconds: 2.5 s ahead is 1.5 to 2.5 s ahead once written.
    const rx = track(await receiver((n) => (n === 1 ? [503, { 'retry-after': new Date(Date.now() + 2500).toUTCString() }] : [204])));
    const hook = track(createAlertWebhook({ url: rx.url, secret: SECRET, backoffMs: 10 }));
    hook.send(alert());
    await hook.flush();
    expect(rx.at).toHaveLength(2);
    expect(rx.gaps()[0]).toBeGreaterThanOrEqual(1400);
    expect(rx.gaps()[0]).toBeLessThan(3000);
  });

  it('a Retry-After beyond maxRetryAfterMs waits maxRetryAfterMs', async () => {
    const rx = track(await receiver((n) => (n === 1 ? [429, { 'retry-after': '3600' }] : [204])));
    const hook = track(createAlertWebhook({ url: rx.url, secret: SECRET, backoffMs: 10, maxRetryAfterMs: 400 }));
    hook.send(alert());
    await hook.flush();
    expect(rx.at).toHaveLength(2);
    expect(rx.gaps()[0]).toBeGreaterThanOrEqual(390);
    expect(rx.gaps()[0]).toBeLessThan(1500);
  });

  it('malformed, negative, fractional or past values fall back to the backoff; other statuses are not read', async () => {
    const values = ['soon', '-5', '1.5', 'Sun, 06 Nov 1994 08:49:37 GMT', '2026-12-31T00:00:00Z'];
    const rx = track(await receiver((n) => (n <= values.length ? [429, { 'retry-after': values[n - 1]! }] : n === values.length + 1 ? [500, { 'retry-after': '60' }] : [204])));
    const hook = track(createAlertWebhook({ url: rx.url, secret: SECRET, backoffMs: 5, maxBackoffMs: 40, maxAttempts: 10 }));
    hook.send(alert());
    await hook.flush();
    expect(rx.at).toHaveLength(values.length + 2);
    for (const gap of rx.gaps()) expect(gap).toBeLessThan(700);
  });

  it('close() never waits for a long Retry-After: the waiting retry gets its last attempt at once', async () => {
    const rx = track(await receiver((n) => (n === 1 ? [429, { 'retry-after': '3600' }] : [204])));
    const errors: WebhookDeliveryError[] = [];
    const hook = createAlertWebhook({ url: rx.url, secret: SECRET, closeTimeoutMs: 2000, onError: (e) => errors.push(e) });
    hook.send(alert());
    await eventually(() => rx.at.length === 1 && hook.pending === 1);
    await sleep(50); // the retry is now waiting for its Retry-After
    const start = Date.now();
    await hook.close();
    expect(Date.now() - start).toBeLessThan(1000);
    expect(rx.at).toHaveLength(2);
    expect(hook.pending).toBe(0);
    expect(errors).toEqual([]);

    // Still 429 at the last attempt: given up at once, reported, close() bounded.
    const busy = track(await receiver(() => [429, { 'retry-after': '3600' }]));
    const given: WebhookDeliveryError[] = [];
    const hook2 = createAlertWebhook({ url: busy.url, secret: SECRET, closeTimeoutMs: 2000, onError: (e) => given.push(e) });
    hook2.send(alert());
    await eventually(() => busy.at.length === 1);
    await sleep(50);
    const start2 = Date.now();
    await hook2.close();
    expect(Date.now() - start2).toBeLessThan(1000);
    expect(given.map((e) => [e.reason, e.status, e.attempts])).toEqual([['http_status', 429, 2]]);
  });

  it('maxRetryAfterMs: a positive whole number of ms up to an hour; anything else is refused', () => {
    expect(() => createAlertWebhook({ url: 'http://127.0.0.1:9/h', secret: SECRET, maxRetryAfterMs: 3_600_000 })).not.toThrow();
    for (const bad of [0, -1, 1.5, '300', Number.NaN, 3_600_001]) {
      expect(() => createAlertWebhook({ url: 'http://127.0.0.1:9/h', secret: SECRET, maxRetryAfterMs: bad as number }), String(bad)).toThrow(InvalidArgumentError);
    }
  });
});
