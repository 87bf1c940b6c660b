/**
 * Helpers for suites that run against an existing Redis (by default the shared one on
 * 127.0.0.1:6379): fail loudly when it is missing, and isolate tests by key prefix, never FLUSHALL.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The URL `requireRedis()` checks when given none: `REDIS_URL`, else the local default. */
export function defaultRedisUrl(): string {
  return process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
}

/** `url` with any password replaced by `***`, for error messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * Checks that a Redis answers PING at `url` within `timeoutMs`, and returns `url`.
 *
 * Call it in `beforeAll` of every suite that needs a Redis it does not start itself: a missing
 * Redis must make the suite FAIL, never skip.
 *
 * @throws Error naming the (redacted) URL, the cause, and how to point the suite at a Redis.
 */
export async function requireRedis(url: string = defaultRedisUrl(), timeoutMs = 2_000): Promise<string> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const pong = await client.ping();
    if (pong !== 'PONG') throw new Error(`PING answered ${JSON.stringify(pong)}`);
    return url;
  } catch (error) {
    throw new Error(
      `These tests need a real Redis, and none answered at ${redact(url)} within ${timeoutMs} ms ` +
        `(${(error as Error).message}). Start one (redis-server) or set REDIS_URL.`,
      { cause: error },
    );
  } finally {
    client.disconnect();
  }
}

/**
 * A random key prefix such as `tl-test:q3f9c1a07b2e:`, unique per call, to isolate a test's keys
 * on a shared Redis. It contains no glob or hash-tag characters.
 */
export function uniquePrefix(label = 'tl-test'): string {
  if (!/^[\w.-]+$/.test(label)) throw new Error(`label must match [A-Za-z0-9_.-]+, got ${JSON.stringify(label)}`);
  return `${label}:${randomBytes(6).toString('hex')}:`;
}

/**
 * Deletes the keys that start with `prefix` (a value from {@link uniquePrefix}) with SCAN and
 * UNLINK, on a standalone Redis. Returns how many were deleted. For test clean-up only.
 */
export async function deleteKeysWithPrefix(client: Redis, prefix: string): Promise<number> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, (char) => `\\${char}`)}*`;
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
