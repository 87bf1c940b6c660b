/**
 * The walk behind every count: texts are cut at count-preserving points (see `safe-cuts.ts`) into
 * chunks of about {@link CHUNK_LENGTH} code units, each chunk is measured exactly, and what cannot
 * be measured cheaply is bounded by its UTF-8 bytes: a chunk with a run longer than
 * {@link MAX_RUN_LENGTH}, a stretch with no cut near the chunk target, and everything past the
 * budget. Because every cut preserves the count and bytes bound any byte-level tokenizer, the sum
 * is an upper bound of the whole text's count, and exact when nothing was bounded.
 *
 * The walk is a generator that yields after each unit of work (one chunk, one window scanned, one
 * piece of bytes), so a driver can run it to the end at once or in time slices.
 */
import { TokenizerUnavailableError } from '../kernel/errors.js';
import { CHUNK_LENGTH, CUT_WINDOW, findCut, hasLongRun, MAX_RUN_LENGTH, utf8ByteLength } from './safe-cuts.js';

/** Code units scanned per step when looking far for a cut (the search runs at 20-100 ns per unit). */
const SCAN_STEP = 4_096;
/** Code units measured per step for a byte bound (native: 0.1-0.3 ms per step). */
const BYTES_STEP = 65_536;

/**
 * Measures a chunk: the exact count of a text with count-preserving edges and no long run, or a
 * bound of it (fractions are summed and the total rounded up once).
 */
export type ChunkMeasure = (chunk: string) => number;

/** The bound of a stretch that is not measured: its UTF-8 bytes unless the tokenizer needs more. */
export type ByteBound = (text: string) => number;

/** Where exact counting stops; past either limit the rest is bounded by bytes. */
export interface WalkLimits {
  /** UTF-16 code units measured exactly, over all texts. */
  exactLimit: number;
  /** Tokens counted so far (measured or bounded), over all texts, past which the rest is bounded (e.g. a model's context window). */
  exactTokenLimit: number;
  /** Checked before each chunk: true switches the rest to bytes (the synchronous time budget). */
  stop?: () => boolean;
  /** The bound of unmeasured text. @default its UTF-8 byte length */
  bound?: ByteBound;
}

/** The outcome of a walk. */
export interface WalkResult {
  /** An upper bound of the texts' token count. */
  tokens: number;
  /** True when every part was measured exactly (no byte bound). */
  exact: boolean;
  /** UTF-16 code units bounded by bytes rather than measured. */
  boundedUnits: number;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** `end` moved forward off the middle of a surrogate pair. */
function pairSafe(text: string, end: number): number {
  return end < text.length && end > 0 && isHighSurrogate(text.charCodeAt(end - 1)) ? end + 1 : end;
}

/** The bound of `text[start, end)`, one step of at most {@link BYTES_STEP} code units at a time. */
function* bytesOf(text: string, start: number, end: number, bound: ByteBound): Generator<undefined, number> {
  let bytes = 0;
  for (let at = start; at < end; ) {
    const stop = Math.min(end, pairSafe(text, at + BYTES_STEP));
    bytes += bound(text.slice(at, stop));
    at = stop;
    if (at < end) yield;
  }
  return bytes;
}

/** The next cut at or after `from`, scanning one window per step; the text's end when there is none. */
function* nextCut(text: string, from: number): Generator<undefined, number> {
  // Overlap windows by a pair of astral characters so that no cut is missed at a window edge.
  for (let at = from; at < text.length; at += SCAN_STEP - 4) {
    const cut = findCut(text, Math.max(0, at - 1), Math.min(text.length, at + SCAN_STEP));
    if (cut >= from) return cut;
    yield;
  }
  return text.length;
}

/**
 * The measure of a chunk, or undefined when the tokenizer failed on it (gpt-tokenizer's regular
 * expression overflows the stack on long symbol runs, for one): the chunk is then bounded by bytes,
 * so an input the tokenizer chokes on never fails the estimate (a missing tokenizer still does).
 */
function tryMeasure(measure: ChunkMeasure, chunk: string): number | undefined {
  try {
    const tokens = measure(chunk);
    return Number.isFinite(tokens) && tokens >= 0 ? tokens : undefined;
  } catch (error) {
    if (error instanceof TokenizerUnavailableError) throw error; // a setup problem, not an input problem
    return undefined;
  }
}

/** The last cut in `(position, target)`, or -1: a shorter chunk when no cut follows the target closely. */
function lastCutBefore(text: string, position: number, target: number): number {
  let last = -1;
  for (let cut = findCut(text, position, target); cut > 0; cut = findCut(text, cut, target)) last = cut;
  return last;
}

/** Walks `texts`, measuring chunks with `measure` under `limits`; yields between units of work. */
export function* walkTexts(texts: readonly string[], measure: ChunkMeasure, limits: WalkLimits): Generator<undefined, WalkResult> {
  let tokens = 0;
  let measuredUnits = 0;
  let boundedUnits = 0;
  const bound = limits.bound ?? utf8ByteLength;
  for (const text of texts) {
    let position = 0;
    while (position < text.length) {
      const budgetLeft = measuredUnits < limits.exactLimit && tokens < limits.exactTokenLimit && limits.stop?.() !== true;
      if (!budgetLeft) {
        tokens += yield* bytesOf(text, position, text.length, bound);
        boundedUnits += text.length - position;
        position = text.length;
        break;
      }
      const target = position + CHUNK_LENGTH;
      let end = target >= text.length ? text.length : findCut(text, target - 1, Math.min(text.length, target + CUT_WINDOW));
      if (end < 0) end = lastCutBefore(text, position, target);
      if (end < 0) {
        // No cut near the target: the stretch up to the next cut, wherever it is, is bounded by bytes.
        end = yield* nextCut(text, target + CUT_WINDOW - 4);
        tokens += yield* bytesOf(text, position, end, bound);
        boundedUnits += end - position;
        position = end;
        continue;
      }
      const chunk = position === 0 && end === text.length ? text : text.slice(position, end);
      const measured = chunk.length > MAX_RUN_LENGTH && hasLongRun(chunk) ? undefined : tryMeasure(measure, chunk);
      if (measured === undefined) {
        tokens += bound(chunk);
        boundedUnits += chunk.length;
      } else {
        tokens += measured;
        measuredUnits += chunk.length;
      }
      position = end;
      yield;
    }
  }
  return { tokens: Math.ceil(tokens), exact: boundedUnits === 0, boundedUnits };
}

/** Runs a walk to its end synchronously. */
export function runToEnd<T>(walk: Generator<undefined, T>): T {
  for (;;) {
    const step = walk.next();
    if (step.done === true) return step.value;
  }
}

/** Resolves on the next turn of the event loop, after pending I/O callbacks. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs a walk in slices of about `sliceMs` of work, yielding to the event loop between slices, so
 * that no slice blocks it longer than `sliceMs` plus one unit of work (a chunk: a few ms at most).
 */
export async function runSliced<T>(walk: Generator<undefined, T>, sliceMs: number, signal?: AbortSignal): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const step = walk.next();
    if (step.done === true) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await nextTurn();
      signal?.throwIfAborted();
      sliceStart = performance.now();
    }
  }
}
