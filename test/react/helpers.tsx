import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';
import { createTokenLimiter, MemoryStore, type LimitRule, type TokenLimiter } from '../../src/index.js';
import { createAdminHandler, toNodeListener } from '../../src/integrations/http/index.js';
import type { UsageRecordJson } from '../../src/react/api.js';
import type { Fetcher } from '../../src/react/index.js';
import { listen, type Running } from '../integrations/helpers.js';

// Testing Library cleans up by itself only with vitest globals: unmount after every test here.
afterEach(() => cleanup());

/** A fixed "now" for the component tests: 20 May 2026, 12:00 UTC (the month renews on 1 June). */
export const NOW = new Date('2026-05-20T12:00:00.000Z');

export interface AdminServer {
  limiter: TokenLimiter;
  running: Running;
  /** The API base URL (`http://127.0.0.1:port/admin/api`). */
  baseUrl: string;
  /** Requests the server received (method, path with query, JSON body). */
  requests: Array<{ method: string; path: string; body: unknown }>;
  /** A fetcher that signs in as `userId` (an admin with `admin: true`). */
  as(userId: string, admin?: boolean): Fetcher;
  close(): Promise<void>;
}

/**
 * The real admin HTTP API (`createAdminHandler` over `node:http` on 127.0.0.1) on a MemoryStore.
 * Callers say who they are with `x-user` / `x-admin` headers, as a session would.
 */
export async function startAdminServer(
  defaultLimits: LimitRule[] = [{ id: 'monthly', tokens: 100_000, period: 'month' }],
  // The default store reads Date.now at each call, so tests that fake Date move its clock too.
  limiter: TokenLimiter = createTokenLimiter({ store: new MemoryStore({ clock: () => Date.now() }), defaultLimits }),
): Promise<AdminServer> {
  const handler = createAdminHandler({
    limiter,
    basePath: '/admin/api',
    authorize: (request) => {
      const user = request.headers.get('x-user');
      if (!user) return null;
      return request.headers.get('x-admin') === 'yes' ? { role: 'admin', userId: user } : { role: 'user', userId: user };
    },
  });
  const requests: AdminServer['requests'] = [];
  const listener = toNodeListener(async (request) => {
    const url = new URL(request.url);
    const text = request.method === 'GET' ? '' : await request.clone().text();
    requests.push({ method: request.method, path: url.pathname + url.search, body: text === '' ? undefined : JSON.parse(text) });
    return handler(request);
  });
  const running = await listen(listener);
  return {
    limiter,
    running,
    baseUrl: `${running.url}/admin/api`,
    requests,
    as: (userId, admin = false) => (url, init) =>
      fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), 'x-user': userId, ...(admin ? { 'x-admin': 'yes' } : {}) } }),
    close: async () => {
      await running.close();
      await limiter.close();
    },
  };
}

/** Charges `user` one call: reserve, then commit the given usage. */
export async function charge(limiter: TokenLimiter, user: string, usage: { input: number; output: number; model?: string }): Promise<void> {
  const r = await limiter.reserve(user, { tokens: usage.input + usage.output });
  await limiter.commit(r, { inputTokens: usage.input, outputTokens: usage.output, model: usage.model ?? 'gpt-4o-mini', provider: 'openai' });
}

/**
 * A JSON answer for a mocked fetcher. Only what the client reads (`ok`, `status`, `text()`), with
 * no stream behind it, so fake timers alone decide when it settles.
 */
export function json(body: unknown, status = 200): Response {
  const text = JSON.stringify(body);
  return { ok: status >= 200 && status < 300, status, text: () => Promise.resolve(text) } as unknown as Response;
}

/** A `UserUsageJson` for UI-state tests with a mocked fetcher. */
export function usageJson(over: { used: number; limit: number; metric?: 'tokens' | 'requests' | 'costUsd'; isActive?: boolean; userId?: string }) {
  const metric = over.metric ?? 'tokens';
  const rule = { id: 'monthly', period: 'month' as const, [metric]: over.limit };
  const w = {
    ruleId: 'monthly',
    metric,
    rule,
    limit: over.limit,
    used: over.used,
    reserved: 0,
    remaining: Math.max(0, over.limit - over.used),
    periodStart: '2026-05-01T00:00:00.000Z',
    resetAt: '2026-06-01T00:00:00.000Z',
  };
  const { ruleId: _ruleId, rule: _rule, ...top } = w;
  return { userId: over.userId ?? 'alice', isActive: over.isActive ?? true, ...top, windows: [w] };
}

/** A usage-log record as the HTTP API sends it: one OpenAI chat call of 12 tokens, changed by `over`. */
export function usageRecordJson(over: Partial<UsageRecordJson> = {}): UsageRecordJson {
  return {
    id: 'r1',
    userId: 'alice',
    provider: 'openai',
    model: 'gpt-4o-mini',
    endpoint: 'chat.completions',
    inputTokens: 10,
    cachedInputTokens: 0,
    outputTokens: 2,
    reasoningTokens: 0,
    totalTokens: 12,
    costUsd: 0.01,
    estimated: false,
    requestId: null,
    timestamp: '2026-05-03T10:00:00.000Z',
    latencyMs: 120,
    status: 'ok',
    ...over,
  };
}
