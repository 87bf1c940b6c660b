import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from './ports.js';
import { defaultRedisUrl, deleteKeysWithPrefix, requireRedis, uniquePrefix } from './redis-available.js';

let shared: Redis;
const prefix = uniquePrefix('tl-harness-test');

beforeAll(async () => {
  shared = new Redis(await requireRedis());
});

afterAll(async () => {
  await deleteKeysWithPrefix(shared, prefix);
  shared.disconnect();
});

describe('requireRedis', () => {
  it('returns the URL of a Redis that answers (REDIS_URL or 127.0.0.1:6379)', async () => {
    expect(await requireRedis()).toBe(defaultRedisUrl());
  });

  it('throws a clear error, quickly, when nothing answers', async () => {
    const port = await findFreePort();
    const begin = Date.now();
    await expect(requireRedis(`redis://127.0.0.1:${port}`, 500)).rejects.toThrow(
      new RegExp(`need a real Redis, and none answered at redis://127\\.0\\.0\\.1:${port}`),
    );
    expect(Date.now() - begin).toBeLessThan(2_000);
  });

  it('redacts the password in its error', async () => {
    const port = await findFreePort();
    const error = (await requireRedis(`redis://user:s3cret@127.0.0.1:${port}`, 500).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('***');
    expect(error.message).not.toContain('s3cret');
  });
});

describe('uniquePrefix and deleteKeysWithPrefix', () => {
  it('gives distinct prefixes without glob or hash-tag characters', () => {
    const prefixes = new Set(Array.from({ length: 1_000 }, () => uniquePrefix()));
    expect(prefixes.size).toBe(1_000);
    for (const value of prefixes) expect(value).toMatch(/^tl-test:[0-9a-f]{12}:$/);
    expect(() => uniquePrefix('a*b')).toThrow(/label/);
  });

  it('deletes only the keys of its prefix', async () => {
    const mine = `${prefix}a:`;
    const other = `${prefix}b:`;
    await shared.mset(`${mine}1`, '1', `${mine}2`, '2', `${other}1`, '1');
    expect(await deleteKeysWithPrefix(shared, mine)).toBe(2);
    expect(await shared.exists(`${mine}1`, `${mine}2`, `${other}1`)).toBe(1);
  });
});
