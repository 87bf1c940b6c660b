/**
 * The plan of one AI SDK model call, before it is sent: its provider family, its input estimate
 * (the family's estimator over the call's prompt, rewritten as that family's request), its output
 * hold, and the rate modifiers its `providerOptions` ask for.
 */
import { anthropicRates } from '../anthropic/usage.js';
import { estimateAnthropicMessage } from '../anthropic/estimate.js';
import { modelLimits, resolveOutputReservation, withHiddenInput, type EstimateOptions } from '../estimate-types.js';
import { estimateGenAIRequest } from '../google/estimate.js';
import { estimateOpenAIChatCompletion } from '../openai/estimate.js';
import { resolveModelLimits } from '../pricing/limits.js';
import type { RateModifiers } from '../pricing/types.js';
import { planWith } from '../shared/plan.js';
import type { CallPlan } from '../shared/tracked-call.js';
import { asObject } from '../shared/usage.js';
import { utf8ByteLength } from '../../tokenizer/safe-cuts.js';
import { toAnthropic, toGemini, toOpenAIChat, toTexts, type AiCallParams } from './prompt.js';

/** What the middleware reads of a model: `provider` (`openai.chat`, `anthropic.messages`...) and `modelId`. */
export interface AiModel {
  readonly provider: string;
  readonly modelId: string;
}

export type Family = 'openai' | 'anthropic' | 'google' | 'unknown';

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
      const thinkingOptions = asObject(asObject(asObject(params.providerOptions)?.['anthropic'])?.['thinking']);
      const thinking = thinkingOptions?.['type'];
      // With thinking enabled, @ai-sdk/anthropic sends `max_tokens` = maxOutputTokens + the thinking
      // budget (1,024 when none is given): all of it can be billed, so all of it is held.
      const budget = thinkingOptions?.['budgetTokens'];
      const thinkingBudget = thinking !== 'enabled' ? 0 : typeof budget === 'number' && Number.isSafeInteger(budget) && budget > 0 ? budget : 1024;
      const hold = own !== undefined ? own + thinkingBudget : resolveOutputReservation(settings, modelLimits('anthropic', id, settings));
      const request = toAnthropic(id, params, hold);
      const plan = await planWith('anthropic', endpoint, request.params, settings, (s) => estimateAnthropicMessage(request.params as never, s), hold);
      // Thinking is billed whole but streamed as a summary: an aborted stream is charged its hold
      // by default, as through the Anthropic SDK (`abortedStreamCharge`).
      const reasoning = plan.reasoning === true || thinking === 'enabled' || thinking === 'adaptive';
      const webSearches = maxWebSearches(params.tools);
      const planned = { ...plan, outputFromRequest: own !== undefined, ...(reasoning ? { reasoning } : {}), ...(webSearches > 0 ? { webSearches } : {}) };
      return hideInput(withRequestedRates(planned, family, params.providerOptions), request.hidden, family, settings);
    }
    case 'google': {
      const request = toGemini(id, params);
      // `providerOptions.google.thinkingConfig` is sent as the request's: a thinking budget is held
      // on top of the output maximum, as for a call through the Google SDKs.
      const thinkingConfig = asObject(asObject(asObject(params.providerOptions)?.['google'])?.['thinkingConfig']);
      const sent = thinkingConfig === undefined ? request.params : { ...request.params, config: { ...asObject(request.params['config']), thinkingConfig } };
      const plan = await planWith('google', endpoint, sent, settings, (s) => estimateGenAIRequest(sent as never, s), own);
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
 * Whether `onInsufficientQuota: 'shrink'` may lower the call's `maxOutputTokens`: not when the
 * provider sends a thinking budget on top of it (Anthropic thinking `enabled`, whose budget
 * `@ai-sdk/anthropic` adds to `max_tokens`; a positive Gemini `thinkingBudget`). Lowering
 * `maxOutputTokens` alone would leave the budget unheld: such a call is refused instead, as the
 * Anthropic SDK's wrapper refuses a thinking request it cannot shrink.
 */
export function shrinkableCall(model: AiModel, params: AiCallParams): boolean {
  const family = familyOf(model.provider);
  const options = asObject(params.providerOptions);
  if (family === 'anthropic') return asObject(asObject(options?.['anthropic'])?.['thinking'])?.['type'] !== 'enabled';
  if (family === 'google') {
    const budget = asObject(asObject(options?.['google'])?.['thinkingConfig'])?.['thinkingBudget'];
    return !(typeof budget === 'number' && budget > 0);
  }
  return true;
}

/**
 * The most searches the call's Anthropic web search tools allow (`anthropic.tools.webSearch_*`
 * with `maxUses`), whose fee its hold includes, as through the Anthropic SDK. Without `maxUses`
 * the searches have no bound and add nothing to the hold.
 */
function maxWebSearches(tools: unknown): number {
  if (!Array.isArray(tools)) return 0;
  let total = 0;
  for (const tool of tools) {
    const t = asObject(tool);
    const uses = asObject(t?.['args'])?.['maxUses'];
    if (typeof t?.['id'] === 'string' && t['id'].startsWith('anthropic.web_search') && typeof uses === 'number' && Number.isSafeInteger(uses) && uses > 0) total += uses;
  }
  return total;
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

export function openaiTier(fields: Record<string, unknown> | undefined): RateModifiers | undefined {
  const tier = fields?.['serviceTier'];
  return typeof tier === 'string' ? { serviceTier: tier } : undefined;
}
