import { once } from 'node:events';
import { createServer, request as httpRequest, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import {
  createTokenLimiter,
  currentLimiter,
  currentUserId,
  MemoryStore,
  MissingUserError,
  RedisStore,
  type AlertEvent,
  type LimitRule,
  type TokenLimiter,
  type TokenLimiterOptions,
} from '../../src/index.js';
import { connectRedis, uniquePrefix } from '../helpers/redis.js';

export interface Running {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 on a free port. */
export async function listen(listener: RequestListener | Server): Promise<Running> {
  const server = typeof listener === 'function' ? createServer(listener) : listener;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type StoreKind = 'memory' | 'redis';

let redis: Redis | undefined;

/** A limiter on a fresh MemoryStore, or on the local Redis under a random prefix. */
export async function makeLimiter(kind: StoreKind, options: TokenLimiterOptions = {}): Promise<TokenLimiter> {
  if (kind === 'memory') return createTokenLimiter({ store: new MemoryStore(), ...options });
  redis ??= await connectRedis();
  return createTokenLimiter({ store: new RedisStore({ client: redis, prefix: uniquePrefix('tl-web') }), ...options });
}

export function closeRedis(): void {
  redis?.disconnect();
  redis = undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An alert event as the limiter emits it (the user's monthly rule crossed 80%). */
export const alertEvent = (userId = 'alice'): AlertEvent => ({
  userId,
  scope: 'user',
  ruleId: 'monthly',
  metric: 'tokens',
  threshold: 0.8,
  limit: 1000,
  used: 850,
  periodStart: new Date('2026-05-01T00:00:00Z'),
  resetAt: new Date('2026-06-01T00:00:00Z'),
});

/** Waits until `check()` holds, polling every 10 ms; fails after `ms`. */
export async function eventually(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

/**
 * What a client wrapped once at start-up does (`withTokenLimits(new OpenAI())`, no user): it finds
 * the user and the limiter in the request context, reserves, "calls the provider", commits.
 */
export async function chargeFromContext(tokens: number, fallback?: TokenLimiter, providerDelayMs = 0): Promise<{ userId: string }> {
  const userId = currentUserId();
  if (userId === undefined) throw new MissingUserError();
  const limiter = currentLimiter() ?? fallback;
  if (limiter === undefined) throw new Error('no limiter in context');
  const reservation = await limiter.reserve(userId, { tokens });
  await sleep(providerDelayMs);
  // The user must still be the same after the await.
  if (currentUserId() !== userId) throw new Error('the context changed during the call');
  await limiter.commit(reservation, { inputTokens: tokens, outputTokens: 0, model: 'gpt-4o-mini' });
  return { userId };
}

export const monthly = (tokens: number): LimitRule[] => [{ id: 'monthly', tokens, period: 'month' }];

/** Response headers as a plain object, minus the ones that change on every request. */
export function stableHeaders(response: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of response.headers) if (k !== 'date' && k !== 'keep-alive' && k !== 'connection') out[k] = v;
  return out;
}

/**
 * A POST whose body arrives in two chunks, 40 ms and 80 ms after the headers: the server reads it
 * from socket events, outside the context the request started in.
 */
export function postWithLateBody(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  const { hostname, port, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: hostname, port, method: 'POST', path: pathname + search, headers: { ...headers, 'content-length': Buffer.byteLength(body) }, timeout: 5000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.flushHeaders();
    setTimeout(() => req.write(body.slice(0, 5)), 40);
    setTimeout(() => req.end(body.slice(5)), 80);
  });
}
