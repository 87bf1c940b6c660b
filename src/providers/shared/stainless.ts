/**
 * Shared machinery for the Stainless-generated SDKs (openai, @anthropic-ai/sdk).
 *
 * Their methods send the HTTP request eagerly and return an `APIPromise` synchronously, while a
 * reservation needs a store round trip first. A billed method (`create`) is therefore run on a
 * throw-away view of its resource whose `_client` hands the client's request method (`post`) a
 * promise of the request options that resolves once the call is admitted (the SDKs accept one and
 * await it before building the request). The request is then built and sent by the caller's own
 * client, with its configuration at that moment (rotated keys, token providers, base URL, headers,
 * Azure deployment and api-version); no second client exists. A refused call never sends anything.
 * The caller's options (and its `AbortSignal`) reach the SDK unchanged.
 *
 * Of the returned APIPromise only `responsePromise` is replaced (parsing stays lazy and the SDK's):
 * it rejects with the refusal when the reservation fails, and it observes the response: a
 * non-stream body is read where the SDK reads it (or from a clone), a stream is read by us to its
 * end so that usage is seen even if the caller never reads (or aborts), and handed on to the caller
 * with events rewritten where needed (e.g. an injected usage chunk hidden).
 *
 * The SDK's helpers (`stream`, `parse`, `runTools`, tool runners, threads) run on the wrapped
 * resources (see `routeProxy`): their `this._client` and `this.create` are the wrapped ones, so
 * every request they make is reserved and committed on its own.
 *
 * (Over 300 lines: the billed method, its gated client view and the observation of non-stream and
 * stream bodies are steps of one call's life and share its state.)
 */
import { TokenLimitsError } from '../../kernel/errors.js';
import { bindingScope, type Binding } from './binding.js';
import { abortedBefore } from './aborted-before.js';
import { asSdkError } from './sdk-error.js';
import { keepBinding, rootOf } from './helper-scope.js';
import type { MethodFactory } from './proxy.js';
import type { EstimateOptions } from '../estimate-types.js';
import { observedBody } from './observed-body.js';
import { readsFrom } from './observed-response.js';
import { parseJsonOrUndefined, type SseEvent } from './sse.js';
import { settleFailure, settleUnreadBody, settleWith } from './settle.js';
import { TrackedCall, type CallPlan } from './tracked-call.js';
import type { UsageReading } from './usage.js';
import type { RateModifiers } from '../pricing/types.js';

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
  /**
   * True once the stream's terminal event was seen (`[DONE]`, `response.completed`, `message_stop`):
   * the call settles then, not when the body ends (openai 7 stops reading at `[DONE]`).
   */
  finished?(): boolean;
  /**
   * True once the stream reported the provider's error (an error event in place of its end): it is
   * settled as a stream that broke off, whatever usage it brought before.
   */
  failed?(): boolean;
  /** The rate modifiers the stream reports (OpenAI's `service_tier`, Anthropic's `speed` and `inference_geo`), if any. */
  rates?(): RateModifiers | undefined;
}

/** A token-billing method of a Stainless SDK. */
export interface StainlessEndpoint {
  /** Name in usage records (`chat.completions`, `messages`, ...). */
  name: string;
  plan(params: Record<string, unknown>, settings: EstimateOptions): CallPlan | Promise<CallPlan>;
  /**
   * Adjusts the request before it is sent (e.g. asks for stream usage, unless the wrap options opt
   * out) and says how to rewrite the caller's events so that the adjustment does not show.
   */
  prepare?(
    params: Record<string, unknown>,
    binding: Binding,
  ): { params: Record<string, unknown>; rewrite?: (event: SseEvent) => string | null | undefined };
  /**
   * The request with its output maximum set to `n` (total over its completions), or undefined when
   * this request cannot be lowered that way (then `onInsufficientQuota: 'shrink'` refuses it).
   */
  resize?(params: Record<string, unknown>, n: number): Record<string, unknown> | undefined;
  /** Usage of a non-stream response body. */
  usage(body: unknown): UsageReading;
  /** The rate modifiers a non-stream response body reports, if any (see `StreamObserver.rates`). */
  rates?(body: unknown): RateModifiers | undefined;
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
  /** Set once something has awaited the promise (the SDK parses then). */
  parsedPromise?: Promise<unknown>;
}

type Fn = (...args: any[]) => unknown;

/** The client methods that take request options second (`post(path, options)`), first for `request`. */
const VERB_METHODS = new Set(['post', 'get', 'put', 'patch', 'delete']);

/**
 * The client as a billed method's resource sees it: the real client, except that its request
 * methods wait for `admitted` before the SDK reads the options (and so before anything is sent).
 * `admitted` resolves to the options as they must be sent (a shrunk request's lowered maximum).
 */
function gatedClient(client: object, admitted: (options: unknown) => Promise<unknown>): object {
  const cache = new Map<PropertyKey, unknown>();
  return new Proxy(client, {
    get(real, key) {
      const value = Reflect.get(real, key, real) as unknown;
      if (typeof value !== 'function' || key === 'constructor') return value;
      let fn = cache.get(key);
      if (fn) return fn;
      const method = value as Fn;
      if (typeof key === 'string' && VERB_METHODS.has(key)) {
        fn = (path: unknown, options?: unknown, ...rest: unknown[]) => method.call(real, path, admitted(options), ...rest);
      } else if (key === 'request') {
        fn = (options: unknown, ...rest: unknown[]) => method.call(real, admitted(options), ...rest);
      } else {
        fn = method.bind(real);
      }
      cache.set(key, fn);
      return fn;
    },
  });
}

/** The binding of a call: the one in scope if it was derived from `binding` (a helper's), else `binding`. */
function activeBinding(binding: Binding): Binding {
  const scoped = bindingScope.getStore();
  return scoped !== undefined && rootOf(scoped) === binding ? scoped : binding;
}

/**
 * A billed method (`create`) of a wrapped resource: reserved before the request is sent, committed
 * with the response's usage (or released) after. Runs the SDK's own method.
 */
export function billedMethod(endpoint: StainlessEndpoint, binding: Binding): MethodFactory {
  return (resource, original) =>
    function billed(this: unknown, params: Record<string, unknown>, ...rest: unknown[]): unknown {
      const active = activeBinding(binding);
      const resize = endpoint.resize;
      // Asked only under onInsufficientQuota 'shrink': can this request be lowered at all?
      const shrinkable = () => resize !== undefined && resize(params, 1) !== undefined;
      const call = new TrackedCall(active, (settings) => endpoint.plan(params, settings), shrinkable);
      const prepared = endpoint.prepare?.(params, active) ?? { params };
      const client = (resource as { _client?: object })._client;
      const errorClass = sdkErrorClass(client);
      const apiError = sdkApiErrorClass(client);
      let refused: unknown;
      let abortedUnsent = false;
      const admitted = async (options: unknown) => {
        const resolved = (await options) as { body?: unknown; signal?: AbortSignal | null } | undefined;
        // Aborted before the call is admitted: the caller gets its abort at once, as from the bare
        // client (the SDK sees the aborted signal and sends nothing), and the call charges nothing.
        const signal = resolved?.signal;
        if (signal instanceof AbortSignal && (await abortedBefore(call.admitted, signal))) {
          abortedUnsent = true;
          return resolved;
        }
        try {
          await call.admitted;
        } catch (refusal) {
          refused = refusal instanceof TokenLimitsError ? asSdkError(refusal, errorClass) : refusal;
          throw refused;
        }
        // A reservation shrunk to fit: the request goes out with its output maximum lowered.
        const n = call.shrunkOutput();
        const body = resolved?.body;
        if (n === undefined || resize === undefined || typeof body !== 'object' || body === null) return resolved;
        return { ...resolved, body: resize(body as Record<string, unknown>, n) ?? body };
      };
      const view = Object.create(resource, client === undefined ? {} : { _client: { value: gatedClient(client, admitted) } }) as object;
      let promise: ApiPromiseLike;
      try {
        promise = original().call(view, prepared.params, ...rest) as ApiPromiseLike;
      } catch (error) {
        // The SDK refused before sending (e.g. Anthropic's non-streaming timeout check).
        void call.release();
        throw error;
      }
      const response = promise.responsePromise;
      // Something may already have awaited the promise inside the SDK (a spy on the client's
      // `request` that records settled results): the SDK then reads the body itself, so the usage
      // of a non-stream answer is taken from what it parsed.
      const parsedEarly = promise.parsedPromise;
      // Registered first, so that it runs before any other reaction to the SDK's response promise.
      const observed = response.then((props) => observe(props, call, endpoint, prepared.rewrite, parsedEarly, () => promise.parsedPromise));
      observed.catch(() => {});
      promise.responsePromise = response.then(
        async (props) => {
          await (await observed).settled;
          return props;
        },
        async (error: unknown) => {
          if (refused !== undefined && error === refused) throw error;
          if (abortedUnsent || sentNothing(error, apiError)) call.release();
          else await settleFailure(call, error);
          throw error;
        },
      );
      return promise;
    };
}

/**
 * A helper method (`stream`, `parse`, `runTools`, `toolRunner`) of a wrapped resource: the SDK's
 * own, run with `this` = the wrapped resource under the wrapper's binding. Helpers that start work
 * later (tool runners) keep the binding, with the user resolved now.
 */
export function helperMethod(binding: Binding): MethodFactory {
  return (_resource, original) =>
    function helper(this: unknown, ...args: unknown[]): unknown {
      const active = activeBinding(binding);
      return keepBinding(
        bindingScope.run(active, () => original().apply(this, args)),
        active,
      );
    };
}

/** The SDK's `APIError` class (`OpenAI.APIError`, `Anthropic.APIError`), found from a client. */
function sdkApiErrorClass(client: unknown): (new (...args: any[]) => Error) | undefined {
  const base = (client as { constructor?: Record<string, unknown> } | null | undefined)?.constructor?.APIError;
  return typeof base === 'function' ? (base as new (...args: any[]) => Error) : undefined;
}

/**
 * Did the SDK fail before sending anything? Once a Stainless SDK has tried to send a request, every
 * failure it reports is an `APIError` (an error answer, a connection error, a timeout, an abort);
 * anything else was thrown before a request left: an `apiKey` function or Azure token provider
 * that failed, Anthropic credentials that could not be resolved (Bedrock, Vertex, profiles).
 */
function sentNothing(error: unknown, apiError: (new (...args: any[]) => Error) | undefined): boolean {
  return apiError !== undefined && !(error instanceof apiError);
}

/** The SDK's base error class (`OpenAI.OpenAIError`, `Anthropic.AnthropicError`), found from a client. */
function sdkErrorClass(client: unknown): (new (...args: any[]) => Error) | undefined {
  const ctor = (client as { constructor?: Record<string, unknown> } | null | undefined)?.constructor;
  const base = ctor?.OpenAIError ?? ctor?.AnthropicError;
  return typeof base === 'function' ? (base as new (...args: any[]) => Error) : undefined;
}

/**
 * Starts observing a response, synchronously, in the first reaction to the SDK's response promise
 * (before any parse of it): a stream's body is observed (observed-body.ts) and the SDK's response
 * object made to read the caller's body instead (observed-response.ts; where it cannot be,
 * `props.response` is replaced *in place* by a new Response over it), so every holder of these
 * props or of that response (openai 7's `_thenUnwrap` and `withResponse` keep the SDK's own
 * response promise) reads the observed one. A non-stream body that the SDK is about to parse is
 * settled from the SDK's own read of it (see `settleOnRead`); any other (the caller took
 * `.asResponse()`) is cloned. `settled` resolves once a cloned answer is settled (a stream settles
 * when it ends, a read one when it is read).
 */
function observe(
  props: ResponseProps,
  call: TrackedCall,
  endpoint: StainlessEndpoint,
  rewrite: ((event: SseEvent) => string | null | undefined) | undefined,
  parsedEarly: Promise<unknown> | undefined,
  parsing: () => Promise<unknown> | undefined,
): { settled: Promise<void> } {
  const plan = call.plan!;
  const requestId = props.response.headers.get(endpoint.requestIdHeader) ?? undefined;
  if (!props.options.stream || props.response.body === null) {
    const settle = (body: unknown): void => {
      const usage = endpoint.usage(body);
      const model = typeof (body as { model?: unknown } | undefined)?.model === 'string' ? (body as { model: string }).model : undefined;
      settleWith(call, usage, () => endpoint.outputTokens(body, plan), { model, requestId, rates: endpoint.rates?.(body) });
    };
    const signal = (props.controller as AbortController | undefined)?.signal;
    const broken = (error: unknown): void => settleUnreadBody(call, error, signal, requestId);
    const parsed = parsing();
    if (parsed !== undefined && !props.response.bodyUsed && sdkReadsJson(props) && settleOnRead(props.response, settle, parsed, broken)) {
      return { settled: Promise.resolve() };
    }
    let copy: Response | undefined;
    try {
      copy = props.response.bodyUsed ? undefined : props.response.clone();
    } catch {
      copy = undefined;
    }
    const settled = (async () => {
      let body: unknown;
      if (copy !== undefined) {
        let text: string;
        try {
          text = await copy.text();
        } catch (error) {
          broken(error);
          return;
        }
        body = parseJsonOrUndefined(text);
      } else {
        try {
          body = await parsedEarly;
        } catch {
          body = undefined;
        }
      }
      settle(body);
    })();
    return { settled };
  }
  const observer = endpoint.observer(plan);
  // The SDK's own controller of this request: it aborts when the caller stops the stream or the SDK fails on it.
  const signal = (props.controller as AbortController | undefined)?.signal;
  const original = props.response;
  const settleStream = (outcome: 'ended' | 'failed'): void => {
    const rates = observer.rates?.();
    // Either way an input the stream reported (Anthropic's message_start) beats the estimate.
    if (outcome === 'ended' && observer.failed?.() !== true) settleWith(call, observer.usage(), () => observer.outputTokens(), { model: observer.model(), requestId, rates }, undefined, observer.inputTokens?.());
    else settleWith(call, undefined, () => observer.outputTokens(), { model: observer.model(), requestId, status: 'aborted', rates }, observer.usage(), observer.inputTokens?.());
  };
  // A stream gone silent for good is settled with what it brought when its renewals end.
  const moved = call.watchStream(() => settleStream('failed'));
  const body = observedBody(
    original.body!,
    {
      onEvent: (event) => {
        moved();
        observer.onEvent(event);
      },
      finished: () => observer.finished?.() === true,
      settle: settleStream,
    },
    rewrite,
    signal instanceof AbortSignal ? { signal, graceMs: ABORT_GRACE_MS } : undefined,
  );
  // The caller's body keeps the SDK's alive: the SDKs release the caller's abort listener when the
  // body they returned is garbage-collected, which must not happen while the caller reads ours.
  Object.defineProperty(body, SOURCE_BODY, { value: original.body });
  if (!readsFrom(original, body)) {
    const response = new Response(body, {
      status: original.status,
      statusText: original.statusText,
      headers: original.headers,
    });
    Object.defineProperty(response, 'url', { value: original.url });
    props.response = response;
  }
  return { settled: Promise.resolve() };
}

/**
 * Will the SDK's parse read this non-stream body as JSON? The rule of their `defaultParseResponse`
 * (openai 5-7, Anthropic): not for a 204, a raw binary response or a declared empty body; yes for
 * an `application/json` or `+json` media type.
 */
function sdkReadsJson(props: ResponseProps): boolean {
  const { response } = props;
  if (response.status === 204 || (props.options as { __binaryResponse?: unknown }).__binaryResponse) return false;
  if (response.headers.get('content-length') === '0') return false;
  const mediaType = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  return mediaType !== undefined && (mediaType.includes('application/json') || mediaType.endsWith('+json'));
}

/**
 * Settles a non-stream call from the body the SDK reads anyway, instead of a clone (a clone tees
 * the body into two web streams: measured as the largest single cost a wrapped non-stream call
 * added). The SDK's parse, already asked for, reads the body with `json()` (openai 5-6, Anthropic)
 * or `text()` (openai 7): both are wrapped on this response instance, and the first read settles
 * the call in its first reaction, before the SDK's own continuation, so before the caller has the
 * result. Should the SDK read the body some other way, its parsed result settles the call. A read
 * that fails (the body broke off, or the caller aborted while it came) calls `broken` with its
 * error instead, when given; a body read whole that is not JSON settles as one without usage.
 * Returns false (nothing changed) when the response cannot take the wrappers.
 */
export function settleOnRead(response: Response, settle: (body: unknown) => void, parsed: Promise<unknown>, broken?: (error: unknown) => void): boolean {
  if (!Object.isExtensible(response)) return false;
  let done = false;
  const once = (body: unknown, failure?: { error: unknown }): void => {
    if (done) return;
    done = true;
    try {
      if (failure !== undefined && broken !== undefined) broken(failure.error);
      else settle(body);
    } catch {
      // Runs in a reaction nobody awaits: a failure here must not become an unhandled rejection.
    }
  };
  const json = response.json as (this: Response) => Promise<unknown>;
  const text = response.text as (this: Response) => Promise<string>;
  const wrapped = {
    json(this: Response): Promise<unknown> {
      const read = json.call(this);
      // A SyntaxError: the body was read whole, and is not JSON. Anything else: it could not be read.
      read.then(once, (error: unknown) => once(undefined, error instanceof SyntaxError ? undefined : { error }));
      return read;
    },
    text(this: Response): Promise<string> {
      const read = text.call(this);
      read.then((body) => once(parseJsonOrUndefined(body)), (error: unknown) => once(undefined, { error }));
      return read;
    },
  };
  try {
    Object.defineProperties(response, {
      json: { value: wrapped.json, configurable: true, writable: true },
      text: { value: wrapped.text, configurable: true, writable: true },
    });
  } catch {
    return false;
  }
  parsed.then(once, () => once(undefined));
  return true;
}

/** Where a caller's stream body keeps the SDK's original body. */
const SOURCE_BODY = Symbol('token-limits.sourceBody');

/**
 * After the request is aborted, how long the observer keeps reading the body before it
 * settles with what it saw (buffered events arrive in microseconds; a body left open never ends).
 */
const ABORT_GRACE_MS = 250;

