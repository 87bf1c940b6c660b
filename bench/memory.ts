/**
 * Memory figures, each measured in fresh plain-node processes (no tsx loader, the package loaded
 * from the built `dist/` as an application loads it) of this run, against a baseline of the same run:
 * - RSS of a process with the library loaded, and warmed (`limiter.warmup()` with its defaults: the
 *   o200k encoder only, then 1,000 estimates and reserve+commit pairs), vs a bare `node` process
 *   that imports nothing, and beside it a process that loads gpt-tokenizer's o200k encoder alone
 *   (what the encoder itself costs, whoever loads it);
 * - MemoryStore bytes per user for 100,000 users (one rule, one call each, after `global.gc()`) vs
 *   the bytes per entry of the smallest useful record (a Map from user id to one counter).
 * The children are in memory-child.mjs. Run standalone with `npx tsx bench/memory.ts`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from './processes.js';

export interface RssResult {
  /** A bare plain `node` process that imports nothing, MB (median). */
  bareMb: number;
  /** gpt-tokenizer's o200k encoder alone (no library), one count made, MB (median). */
  encoderOnlyMb: number;
  /** Library imported, limiter created (MemoryStore), nothing warmed, MB (median). */
  loadedMb: number;
  /** `limiter.warmup()` and 1,000 estimates + reserve/commit pairs, MB (median). */
  warmedMb: number;
  /** warmed − bare, MB. */
  addedMb: number;
  /** warmed ÷ bare. */
  ratio: number;
  /** Spread (min-max) of each figure over the processes. */
  spreadMb: { bare: [number, number]; encoderOnly: [number, number]; loaded: [number, number]; warmed: [number, number] };
  /** Encoders loaded after `warmup()`, and after the 1,000 calls (e.g. `o200k_base`). */
  encodersAfterWarmup: string;
  encodersAfterCalls: string;
}

export interface BytesPerUserResult {
  users: number;
  /** Heap growth per user with the library (MemoryStore + limiter caches), bytes. */
  bytesPerUser: number;
  /** Heap growth per entry of `Map<userId, { used: number }>` for the same ids, bytes. */
  baselineBytesPerUser: number;
  ratio: number;
  /** Heap growth in all, MB (it includes bounded caches, e.g. the limiter's rules cache). */
  heapMb: number;
}

const CHILD = fileURLToPath(new URL('./memory-child.mjs', import.meta.url));

function child(mode: string, extraNodeArgs: string[] = []): Record<string, number | string> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const out = execFileSync(process.execPath, [...extraNodeArgs, CHILD, mode], { encoding: 'utf8', maxBuffer: 1 << 20, env });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number | string>;
}

/** Median of `runs` fresh processes for each RSS figure; the three kinds alternate. */
export function benchRss(runs = 3): RssResult {
  ensureBuilt();
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const bare: number[] = [];
  const encoderOnly: number[] = [];
  const loaded: number[] = [];
  const warmed: number[] = [];
  let last: Record<string, number | string> = {};
  for (let i = 0; i < runs; i += 1) {
    bare.push(child('rss-bare').rss as number);
    encoderOnly.push(child('rss-encoder').rss as number);
    loaded.push(child('rss-loaded').rss as number);
    last = child('rss-warmed');
    warmed.push(last.rss as number);
  }
  const mb = (bytes: number) => Math.round((bytes / 1e6) * 10) / 10;
  const range = (xs: number[]): [number, number] => [mb(Math.min(...xs)), mb(Math.max(...xs))];
  const b = median(bare);
  const w = median(warmed);
  return {
    bareMb: mb(b),
    encoderOnlyMb: mb(median(encoderOnly)),
    loadedMb: mb(median(loaded)),
    warmedMb: mb(w),
    addedMb: mb(w - b),
    ratio: w / b,
    spreadMb: { bare: range(bare), encoderOnly: range(encoderOnly), loaded: range(loaded), warmed: range(warmed) },
    encodersAfterWarmup: String(last.encodersAfterWarmup),
    encodersAfterCalls: String(last.encodersAfterCalls),
  };
}

export function benchBytesPerUser(users = 100_000): BytesPerUserResult {
  ensureBuilt();
  const ours = child(`bytes-library:${users}`, ['--expose-gc']);
  const base = child(`bytes-baseline:${users}`, ['--expose-gc']);
  const perUser = ours.perUser as number;
  const basePerUser = base.perUser as number;
  return {
    users,
    bytesPerUser: Math.round(perUser),
    baselineBytesPerUser: Math.round(basePerUser),
    ratio: perUser / basePerUser,
    heapMb: Math.round(((ours.heap as number) / 1e6) * 10) / 10,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(benchRss());
  console.log(benchBytesPerUser());
}
