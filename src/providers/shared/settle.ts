/**
 * How a tracked call ends: committed with the provider's usage, with an estimate, or released.
 * Shared by every wrapper (the Stainless SDKs and both Google SDKs).
 */
import type { CallOutcome, TrackedCall } from './tracked-call.js';
import { MALFORMED, type ProviderUsage, type UsageReading } from './usage.js';

/**
 * Exact usage when the provider reported a well-formed one; otherwise an estimate (input estimate +
 * output seen), marked estimated. `partial` is usage seen before an abort (used when complete).
 */
export function settleWith(
  call: TrackedCall,
  usage: UsageReading,
  outputTokens: () => number,
  outcome: CallOutcome,
  partial?: UsageReading,
  knownInput?: number,
): void {
  const known = usage ?? partial;
  if (known !== undefined && known !== MALFORMED && isComplete(known)) {
    call.commit(known, outcome);
    return;
  }
  call.commitEstimate(outputTokens(), { ...outcome, status: outcome.status ?? 'ok' }, knownInput);
}

function isComplete(usage: ProviderUsage): boolean {
  return Number.isSafeInteger(usage.inputTokens) && Number.isSafeInteger(usage.outputTokens);
}

/**
 * A request that failed after admission: an HTTP error answer (4xx/5xx, after the SDK's retries;
 * `status` on the vendor SDKs' errors, `statusCode` on the AI SDK's `APICallError`),
 * a connection that was never made, or a request the SDK refused to send charges nothing; a
 * timeout or an abort after the request left may have been billed, so the input estimate is
 * charged (marked estimated).
 */
export function settleFailure(call: TrackedCall, error: unknown): void {
  const status = (error as { status?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number') return call.release();
  if (typeof error === 'object' && error !== null && unsent.has(error)) return call.release();
  if (causeCodes(error).some((code) => NEVER_SENT.has(code))) return call.release();
  if (errorNames(error).some((name) => NEVER_SENT_ERRORS.has(name))) return call.release();
  const aborted = errorNames(error).some((name) => ABORT_ERRORS.has(name));
  return call.commitEstimate(0, { status: aborted ? 'aborted' : 'error' });
}

/**
 * A non-stream answer whose body could not be read (the connection broke, or the caller aborted,
 * after its headers came). The provider sends such a body once the whole response is generated,
 * and bills it then: its usage is lost with the body, so the call is charged its hold (the input
 * estimate and the output held, the most it can have billed), marked estimated, status `aborted`
 * when the request was aborted, else `error`.
 */
export function settleUnreadBody(call: TrackedCall, error: unknown, signal: AbortSignal | undefined, requestId: string | undefined): void {
  const aborted = signal?.aborted === true || errorNames(error).some((name) => ABORT_ERRORS.has(name));
  call.commitEstimate(call.grantedOutput ?? call.plan?.outputTokens ?? 0, { requestId, status: aborted ? 'aborted' : 'error' });
}

/** Failures of requests a wrapper saw were never sent (see {@link markNeverSent}). */
const unsent = new WeakSet<object>();

/**
 * Marks `error` as the failure of a request the wrapper saw was never sent (the SDK refused its
 * parameters before its HTTP client was called): {@link settleFailure} then releases its hold. The
 * error itself is left as it is.
 */
export function markNeverSent(error: unknown): void {
  if (typeof error === 'object' && error !== null) unsent.add(error);
}

/** Connection errors that mean the request never reached the provider. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** SDK errors raised before a request is sent (`@google/generative-ai` validates its input then). */
const NEVER_SENT_ERRORS = new Set(['GoogleGenerativeAIRequestInputError']);
/** Errors of a call the caller aborted (openai/anthropic, fetch, `@google/generative-ai`). */
const ABORT_ERRORS = new Set(['APIUserAbortError', 'AbortError', 'GoogleGenerativeAIAbortError']);

/** The error's `name` and its class name (`@google/generative-ai` errors keep `name` = 'Error'). */
function errorNames(error: unknown): string[] {
  if (typeof error !== 'object' || error === null) return [];
  const name = (error as { name?: unknown }).name;
  const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name;
  return [name, ctor].filter((n): n is string => typeof n === 'string');
}

function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}
