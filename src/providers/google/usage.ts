/**
 * Usage and output text of Gemini responses, as both Google SDKs return them (the wire JSON, or
 * `@google/genai`'s `GenerateContentResponse` with the same fields).
 */
import { GEMINI_HEURISTIC } from '../../tokenizer/heuristic-weights.js';
import { heuristicCount } from '../heuristic-count.js';
import type { CallOutcome } from '../shared/tracked-call.js';
import { asObject, MALFORMED, readCount, usageFrom, type UsageReading } from '../shared/usage.js';

function plus(a: number | typeof MALFORMED, b: number | typeof MALFORMED): number | typeof MALFORMED {
  return a === MALFORMED || b === MALFORMED ? MALFORMED : a + b;
}

/**
 * `usageMetadata`: input = `promptTokenCount` (cached content included) + `toolUsePromptTokenCount`
 * (the prompt of built-in tools, billed as input and part of `totalTokenCount`); cached =
 * `cachedContentTokenCount`; output = `candidatesTokenCount` + `thoughtsTokenCount` (thinking is
 * billed as output but not counted in candidates), at least `totalTokenCount` minus the input;
 * reasoning = `thoughtsTokenCount`; audio input = the `AUDIO` entries of `promptTokensDetails`
 * (priced at the model's audio rate).
 */
export function geminiUsage(raw: unknown): UsageReading {
  const u = asObject(raw);
  // Without any count (`{}`, or only `trafficType`) it reports nothing.
  if (!u || (u.promptTokenCount === undefined && !COUNT_FIELDS.some((field) => u[field] !== undefined))) return undefined;
  const thoughts = readCount(u.thoughtsTokenCount, false);
  const inputTokens = plus(readCount(u.promptTokenCount, true), readCount(u.toolUsePromptTokenCount, false));
  let outputTokens = plus(readCount(u.candidatesTokenCount, false), thoughts);
  // Gemini leaves out counts that are zero, so a missing one reads as 0; `totalTokenCount` (input
  // plus output) tells when one was missing that was not: the output is then at least the rest.
  const total = readCount(u.totalTokenCount, false);
  if (total === MALFORMED) outputTokens = MALFORMED;
  else if (inputTokens !== MALFORMED && outputTokens !== MALFORMED) outputTokens = Math.max(outputTokens, total - inputTokens);
  return usageFrom({ inputTokens, outputTokens, cachedInputTokens: readCount(u.cachedContentTokenCount, false), reasoningTokens: thoughts, audioInputTokens: audioOf(u.promptTokensDetails) });
}

/** The token counts of `usageMetadata`: an object with none of them reports no usage. */
const COUNT_FIELDS = ['promptTokenCount', 'candidatesTokenCount', 'totalTokenCount', 'thoughtsTokenCount', 'toolUsePromptTokenCount', 'cachedContentTokenCount'];

/**
 * The usage a stream has reported once `next` comes after `kept`: each chunk carries running
 * totals, so the later one wins, unless it reports nothing or less than before (a running total
 * never goes down: a chunk of zeros or a partial count after the final usage is not the answer's).
 * Malformed usage wins, so that such a stream is charged an estimate.
 */
export function laterGeminiUsage(kept: UsageReading, next: UsageReading): UsageReading {
  if (next === undefined) return kept;
  if (kept === undefined || kept === MALFORMED || next === MALFORMED) return next;
  return next.inputTokens + next.outputTokens < kept.inputTokens + kept.outputTokens ? kept : next;
}

/** The tokens of the `AUDIO` entries of a `promptTokensDetails` list (0 without one). */
function audioOf(details: unknown): number | typeof MALFORMED {
  if (details === undefined || details === null) return 0;
  if (!Array.isArray(details)) return MALFORMED;
  let audio: number | typeof MALFORMED = 0;
  for (const entry of details) {
    const d = asObject(entry);
    if (d?.modality === 'AUDIO') audio = plus(audio, readCount(d.tokenCount, false));
  }
  return audio;
}

/** The text a response carries (every candidate's text parts, function calls as JSON). */
export function geminiText(response: unknown): string {
  const candidates = asObject(response)?.candidates;
  if (!Array.isArray(candidates)) return '';
  const out: string[] = [];
  for (const candidate of candidates) {
    const parts = asObject(asObject(candidate)?.content)?.parts;
    if (!Array.isArray(parts)) continue;
    for (const raw of parts) {
      const part = asObject(raw);
      if (!part) continue;
      if (typeof part.text === 'string') out.push(part.text);
      for (const key of ['functionCall', 'executableCode']) if (part[key] !== undefined) out.push(JSON.stringify(part[key]));
    }
  }
  return out.join('');
}

/** Estimated output tokens of a text received (the Gemini heuristic). */
export function geminiTextTokens(text: string): number {
  return text.length === 0 ? 0 : heuristicCount([text], GEMINI_HEURISTIC, 1);
}

/** Model (`modelVersion`) and request id (`responseId`) of a response, for its usage record. */
export function geminiOutcome(response: unknown): CallOutcome {
  const r = asObject(response);
  const outcome: CallOutcome = {};
  if (typeof r?.modelVersion === 'string' && r.modelVersion.length > 0) outcome.model = r.modelVersion;
  if (typeof r?.responseId === 'string' && r.responseId.length > 0) outcome.requestId = r.responseId;
  return outcome;
}

/** `totalTokens` of a `countTokens` answer (both SDKs); throws if it is not a count (the caller falls back). */
export function countTotal(counted: { totalTokens?: unknown }): number {
  const total = counted.totalTokens;
  if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 0) throw new TypeError('countTokens answered without a valid totalTokens');
  return total;
}
