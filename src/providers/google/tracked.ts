/**
 * Gemini requests under quota, shared by the `@google/generative-ai` and `@google/genai` wrappers.
 *
 * Unlike the Stainless SDKs, both Google SDKs return plain Promises (no `APIPromise` to keep), so a
 * wrapped method is simply async: reserve (a refusal throws and the SDK is never called), call the
 * SDK, read `usageMetadata`, commit; the SDK's own result object is returned unchanged.
 */
import type { EstimateOptions } from '../estimate-types.js';
import type { Binding } from '../shared/binding.js';
import { settleFailure, settleWith } from '../shared/settle.js';
import { TrackedCall, type CallOutcome, type CallPlan } from '../shared/tracked-call.js';
import { asObject, MALFORMED, type UsageReading } from '../shared/usage.js';
import { geminiOutcome, geminiText, geminiTextTokens, geminiUsage, laterGeminiUsage } from './usage.js';

/** Computes a call's plan (input estimate, output reservation) once its user is known. */
export type Planner = (settings: EstimateOptions) => CallPlan | Promise<CallPlan>;

/**
 * Sends the request, with `shrunkOutput` as its output maximum when the reservation was shrunk to
 * fit (`onInsufficientQuota: 'shrink'`; only for a call admitted as `shrinkable`).
 */
export type Send<R> = (shrunkOutput: number | undefined) => Promise<R>;

/**
 * Reserves, then sends. A refusal (quota, disabled user, no user, store down) is thrown before
 * `send` runs; a failure of `send` releases the hold (HTTP errors, requests never sent) or charges
 * the input estimate (timeouts, aborts: the provider may have billed), then is rethrown as it was.
 * `signal` is the caller's abort signal: aborted before `send` runs (before the call, or while it
 * was admitted), the SDK rejects with its abort error without sending, which charges nothing.
 */
export async function admitAndSend<R>(binding: Binding, plan: Planner, send: Send<R>, shrinkable = false, signal?: unknown): Promise<{ call: TrackedCall; result: R }> {
  const call = new TrackedCall(binding, plan, shrinkable);
  await call.admitted;
  const abortedFirst = signal instanceof AbortSignal && signal.aborted;
  try {
    return { call, result: await send(call.shrunkOutput()) };
  } catch (error) {
    if (abortedFirst && isAbortError(error)) call.release();
    else await settleFailure(call, error);
    throw error;
  }
}

/** The abort error of a fetch (`@google/genai`) or of `@google/generative-ai`. */
function isAbortError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const name = (error as { name?: unknown }).name;
  return name === 'AbortError' || error.constructor?.name === 'GoogleGenerativeAIAbortError';
}

/**
 * One non-streaming `generateContent` request: committed with the response's `usageMetadata`, or
 * with an estimate (input estimate + tokens of the text received) when it is missing or malformed.
 */
export async function trackGenerate<R>(binding: Binding, plan: Planner, send: Send<R>, responseOf: (result: R) => unknown, shrinkable = false, signal?: unknown): Promise<R> {
  const { call, result } = await admitAndSend(binding, plan, send, shrinkable, signal);
  const response = responseOf(result);
  await settleWith(call, geminiUsage(asObject(response)?.usageMetadata), () => geminiTextTokens(geminiText(response)), geminiOutcome(response));
  return result;
}

/**
 * One embedding request. Gemini embedding answers carry no usage, so the input estimate is
 * committed, marked estimated (status `ok`).
 */
export async function trackEmbedding<R>(binding: Binding, plan: Planner, send: () => Promise<R>): Promise<R> {
  const { call, result } = await admitAndSend(binding, plan, send);
  await call.commitEstimate(0, { status: 'ok' });
  return result;
}

/**
 * Observes a stream of Gemini responses and settles `call` when it ends.
 *
 * The source is read to its end at the network's pace whether or not the caller iterates (both
 * SDKs keep the HTTP stream open when the caller stops early, and `@google/generative-ai` reads it
 * all anyway for its `response` promise), so a stream left unread still commits its exact usage.
 * The caller gets a generator that yields the very same chunk objects in order, throws the
 * stream's error where the stream threw it, and ends only once the call is settled.
 *
 * Settlement: the last `usageMetadata` seen (each chunk carries running totals) when the stream
 * ended normally; nothing (released) when it failed with an HTTP error before any chunk; otherwise
 * (connection lost, aborted, an in-stream error) an estimate marked estimated: the input the
 * stream reported (else the input estimate) plus the larger of the output it reported so far and
 * the tokens of the text received.
 */
export function observeStream<T>(call: TrackedCall, source: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
  const buffer: T[] = [];
  let ended: { failed: boolean; error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const seen: StreamSeen = { chunks: 0, usage: undefined, texts: [], outcome: {}, errorChunk: false, finished: false };
  // A stream gone silent for good (its caller stopped reading; the connection hangs) is settled
  // with what it brought when its renewals end, rather than left to charge nothing.
  const moved = call.watchStream(() => void settleStream(call, seen, true, new Error('The stream stalled')).catch(() => {}));

  void (async () => {
    let failed = false;
    let error: unknown;
    try {
      const iterator = source[Symbol.asyncIterator]();
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) break;
        moved();
        observeChunk(next.value, seen);
        buffer.push(next.value);
        notify();
      }
    } catch (e) {
      failed = true;
      error = e;
    }
    try {
      await settleStream(call, seen, failed, error);
    } catch {
      // TrackedCall's terminal methods never throw; nothing may escape this detached task.
    } finally {
      ended = { failed, error };
      notify();
    }
  })();

  return (async function* replay(): AsyncGenerator<T, void, undefined> {
    for (;;) {
      if (buffer.length > 0) {
        yield buffer.shift()!;
        continue;
      }
      if (ended) {
        if (ended.failed) throw ended.error;
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  })();
}

interface StreamSeen {
  chunks: number;
  usage: UsageReading;
  texts: string[];
  outcome: CallOutcome;
  /** `@google/generative-ai` yields an in-stream `{"error": ...}` record as a chunk instead of throwing. */
  errorChunk: boolean;
  /** A chunk said why the answer ended (a candidate's `finishReason`, a blocked prompt's `blockReason`). */
  finished: boolean;
}

function observeChunk(chunk: unknown, seen: StreamSeen): void {
  seen.chunks += 1;
  const response = asObject(chunk);
  if (!response) return;
  if (response.usageMetadata !== undefined && response.usageMetadata !== null) seen.usage = laterGeminiUsage(seen.usage, geminiUsage(response.usageMetadata));
  if (response.error !== undefined) seen.errorChunk = true;
  if (!seen.finished) seen.finished = ends(response);
  const text = geminiText(response);
  if (text.length > 0) seen.texts.push(text);
  seen.outcome = { ...seen.outcome, ...geminiOutcome(response) };
}

/** Does this chunk end the answer: a candidate with a `finishReason`, or a blocked prompt? */
function ends(response: Record<string, unknown>): boolean {
  const candidates = response.candidates;
  if (Array.isArray(candidates)) {
    for (const candidate of candidates) {
      const reason = asObject(candidate)?.finishReason;
      if (typeof reason === 'string' && reason.length > 0) return true;
    }
  }
  const blocked = asObject(response.promptFeedback)?.blockReason;
  return typeof blocked === 'string' && blocked.length > 0;
}

async function settleStream(call: TrackedCall, seen: StreamSeen, failed: boolean, error: unknown): Promise<void> {
  const textTokens = (): number => geminiTextTokens(seen.texts.join(''));
  if (failed && seen.chunks === 0 && typeof (error as { status?: unknown } | null)?.status === 'number') {
    // An HTTP error before any output (a lazily opened stream: AFC, continuation hops).
    await call.release();
    return;
  }
  // A stream whose chunks never said why the answer ended was cut (the SDKs end it quietly; with
  // automatic continuation, @google/genai resumes it from its last checkpoint in a request of its
  // own): its last running usage is not the answer's.
  const cut = seen.chunks > 0 && !seen.finished;
  if (!failed && !seen.errorChunk && !cut) {
    await settleWith(call, seen.usage, textTokens, seen.outcome);
    return;
  }
  const partial = seen.usage !== undefined && seen.usage !== MALFORMED ? seen.usage : undefined;
  const status = seen.errorChunk || typeof (error as { status?: unknown } | null)?.status === 'number' ? 'error' : 'aborted';
  // Gemini's running usage (thinking included) is what was billed so far: it is charged, not the hold.
  await call.commitEstimate(Math.max(partial?.outputTokens ?? 0, textTokens()), { ...seen.outcome, status }, partial?.inputTokens, partial !== undefined);
}
