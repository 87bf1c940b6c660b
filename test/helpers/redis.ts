import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { HOT_PATH_LIBRARY } from '../../src/stores/redis/registry.js';
import { defaultRedisUrl, requireRedis, uniquePrefix as harnessPrefix } from '../support/redis-available.js';

export const REDIS_URL = defaultRedisUrl();

/** A client on the test Redis; throws (tests fail, never skip) when no Redis answers. */
export async function connectRedis(): Promise<Redis> {
  return new Redis(await requireRedis(REDIS_URL));
}

/**
 * The client a test file shares: connected when the file is collected (top-level await), closed
 * after its last test. Throws, failing the file, when no Redis answers.
 */
export async function redisForThisFile(): Promise<Redis> {
  const client = await connectRedis();
  afterAll(() => client.disconnect());
  return client;
}

/** A random store prefix (letters, digits, `-` and `:` only). */
export function uniquePrefix(label = 'tl-test'): string {
  return harnessPrefix(label).replace(/:$/, '');
}

/** Anything that sends a raw command: an ioredis `Redis`, or a node of a `Cluster`. */
interface Caller {
  call(command: string, ...args: string[]): Promise<unknown>;
}

/** How many times this server ran a command (INFO commandstats; 0 before the first). */
export async function commandCalls(node: Caller, command: string): Promise<number> {
  const info = String(await node.call('INFO', 'commandstats'));
  const match = new RegExp(`^cmdstat_${command.replace('|', '\\|')}:calls=(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : 0;
}

/** Whether this server holds the store's Redis Functions library. */
export async function libraryLoaded(node: Caller): Promise<boolean> {
  const list = (await node.call('FUNCTION', 'LIST', 'LIBRARYNAME', HOT_PATH_LIBRARY.name)) as unknown[];
  // LIBRARYNAME matches as a pattern: the exact name must be there.
  return JSON.stringify(list).includes(`"${HOT_PATH_LIBRARY.name}"`);
}
