/**
 * How an AI SDK model call that did not return is settled: one aborted or refused before it was
 * sent charges nothing; a stream that failed at its first events is charged as an aborted stream;
 * a successful answer the provider failed to read is charged what its body reports; anything else
 * as the wrappers of the official SDKs settle a failure.
 */
import { abortedBefore } from '../shared/aborted-before.js';
import { settleFailure, settleWith } from '../shared/settle.js';
import type { TrackedCall } from '../shared/tracked-call.js';
import { asObject } from '../shared/usage.js';
import type { Family } from './plan.js';
import { bodyUsage, outcomeOf } from './results.js';

/** The caller's signal of a call (`abortSignal` of the AI SDK's call options), if any. */
export function signalOf(params: unknown): AbortSignal | undefined {
  const signal = asObject(params)?.['abortSignal'];
  return signal instanceof AbortSignal ? signal : undefined;
}

/**
 * Waits for the call's admission, unless the caller aborts first: the call then rejects at once with
 * the signal's reason (what the provider's `fetch` rejects with, so what the bare model throws),
 * sends nothing, and its reservation is released once it lands.
 */
export async function admission(call: TrackedCall, signal: AbortSignal | undefined): Promise<void> {
  if (signal !== undefined && (await abortedBefore(call.admitted, signal))) {
    call.release();
    throw signal.reason;
  }
  return call.admitted;
}

/**
 * The body of a successful answer (2xx) that the AI SDK provider failed to read: its
 * `APICallError` ("Invalid JSON response", a body that fails the provider's schema) carries the
 * HTTP status and the body. The provider billed that call.
 */
function unreadSuccess(error: unknown): { body: Record<string, unknown> | undefined } | undefined {
  const e = asObject(error);
  const status = e?.['statusCode'];
  if (typeof status !== 'number' || status < 200 || status > 299) return undefined;
  let body: unknown;
  try {
    body = typeof e?.['responseBody'] === 'string' ? JSON.parse(e['responseBody']) : undefined;
  } catch {
    body = undefined;
  }
  return { body: asObject(body) };
}

/** The media types of a streamed answer: server-sent events, and AWS event streams (Bedrock). */
const EVENT_STREAM = /^\s*(?:text\/event-stream|application\/vnd\.amazon\.eventstream)\s*(?:;|$)/i;

/**
 * Did the provider fail on a stream it had started answering? `@ai-sdk/anthropic` and
 * `@ai-sdk/openai` read a stream's first events before `doStream` returns, and throw an
 * `APICallError` when the first is an error event or one they cannot parse (Anthropic), or an
 * error event comes before any output (OpenAI). It carries a status of their own (500, 529...), not
 * the answer's (a 200), but the answer's headers: an event stream's, where an HTTP error answer is
 * JSON. The request was accepted, and may have been billed (its input, thinking begun).
 */
function failedStream(error: unknown): boolean {
  const type = asObject(asObject(error)?.['responseHeaders'])?.['content-type'];
  return typeof type === 'string' && EVENT_STREAM.test(type);
}

/**
 * The AI SDK's errors that a provider throws before it sends its request: invalid arguments or
 * `providerOptions` (checked against the provider's schema), a prompt it cannot send, a missing API
 * key or setting, a feature it lacks, too many embedding values, a file it could not download.
 */
const NEVER_SENT_AI_ERRORS = new Set([
  'AI_InvalidArgumentError',
  'AI_InvalidPromptError',
  'AI_LoadAPIKeyError',
  'AI_LoadSettingError',
  'AI_UnsupportedFunctionalityError',
  'AI_TooManyEmbeddingValuesForCallError',
  'AI_DownloadError',
]);

function neverSent(error: unknown): boolean {
  const name = asObject(error)?.['name'];
  return typeof name === 'string' && NEVER_SENT_AI_ERRORS.has(name);
}

/**
 * Runs the provider call; a failure settles the call as the core does (released, or charged if it
 * may have been billed) and is rethrown. A call whose signal was aborted before the provider was
 * called sent nothing (its `fetch` rejects at once), nor did one the provider refused to send (see
 * `NEVER_SENT_AI_ERRORS`): it is released, never charged. A stream that failed before the
 * provider's `doStream` returned it (see `failedStream`) is charged as an aborted stream that
 * brought nothing: the input estimate, or its hold where `abortedStreamCharge` says so (reasoning
 * models by default), marked estimated, status `aborted`; so the Anthropic SDK's wrapper charges
 * such a stream. A successful answer the provider then failed to read was billed: it is charged
 * the usage its body reports, else the input estimate (marked estimated), status `error`.
 */
export async function settlingFailure<R>(call: TrackedCall, run: () => PromiseLike<R>, signal: AbortSignal | undefined, family: Family): Promise<R> {
  const unsent = signal?.aborted === true;
  try {
    return await run();
  } catch (error) {
    const answered = unsent ? undefined : unreadSuccess(error);
    if (unsent || neverSent(error)) call.release();
    else if (failedStream(error)) call.commitEstimate(0, outcomeOf(undefined, undefined, 'aborted'));
    else if (answered !== undefined) {
      const model = typeof answered.body?.['model'] === 'string' ? answered.body['model'] : typeof answered.body?.['modelVersion'] === 'string' ? answered.body['modelVersion'] : undefined;
      settleWith(call, bodyUsage(family, answered.body), () => 0, outcomeOf(model, undefined, 'error'));
    } else settleFailure(call, error);
    throw error;
  }
}
