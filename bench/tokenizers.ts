/**
 * Tokenizer benchmark: cold start, throughput and the event-loop block of request estimation.
 * Run standalone with `npx tsx bench/tokenizers.ts` (about a minute on 2 cores), or import
 * `benchTokenizers()` and put the returned plain objects in a table.
 */
import { execFileSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { estimateOpenAIChatCompletion } from '../src/providers/openai/estimate.js';
import { gptTokenizer } from '../src/tokenizer/gpt-tokenizer.js';
import { jsTiktokenTokenizer } from '../src/tokenizer/js-tiktoken.js';
import type { EncodingName, Tokenizer } from '../src/tokenizer/types.js';

/** Fresh-process load of one encoder. */
export interface ColdStartResult {
  tokenizer: string;
  encoding: EncodingName;
  /** require + construct + first count, ms. */
  loadMs: number;
  /** Resident memory added, MB. */
  rssAddedMb: number;
}

/** Counting speed on one input. */
export interface ThroughputResult {
  tokenizer: string;
  encoding: EncodingName;
  input: string;
  bytes: number;
  tokens: number;
  ms: number;
  mbPerSecond: number;
  tokensPerSecond: number;
}

/** Worst event-loop block while estimating one chat request. */
export interface BlockResult {
  input: string;
  bytes: number;
  /** Longest event-loop delay seen, ms (histogram resolution 1 ms). */
  maxBlockMs: number;
  /** Synchronous time of the estimate, ms. */
  estimateMs: number;
  /** Baseline: synchronous time of `JSON.stringify` of the same request body (the SDK serializes it anyway), ms. */
  serializeMs: number;
  inputTokens: number;
  exact: boolean;
}

const WORDS = ('the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were ' +
  'committee budget evening forecast harbor island journal quarterly revenue growth strategy customer network security platform ' +
  'analysis performance government development research community education technology').split(' ');

/** Deterministic pseudo-random English-like prose of about `bytes` bytes (no repetition for the merge cache to exploit). */
export function prose(bytes: number, seed = 1): string {
  let state = seed;
  const parts: string[] = [];
  let length = 0;
  let sentence = 0;
  while (length < bytes) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    let word = WORDS[state % WORDS.length]!;
    if (sentence === 0) word = word[0]!.toUpperCase() + word.slice(1);
    sentence++;
    if (sentence > 8 + (state % 10)) {
      word += '.';
      sentence = 0;
    }
    parts.push(word);
    length += word.length + 1;
  }
  return parts.join(' ').slice(0, bytes);
}

/** Deterministic CJK text of about `bytes` UTF-8 bytes, common ideographs with punctuation. */
export function cjk(bytes: number, seed = 1): string {
  const chars = '的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从';
  let state = seed;
  let out = '';
  while (out.length * 3 < bytes) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out += state % 17 === 0 ? '，' : state % 29 === 0 ? '。' : chars[state % chars.length];
  }
  return out;
}

const LOADERS: Record<string, (encoding: EncodingName) => string> = {
  'gpt-tokenizer': (e) => `const m = require('gpt-tokenizer/encoding/${e}'); m.countTokens('hello world');`,
  'js-tiktoken': (e) => `const { Tiktoken } = require('js-tiktoken/lite'); const r = require('js-tiktoken/ranks/${e}'); new Tiktoken(r).encode('hello world');`,
};

/** Loads one encoder in a fresh Node process and reports its cost. */
export function coldStart(tokenizer: string, encoding: EncodingName): ColdStartResult {
  const body = LOADERS[tokenizer]!(encoding);
  const script = `const rss0 = process.memoryUsage().rss; const t0 = performance.now(); ${body} const ms = performance.now() - t0; global.gc?.(); process.stdout.write(JSON.stringify({ ms, rss: process.memoryUsage().rss - rss0 }));`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: process.cwd(), encoding: 'utf8' });
  const { ms, rss } = JSON.parse(out) as { ms: number; rss: number };
  return { tokenizer, encoding, loadMs: Math.round(ms), rssAddedMb: Math.round(rss / 1e6) };
}

/** Median of several runs, each on a different text of the same kind and size (no cache reuse), after a warm-up. */
function throughput(tokenizer: Tokenizer, encoding: EncodingName, input: string, make: (seed: number) => string, runs: number): ThroughputResult {
  tokenizer.count(make(1000), encoding); // JIT and cache warm-up on another text of the same kind
  const times: number[] = [];
  let tokens = 0;
  let bytes = 0;
  for (let run = 0; run < runs; run += 1) {
    const text = make(run + 1);
    const started = performance.now();
    tokens = tokenizer.count(text, encoding);
    times.push(performance.now() - started);
    bytes = Buffer.byteLength(text);
  }
  const ms = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  return {
    tokenizer: tokenizer.name,
    encoding,
    input,
    bytes,
    tokens,
    ms: Number(ms.toFixed(2)),
    mbPerSecond: Number((bytes / 1e6 / (ms / 1000)).toFixed(2)),
    tokensPerSecond: Math.round(tokens / (ms / 1000)),
  };
}

async function block(input: string, text: string, tokenizer: Tokenizer): Promise<BlockResult> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  await new Promise((resolve) => setTimeout(resolve, 20));
  const body = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: text }] };
  let started = performance.now();
  const estimate = estimateOpenAIChatCompletion(body, { tokenizer });
  const estimateMs = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 20));
  histogram.disable();
  started = performance.now();
  JSON.stringify(body);
  const serializeMs = performance.now() - started;
  return {
    input,
    bytes: Buffer.byteLength(text),
    maxBlockMs: Number((histogram.max / 1e6).toFixed(1)),
    estimateMs: Number(estimateMs.toFixed(3)),
    serializeMs: Number(serializeMs.toFixed(3)),
    inputTokens: estimate.inputTokens,
    exact: estimate.exact,
  };
}

/** Runs every measurement and returns plain objects. */
export async function benchTokenizers(): Promise<{ coldStart: ColdStartResult[]; throughput: ThroughputResult[]; eventLoop: BlockResult[] }> {
  const encodings: EncodingName[] = ['o200k_base', 'cl100k_base'];
  const cold: ColdStartResult[] = [];
  for (const name of Object.keys(LOADERS)) for (const encoding of encodings) cold.push(coldStart(name, encoding));

  const tokenizers = [gptTokenizer(), jsTiktokenTokenizer()];
  await Promise.all(tokenizers.map((t) => t.warmup(encodings)));
  const inputs: Array<[string, (seed: number) => string, number]> = [
    ['10 KB English prose', (seed) => prose(10_000, seed), 9],
    ['10 KB CJK', (seed) => cjk(10_000, seed), 5],
    ['1 MB English prose', (seed) => prose(1_000_000, seed), 3],
  ];
  const speed: ThroughputResult[] = [];
  for (const tokenizer of tokenizers) {
    for (const encoding of encodings) for (const [label, make, runs] of inputs) speed.push(throughput(tokenizer, encoding, label, make, runs));
  }

  const loop: BlockResult[] = [];
  const gpt = tokenizers[0]!;
  // Warm the estimation path itself (JIT), as a running server would be, before timing it.
  for (let i = 0; i < 20; i += 1) estimateOpenAIChatCompletion({ model: 'gpt-4o', messages: [{ role: 'user', content: prose(2_000, 500 + i) }] }, { tokenizer: gpt });
  for (const size of [1_000, 10_000, 100_000, 1_000_000, 10_000_000]) {
    const label = size >= 1_000_000 ? `${size / 1_000_000} MB` : `${size / 1000} KB`;
    loop.push(await block(`${label} prose`, prose(size, size), gpt));
    loop.push(await block(`${label} 'a'.repeat`, 'a'.repeat(size), gpt));
  }
  return { coldStart: cold, throughput: speed, eventLoop: loop };
}

if (process.argv[1]?.endsWith('tokenizers.ts')) {
  benchTokenizers()
    .then((results) => {
      console.table(results.coldStart);
      console.table(results.throughput);
      console.table(results.eventLoop);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
