/**
 * Instructions Redis executes per reserve+commit pair, counted by valgrind (callgrind) on a
 * redis-server started for this: a figure that does not move with the machine's load, for work on
 * the store's scripts (times on this shared machine vary by a third from one minute to the next;
 * this count varies by well under 1% between runs of the same build).
 *   npx tsx bench/redis-instructions.ts [rules=1] [pairs=2000] [--evalsha] [--checkout <dir>] [--keep-dump <file>]
 * Needs `valgrind` (Debian package `valgrind`; not part of CI). 3,000 pairs warm up the server
 * (users drawn from 1,000, concurrency 10, as a wrapped call makes them through the public API),
 * the counters are zeroed, `pairs` more run and are flushed (their all-users aggregates included),
 * and the count is read. `--evalsha`: the client has no `fcall`, so the store runs every script by
 * EVALSHA (functions.ts). `--checkout`: another checkout's `src/` (its own node_modules linked).
 * `--keep-dump`: copies the callgrind dump there, for `callgrind_annotate` (where the instructions go).
 * Under valgrind Redis runs about 50 times slower: 2,000 pairs take about 20 s.
 * Prints one JSON line: instructions per pair in all, and in FCALL and EVALSHA commands.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { findFreePort } from '../test/support/ports.js';
import { waitFor } from '../test/support/wait.js';
import { benchLimits, pairRunner } from './pair-workload.mjs';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const positional = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--checkout' && args[i - 1] !== '--keep-dump');
const rules = Number(positional[0] ?? 1);
const pairs = Number(positional[1] ?? 2000);
const checkout = option('--checkout');
const keepDump = option('--keep-dump');
type Library = typeof import('../src/index.js');
const lib = (checkout ? await import(resolve(checkout, 'src/index.ts')) : await import('../src/index.js')) as Library;

const dir = mkdtempSync(join(tmpdir(), 'tl-callgrind-'));
const port = await findFreePort();
const server = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${join(dir, 'cg.%p')}`, 'redis-server', '--port', String(port), '--save', '', '--appendonly', 'no'], {
  stdio: 'ignore',
});
// Without valgrind, say so at once rather than after the 60 s wait for a server that never starts.
server.once('error', (error) => {
  console.error(`cannot start valgrind (Debian package 'valgrind'): ${error.message}`);
  process.exit(1);
});
try {
  // Connections are refused until valgrind has started the server: one short-lived client per try.
  const answers = async () => {
    const probe = new Redis(port, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG' || undefined;
    } catch {
      return undefined;
    } finally {
      probe.disconnect();
    }
  };
  await waitFor(answers, { timeoutMs: 60_000, intervalMs: 200, what: 'redis-server under valgrind' });
  const client = new Redis(port);
  const store = new lib.RedisStore({ client: flag('--evalsha') ? { evalsha: client.evalsha.bind(client), eval: client.eval.bind(client) } : client, prefix: 'ir' });
  const limiter = lib.createTokenLimiter({ store, defaultLimits: benchLimits(rules), storeTimeoutMs: 60_000 });
  const run = pairRunner(limiter);
  await run(3000);
  execFileSync('callgrind_control', ['-z', String(server.pid)], { stdio: 'ignore' });
  await run(pairs);
  execFileSync('callgrind_control', ['-d', String(server.pid)], { stdio: 'ignore' });
  await limiter.close();
  client.disconnect();
  // The first dump asked for (suffix .1) holds what ran since the counters were zeroed.
  const dump = readdirSync(dir).find((f) => f.endsWith('.1'));
  if (!dump) throw new Error('callgrind wrote no dump');
  const file = join(dir, dump);
  if (keepDump) copyFileSync(file, keepDump);
  const total = Number(/^(?:totals|summary): (\d+)/m.exec(readFileSync(file, 'utf8'))?.[1]);
  const annotated = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  // A function is `???:name` in a build without debug information, `file.c:name` in one with it.
  const inclusive = (fn: string) => Number(new RegExp(`^\\s*([\\d,]+) \\([^)]*\\)\\s+\\S*?:${fn} `, 'm').exec(annotated)?.[1]?.replace(/,/g, '') ?? 0);
  console.log(
    JSON.stringify({
      rules,
      pairs,
      // What ran: a build from before the library, or a client without fcall, runs every script by EVALSHA.
      path: inclusive('fcallCommand') > 0 ? 'fcall' : 'evalsha',
      instructionsPerPair: Math.round(total / pairs),
      inFcall: Math.round(inclusive('fcallCommand') / pairs),
      inEvalsha: Math.round(inclusive('evalShaCommand') / pairs),
    }),
  );
} finally {
  server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
