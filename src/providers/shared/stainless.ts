/**
 * Shared machinery for the Stainless-generated SDKs (openai, @anthropic-ai/sdk).
 *
 * Their methods send the HTTP request eagerly and return an `APIPromise` synchronously, while a
 * reservation needs a store round trip first. So each wrapped client gets a private *shadow* client
 * (`client.withOptions({ fetch })`) whose fetch waits for the call's reservation before sending,
 * and whose token-billing `create` methods are patched. The SDK's own helpers (`stream`, `parse`,
 * `runTools`, tool runners) call `create` on the shadow, so every request they make is reserved
 * and committed on its own; the caller still gets the SDK's real `APIPromise`, `Stream` and
 * helper objects, and the SDK's own errors.
 *
 * Of the returned APIPromise only `responsePromise` is replaced (parsing stays lazy and the SDK's):
 * it rejects with the refusal when the reservation fails (the request is then aborted before it
 * leaves), and it observes the response: a non-stream body is read from a clone, a stream is teed
 * so that usage is seen even if the caller never reads (or aborts), and the caller's branch may
 * have events rewritten (e.g. an injected usage chunk hidden).
 */
import { TokenLimitsError } from '../../kernel/errors.js';
import { bindingScope, type Binding } from './binding.js';
import { asSdkError } from './sdk-error.js';
import { keepBinding } from './helper-scope.js';
import type { MethodFactory } from './proxy.js';
import type { EstimateOptions } from '../estimate-types.js';
import { readSse, sseTransform, type SseEvent } from './sse.js';
import { settleFailure, settleWith } from './settle.js';
import { callScope, TrackedCall, type CallPlan } from './tracked-call.js';
import type { UsageReading } from './usage.js';

/** Observes one streamed response. */
export interface StreamObserver {
  onEvent(event: SseEvent): void;
  /** The usage the stream reported so far (the last report wins), if any. */
  usage(): UsageReading;
  /** Output tokens of what was received, for an estimate when usage is unknown. */
  outputTokens(): number;
  /** The model the response names. */
  model(): string | undefined;
  /** The exact input count, when the stream told it before its final usage (Anthropic's message_start). */
  inputTokens?(): number | undefined;
}

/** A token-billing method of a Stainless SDK. */
export interface StainlessEndpoint {
  /** Name in usage records (`chat.completions`, `messages`, ...). */
  name: string;
  plan(params: Record<string, unknown>, settings: EstimateOptions): CallPlan | Promise<CallPlan>;
  /**
   * Adjusts the request before it is sent (e.g. asks for stream usage) and says how to rewrite
   * the caller's events so that the adjustment does not show.
   */
  prepare?(params: Record<string, unknown>): { params: Record<string, unknown>; rewrite?: (event: SseEvent) => string | null | undefined };
  /**
   * The request with its output maximum set to `n` (total over its completions), or undefined when
   * this request cannot be lowered that way (then `onInsufficientQuota: 'shrink'` refuses it).
   */
  resize?(params: Record<string, unknown>, n: number): Record<string, unknown> | undefined;
  /** Usage of a non-stream response body. */
  usage(body: unknown): UsageReading;
  /** Output tokens of a non-stream body whose usage is missing or malformed. */
  outputTokens(body: unknown, plan: CallPlan): number;
  observer(plan: CallPlan): StreamObserver;
  /** Header with the provider's request id. */
  requestIdHeader: string;
}

interface ResponseProps {
  response: Response;
  options: { stream?: boolean };
  [key: string]: unknown;
}

interface ApiPromiseLike {
  responsePromise: Promise<ResponseProps>;
}

interface StainlessClient {
  withOptions(options: Record<string, unknown>): StainlessClient;
  fetch?: (url: unknown, init?: unknown) => Promise<Response>;
}

const shadows = new WeakMap<object, object>();

/**
 * The route factory of a wrapped client: `forward(resource, method)` makes the user-facing
 * `method` call the shadow's, under the wrapped client's binding (helpers that start work later,
 * like tool runners, keep it).
 */
export function forwarder<S>(shadow: S, binding: Binding) {
  return (resource: (s: S) => Record<string, unknown> | undefined, method: string): MethodFactory =>
    () =>
    (...args: unknown[]) => {
      const owner = resource(shadow)!;
      return keepBinding(bindingScope.run(binding, () => (owner[method] as (...a: unknown[]) => unknown).apply(owner, args)), binding);
    };
}

/**
 * The shadow of `client`, made once per client: same options, a fetch that waits for the current
 * call's reservation, and `patch` applied to its resources.
 */
export function shadowOf<C extends object>(client: C, patch: (shadow: C) => void): C {
  let shadow = shadows.get(client) as C | undefined;
  if (!shadow) {
    const c = client as unknown as StainlessClient;
    const inner = (c.fetch ?? globalThis.fetch) as (url: Parameters<typeof fetch>[0], init?: RequestInit) => Promise<Response>;
    const gatedFetch = async (url: unknown, init?: unknown): Promise<Response> => {
      const call = callScope.getStore();
      if (call) await call.admitted;
      return inner.call(undefined, url as Parameters<typeof fetch>[0], shrunkInit(call, init as RequestInit | undefined));
    };
    shadow = c.withOptions({ fetch: gatedFetch }) as unknown as C;
    patch(shadow);
    shadows.set(client, shadow);
  }
  return shadow;
}

/**
 * The request as it must be sent: with its output maximum lowered when the call's reservation was
 * shrunk to fit. The body is the SDK's JSON text; it is parsed again from the original on each try
 * (SDK retries send the same init), so the rewrite is the same every time.
 */
function shrunkInit(call: TrackedCall | undefined, init: RequestInit | undefined): RequestInit | undefined {
  const n = call?.shrunkOutput();
  if (n === undefined || !call?.resize || typeof init?.body !== 'string') return init;
  const body = JSON.parse(init.body) as Record<string, unknown>;
  return { ...init, body: JSON.stringify(call.resize(body, n)) };
}

/** Replaces `owner[method]` on a shadow resource with a quota-checked version. */
export function patchMethod(owner: Record<string, unknown>, method: string, endpoint: StainlessEndpoint): void {
  const raw = owner[method];
  if (typeof raw !== 'function') return;
  owner[method] = function patched(this: unknown, params: Record<string, unknown>, options?: Record<string, unknown>): unknown {
    const binding = bindingScope.getStore();
    const resize = endpoint.resize;
    const shrinkable = resize !== undefined && resize(params, 1) !== undefined;
    const call = new TrackedCall(binding ?? MISSING_BINDING, (settings) => endpoint.plan(params, settings), shrinkable);
    if (shrinkable) call.resize = (body, n) => resize(body, n) ?? body;
    const prepared = endpoint.prepare?.(params) ?? { params };
    const abort = new AbortController();
    const userSignal = options?.signal as AbortSignal | undefined;
    const signal = userSignal ? AbortSignal.any([userSignal, abort.signal]) : abort.signal;
    let promise: ApiPromiseLike;
    try {
      promise = callScope.run(call, () => (raw as (...a: unknown[]) => ApiPromiseLike).call(this, prepared.params, { ...options, signal }));
    } catch (error) {
      // The SDK refused before sending (e.g. Anthropic's non-streaming timeout check).
      void call.release();
      throw error;
    }
    const response = promise.responsePromise;
    response.catch(() => {});
    promise.responsePromise = call.admitted.then(
      () =>
        response.then(
          (props) => observe(props, call, endpoint, prepared.rewrite),
          async (error: unknown) => {
            await settleFailure(call, error);
            throw error;
          },
        ),
      (refusal: unknown) => {
        abort.abort(); // the gated fetch never sends; the SDK stops without retrying
        throw refusal instanceof TokenLimitsError ? asSdkError(refusal, sdkErrorClass(this)) : refusal;
      },
    );
    return promise;
  };
}

/** The SDK's base error class (`OpenAI.OpenAIError`, `Anthropic.AnthropicError`), found from a resource's client. */
function sdkErrorClass(resource: unknown): (new (...args: any[]) => Error) | undefined {
  const client = (resource as { _client?: { constructor?: Record<string, unknown> } } | null)?._client;
  const ctor = client?.constructor;
  const base = ctor?.OpenAIError ?? ctor?.AnthropicError;
  return typeof base === 'function' ? (base as new (...args: any[]) => Error) : undefined;
}

const MISSING_BINDING: Binding = {
  userId: undefined,
  options: {},
  limiter() {
    throw new Error('token-limits: a shadow client was called outside a wrapped call');
  },
};

async function observe(
  props: ResponseProps,
  call: TrackedCall,
  endpoint: StainlessEndpoint,
  rewrite: ((event: SseEvent) => string | null | undefined) | undefined,
): Promise<ResponseProps> {
  const plan = call.plan!;
  const requestId = props.response.headers.get(endpoint.requestIdHeader) ?? undefined;
  if (!props.options.stream || props.response.body === null) {
    let body: unknown;
    try {
      body = await props.response.clone().json();
    } catch {
      body = undefined;
    }
    const usage = endpoint.usage(body);
    const model = typeof (body as { model?: unknown } | undefined)?.model === 'string' ? (body as { model: string }).model : undefined;
    await settleWith(call, usage, () => endpoint.outputTokens(body, plan), { model, requestId });
    return props;
  }
  const [mine, theirs] = props.response.body.tee();
  const observer = endpoint.observer(plan);
  // The SDK's own controller of this request: it aborts when the caller stops the stream or the SDK fails on it.
  const signal = (props.controller as AbortController | undefined)?.signal;
  const finished = consume(mine, observer, signal).then(
    () => settleWith(call, observer.usage(), () => observer.outputTokens(), { model: observer.model(), requestId }),
    () =>
      settleWith(call, undefined, () => observer.outputTokens(), { model: observer.model(), requestId, status: 'aborted' }, observer.usage(), observer.inputTokens?.()),
  );
  const original = props.response;
  const response = new Response(theirs.pipeThrough(sseTransform(rewrite, () => finished)), {
    status: original.status,
    statusText: original.statusText,
    headers: original.headers,
  });
  Object.defineProperty(response, 'url', { value: original.url });
  return { ...props, response };
}

/**
 * After the request is aborted, how long the observer keeps reading its copy of the body before it
 * settles with what it saw (buffered events arrive in microseconds; a body left open never ends).
 */
const ABORT_GRACE_MS = 250;

async function consume(stream: ReadableStream<Uint8Array>, observer: StreamObserver, signal: AbortSignal | undefined): Promise<void> {
  const events = readSse(stream, signal instanceof AbortSignal ? { signal, graceMs: ABORT_GRACE_MS } : undefined);
  for await (const event of events) observer.onEvent(event);
}
