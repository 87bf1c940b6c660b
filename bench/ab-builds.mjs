/**
 * Wall time of wrapped calls from two builds in one process, call by call in turn:
 *   node bench/ab-builds.mjs <before-dir> <after-dir> [provider] [mode] [calls] [rounds]
 * Both builds' `dist/` are imported side by side (each with its own module graph, so both install
 * their hooks and the bare SDK is not measured); each wraps its own client of the same SDK
 * (MemoryStore, one monthly rule), and calls alternate A, B, B, A, ... so that the machine's load
 * falls on both alike. The emulator runs in its own process. After 500 untimed calls of each, per
 * round `calls` timed calls of each, each followed by an untimed pause of one timer (what a call
 * leaves for later, its commit, runs there rather than in the next timed call, which may be the
 * other build's); prints per round the p50 of each build and their difference (after − before),
 * then the median difference over the rounds. For a change that moves work off
 * the caller's path (timed here) without changing the work (see compare-builds.mjs for CPU).
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SDK_CASES } from './sdk-cases.mjs';

const [before, after, provider = 'openai', mode = 'non-stream', callsText = '2000', roundsText = '5'] = process.argv.slice(2);
if (!before || !after) throw new Error('usage: node bench/ab-builds.mjs <before-dir> <after-dir> [provider] [mode] [calls] [rounds]');
const calls = Number(callsText);
const rounds = Number(roundsText);
const emulator = fork(new URL('./emulator-process.mjs', import.meta.url));
const { urls } = await new Promise((done) => emulator.once('message', done));
const call = SDK_CASES[provider].calls[mode];

async function wrapped(dir) {
  const lib = await import(pathToFileURL(resolve(dir, 'dist/index.js')).href);
  const limiter = lib.createTokenLimiter({ store: new lib.MemoryStore(), defaultLimits: [{ id: 'm', tokens: Number.MAX_SAFE_INTEGER, period: 'month' }] });
  await limiter.warmup();
  return { limiter, client: lib.withTokenLimits(SDK_CASES[provider].make(urls), 'bench-user', { limiter }) };
}
const sides = [await wrapped(before), await wrapped(after)];
for (let i = 0; i < 500; i += 1) for (const side of sides) await call(side.client, urls);
const p50 = (values) => values.sort((a, b) => a - b)[values.length >> 1];
const differences = [];
for (let round = 0; round < rounds; round += 1) {
  const times = [[], []];
  for (let i = 0; i < calls; i += 1) {
    const order = i % 2 === 0 ? [0, 1] : [1, 0];
    for (const s of order) {
      const t = performance.now();
      await call(sides[s].client, urls);
      times[s].push(performance.now() - t);
      // Untimed: what a call left for later (its commit) runs here, not inside the next timed call.
      await new Promise((done) => setTimeout(done, 0));
    }
  }
  for (const side of sides) await side.limiter.flush();
  const [a, b] = [p50(times[0]) * 1000, p50(times[1]) * 1000];
  differences.push(b - a);
  console.log(`round ${round + 1}: p50 µs before ${a.toFixed(0)}, after ${b.toFixed(0)} (${(b - a).toFixed(0)})`);
}
console.log(`median difference after − before: ${p50(differences).toFixed(0)} µs`);
for (const side of sides) await side.limiter.close();
emulator.send({ cmd: 'close' });
await new Promise((done) => emulator.once('exit', done));
