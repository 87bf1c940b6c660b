/**
 * Before/after CPU per wrapped call for two builds of the package, alternated:
 *   node bench/compare-builds.mjs <before-dir> <after-dir> [provider] [mode] [calls] [pairs]
 * Each directory is a checkout with `dist/` built (e.g. a git worktree of the earlier commit, with
 * this checkout's node_modules linked in, after `npm run build`). For each pair, one plain-node
 * process per build (before, then after, the order swapped every pair) runs this checkout's
 * `cpu-per-call.mjs` on that build's `dist/` (same SDKs, request and emulator): the emulator in its
 * own process, 500 untimed calls, then `calls` timed calls; it prints both builds' CPU µs per
 * call and p50 per pair, and their differences. Provider: openai | anthropic | @google/genai |
 * @google/generative-ai (default openai); mode: non-stream | stream (default non-stream).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [before, after, provider = 'openai', mode = 'non-stream', calls = '2000', pairs = '3'] = process.argv.slice(2);
if (!before || !after) throw new Error('usage: node bench/compare-builds.mjs <before-dir> <after-dir> [provider] [mode] [calls] [pairs]');
const script = fileURLToPath(new URL('./cpu-per-call.mjs', import.meta.url));
const run = (dir) =>
  JSON.parse(execFileSync(process.execPath, [script, 'wrapped', provider, mode, calls], { env: { ...process.env, TOKEN_LIMITS_DIR: resolve(dir) }, encoding: 'utf8' }));
for (let i = 0; i < Number(pairs); i += 1) {
  const order = i % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
  const got = {};
  for (const side of order) got[side] = run(side === 'before' ? before : after);
  console.log(
    `pair ${i + 1}: CPU µs per call before ${got.before.cpuUsPerCall}, after ${got.after.cpuUsPerCall} (${got.after.cpuUsPerCall - got.before.cpuUsPerCall}); ` +
      `p50 ms before ${got.before.p50Ms}, after ${got.after.p50Ms}`,
  );
}
