import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenLimiter, InvalidArgumentError } from '../../src/index.js';
import { tokenLimits, tokenLimitsErrorHandler } from '../../src/integrations/express/index.js';
import {
  createAlertWebhook,
  onAlert,
  signWebhookBody,
  verifyWebhookSignature,
  WebhookDeliveryError,
  type AlertWebhook,
} from '../../src/integrations/http/index.js';
import { alertEvent, chargeFromContext, eventually, listen, monthly, sleep, type Running } from './helpers.js';

const SECRET = 'whsec_test_0123456789abcdef';

interface Delivery {
  headers: IncomingHttpHeaders;
  raw: Buffer;
  at: number;
}

/** A real local receiver; `behave` decides each answer (status, or 'hang'). */
async function receiver(behave: (n: number) => number | 'hang' = () => 204) {
  const deliveries: Delivery[] = [];
  const hanging: ServerResponse[] = [];
  const running = await listen((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, raw: Buffer.concat(chunks), at: Date.now() });
      const what = behave(deliveries.length);
      if (what === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(what).end();
    });
  });
  return { ...running, deliveries, url: `${running.url}/hooks/token-limits?key=receiver-secret` };
}

const alert = alertEvent;

/** The verification recipe, taken verbatim from docs/webhook.md. */
async function readmeRecipe(): Promise<(rawBody: Buffer | string, headers: IncomingHttpHeaders, secret: string) => boolean> {
  const readme = readFileSync(new URL('../../docs/webhook.md', import.meta.url), 'utf8');
  const section = /<!-- webhook-verify:start -->([\s\S]*?)<!-- webhook-verify:end -->/.exec(readme)?.[1];
  const code = /```js\n([\s\S]*?)```/.exec(section ?? '')?.[1];
  if (code === undefined) throw new Error('docs/webhook.md has no webhook verification recipe');
  const file = join(mkdtempSync(join(tmpdir(), 'tl-recipe-')), 'verify.mjs');
  writeFileSync(file, code);
  const mod = (await import(pathToFileURL(file).href)) as { verifyTokenLimitsWebhook: (raw: Buffer | string, h: IncomingHttpHeaders, s: string) => boolean };
  return mod.verifyTokenLimitsWebhook;
}

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function track<T extends Running | AlertWebhook>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

describe('alert webhook', () => {
  it('POSTs the alert as JSON with a signature that verifies with the documented recipe', async () => {
    const rx = track(await receiver());
    const limiter = createTokenLimiter({ defaultLimits: monthly(1000), alertThresholds: [0.8] });
    const hook = track(onAlert(limiter, { url: rx.url, secret: SECRET }));
    const r = await limiter.reserve('alice', { tokens: 900 });
    await limiter.commit(r, { inputTokens: 850, outputTokens: 0, model: 'gpt-4o-mini' });
    await hook.flush();
    expect(rx.deliveries).toHaveLength(1);
    const { headers, raw } = rx.deliveries[0]!;
    expect(headers['content-type']).toBe('application/json');
    expect(headers['x-token-limits-event']).toBe('alert');
    const body = JSON.parse(raw.toString('utf8')) as Record<string, any>;
    expect(body).toMatchObject({
      id: headers['x-token-limits-delivery'],
      type: 'alert',
      data: { userId: 'alice', ruleId: 'monthly', metric: 'tokens', threshold: 0.8, limit: 1000, used: 850 },
    });
    expect(body.data.resetAt).toMatch(/^\d{4}-\d{2}-01T00:00:00\.000Z$/);
    expect(Math.abs(Number(headers['x-token-limits-timestamp']) - Date.now() / 1000)).toBeLessThan(5);

    const verify = await readmeRecipe();
    expect(verify(raw, headers, SECRET)).toBe(true);
    expect(verify(raw.toString('utf8'), headers, SECRET)).toBe(true);
    expect(verify(raw, headers, 'another-secret-of-some-length')).toBe(false);
    expect(verify(Buffer.from(raw.toString('utf8').replace('850', '851')), headers, SECRET)).toBe(false);
    const old = { ...headers, 'x-token-limits-timestamp': String(Number(headers['x-token-limits-timestamp']) - 600) };
    expect(verify(raw, old, SECRET)).toBe(false); // a replayed (stale) delivery
    expect(verify(raw, { ...headers, 'x-token-limits-timestamp': 'abc' }, SECRET)).toBe(false);
    expect(verify(raw, { ...headers, 'x-token-limits-signature': 'v1=ü' }, SECRET)).toBe(false);
    expect(verify(raw, {}, SECRET)).toBe(false);

    const args = { rawBody: raw, timestamp: headers['x-token-limits-timestamp'] as string, signature: headers['x-token-limits-signature'] as string };
    expect(verifyWebhookSignature({ ...args, secret: SECRET })).toBe(true);
    expect(verifyWebhookSignature({ ...args, secret: ['old-secret-xxxxxxxxxx', SECRET] })).toBe(true);
    expect(verifyWebhookSignature({ ...args, secret: SECRET, now: Date.now() + 301_000 })).toBe(false);
  });

  it('retries after a 500 (same event id, exponential backoff), then succeeds', async () => {
    const rx = track(await receiver((n) => (n <= 2 ? 500 : 204)));
    const errors: WebhookDeliveryError[] = [];
    const hook = track(createAlertWebhook({ url: rx.url, secret: SECRET, backoffMs: 40, onError: (e) => errors.push(e) }));
    hook.send(alert());
    await hook.flush();
    expect(rx.deliveries).toHaveLength(3);
    expect(new Set(rx.deliveries.map((d) => d.headers['x-token-limits-delivery'])).size).toBe(1);
    const gaps = [rx.deliveries[1]!.at - rx.deliveries[0]!.at, rx.deliveries[2]!.at - rx.deliveries[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(18); // 40 ms * (0.5..1)
    expect(gaps[1]).toBeGreaterThanOrEqual(38); // 80 ms * (0.5..1)
    expect(errors).toEqual([]);
    const verify = await readmeRecipe();
    for (const d of rx.deliveries) expect(verify(d.raw, d.headers, SECRET)).toBe(true);
  });

  it('gives up after maxAttempts; a 4xx is not retried; errors go to onError, never thrown', async () => {
    const rx = track(await receiver((n) => (n === 1 ? 400 : 503)));
    const errors: WebhookDeliveryError[] = [];
    const hook = track(createAlertWebhook({ url: rx.url, secret: SECRET, backoffMs: 5, maxAttempts: 3, concurrency: 1, onError: (e) => errors.push(e) }));
    hook.send(alert('first'));
    await hook.flush();
    hook.send(alert('second'));
    await hook.flush();
    expect(rx.deliveries).toHaveLength(1 + 3);
    expect(errors.map((e) => [e.reason, e.status, e.attempts, e.event.userId])).toEqual([
      ['http_status', 400, 1, 'first'],
      ['http_status', 503, 3, 'second'],
    ]);
    expect(errors[0]).toBeInstanceOf(WebhookDeliveryError);
    expect(errors[0]!.message).not.toContain('receiver-secret'); // only the origin is shown
  });

  it('an onError or a logger that throws, or rejects, never escapes: the event is reported, flush() resolves', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    cleanups.push(() => process.off('unhandledRejection', onUnhandled));
    const rx = track(await receiver(() => 400));
    const within = <T>(promise: Promise<T>): Promise<T | 'still pending after 5 s'> =>
      Promise.race([promise, sleep(5000).then(() => 'still pending after 5 s' as const)]);

    // An async onError that rejects: its rejection is logged, not left unhandled.
    const logged: string[] = [];
    const asyncOnError = track(
      createAlertWebhook({
        url: rx.url,
        secret: SECRET,
        onError: async () => Promise.reject(new Error('db down')),
        logger: { error: (message, meta) => void logged.push(`${message}: ${String(meta?.error)}`) },
      }),
    );
    asyncOnError.send(alert('a'));
    expect(await within(asyncOnError.flush())).toBeUndefined();
    await eventually(() => logged.includes('token-limits: the webhook onError callback threw: db down'));

    // Loggers that throw, or return a rejected promise: every event still reaches onError.
    const reported: string[] = [];
    const loggers = [
      { warn: () => { throw new Error('logger broke'); }, error: () => { throw new Error('logger broke'); } },
      { warn: async () => { throw new Error('async logger broke'); }, error: async () => { throw new Error('async logger broke'); } },
    ];
    for (const [i, logger] of loggers.entries()) {
      const hook = track(createAlertWebhook({ url: rx.url, secret: SECRET, onError: (e) => void reported.push(e.event.userId), logger }));
      hook.send(alert(`logger-${i}`));
      expect(await within(hook.flush())).toBeUndefined();
      expect(hook.pending).toBe(0);
    }
    // And an onError that throws with a logger that throws.
    const bothThrow = track(
      createAlertWebhook({ url: rx.url, secret: SECRET, onError: () => { throw new Error('onError broke'); }, logger: loggers[0]! }),
    );
    bothThrow.send(alert('both'));
    expect(await within(bothThrow.flush())).toBeUndefined();
    expect(reported).toEqual(['logger-0', 'logger-1']);
    // Rejections are reported at the end of a turn: a turn later, none was left unhandled.
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled.map(String)).toEqual([]);
  });

  it('a hanging receiver does not slow down the user’s call (latency near the baseline)', async () => {
    const rx = track(await receiver(() => 'hang'));
    const errors: WebhookDeliveryError[] = [];
    const build = (withHook: boolean) => {
      const limiter = createTokenLimiter({ defaultLimits: monthly(1000), alertThresholds: [0.5] });
      // A call that waited for the hook would take its 5 s attempt timeout: far from any noise.
      if (withHook) track(onAlert(limiter, { url: rx.url, secret: SECRET, timeoutMs: 5_000, backoffMs: 50, closeTimeoutMs: 200, onError: (e) => errors.push(e) }));
      const app = express();
      app.use(tokenLimits({ limiter, getUserId: (req) => req.header('x-user') }));
      app.post('/chat', async (_req, res) => {
        res.json(await chargeFromContext(900)); // crosses 50%: an alert per user
      });
      app.use(tokenLimitsErrorHandler());
      return listen(app as never);
    };
    const baseline = track(await build(false));
    const hooked = track(await build(true));
    const timeCalls = async (url: string, prefix: string): Promise<number[]> => {
      const times: number[] = [];
      for (let i = 0; i < 15; i += 1) {
        const start = performance.now();
        const res = await fetch(`${url}/chat`, { method: 'POST', headers: { 'x-user': `${prefix}-${i}` } });
        expect(res.status).toBe(200);
        await res.text();
        times.push(performance.now() - start);
      }
      return times.sort((a, b) => a - b);
    };
    await timeCalls(baseline.url, 'warm');
    const base = await timeCalls(baseline.url, 'b');
    const withHook = await timeCalls(hooked.url, 'h');
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
    expect(median(withHook)).toBeLessThan(median(base) + 50);
    expect(withHook.at(-1)!).toBeLessThan(2_500); // never waits for the 5 s attempt timeout
    await eventually(() => rx.deliveries.length >= 4); // the receiver did get (and hold) requests
  });

  it('a receiver that refuses connections: the call succeeds, the event is reported after its attempts', async () => {
    const dead = await listen(() => {});
    const url = `${dead.url}/hook`;
    await dead.close();
    const errors: WebhookDeliveryError[] = [];
    const limiter = createTokenLimiter({ defaultLimits: monthly(1000), alertThresholds: [0.5] });
    track(onAlert(limiter, { url, secret: SECRET, backoffMs: 5, maxAttempts: 3, onError: (e) => errors.push(e) }));
    const r = await limiter.reserve('bob', { tokens: 600 });
    await limiter.commit(r, { inputTokens: 600, outputTokens: 0 });
    // The commit returned before the delivery's three attempts were through (not timed: a loaded
    // machine can stall any call, but the order of these two events cannot change).
    expect(errors).toHaveLength(0);
    await eventually(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ reason: 'network', attempts: 3 });
  });

  it('the queue is bounded; close() flushes, and abandons what is still hanging after closeTimeoutMs', async () => {
    const slow = track(await receiver(() => 'hang'));
    const errors: WebhookDeliveryError[] = [];
    const hook = createAlertWebhook({ url: slow.url, secret: SECRET, maxQueueSize: 2, timeoutMs: 10_000, closeTimeoutMs: 150, onError: (e) => errors.push(e) });
    for (let i = 0; i < 5; i += 1) hook.send(alert(`u${i}`));
    expect(hook.pending).toBe(2);
    await eventually(() => errors.length === 3);
    expect(errors.map((e) => e.reason)).toEqual(['queue_full', 'queue_full', 'queue_full']);
    const start = Date.now();
    await hook.close();
    expect(Date.now() - start).toBeLessThan(1000);
    expect(hook.pending).toBe(0);
    expect(errors.slice(3).map((e) => e.reason)).toEqual(['closed', 'closed']);
    hook.send(alert('late'));
    await eventually(() => errors.length === 6);
    expect(errors[5]!.reason).toBe('closed');

    const rx = track(await receiver((n) => (n === 1 ? 500 : 204)));
    const hook2 = createAlertWebhook({ url: rx.url, secret: SECRET, backoffMs: 60_000 });
    hook2.send(alert());
    await eventually(() => rx.deliveries.length === 1);
    await hook2.close(); // the retry waiting a minute is tried at once
    expect(rx.deliveries).toHaveLength(2);
  });

  it('a fetch option that ignores its abort signal: attempts still time out, flush() and close() still end', async () => {
    const slow = track(await receiver(() => 'hang'));
    // A wrapper (a proxy-aware fetch, say) that forgets to pass the signal on.
    const forgetful: typeof fetch = (input, init) => fetch(input, { ...init, signal: null });
    const errors: WebhookDeliveryError[] = [];
    const hook = createAlertWebhook({ url: slow.url, secret: SECRET, fetch: forgetful, timeoutMs: 100, maxAttempts: 2, backoffMs: 10, onError: (e) => errors.push(e) });
    hook.send(alert());
    const start = Date.now();
    await hook.flush();
    expect(Date.now() - start).toBeLessThan(2000);
    expect(errors.map((e) => [e.reason, e.attempts])).toEqual([['timeout', 2]]);
    expect(slow.deliveries).toHaveLength(2);

    // close() gives up what still hangs after closeTimeoutMs, whatever fetch does with the signal.
    const hook2 = createAlertWebhook({ url: slow.url, secret: SECRET, fetch: forgetful, timeoutMs: 60_000, closeTimeoutMs: 100, onError: (e) => errors.push(e) });
    hook2.send(alert('bob'));
    await eventually(() => slow.deliveries.length === 3);
    const closing = Date.now();
    await hook2.close();
    expect(Date.now() - closing).toBeLessThan(1000);
    expect(hook2.pending).toBe(0);
    expect(errors.slice(1).map((e) => [e.reason, e.event.userId])).toEqual([['closed', 'bob']]);
  });

  it('a late answer of a fetch that ignored its signal is dropped quietly, whatever its body looks like', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      // A test fetch answering a Response-like object, late, whose body's cancel() returns nothing.
      const answered: string[] = [];
      const late = ((): Promise<Response> =>
        new Promise((resolve) =>
          setTimeout(() => {
            answered.push('late');
            resolve({ status: 204, body: { cancel: () => undefined } } as unknown as Response);
          }, 80),
        )) as typeof fetch;
      const errors: WebhookDeliveryError[] = [];
      const hook = createAlertWebhook({ url: 'http://127.0.0.1:9/hook', secret: SECRET, fetch: late, timeoutMs: 20, maxAttempts: 1, onError: (e) => errors.push(e) });
      hook.send(alert());
      await hook.flush();
      expect(errors.map((e) => e.reason)).toEqual(['timeout']);
      await eventually(() => answered.length === 1);
      await sleep(20);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('close() gives an attempt that fails after it began its last retry at once', async () => {
    // The receiver answers 500 only after close() has begun: the event was neither waiting nor done.
    let answerFirst: (() => void) | undefined;
    const deliveries: number[] = [];
    const rx = track(
      await listen((req: IncomingMessage, res: ServerResponse) => {
        req.resume();
        req.on('end', () => {
          deliveries.push(Date.now());
          if (deliveries.length === 1) answerFirst = () => res.writeHead(500).end();
          else res.writeHead(204).end();
        });
      }),
    );
    const errors: WebhookDeliveryError[] = [];
    const hook = createAlertWebhook({ url: `${rx.url}/hook`, secret: SECRET, backoffMs: 60_000, onError: (e) => errors.push(e) });
    hook.send(alert());
    await eventually(() => answerFirst !== undefined);
    const closing = hook.close();
    answerFirst!();
    await closing;
    expect(deliveries).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it('refuses bad options without echoing the secret', () => {
    expect(() => createAlertWebhook({ url: 'ftp://x', secret: SECRET })).toThrow(/options\.url/);
    expect(() => createAlertWebhook({ url: 'not a url', secret: SECRET })).toThrow(/options\.url/);
    let error: Error | undefined;
    try {
      createAlertWebhook({ url: 'http://127.0.0.1/x', secret: 'short-secret' });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(/options\.secret/);
    expect(error?.message).not.toContain('short-secret');
    // One "(got ...)", the redacted value; the reason says the shape.
    expect(error?.message).toBe('Invalid options.secret: expected a string of at least 16 characters, not a string of 12 characters (got "[redacted]")');
    expect(() => createAlertWebhook({ url: 'http://127.0.0.1/x', secret: SECRET, maxAttempts: 0 })).toThrow(/options\.maxAttempts/);
    expect(() => createAlertWebhook({ url: 'http://127.0.0.1/x', secret: SECRET, retries: 3 } as never)).toThrow(/options\.retries/);
  });
});

/** Every text an error exposes: name, message, stack, fields, and the same down its cause chain. */
function textOf(value: unknown, depth = 0): string {
  if (depth > 8 || value === null || value === undefined) return '';
  if (typeof value !== 'object') return String(value);
  const parts: string[] = [];
  if (value instanceof Error) parts.push(value.name, value.message, value.stack ?? '', textOf(value.cause, depth + 1));
  for (const key of Object.keys(value)) parts.push(key, textOf((value as Record<string, unknown>)[key], depth + 1));
  return parts.join('\n');
}

describe('alert webhook secrets', () => {
  const PASSWORD = 'PASSWORD-hunter2';
  const TOKEN = 'tok-8c1f9e2d7b';
  const API_KEY = 'key-5d4c3b2a1f0e';

  it('refuses a URL with credentials at construction, showing only its origin', () => {
    let error: unknown;
    try {
      createAlertWebhook({ url: `http://admin:${PASSWORD}@127.0.0.1:9/hook?token=${TOKEN}`, secret: SECRET });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'invalid_argument', parameter: 'options.url', value: 'http://127.0.0.1:9' });
    expect((error as Error).message).toMatch(/credentials/);
    for (const secret of [PASSWORD, 'admin', TOKEN, '/hook']) expect(textOf(error)).not.toContain(secret);
    expect(() => createAlertWebhook({ url: new URL(`https://u:${PASSWORD}@example.com/`), secret: SECRET })).toThrow(InvalidArgumentError);
    expect(() => createAlertWebhook({ url: 'https://justuser@example.com/', secret: SECRET })).toThrow(/credentials/);
  });

  it('refuses invalid URLs, non-http(s) schemes and bad option values without echoing them', () => {
    const refused = (options: Record<string, unknown>): InvalidArgumentError => {
      try {
        createAlertWebhook(options as never);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidArgumentError);
        return e as InvalidArgumentError;
      }
      throw new Error(`accepted ${Object.keys(options).join(',')}`);
    };
    const badUrl = refused({ url: `http://admin:${PASSWORD}@host:notaport/hook?token=${TOKEN}`, secret: SECRET });
    expect(badUrl.parameter).toBe('options.url');
    expect(textOf(badUrl)).not.toContain(PASSWORD);
    expect(textOf(badUrl)).not.toContain(TOKEN);
    expect(refused({ url: `ftp://example.com/x?token=${TOKEN}`, secret: SECRET })).toMatchObject({ parameter: 'options.url', value: 'ftp:' });
    expect(refused({ url: 42, secret: SECRET }).parameter).toBe('options.url');
    for (const secret of ['', 'short-secret', undefined, 1234567890123456]) {
      const e = refused({ url: 'http://127.0.0.1/x', secret });
      expect(e.parameter).toBe('options.secret');
      if (typeof secret === 'string' && secret !== '') expect(textOf(e)).not.toContain(secret);
    }
    const misspelt = refused({ url: 'http://127.0.0.1/x', secret: SECRET, token: TOKEN });
    expect(misspelt.parameter).toBe('options.token');
    expect(textOf(misspelt)).not.toContain(TOKEN);
  });

  it('refuses header names and values with CR, LF or other control characters, never quoting the value', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ 'x-api-key': `${API_KEY}\r\nx-injected: 1` }, 'options.headers.x-api-key'],
      [{ 'x-api-key': `${API_KEY}\n` }, 'options.headers.x-api-key'],
      [{ 'x-api-key': `${API_KEY}\u0000` }, 'options.headers.x-api-key'],
      [{ 'x-api-key': `${API_KEY}\u2028` }, 'options.headers.x-api-key'],
      [{ [`x-api-key: ${API_KEY}\r\nx`]: 'v' }, 'options.headers'],
      [{ 'bad name': API_KEY }, 'options.headers'],
      [{ 'x-api-key': 5 }, 'options.headers.x-api-key'],
      [{ 'X-Token-Limits-Signature': API_KEY }, 'options.headers.X-Token-Limits-Signature'],
      [{ 'Content-Type': API_KEY }, 'options.headers.Content-Type'],
      [{ Host: API_KEY }, 'options.headers.Host'],
      [{ 'X-Key': API_KEY, 'x-key': API_KEY }, 'options.headers.x-key'],
    ];
    for (const [headers, parameter] of cases) {
      let error: unknown;
      try {
        createAlertWebhook({ url: 'http://127.0.0.1/x', secret: SECRET, headers: headers as Record<string, string> });
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(headers)).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).parameter, JSON.stringify(headers)).toBe(parameter);
      expect(textOf(error), JSON.stringify(headers)).not.toContain(API_KEY);
    }
    // A tab inside a value is legal HTTP and is accepted.
    expect(() => createAlertWebhook({ url: 'http://127.0.0.1/x', secret: SECRET, headers: { 'x-api-key': `a\t${API_KEY}` } }).close()).not.toThrow();
  });

  it("a failed delivery's error, cause chain and log lines carry no path, query string, header value or secret", async () => {
    const dead = await listen(() => {});
    const base = dead.url;
    await dead.close();
    const url = `${base}/hooks/${TOKEN}-path?token=${TOKEN}&sig=${PASSWORD}`;
    const errors: WebhookDeliveryError[] = [];
    const logged: unknown[] = [];
    const logger = { warn: (m: string, meta?: object) => logged.push([m, meta]), error: (m: string, meta?: object) => logged.push([m, meta]) };
    // A fetch that quotes the request in its error, as some HTTP clients do.
    const quoting: typeof fetch = async (input, init) => {
      const headers = JSON.stringify(init?.headers);
      throw new TypeError(`request to ${String(input)} failed (headers ${headers})`, { cause: Object.assign(new Error(`connect ECONNREFUSED for ${String(input)}`), { code: 'ECONNREFUSED' }) });
    };
    for (const fetchFn of [undefined, quoting]) {
      const hook = createAlertWebhook({
        url,
        secret: SECRET,
        headers: { 'x-api-key': API_KEY },
        backoffMs: 1,
        maxAttempts: 2,
        onError: (e) => errors.push(e),
        logger,
        ...(fetchFn ? { fetch: fetchFn } : {}),
      });
      hook.send(alert());
      await hook.flush();
      await hook.close();
    }
    expect(errors.map((e) => [e.reason, e.attempts])).toEqual([
      ['network', 2],
      ['network', 2],
    ]);
    expect(errors[1]!.cause).toBeInstanceOf(Error);
    // A message that quoted a header value is withheld whole; URLs are cut to their origin.
    expect((errors[1]!.cause as Error).message).toMatch(/withheld/);
    expect((errors[1]!.cause as Error).cause).toMatchObject({ code: 'ECONNREFUSED', message: `connect ECONNREFUSED for ${base}` });
    const said = errors.map((e) => textOf(e)).join('\n') + JSON.stringify(logged);
    expect(logged.length).toBeGreaterThanOrEqual(6); // two warnings and one error per event
    for (const secret of [TOKEN, PASSWORD, API_KEY, SECRET, '/hooks/']) expect(said).not.toContain(secret);
  });
});

describe('verifyWebhookSignature refuses a bad configuration', () => {
  const body = '{"id":"e1"}';
  const at = 1_780_000_000;
  const base = { rawBody: body, timestamp: String(at), now: at * 1000 };

  it('throws InvalidArgumentError for an empty, missing or short secret, and never accepts a forged signature', () => {
    for (const secret of ['', [''], undefined, null, [], ['x'], [SECRET, ''], 'short']) {
      // Signatures anyone can compute with the empty key (or a guessable short one).
      const forged = createHmac('sha256', typeof secret === 'string' ? secret : '').update(`${at}.`).update(body).digest('hex');
      let result: unknown;
      try {
        result = verifyWebhookSignature({ ...base, signature: `v1=${forged}`, secret: secret as never });
      } catch (e) {
        result = e;
      }
      expect(result, JSON.stringify(secret)).toBeInstanceOf(InvalidArgumentError);
      expect((result as InvalidArgumentError).parameter, JSON.stringify(secret)).toMatch(/^secret/);
    }
    expect(() => signWebhookBody('', at, body)).toThrow(InvalidArgumentError);
    // A valid secret still verifies.
    expect(verifyWebhookSignature({ ...base, signature: signWebhookBody(SECRET, at, body), secret: SECRET })).toBe(true);
  });

  it('throws InvalidArgumentError for a NaN, infinite or negative tolerance (or now), which would accept any timestamp', () => {
    const signature = signWebhookBody(SECRET, at, body);
    const ancient = { ...base, now: (at + 10 * 365 * 86_400) * 1000, signature, secret: SECRET };
    expect(verifyWebhookSignature(ancient)).toBe(false);
    for (const toleranceSeconds of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, '300' as never]) {
      expect(() => verifyWebhookSignature({ ...ancient, toleranceSeconds }), String(toleranceSeconds)).toThrow(InvalidArgumentError);
    }
    expect(() => verifyWebhookSignature({ ...ancient, now: Number.NaN })).toThrow(InvalidArgumentError);
    expect(() => verifyWebhookSignature({ ...ancient, rawBody: JSON.parse(body) as never })).toThrow(InvalidArgumentError);
    expect(verifyWebhookSignature({ ...ancient, toleranceSeconds: 0, now: at * 1000 })).toBe(true);
  });

  it('the documented recipe refuses an empty or missing secret instead of accepting a forged signature', async () => {
    const verify = await readmeRecipe();
    const now = Math.floor(Date.now() / 1000);
    const forged = `v1=${createHmac('sha256', '').update(`${now}.`).update(body).digest('hex')}`;
    const headers = { 'x-token-limits-timestamp': String(now), 'x-token-limits-signature': forged };
    expect(() => verify(body, headers, '')).toThrow(/secret/);
    expect(() => verify(body, headers, undefined as never)).toThrow(/secret/);
  });
});
