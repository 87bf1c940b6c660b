/**
 * Starts the example app: the OpenAI emulator (unless an API key is given), a RedisStore, the
 * page built with Vite from web/, and the Express app. server.ts runs it; the end-to-end test
 * (test/e2e/) starts it the same way on free ports.
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { configureTokenLimits, RedisStore, withTokenLimits, type LimitRule, type TokenLimiter } from 'token-limits';
import { startEmulator, type Emulator } from 'token-limits/testing';
import { createApp } from './app.js';

/** The example's default limits: small, so a few chats show the warning and exceeded states. */
export const DEFAULT_LIMITS: LimitRule[] = [{ id: 'monthly', tokens: 2_000, period: 'month' }];

/** Where the page is built (and served from). */
export const WEB_DIST = fileURLToPath(new URL('./web/dist/', import.meta.url));
const WEB_CONFIG = fileURLToPath(new URL('./web/vite.config.ts', import.meta.url));

export interface ExampleOptions {
  /** @default 3000 (0: a free port) */
  port?: number;
  /** @default process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' */
  redisUrl?: string;
  /** Key prefix in Redis. @default 'tl-example' */
  redisPrefix?: string;
  /** A real OpenAI key; without one (or with '') the emulator answers. @default process.env.OPENAI_API_KEY */
  openaiApiKey?: string;
  /** Build the page first ('always'), only when web/dist is missing ('missing'), or never. @default 'missing' */
  buildWeb?: 'always' | 'missing' | 'never';
}

export interface RunningExample {
  url: string;
  limiter: TokenLimiter;
  /** The OpenAI emulator, or undefined with a real API key. */
  emulator: Emulator | undefined;
  close(): Promise<void>;
}

/** Builds the page with Vite into web/dist (Vite is a dev dependency of this repository). */
export async function buildWeb(): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: WEB_CONFIG, logLevel: 'warn' });
}

export async function startExample(options: ExampleOptions = {}): Promise<RunningExample> {
  const buildMode = options.buildWeb ?? 'missing';
  if (buildMode === 'always' || (buildMode === 'missing' && !existsSync(`${WEB_DIST}index.html`))) await buildWeb();

  const apiKey = options.openaiApiKey ?? process.env.OPENAI_API_KEY;
  const emulator = apiKey ? undefined : await startEmulator();
  const redis = new Redis(options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 2, lazyConnect: true });
  try {
    await redis.connect();
  } catch (error) {
    await emulator?.close();
    redis.disconnect();
    throw new Error(`The example app needs a Redis: ${(error as Error).message}. Set REDIS_URL or start redis-server.`, { cause: error });
  }

  // The default limiter: wrapped clients and the middleware use it unless told otherwise.
  const limiter = configureTokenLimits({ store: new RedisStore({ client: redis, prefix: options.redisPrefix ?? 'tl-example' }), defaultLimits: DEFAULT_LIMITS });
  // Wrapped once, with no user: each call charges the user of the current request.
  const openai = withTokenLimits(new OpenAI(emulator ? { apiKey: 'emulated', baseURL: emulator.openaiBaseURL, maxRetries: 0 } : { apiKey }));

  const app = createApp({ openai, limiter, staticDir: WEB_DIST });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(options.port ?? 3000, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    limiter,
    emulator,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await limiter.close();
      redis.disconnect();
      await emulator?.close();
    },
  };
}
