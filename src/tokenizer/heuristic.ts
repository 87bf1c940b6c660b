/**
 * Character-class token heuristics: a weighted sum of the counts of {@link textStats}, fitted
 * against real tokenizers by `bench/calibrate-heuristics.ts` (see docs/token-estimation.md), then
 * multiplied by a safety margin so that they over-estimate rather than under-estimate.
 */
import type { TextStats } from './text-stats.js';

/** The counts of {@link TextStats} that carry a weight, in a fixed order. */
export const HEURISTIC_FEATURES = [
  'asciiWords',
  'asciiLetters',
  'longRunLetters',
  'digits',
  'digitGroups',
  'asciiPunct',
  'spaces',
  'newlines',
  'twoByte',
  'cjk',
  'otherBmp',
  'astral',
] as const;

/** One heuristic feature. */
export type HeuristicFeature = (typeof HEURISTIC_FEATURES)[number];

/** Tokens per unit of each feature. */
export type HeuristicWeights = Readonly<Record<HeuristicFeature, number>>;

/** A calibrated heuristic: weights plus the safety margin they are multiplied by. */
export interface TokenHeuristic {
  /** What the weights were fitted against (documentation only). */
  readonly groundTruth: string;
  readonly weights: HeuristicWeights;
  /** Multiplier applied to the weighted sum (>= 1 leans towards over-estimating). */
  readonly margin: number;
}

/**
 * Applies weights and margin to text statistics. Never returns less than 1 token for a non-empty
 * text, and never more than its UTF-8 byte count (an upper bound for byte-level BPE).
 */
export function heuristicTokens(stats: TextStats, weights: HeuristicWeights, margin: number): number {
  if (stats.length === 0) return 0;
  let sum = 0;
  for (const feature of HEURISTIC_FEATURES) sum += stats[feature] * weights[feature];
  return Math.max(1, Math.min(stats.utf8Bytes, Math.ceil(sum * margin)));
}
