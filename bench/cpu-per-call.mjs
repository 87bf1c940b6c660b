/**
 * CPU per SDK call in one plain-node process, the emulator in another (see compare-builds.mjs):
 *   node bench/cpu-per-call.mjs bare|wrapped [provider] [mode] [calls]
 * `wrapped` imports the library from `dist/` of the checkout named by TOKEN_LIMITS_DIR (default:
 * this one) and wraps the client (MemoryStore, one monthly rule); `bare` imports only the SDK. The
 * SDKs, the request and the emulator are always this checkout's, so two builds get the same ones. 500 untimed calls (WARM_CALLS in the environment), then `calls` timed ones made one
 * after the other. Prints one JSON line: user + system CPU µs of this process per timed call, and
 * the p50 of their wall times in ms. `--paced` (call-instructions.mjs): prints `warm` after the
 * untimed calls and `timed` after the timed ones, and waits for a line on stdin after each.
 * `--blocks <n>`: also the same two figures per block of `n` timed calls, in order: how a process
 * warms up (with WARM_CALLS=0, from its first call).
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SDK_CASES } from './sdk-cases.mjs';

const [side = 'wrapped', provider = 'openai', mode = 'non-stream', callsText = '2000'] = process.argv.slice(2);
const calls = Number(callsText);
const paced = process.argv.includes('--paced');
const blockSize = process.argv.includes('--blocks') ? Number(process.argv[process.argv.indexOf('--blocks') + 1]) : 0;
const stdinLines = paced ? (await import('node:readline')).createInterface({ input: process.stdin })[Symbol.asyncIterator]() : undefined;
/** Under `--paced`: says `word`, then waits for the driver's next line. */
const pace = async (word) => {
  if (!stdinLines) return;
  process.stdout.write(`${word}\n`);
  await stdinLines.next();
};
const emulator = fork(new URL('./emulator-process.mjs', import.meta.url));
const { urls } = await new Promise((resolve) => emulator.once('message', resolve));
let client = SDK_CASES[provider].make(urls);
if (side === 'wrapped') {
  const dir = process.env.TOKEN_LIMITS_DIR ?? resolve(fileURLToPath(import.meta.url), '../..');
  const lib = await import(pathToFileURL(resolve(dir, 'dist/index.js')).href);
  const limiter = lib.createTokenLimiter({ store: new lib.MemoryStore(), defaultLimits: [{ id: 'm', tokens: Number.MAX_SAFE_INTEGER, period: 'month' }] });
  await limiter.warmup();
  client = lib.withTokenLimits(client, 'bench-user', { limiter });
}
const call = SDK_CASES[provider].calls[mode];
const warmCalls = Number(process.env.WARM_CALLS ?? 500);
for (let i = 0; i < warmCalls; i += 1) await call(client, urls);
await pace('warm');
const times = [];
const blocks = [];
const cpu = process.cpuUsage();
let blockCpu = cpu;
for (let i = 0; i < calls; i += 1) {
  const t = performance.now();
  await call(client, urls);
  times.push(performance.now() - t);
  if (blockSize > 0 && (i + 1) % blockSize === 0) {
    const used = process.cpuUsage(blockCpu);
    blocks.push(figures(times.slice(i + 1 - blockSize), used));
    blockCpu = process.cpuUsage();
  }
}
const used = process.cpuUsage(cpu);
await pace('timed');
process.stdout.write(`${JSON.stringify({ ...figures(times, used), ...(blockSize > 0 ? { blocks } : {}) })}\n`);
emulator.send({ cmd: 'close' });
await new Promise((resolve) => emulator.once('exit', resolve));

/** CPU µs per call and the p50 wall time of `times`, given the CPU used while they ran. */
function figures(times, used) {
  const sorted = [...times].sort((a, b) => a - b);
  return { cpuUsPerCall: Math.round((used.user + used.system) / times.length), p50Ms: Number(sorted[sorted.length >> 1].toFixed(3)) };
}
