/**
 * Instructions the calling process executes per SDK call, counted by valgrind (callgrind): a
 * figure that does not move with the machine's load, for work on the wrapper's client path (wall
 * and CPU times of cross-process calls on this shared 2-core machine move by a third between runs).
 *   node bench/call-instructions.mjs bare|wrapped [provider] [mode] [calls=300]
 *     [--warm <calls>] [--checkout <dir>] [--top <n>] [--keep-dump <file>]
 *   node bench/call-instructions.mjs pairs [rules=1] [pairs=2000] [--warm <pairs>] [...]
 * `pairs`: reserve+commit pairs on RedisStore instead (pair-client.mjs, its redis-server native),
 * counted per pair, after 3,000 warm-up pairs by default.
 * The caller runs under valgrind (about 50 times slower), the emulator natively in its own
 * process. The caller makes `--warm` untimed calls (default 500), then the counters are zeroed,
 * `calls` more run one after the other, and the count is read. Prints one JSON line: instructions
 * per call on the main thread (JavaScript, and the part of garbage collection it does) and on all
 * threads (with background compilation and GC, which vary more from run to run).
 * `--checkout`: another checkout with `dist/` built (compare two builds by the difference).
 * `--top`: also lists the library's `n` costliest functions, inclusive of what they call,
 * named through V8's perf map (`--perf-basic-prof`). `--keep-dump`: keeps the main thread's
 * callgrind dump there, and the perf map beside it (`<file>.map`).
 * Needs `valgrind` (Debian package; not part of CI).
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const OPTIONS = ['--checkout', '--keep-dump', '--top', '--warm'];
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const positional = args.filter((a, i) => !a.startsWith('--') && !OPTIONS.includes(args[i - 1]));
const [side = 'wrapped', ...rest] = positional;
const pairs = side === 'pairs';
const [provider = 'openai', mode = 'non-stream', callsText = '300'] = pairs ? [] : rest;
const [rules = '1', pairsText = '2000'] = pairs ? rest : [];
const calls = Number(pairs ? pairsText : callsText);
const checkout = option('--checkout');
const keepDump = option('--keep-dump');
const top = Number(option('--top') ?? 0);
const dir = mkdtempSync(join(tmpdir(), 'tl-call-cg-'));
const caller = fileURLToPath(new URL(pairs ? './pair-client.mjs' : './cpu-per-call.mjs', import.meta.url));
const child = spawn(
  'valgrind',
  [
    '--tool=callgrind',
    '--separate-threads=yes',
    `--callgrind-out-file=${join(dir, 'cg.%p')}`,
    process.execPath,
    '--perf-basic-prof',
    caller,
    ...(pairs ? [rules, pairsText] : [side, provider, mode, callsText]),
    '--paced',
  ],
  {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { ...process.env, WARM_CALLS: option('--warm') ?? (pairs ? '3000' : '500'), ...(checkout ? { TOKEN_LIMITS_DIR: resolve(checkout) } : {}) },
  },
);
child.once('error', (error) => {
  console.error(`cannot start valgrind (Debian package 'valgrind'): ${error.message}`);
  process.exit(1);
});
const perfMap = `/tmp/perf-${child.pid}.map`;
try {
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const expect = async (word) => {
    const { value, done } = await lines.next();
    if (done || value !== word) throw new Error(`the caller said ${JSON.stringify(value)}, expected ${word}`);
  };
  await expect('warm');
  execFileSync('callgrind_control', ['-z', String(child.pid)], { stdio: 'ignore' });
  child.stdin.write('go\n');
  await expect('timed');
  execFileSync('callgrind_control', ['-d', String(child.pid)], { stdio: 'ignore' });
  child.stdin.end('end\n');
  await new Promise((r) => child.once('exit', r));
  // The first dump asked for (suffix .1) holds what ran since the counters were zeroed, one file
  // per thread (-01 the main thread, which runs JavaScript; the others compile and collect).
  const dumps = readdirSync(dir).filter((f) => /\.1-\d+$/.test(f));
  const main = dumps.find((f) => f.endsWith('-01'));
  if (!main) throw new Error('callgrind wrote no dump');
  const count = (f) => Number(/^(?:totals|summary): (\d+)/m.exec(readFileSync(join(dir, f), 'utf8'))?.[1] ?? 0);
  const all = dumps.reduce((sum, f) => sum + count(f), 0);
  console.log(JSON.stringify({ side, ...(pairs ? { rules, pairs: calls } : { provider, mode, calls }), mainThread: Math.round(count(main) / calls), allThreads: Math.round(all / calls) }));
  if (keepDump) {
    copyFileSync(join(dir, main), keepDump);
    if (existsSync(perfMap)) copyFileSync(perfMap, `${keepDump}.map`);
  }
  if (top > 0) printTop(join(dir, main));
} finally {
  child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  rmSync(perfMap, { force: true });
}

/** The library's costliest functions per call, inclusive, named from the perf map. */
function printTop(dump) {
  const entries = readFileSync(perfMap, 'utf8')
    .split('\n')
    .map((line) => /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line))
    .filter(Boolean)
    .map((m) => ({ start: parseInt(m[1], 16), size: parseInt(m[2], 16), name: m[3] }))
    .sort((a, b) => a.start - b.start);
  const nameOf = (address) => {
    let lo = 0;
    let hi = entries.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (entries[mid].start <= address) lo = mid;
      else hi = mid - 1;
    }
    // Code objects can be replaced at the same place: look back a little for the one that holds it.
    for (let i = lo; i >= Math.max(0, lo - 50); i -= 1) if (entries[i].start <= address && address < entries[i].start + entries[i].size) return entries[i].name;
    return undefined;
  };
  const annotated = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', dump], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const byName = new Map();
  for (const line of annotated.split('\n')) {
    const m = /^\s*([\d,]+) \([^)]*\)\s+\?\?\?:0x([0-9a-f]+) \[\?\?\?\]/.exec(line);
    if (!m) continue;
    const name = nameOf(parseInt(m[2], 16));
    if (!name || !/\/dist\//.test(name)) continue;
    // One entry per function, whatever its tier (~ interpreted, ^ baseline, * optimized).
    const key = name.replace(/^JS:[~^*+]?/, '').replace(/file:\/\/\S*\/dist\//, '');
    byName.set(key, (byName.get(key) ?? 0) + Number(m[1].replace(/,/g, '')));
  }
  const sorted = [...byName].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [name, n] of sorted) console.log(`${String(Math.round(n / calls)).padStart(9)}  ${name}`);
}
