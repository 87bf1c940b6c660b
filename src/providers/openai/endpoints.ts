/**
 * The token-billing endpoints of the openai SDK: how each is estimated, where its usage is, and
 * how its stream is observed.
 */
import {
  estimateOpenAIChatCompletion,
  estimateOpenAICompletion,
  estimateOpenAIEmbedding,
  estimateOpenAIResponse,
} from './estimate.js';
import { countText } from '../../tokenizer/count.js';
import { setChatCompletionMaximum, setResponseMaximum } from '../output-maximum.js';
import { encodingForModel } from '../../tokenizer/encodings.js';
import { DeferredTexts } from '../shared/deferred-texts.js';
import { planWith } from '../shared/plan.js';
import { eventJson, parseJsonOrUndefined } from '../shared/sse.js';
import type { StainlessEndpoint, StreamObserver } from '../shared/stainless.js';
import type { CallPlan } from '../shared/tracked-call.js';
import type { RateModifiers } from '../pricing/types.js';
import { asObject, type UsageReading } from '../shared/usage.js';
import { askForStreamUsage } from './stream-usage.js';
import { completionUsage, embeddingUsage, responseUsage } from './usage.js';

/** Output tokens of a text received from an OpenAI model (its BPE encoding). */
export function outputTokensOf(text: string, model: string): number {
  return text.length === 0 ? 0 : countText(text, encodingForModel(model)).tokens;
}

function textOf(parts: unknown[]): string {
  return parts.filter((p): p is string => typeof p === 'string').join('');
}

/** How many chunks of a stream are read, at most, to find the model it names (when its usage chunk names none). */
const MODEL_CHUNKS = 4;

/** How the provider's error chunk in a chat or completion stream begins. */
const ERROR_CHUNK = '{"error"';

/** A chunk that carries a usage object (not `"usage":null`): it is parsed as it arrives. */
const USAGE_OBJECT = /"usage"\s*:\s*\{/;

/**
 * Observer of chat and legacy completion chunks (`data:` JSON, `[DONE]`). Only a chunk with a usage
 * object is parsed as it arrives: it names the model and tier too. The others are kept unparsed
 * (see DeferredTexts): their texts are needed only for an estimate when the stream ends without its
 * usage, and the first of them are parsed for the model and tier only when the usage chunk did not
 * name them (the caller's SDK parses every chunk anyway).
 */
function chunkObserver(plan: CallPlan, textsOf: (choice: Record<string, unknown>) => unknown[]): StreamObserver {
  const texts = new DeferredTexts((data) => {
    const choices = asObject(data)?.choices;
    if (!Array.isArray(choices)) return '';
    let text = '';
    for (const choice of choices) {
      const c = asObject(choice);
      if (c) text += textOf(textsOf(c));
    }
    return text;
  });
  let usage: UsageReading;
  let model: string | undefined;
  let rates: RateModifiers | undefined;
  /** The data of the first chunks, for their model and tier if the usage chunk names none. */
  const early: string[] = [];
  let fromEarly: { model: string | undefined; rates: RateModifiers | undefined } | undefined;
  // Chunks are read until one names the model: Azure OpenAI's first chunk (its prompt filter
  // results) has `"model": ""`, the next ones the model (a provider naming none: a few tried).
  const named = (): NonNullable<typeof fromEarly> => {
    if (fromEarly) return fromEarly;
    fromEarly = { model: undefined, rates: undefined };
    for (const data of early) {
      const chunk = asObject(parseJsonOrUndefined(data));
      if (!chunk) continue;
      fromEarly.rates = tierOf(chunk) ?? fromEarly.rates;
      if (typeof chunk.model === 'string' && chunk.model.length > 0) {
        fromEarly.model = chunk.model;
        break;
      }
    }
    return fromEarly;
  };
  let done = false;
  let failed = false;
  return {
    onEvent(event) {
      const { data } = event;
      if (data === '[DONE]') {
        done = true;
        return;
      }
      // The provider's error in place of the stream's end (`{"error": {...}}`, which the SDK throws).
      if (data.startsWith(ERROR_CHUNK)) {
        failed = done = true;
        return;
      }
      if (!USAGE_OBJECT.test(data)) {
        if (early.length < MODEL_CHUNKS) early.push(data);
        texts.add(data);
        return;
      }
      const chunk = asObject(eventJson(event));
      if (!chunk) return;
      if (typeof chunk.model === 'string' && chunk.model.length > 0) model = chunk.model;
      rates = tierOf(chunk) ?? rates;
      if (chunk.usage !== undefined && chunk.usage !== null) usage = completionUsage(chunk.usage);
      texts.addParsed(chunk);
    },
    usage: () => usage,
    outputTokens: () => outputTokensOf(texts.text(), plan.model),
    model: () => model ?? named().model,
    rates: () => rates ?? named().rates,
    finished: () => done,
    failed: () => failed,
  };
}

function chatDeltaTexts(choice: Record<string, unknown>): unknown[] {
  const delta = asObject(choice.delta);
  if (!delta) return [];
  const out: unknown[] = [delta.content, delta.refusal];
  if (Array.isArray(delta.tool_calls)) {
    for (const call of delta.tool_calls) {
      const fn = asObject(asObject(call)?.function);
      out.push(fn?.name, fn?.arguments);
    }
  }
  return out;
}

function chatMessageTexts(body: unknown): string {
  const choices = asObject(body)?.choices;
  if (!Array.isArray(choices)) return '';
  const out: unknown[] = [];
  for (const choice of choices) {
    const message = asObject(asObject(choice)?.message);
    if (!message) continue;
    out.push(message.content, message.refusal);
    if (Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) {
        const fn = asObject(asObject(call)?.function);
        out.push(fn?.name, fn?.arguments);
      }
    }
  }
  return textOf(out);
}

/** The plan with the service tier the request asks for (`service_tier`), whose rates price its hold. */
function withServiceTier(plan: CallPlan, params: Record<string, unknown>): CallPlan {
  return typeof params.service_tier === 'string' ? { ...plan, rates: { serviceTier: params.service_tier } } : plan;
}

/** The service tier a body (a non-stream response, a stream's chunk or final response) says ran the call. */
function tierOf(body: unknown): RateModifiers | undefined {
  const tier = asObject(body)?.service_tier;
  return typeof tier === 'string' ? { serviceTier: tier } : undefined;
}

export const chatCompletions: StainlessEndpoint = {
  name: 'chat.completions',
  requestIdHeader: 'x-request-id',
  plan: async (params, settings) =>
    withServiceTier(await planWith('openai', 'chat.completions', params, settings, (o) => estimateOpenAIChatCompletion(params as never, o)), params),
  prepare: askForStreamUsage,
  // One completion only: with n choices the maximum applies to each, and the hold to all of them.
  resize: (params, n) => ((params.n ?? 1) === 1 ? setChatCompletionMaximum(params, n).params : undefined),
  usage: (body) => completionUsage(asObject(body)?.usage),
  rates: tierOf,
  outputTokens: (body, plan) => outputTokensOf(chatMessageTexts(body), plan.model),
  observer: (plan) => chunkObserver(plan, chatDeltaTexts),
};

export const completions: StainlessEndpoint = {
  name: 'completions',
  requestIdHeader: 'x-request-id',
  plan: (params, settings) => planWith('openai', 'completions', params, settings, (o) => estimateOpenAICompletion(params as never, o)),
  prepare: askForStreamUsage,
  usage: (body) => completionUsage(asObject(body)?.usage),
  outputTokens: (body, plan) => {
    const choices = asObject(body)?.choices;
    return outputTokensOf(Array.isArray(choices) ? textOf(choices.map((c) => asObject(c)?.text)) : '', plan.model);
  },
  observer: (plan) => chunkObserver(plan, (choice) => [choice.text]),
};

export const embeddings: StainlessEndpoint = {
  name: 'embeddings',
  requestIdHeader: 'x-request-id',
  plan: (params, settings) => planWith('openai', 'embeddings', params, settings, (o) => estimateOpenAIEmbedding(params as never, o), 0),
  usage: (body) => embeddingUsage(asObject(body)?.usage),
  outputTokens: () => 0,
  observer: (plan) => chunkObserver(plan, () => []),
};

function responseOutputText(response: unknown): string {
  const output = asObject(response)?.output;
  if (!Array.isArray(output)) return '';
  const out: unknown[] = [];
  for (const item of output) {
    const i = asObject(item);
    if (!i) continue;
    out.push(i.arguments, i.input, i.code);
    if (Array.isArray(i.content)) for (const part of i.content) out.push(asObject(part)?.text);
    if (Array.isArray(i.summary)) for (const part of i.summary) out.push(asObject(part)?.text);
  }
  return textOf(out);
}

const RESPONSE_DELTAS = new Set([
  'response.output_text.delta',
  'response.refusal.delta',
  'response.function_call_arguments.delta',
  'response.custom_tool_call_input.delta',
  'response.reasoning_summary_text.delta',
  'response.reasoning_text.delta',
  // Output the model writes for hosted tools: the code interpreter's code, an MCP call's arguments.
  'response.code_interpreter_call_code.delta',
  'response.mcp_call_arguments.delta',
  'response.audio.transcript.delta',
]);
const RESPONSE_TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);
/** The Responses events that carry the response (its model and tier; at the end, its usage). */
const RESPONSE_BODY_EVENTS = new Set(['response.created', 'response.queued', 'response.in_progress', ...RESPONSE_TERMINAL]);

/** The text of a Responses delta event's data. */
function deltaText(data: unknown): string {
  const delta = asObject(data)?.delta;
  return typeof delta === 'string' ? delta : '';
}

/**
 * A response returned before it has run: `background: true` answers at once, `queued` or
 * `in_progress`, with no usage and no output; the provider bills it when it has run. Its output is
 * not known here, so it is charged the output it held, the most it can bill.
 */
function isUnfinished(body: unknown): boolean {
  const status = asObject(body)?.status;
  return status === 'queued' || status === 'in_progress';
}

/** The output the call held: the request's `max_output_tokens` (echoed, as sent after any shrink), else the plan's. */
function heldOutput(body: unknown, plan: CallPlan): number {
  const echoed = asObject(body)?.max_output_tokens;
  return typeof echoed === 'number' && Number.isSafeInteger(echoed) && echoed > 0 ? echoed : plan.outputTokens;
}

export const responses: StainlessEndpoint = {
  name: 'responses',
  requestIdHeader: 'x-request-id',
  plan: async (params, settings) => {
    const plan = withServiceTier(await planWith('openai', 'responses', params, settings, (o) => estimateOpenAIResponse(params as never, o)), params);
    // A background response runs to its end on OpenAI's side whether or not the caller reads on.
    return params.background === true ? { ...plan, runsOnAfterAbort: true } : plan;
  },
  resize: (params, n) => setResponseMaximum(params, n).params,
  usage: (body) => responseUsage(asObject(body)?.usage),
  rates: tierOf,
  outputTokens: (body, plan) => (isUnfinished(body) ? heldOutput(body, plan) : outputTokensOf(responseOutputText(body), plan.model)),
  /**
   * Of the events OpenAI names (all of them), only those that carry the response are parsed as they
   * come; a delta is kept unparsed (its text is read only for an estimate, see DeferredTexts) and
   * the others are not read. An event without a name is parsed for its `type`.
   */
  observer(plan) {
    const texts = new DeferredTexts(deltaText);
    let usage: UsageReading;
    let model: string | undefined;
    let rates: RateModifiers | undefined;
    let done = false;
    let failed = false;
    return {
      onEvent(event) {
        const name = event.event;
        if (name !== undefined) {
          if (RESPONSE_DELTAS.has(name)) {
            texts.add(event.data);
            return;
          }
          if (name !== 'error' && !RESPONSE_BODY_EVENTS.has(name)) return;
        }
        const data = asObject(eventJson(event));
        if (!data) return;
        const type = typeof data.type === 'string' ? data.type : name;
        // The provider's error event (the stream ends after it): broken off, unless a final
        // response with usage still comes; so is a failed response without usage.
        if (type === 'error') failed = true;
        if (type !== undefined && RESPONSE_DELTAS.has(type)) {
          texts.addParsed(data);
          return;
        }
        const response = asObject(data.response);
        if (response && typeof response.model === 'string') model = response.model;
        rates = tierOf(response) ?? rates;
        if (type !== undefined && RESPONSE_TERMINAL.has(type)) {
          done = true;
          if (response) usage = responseUsage(response.usage);
          failed = usage === undefined && (failed || type === 'response.failed');
        }
      },
      usage: () => usage,
      outputTokens: () => outputTokensOf(texts.text(), plan.model),
      model: () => model,
      rates: () => rates,
      finished: () => done,
      failed: () => failed,
    };
  },
};

/**
 * `responses.compact`: a compaction pass over a conversation (its `input` and `instructions`, and
 * the stored context of `previous_response_id`), billed like a response (its `usage` is a
 * Responses usage). It never streams and has no output maximum: its hold is the model's, and an
 * answer without usage is charged that hold (its output, a compaction item, is encrypted).
 */
export const responsesCompact: StainlessEndpoint = {
  name: 'responses.compact',
  requestIdHeader: 'x-request-id',
  plan: (params, settings) => planWith('openai', 'responses.compact', params, settings, (o) => estimateOpenAIResponse(params as never, o)),
  usage: (body) => responseUsage(asObject(body)?.usage),
  outputTokens: (_body, plan) => plan.outputTokens,
  observer: (plan) => responses.observer(plan),
};
