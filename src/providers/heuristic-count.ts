/** Heuristic counting for providers without a public tokenizer (Anthropic, Google). */
import { InvalidArgumentError } from '../kernel/errors.js';
import { heuristicEstimate, utf8ByteLength } from '../tokenizer/fast-estimate.js';
import type { TokenHeuristic } from '../tokenizer/heuristic.js';
import type { EstimateOptions } from './estimate-types.js';

/**
 * Sum of the heuristic estimates of `texts`, times `factor` (a model-family adjustment), rounded up.
 * With `strictBound`, the UTF-8 byte count instead (about 4x the real count on English).
 */
export function heuristicCount(texts: readonly string[], heuristic: TokenHeuristic, factor: number, options?: EstimateOptions): number {
  const strict = options?.strictBound ?? false;
  if (typeof strict !== 'boolean') throw new InvalidArgumentError('options.strictBound', strict, 'expected true or false');
  let sum = 0;
  for (const text of texts) sum += strict ? utf8ByteLength(text) : heuristicEstimate(text, heuristic);
  return strict ? sum : Math.ceil(sum * factor);
}
