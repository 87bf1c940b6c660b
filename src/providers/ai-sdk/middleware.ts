/**
 * Quotas for the Vercel AI SDK (`ai` 6 and 7; over 300 lines: the generate, stream and embedding
 * paths share one call's admission and settlement): a language-model middleware for
 * `wrapLanguageModel` and an embedding-model middleware for `wrapEmbeddingModel`. Each model call
 * (each step of a tool loop, each retry) is one `TrackedCall`: reserved in `transformParams`,
 * before the provider is called, and committed with the AI SDK's normalized usage after it.
 *
 * The AI SDK is never imported: the middleware is a plain object whose hooks the AI SDK calls, typed
 * structurally so that it fits `LanguageModelV3Middleware` (ai 6) and `LanguageModelMiddleware` (ai 7).
 */
import type { ProviderName } from '../../kernel/types.js';
import { anthropicRates, messageUsage } from '../anthropic/usage.js';
import { estimateAnthropicMessage } from '../anthropic/estimate.js';
import { outputTokensOf as claudeTextTokens } from '../anthropic/endpoints.js';
import { modelLimits, resolveOutputReservation, withHiddenInput, type EstimateOptions } from '../estimate-types.js';
import { estimateGeminiEmbedding, estimateGenAIRequest } from '../google/estimate.js';
import { geminiTextTokens, geminiUsage } from '../google/usage.js';
import { estimateOpenAIChatCompletion, estimateOpenAIEmbedding } from '../openai/estimate.js';
import { outputTokensOf as openAITextTokens } from '../openai/endpoints.js';
import { completionUsage, embeddingUsage, responseUsage } from '../openai/usage.js';
import { resolveModelLimits } from '../pricing/limits.js';
import type { RateModifiers } from '../pricing/types.js';
import type { Binding } from '../shared/binding.js';
import { planWith } from '../shared/plan.js';
import { settleFailure, settleWith } from '../shared/settle.js';
import { TrackedCall, type CallOutcome, type CallPlan } from '../shared/tracked-call.js';
import { asObject, MALFORMED, readCount, usageFrom, type UsageReading } from '../shared/usage.js';
import { utf8ByteLength } from '../../tokenizer/safe-cuts.js';
import { toAnthropic, toGemini, toOpenAIChat, toTexts, type AiCallParams } from './prompt.js';

export type { AiCallParams } from './prompt.js';

/** What the middleware reads of a model: `provider` (`openai.chat`, `anthropic.messages`...) and `modelId`. */
export interface AiModel {
  readonly provider: string;
  readonly modelId: string;
}

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

type Family = 'openai' | 'anthropic' | 'google' | 'unknown';

/**
 * The provider family of an AI SDK model, from its `provider` string: `openai.chat`,
 * `openai.responses`, `azure.*` → OpenAI; `anthropic.messages` (also through Vertex or Bedrock) →
 * Anthropic; `google.generative-ai`, `google.vertex.chat` → Google; anything else is unknown.
 */
export function familyOf(provider: string): Family {
  const p = provider.toLowerCase();
  if (p.includes('anthropic')) return 'anthropic';
  if (p.startsWith('openai') || p.startsWith('azure')) return 'openai';
  if (p.startsWith('google')) return 'google';
  return 'unknown';
}

/** Framing bytes assumed per text of an unknown provider's prompt (role markers, separators). */
const UNKNOWN_TEXT_OVERHEAD = 8;

function hideInput(plan: CallPlan, hidden: string | undefined, family: Family, settings: EstimateOptions): CallPlan {
  if (hidden === undefined) return plan;
  return { ...plan, inputTokens: withHiddenInput(plan.inputTokens, resolveModelLimits(plan.model, family, settings.maxOutputTokens)) };
}

/**
 * Earlier context a Responses model call asks OpenAI to add from its own storage, which the prompt
 * does not show and which is billed as input: `previousResponseId` or `conversation` of the
 * call's `providerOptions.openai` (`.azure` for Azure models). As for `responses.create`, it is
 * held at the model's context window.
 */
function storedContext(provider: string, providerOptions: unknown): string | undefined {
  if (!provider.endsWith('.responses')) return undefined;
  const all = asObject(providerOptions);
  for (const key of ['openai', 'azure']) {
    const options = asObject(all?.[key]);
    if (options?.['previousResponseId'] != null) return 'previous_response_id';
    if (options?.['conversation'] != null) return 'a stored conversation';
  }
  return undefined;
}

/**
 * The plan of one call: the family's estimator over the normalized prompt (tools, files and the
 * response schema included), the output hold from `maxOutputTokens`, else `outputReservation`, else
 * the per-model table. A prompt the estimator cannot read falls back to its JSON's UTF-8 bytes.
 */
export async function planAiCall(model: AiModel, params: AiCallParams, settings: EstimateOptions): Promise<CallPlan> {
  const family = familyOf(model.provider);
  const id = model.modelId;
  const endpoint = model.provider;
  const own = typeof params.maxOutputTokens === 'number' ? params.maxOutputTokens : undefined;
  switch (family) {
    case 'openai': {
      const request = toOpenAIChat(id, params);
      const plan = await planWith('openai', endpoint, request.params, settings, (s) => estimateOpenAIChatCompletion(request.params as never, s), own);
      return hideInput(withRequestedRates(plan, family, params.providerOptions), request.hidden ?? storedContext(endpoint, params.providerOptions), family, settings);
    }
    case 'anthropic': {
      const hold = own ?? resolveOutputReservation(settings, modelLimits('anthropic', id, settings));
      const request = toAnthropic(id, params, hold);
      const plan = await planWith('anthropic', endpoint, request.params, settings, (s) => estimateAnthropicMessage(request.params as never, s), hold);
      return hideInput(withRequestedRates({ ...plan, outputFromRequest: own !== undefined }, family, params.providerOptions), request.hidden, family, settings);
    }
    case 'google': {
      const request = toGemini(id, params);
      const plan = await planWith('google', endpoint, request.params, settings, (s) => estimateGenAIRequest(request.params as never, s), own);
      return hideInput(plan, request.hidden, family, settings);
    }
    default: {
      const { texts, hidden } = toTexts(params);
      const limits = resolveModelLimits(id, 'unknown', settings.maxOutputTokens);
      const bytes = texts.reduce((sum, t) => sum + utf8ByteLength(t) + UNKNOWN_TEXT_OVERHEAD, UNKNOWN_TEXT_OVERHEAD);
      return hideInput(
        {
          provider: 'unknown',
          endpoint,
          model: id,
          inputTokens: bytes,
          outputTokens: own ?? resolveOutputReservation(settings, limits),
          reasoning: limits.reasoning,
          outputFromRequest: own !== undefined,
        },
        hidden,
        family,
        settings,
      );
    }
  }
}

/**
 * The AI SDK's normalized usage: v3/v4 `{ inputTokens: { total, cacheRead, cacheWrite },
 * outputTokens: { total, reasoning } }` (input total includes cache reads and writes, output total
 * includes reasoning, as the engine counts them), or the flat v2 form. Missing totals read as
 * malformed: the call is then charged an estimate.
 */
export function aiUsage(usage: unknown): UsageReading {
  const u = asObject(usage);
  if (u === undefined) return undefined;
  const input = asObject(u['inputTokens']);
  if (input !== undefined) {
    const output = asObject(u['outputTokens']) ?? {};
    return usageFrom({
      inputTokens: readCount(input['total'], true),
      outputTokens: readCount(output['total'], true),
      cachedInputTokens: readCount(input['cacheRead'], false),
      cacheWriteTokens: readCount(input['cacheWrite'], false),
      reasoningTokens: readCount(output['reasoning'], false),
    });
  }
  return usageFrom({
    inputTokens: readCount(u['inputTokens'], true),
    outputTokens: readCount(u['outputTokens'], true),
    cachedInputTokens: readCount(u['cachedInputTokens'], false),
    reasoningTokens: readCount(u['reasoningTokens'], false),
  });
}

/** Estimated output tokens of text received, with the family's counter (an estimate when usage is unknown). */
function textTokens(family: Family, text: string, model: string): number {
  if (text.length === 0) return 0;
  switch (family) {
    case 'openai':
      return openAITextTokens(text, model);
    case 'anthropic':
      return claudeTextTokens(text, model);
    case 'google':
      return geminiTextTokens(text);
    default:
      return utf8ByteLength(text);
  }
}

/** The generated text of a result's content: text, reasoning and tool-call arguments. */
function contentText(content: unknown): string {
  if (!Array.isArray(content)) return '';
  const out: string[] = [];
  for (const raw of content) {
    const part = asObject(raw);
    if (typeof part?.['text'] === 'string') out.push(part['text']);
    else if (part?.['type'] === 'tool-call') out.push(typeof part['input'] === 'string' ? part['input'] : JSON.stringify(part['input'] ?? {}));
  }
  return out.join('');
}

/** The text a stream part adds (`text-delta`, `reasoning-delta`, `tool-input-delta`; v2's `textDelta` too). */
function partText(part: Record<string, unknown>): string | undefined {
  if (typeof part['delta'] === 'string') return part['delta'];
  if (typeof part['textDelta'] === 'string') return part['textDelta'];
  return undefined;
}

function outcomeOf(model: string | undefined, requestId: string | undefined, status?: CallOutcome['status'], rates?: RateModifiers): CallOutcome {
  const outcome: CallOutcome = {};
  if (model) outcome.model = model;
  if (requestId) outcome.requestId = requestId;
  if (status) outcome.status = status;
  if (rates) outcome.rates = rates;
  return outcome;
}

/**
 * The plan with what besides the model its `providerOptions` ask to be priced by: OpenAI's
 * service tier (`openai.serviceTier`), Anthropic's fast mode and US inference (`anthropic.speed`,
 * `anthropic.inferenceGeo`).
 */
function withRequestedRates(plan: CallPlan, family: Family, options: unknown): CallPlan {
  const asked = asObject(asObject(options)?.[family]);
  let rates: RateModifiers | undefined;
  if (family === 'openai') rates = openaiTier(asked);
  else if (family === 'anthropic') rates = anthropicRates({ speed: asked?.['speed'], inference_geo: asked?.['inferenceGeo'] });
  return rates === undefined ? plan : { ...plan, rates };
}

/**
 * What the result reports about its rates: the service tier `@ai-sdk/openai` puts in its provider
 * metadata (its Responses model does; its chat model does not, and the request's tier counts then),
 * and the `speed` and `inference_geo` of Anthropic's own usage, which `@ai-sdk/anthropic` passes on
 * as the usage's `raw` object (AI SDK 6 and later).
 */
function reportedRates(family: Family, metadata: unknown, usage: unknown): RateModifiers | undefined {
  if (family === 'openai') return openaiTier(asObject(asObject(metadata)?.['openai']));
  if (family === 'anthropic') return anthropicRates(asObject(usage)?.['raw']);
  return undefined;
}

function openaiTier(fields: Record<string, unknown> | undefined): RateModifiers | undefined {
  const tier = fields?.['serviceTier'];
  return typeof tier === 'string' ? { serviceTier: tier } : undefined;
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
          usage = aiUsage(part['usage']);
          rates = reportedRates(family, part['providerMetadata'], part['usage']);
        } else if (part['type'] === 'error') errored = true;
      }
      controller.enqueue(chunk);
    },
    flush() {
      ended = true;
      if (errored) broken(call, usage, tokens, outcomeOf(model, requestId, 'error', rates));
      else settleWith(call, usage, tokens, outcomeOf(model, requestId, undefined, rates));
    },
  });
  source.pipeTo(passThrough.writable).catch(() => {
    if (!ended) broken(call, usage, tokens, outcomeOf(model, requestId, 'aborted', rates));
  });
  return passThrough.readable;
}

/** The caller's signal of a call (`abortSignal` of the AI SDK's call options), if any. */
function signalOf(params: unknown): AbortSignal | undefined {
  const signal = asObject(params)?.['abortSignal'];
  return signal instanceof AbortSignal ? signal : undefined;
}

/**
 * Waits for the call's admission, unless the caller aborts first: the call then rejects at once with
 * the signal's reason (what the provider's `fetch` rejects with, so what the bare model throws),
 * sends nothing, and its reservation is released once it lands.
 */
function admission(call: TrackedCall, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return call.admitted;
  return new Promise<void>((resolve, reject) => {
    let decided = false;
    const onAbort = () => {
      if (decided) return;
      decided = true;
      call.release();
      reject(signal.reason);
    };
    const decide = (settle: () => void) => {
      signal.removeEventListener('abort', onAbort);
      if (decided) return;
      decided = true;
      settle();
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    call.admitted.then(
      () => decide(resolve),
      (refusal: unknown) => decide(() => reject(refusal)),
    );
  });
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

/**
 * The usage a provider's answer body reports, in the family's shape (OpenAI's chat, Responses or
 * embeddings shape for unknown providers too: most are OpenAI-compatible).
 */
function bodyUsage(family: Family, body: Record<string, unknown> | undefined): UsageReading {
  if (family === 'anthropic') return messageUsage(body?.['usage']);
  if (family === 'google') return geminiUsage(body?.['usageMetadata']);
  const usage = asObject(body?.['usage']);
  if (usage === undefined) return undefined;
  if ('input_tokens' in usage) return responseUsage(usage);
  return 'completion_tokens' in usage ? completionUsage(usage) : embeddingUsage(usage);
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
 * `NEVER_SENT_AI_ERRORS`): it is released, never charged. A successful
 * answer the provider then failed to read was billed: it is charged the usage its body reports,
 * else the input estimate (marked estimated), status `error`.
 */
async function settlingFailure<R>(call: TrackedCall, run: () => PromiseLike<R>, signal: AbortSignal | undefined, family: Family): Promise<R> {
  const unsent = signal?.aborted === true;
  try {
    return await run();
  } catch (error) {
    const answered = unsent ? undefined : unreadSuccess(error);
    if (unsent || neverSent(error)) call.release();
    else if (answered !== undefined) {
      const model = typeof answered.body?.['model'] === 'string' ? answered.body['model'] : typeof answered.body?.['modelVersion'] === 'string' ? answered.body['modelVersion'] : undefined;
      settleWith(call, bodyUsage(family, answered.body), () => 0, outcomeOf(model, undefined, 'error'));
    } else settleFailure(call, error);
    throw error;
  }
}

/**
 * The language-model middleware. `bindingOf` says, per call, whom to charge on which limiter (it
 * may read the call's `providerOptions` and `headers`).
 */
export function createLanguageModelMiddleware(bindingOf: (params: AiCallParams) => Binding): TokenLimitsLanguageModelMiddleware {
  // The call reserved for each transformed params object (the AI SDK hands it to wrapGenerate/wrapStream).
  const calls = new WeakMap<object, { call: TrackedCall; family: Family }>();
  const reserve = async (params: AiCallParams, model: AiModel) => {
    const call = new TrackedCall(bindingOf(params), (settings) => planAiCall(model, params, settings), true);
    await admission(call, signalOf(params));
    return { call, family: familyOf(model.provider) };
  };
  /**
   * Calls the provider for the call reserved for `params`, then settles it with `after`. Hooks used
   * without `transformParams` (a middleware copied without it) reserve here: never an unchecked call.
   */
  // Params an outer layer of this same middleware has reserved (the middleware stacked twice on one
  // model): the inner layer passes them on, and the call is reserved and charged once.
  const nested = new WeakSet<object>();
  const around = async <R>(params: AiCallParams, model: AiModel, run: () => PromiseLike<R>, after: (result: R, call: TrackedCall, family: Family) => R): Promise<R> => {
    if (nested.has(params)) return run();
    const { call, family } = calls.get(params) ?? (await reserve(params, model));
    return after(await settlingFailure(call, run, signalOf(params), family), call, family);
  };
  return {
    specificationVersion: 'v3',
    async transformParams({ params, model }) {
      if (calls.has(params)) {
        const inner = { ...params };
        nested.add(inner);
        return inner;
      }
      const tracked = await reserve(params, model);
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
        settleWith(call, aiUsage(result.usage), () => textTokens(family, contentText(result.content), responseModel ?? call.plan!.model), outcome);
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

/** The embedding-model middleware: one reservation and one commit per `doEmbed` (per chunk of `embedMany`). */
export function createEmbeddingModelMiddleware(bindingOf: (params: AiEmbedParams) => Binding): TokenLimitsEmbeddingModelMiddleware {
  return {
    specificationVersion: 'v3',
    async wrapEmbed<R extends { usage?: { tokens?: number | undefined } | undefined }>({ doEmbed, params, model }: { doEmbed: () => PromiseLike<R>; params: AiEmbedParams; model: AiModel }): Promise<R> {
      const call = new TrackedCall(bindingOf(params), (settings) => planAiEmbedding(model, params, settings));
      const signal = signalOf(params);
      await admission(call, signal);
      const result = await settlingFailure(call, doEmbed, signal, familyOf(model.provider));
      const tokens = result.usage?.tokens;
      // Providers that report no embedding usage (Gemini) are charged the input estimate.
      if (typeof tokens === 'number' && Number.isSafeInteger(tokens) && tokens >= 0) call.commit({ inputTokens: tokens, outputTokens: 0 }, { model: model.modelId });
      else call.commitEstimate(0, { model: model.modelId });
      return result;
    },
  };
}
