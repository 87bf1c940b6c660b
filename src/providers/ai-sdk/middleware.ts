/**
 * Quotas for the Vercel AI SDK (`ai` 6 and 7): a language-model middleware for
 * `wrapLanguageModel` and an embedding-model middleware for `wrapEmbeddingModel`. Each model call
 * (each step of a tool loop, each retry) is one `TrackedCall`: reserved in `transformParams`,
 * before the provider is called, and committed with the AI SDK's normalized usage after it.
 *
 * The AI SDK is never imported: the middleware is a plain object whose hooks the AI SDK calls, typed
 * structurally so that it fits `LanguageModelV3Middleware` (ai 6) and `LanguageModelMiddleware` (ai 7).
 * A call's plan is made in plan.ts, its result read in results.ts, a failed call settled in
 * failures.ts. A model wrapped by several layers of the middleware is charged once per limiter
 * (layers.ts).
 */
import type { ProviderName } from '../../kernel/types.js';
import type { EstimateOptions } from '../estimate-types.js';
import { estimateGeminiEmbedding } from '../google/estimate.js';
import { estimateOpenAIEmbedding } from '../openai/estimate.js';
import type { RateModifiers } from '../pricing/types.js';
import type { Binding } from '../shared/binding.js';
import type { LimiterPort } from '../shared/port.js';
import { planWith } from '../shared/plan.js';
import { settleWith } from '../shared/settle.js';
import { TrackedCall, type CallOutcome, type CallPlan } from '../shared/tracked-call.js';
import { asObject, MALFORMED, type UsageReading } from '../shared/usage.js';
import { utf8ByteLength } from '../../tokenizer/safe-cuts.js';
import { admission, settlingFailure, signalOf } from './failures.js';
import { chargedAbove, chargingBelow } from './layers.js';
import { familyOf, planAiCall, shrinkableCall, type AiModel, type Family } from './plan.js';
import type { AiCallParams } from './prompt.js';
import { contentText, familyUsage, outcomeOf, partText, reportedRates, textTokens } from './results.js';

export type { AiCallParams } from './prompt.js';
export type { AiModel } from './plan.js';
export { aiUsage } from './results.js';

/** What the middleware reads of a `doGenerate` result. */
export interface AiGenerateResult {
  content?: unknown;
  usage?: unknown;
  response?: { id?: string | undefined; modelId?: string | undefined } | undefined;
  providerMetadata?: unknown;
}

/** What the middleware reads of a `doStream` result: the stream of parts, passed through unchanged. */
export interface AiStreamResult {
  stream: ReadableStream<any>;
}

/**
 * A language-model middleware (`wrapLanguageModel({ model, middleware })`) for `ai` 6 and 7:
 * `specificationVersion` is `'v3'`, which ai 7 accepts as well.
 */
export interface TokenLimitsLanguageModelMiddleware {
  readonly specificationVersion: 'v3';
  /** Reserves the call's estimate; throws the refusal (the provider is then never called). */
  transformParams<P extends AiCallParams>(options: { type: 'generate' | 'stream'; params: P; model: AiModel }): PromiseLike<P>;
  /** Commits the result's usage (or releases the hold when the call failed without reaching the provider). */
  wrapGenerate<R extends AiGenerateResult>(options: { doGenerate: () => PromiseLike<R>; doStream: () => PromiseLike<unknown>; params: AiCallParams; model: AiModel }): PromiseLike<R>;
  /** Observes the stream of parts through a pass-through `TransformStream` and commits at its end. */
  wrapStream<R extends AiStreamResult>(options: { doGenerate: () => PromiseLike<unknown>; doStream: () => PromiseLike<R>; params: AiCallParams; model: AiModel }): PromiseLike<R>;
}

/** The call options of an embedding call that the middleware reads. */
export interface AiEmbedParams {
  values?: readonly unknown[];
  abortSignal?: unknown;
}

/** An embedding-model middleware (`wrapEmbeddingModel({ model, middleware })`) for `ai` 6 and 7. */
export interface TokenLimitsEmbeddingModelMiddleware {
  readonly specificationVersion: 'v3';
  /** Reserves the call's input estimate, calls the model, commits its reported tokens (else the estimate). */
  wrapEmbed<R extends { usage?: { tokens?: number | undefined } | undefined }>(options: { doEmbed: () => PromiseLike<R>; params: AiEmbedParams; model: AiModel }): Promise<R>;
}

/**
 * A stream that failed (an `error` part) or was aborted: the usage it reported so far is partial
 * (Gemini reports running usage on every chunk), so it is charged an estimate, never 0: the
 * reported input (else the input estimate) and the larger of the reported output and the text
 * received (the whole hold for an aborted reasoning model), marked estimated.
 */
function broken(call: TrackedCall, partial: UsageReading, tokens: () => number, outcome: CallOutcome): void {
  const seen = partial === MALFORMED ? undefined : partial;
  call.commitEstimate(Math.max(seen?.outputTokens ?? 0, tokens()), outcome, seen?.inputTokens);
}

/**
 * Passes every part through unchanged while reading the response metadata, the text received and
 * the `finish` part's usage. A stream that ends commits the usage (an estimate if none came); one
 * that errors or that the caller cancels (an abort) commits what is known, marked estimated.
 */
function observeStream(source: ReadableStream<unknown>, call: TrackedCall, family: Family): ReadableStream<unknown> {
  const texts: string[] = [];
  let usage: UsageReading;
  let model: string | undefined;
  let requestId: string | undefined;
  let rates: RateModifiers | undefined;
  let errored = false;
  let ended = false;
  const tokens = () => textTokens(family, texts.join(''), model ?? call.plan?.model ?? '');
  // A stream gone silent for good is settled with what it brought when its renewals end.
  const moved = call.watchStream(() => broken(call, usage, tokens, outcomeOf(model, requestId, 'aborted', rates)));
  const passThrough = new TransformStream<unknown, unknown>({
    transform(chunk, controller) {
      moved();
      const part = asObject(chunk);
      if (part !== undefined) {
        const text = partText(part);
        if (text !== undefined) texts.push(text);
        else if (part['type'] === 'response-metadata') {
          if (typeof part['modelId'] === 'string') model = part['modelId'];
          if (typeof part['id'] === 'string') requestId = part['id'];
        } else if (part['type'] === 'finish') {
          usage = familyUsage(family, part['usage']);
          rates = reportedRates(family, part['providerMetadata'], part['usage']);
        } else if (part['type'] === 'error') errored = true;
      }
      controller.enqueue(chunk);
    },
    flush() {
      ended = true;
      // An error part ends the stream as a failure of the OpenAI and Anthropic SDKs' streams does:
      // 'aborted', so that a reasoning model's is charged its hold (`abortedStreamCharge`), as the
      // SDK wrappers charge it (a Claude stream that fails mid-way was billed its thinking whole).
      // Gemini reports its running usage, thinking included: charged that, 'error' as its wrappers say.
      if (errored) broken(call, usage, tokens, outcomeOf(model, requestId, family === 'google' || family === 'unknown' ? 'error' : 'aborted', rates));
      else settleWith(call, usage, tokens, outcomeOf(model, requestId, undefined, rates));
    },
  });
  source.pipeTo(passThrough.writable).catch(() => {
    if (!ended) broken(call, usage, tokens, outcomeOf(model, requestId, 'aborted', rates));
  });
  return passThrough.readable;
}

/** A call this layer charges: its reservation, the family of its model, and the limiter it charges. */
interface Charged {
  call: TrackedCall;
  family: Family;
  limiter: LimiterPort;
}

/**
 * The language-model middleware. `bindingOf` says, per call, whom to charge on which limiter (it
 * may read the call's `providerOptions` and `headers`).
 */
export function createLanguageModelMiddleware(bindingOf: (params: AiCallParams) => Binding): TokenLimitsLanguageModelMiddleware {
  // The call reserved for each transformed params object (the AI SDK hands it to wrapGenerate/wrapStream).
  const calls = new WeakMap<object, Charged>();
  // Params this layer passes on as they are: an outer layer charges their call on the same limiter
  // (this middleware stacked twice, or another instance of it: see layers.ts).
  const passed = new WeakSet<object>();
  // Only transformParams can shrink a call (it hands the AI SDK the lowered maxOutputTokens).
  const reserve = async (binding: Binding, limiter: LimiterPort, params: AiCallParams, model: AiModel, resizable: boolean): Promise<Charged> => {
    const call = new TrackedCall({ ...binding, limiter: () => limiter }, (settings) => planAiCall(model, params, settings), () => resizable && shrinkableCall(model, params));
    await admission(call, signalOf(params));
    return { call, family: familyOf(model.provider), limiter };
  };
  const passOn = <P extends AiCallParams>(params: P): P => {
    const inner = { ...params };
    passed.add(inner);
    return inner;
  };
  /**
   * Calls the provider (and the layers below) for the call reserved for `params`, then settles it
   * with `after`. Hooks used without `transformParams` (a middleware copied without it) reserve
   * here: never an unchecked call, and never shrunk (the request could not be lowered to fit).
   */
  const around = async <R>(params: AiCallParams, model: AiModel, run: () => PromiseLike<R>, after: (result: R, call: TrackedCall, family: Family) => R): Promise<R> => {
    if (passed.has(params)) return run();
    let charged = calls.get(params);
    if (charged === undefined) {
      const binding = bindingOf(params);
      const limiter = binding.limiter();
      if (chargedAbove(limiter, params)) return run();
      charged = await reserve(binding, limiter, params, model, false);
    }
    const { call, family, limiter } = charged;
    return after(await settlingFailure(call, () => chargingBelow(limiter, params, run), signalOf(params), family), call, family);
  };
  return {
    specificationVersion: 'v3',
    async transformParams({ params, model }) {
      // This same middleware's outer layer reserved these params (`middleware: [m, m]`).
      if (calls.has(params)) return passOn(params);
      const binding = bindingOf(params);
      const limiter = binding.limiter();
      if (chargedAbove(limiter, params)) return passOn(params);
      const tracked = await reserve(binding, limiter, params, model, true);
      const { plan, grantedOutput } = tracked.call;
      // Shrunk to fit (`onInsufficientQuota: 'shrink'`): the request asks for what is held, no more.
      const shrunk = grantedOutput !== undefined && grantedOutput < plan!.outputTokens;
      const out = (shrunk ? { ...params, maxOutputTokens: grantedOutput } : { ...params }) as typeof params;
      calls.set(out, tracked);
      return out;
    },
    wrapGenerate: <R extends AiGenerateResult>({ doGenerate, params, model }: { doGenerate: () => PromiseLike<R>; params: AiCallParams; model: AiModel }) =>
      around(params, model, doGenerate, (result, call, family) => {
        const responseModel = result.response?.modelId;
        const outcome = outcomeOf(responseModel, result.response?.id, undefined, reportedRates(family, result.providerMetadata, result.usage));
        settleWith(call, familyUsage(family, result.usage), () => textTokens(family, contentText(result.content), responseModel ?? call.plan!.model), outcome);
        return result;
      }),
    wrapStream: <R extends AiStreamResult>({ doStream, params, model }: { doStream: () => PromiseLike<R>; params: AiCallParams; model: AiModel }) =>
      around(params, model, doStream, (result, call, family) => ({ ...result, stream: observeStream(result.stream, call, family) })),
  };
}

/** The texts of an embedding call's values (strings as they are, anything else as its JSON). */
function embedTexts(values: readonly unknown[] | undefined): string[] {
  return (values ?? []).map((v) => (typeof v === 'string' ? v : JSON.stringify(v ?? null)));
}

/** The plan of an embedding call: the family's embedding estimator (bytes for unknown providers), no output. */
export async function planAiEmbedding(model: AiModel, params: AiEmbedParams, settings: EstimateOptions): Promise<CallPlan> {
  const family = familyOf(model.provider);
  const texts = embedTexts(params.values);
  const base = { endpoint: model.provider, model: model.modelId, outputTokens: 0 };
  switch (family) {
    case 'openai':
      return planWith('openai', model.provider, { model: model.modelId, input: texts }, settings, (s) => estimateOpenAIEmbedding({ model: model.modelId, input: texts }, s), 0);
    case 'google':
      return planWith('google', model.provider, { model: model.modelId, contents: texts }, settings, (s) => estimateGeminiEmbedding(model.modelId, texts, s), 0);
    default: {
      const provider: ProviderName = family === 'anthropic' ? 'anthropic' : 'unknown';
      return { ...base, provider, inputTokens: Math.max(1, texts.reduce((sum, t) => sum + utf8ByteLength(t), 0)) };
    }
  }
}

/**
 * The embedding-model middleware: one reservation and one commit per `doEmbed` (per chunk of
 * `embedMany`), by the outermost layer on each limiter (layers.ts).
 */
export function createEmbeddingModelMiddleware(bindingOf: (params: AiEmbedParams) => Binding): TokenLimitsEmbeddingModelMiddleware {
  return {
    specificationVersion: 'v3',
    async wrapEmbed<R extends { usage?: { tokens?: number | undefined } | undefined }>({ doEmbed, params, model }: { doEmbed: () => PromiseLike<R>; params: AiEmbedParams; model: AiModel }): Promise<R> {
      const binding = bindingOf(params);
      const limiter = binding.limiter();
      if (chargedAbove(limiter, params)) return doEmbed();
      const call = new TrackedCall({ ...binding, limiter: () => limiter }, (settings) => planAiEmbedding(model, params, settings));
      const signal = signalOf(params);
      await admission(call, signal);
      const result = await settlingFailure(call, () => chargingBelow(limiter, params, doEmbed), signal, familyOf(model.provider));
      const tokens = result.usage?.tokens;
      // Providers that report no embedding usage (Gemini) are charged the input estimate.
      if (typeof tokens === 'number' && Number.isSafeInteger(tokens) && tokens >= 0) call.commit({ inputTokens: tokens, outputTokens: 0 }, { model: model.modelId });
      else call.commitEstimate(0, { model: model.modelId });
      return result;
    },
  };
}
