import { anthropicMessageEstimate } from './estimate.js';
import { heuristicCount } from '../heuristic-count.js';
import { claudeModelFactor } from './estimate.js';
import { CLAUDE_LEGACY_HEURISTIC } from '../../tokenizer/heuristic-weights.js';
import { modelLimits, type EstimateOptions } from '../estimate-types.js';
import { setAnthropicMaximum } from '../output-maximum.js';
import { planNow } from '../shared/plan.js';
import { DeferredTexts } from '../shared/deferred-texts.js';
import { eventJson } from '../shared/sse.js';
import type { StainlessEndpoint } from '../shared/stainless.js';
import type { CallPlan } from '../shared/tracked-call.js';
import { asObject, MALFORMED, type UsageReading } from '../shared/usage.js';
import { anthropicRates, mergeStreamUsage, messageUsage } from './usage.js';

/** Estimated output tokens of a text received from a Claude model (the legacy-tokenizer heuristic). */
export function outputTokensOf(text: string, model: string): number {
  return text.length === 0 ? 0 : heuristicCount([text], CLAUDE_LEGACY_HEURISTIC, claudeModelFactor(model));
}

function contentText(content: unknown): string {
  if (!Array.isArray(content)) return '';
  const out: string[] = [];
  for (const block of content) {
    const b = asObject(block);
    if (!b) continue;
    for (const key of ['text', 'thinking', 'content']) if (typeof b[key] === 'string') out.push(b[key] as string);
    if (b.input !== undefined) out.push(JSON.stringify(b.input));
  }
  return out.join('');
}

/** A Messages request's plan with what besides the model prices and charges it. */
function withRequestRates(plan: CallPlan, params: Record<string, unknown>): CallPlan {
  // Fast mode and US inference, as the request asks for them, price its hold.
  const rates = anthropicRates(params);
  // Thinking is billed whole as output, though Claude 4 and later stream only a summary of it
  // (or nothing, with `display: 'omitted'`): an aborted stream of such a call is charged its hold
  // by default, as a reasoning model's is (`abortedStreamCharge`).
  const thinking = asObject(params.thinking)?.type;
  const reasoning = plan.reasoning === true || thinking === 'enabled' || thinking === 'adaptive';
  const webSearches = maxWebSearches(params.tools);
  return { ...plan, ...(rates === undefined ? {} : { rates }), ...(reasoning ? { reasoning } : {}), ...(webSearches > 0 ? { webSearches } : {}) };
}

/**
 * The most searches a request's web search tools allow (their `max_uses`), whose fee its hold
 * includes. A web search tool without `max_uses` has no bound: it adds nothing to the hold, and the
 * call's cost can pass its hold by its searches.
 */
function maxWebSearches(tools: unknown): number {
  if (!Array.isArray(tools)) return 0;
  let total = 0;
  for (const tool of tools) {
    const t = asObject(tool);
    const uses = t?.max_uses;
    if (typeof t?.type === 'string' && t.type.startsWith('web_search') && typeof uses === 'number' && Number.isSafeInteger(uses) && uses > 0) total += uses;
  }
  return total;
}

/** Input tokens at which server-side compaction (`compact_20260112`) runs when its edit names no trigger. */
export const COMPACTION_TRIGGER_TOKENS = 150_000;

/**
 * The input count from which a request compacts its context server-side, if it asks to: a
 * `compact_*` edit of `context_management` (at its trigger, else 150,000 input tokens), or the
 * `compaction` parameter (always: 0).
 */
function compactionTrigger(params: Record<string, unknown>): number | undefined {
  if (params.compaction !== undefined && params.compaction !== null) return 0;
  const edits = asObject(params.context_management)?.edits;
  if (!Array.isArray(edits)) return undefined;
  for (const edit of edits) {
    const e = asObject(edit);
    if (typeof e?.type !== 'string' || !e.type.startsWith('compact_')) continue;
    const value = asObject(e.trigger)?.value;
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : COMPACTION_TRIGGER_TOKENS;
  }
  return undefined;
}

/**
 * The plan of a request that may compact: a compaction is a sampling step of its own, billed on
 * top of the answer, that reads the whole context and writes a summary of no set length. From its
 * trigger on (the input estimate is an upper bound, so a request estimated below it never
 * compacts), the hold adds that step: the input once more, and the model's maximum output.
 */
export function withCompaction(plan: CallPlan, params: Record<string, unknown>, settings: EstimateOptions): CallPlan {
  const trigger = compactionTrigger(params);
  if (trigger === undefined || plan.inputTokens < trigger) return plan;
  const summary = modelLimits('anthropic', plan.model, settings).maxOutput;
  return { ...plan, inputTokens: plan.inputTokens * 2, outputTokens: plan.outputTokens + summary };
}

/** A Messages request's plan, before compaction is held (see {@link withCompaction}). */
export function messagesPlan(params: Record<string, unknown>, settings: EstimateOptions): CallPlan | Promise<CallPlan> {
  const planned = planNow(
    'anthropic',
    'messages',
    params,
    settings,
    (o) => anthropicMessageEstimate(params as never, o),
    typeof params.max_tokens === 'number' ? params.max_tokens : undefined,
  );
  return planned instanceof Promise ? planned.then((plan) => withRequestRates(plan, params)) : withRequestRates(planned, params);
}

/** `messages.create` (and `beta.messages.create`): what every helper (stream, parse, tool runners) calls. */
export const messages: StainlessEndpoint = {
  name: 'messages',
  requestIdHeader: 'request-id',
  // Returned at once when the estimate is (a short prompt): no promise of its own per call.
  plan: (params, settings) => {
    const planned = messagesPlan(params, settings);
    return planned instanceof Promise ? planned.then((plan) => withCompaction(plan, params, settings)) : withCompaction(planned, params, settings);
  },
  // Not with extended thinking: its budget (at least 1,024) must stay below max_tokens. Nor with
  // compaction: its hold's output is not all the request's max_tokens.
  resize: (params, n) =>
    asObject(params.thinking)?.type === 'enabled' || compactionTrigger(params) !== undefined ? undefined : setAnthropicMaximum(params, n).params,
  usage: (body) => messageUsage(asObject(body)?.usage),
  rates: (body) => anthropicRates(asObject(body)?.usage),
  outputTokens: (body, plan) => outputTokensOf(contentText(asObject(body)?.content), plan.model),
  observer(plan) {
    // Content deltas are parsed only if their text is needed for an estimate (see DeferredTexts).
    const texts = new DeferredTexts((parsed) => {
      const data = asObject(parsed);
      if (data?.type !== 'content_block_delta') return '';
      const delta = asObject(data.delta);
      let text = '';
      // `content`: a compaction's summary (`compaction_delta`), output of the compaction step.
      for (const key of ['text', 'partial_json', 'thinking', 'content']) if (typeof delta?.[key] === 'string') text += delta[key] as string;
      return text;
    });
    let raw: Record<string, unknown> | undefined;
    let final = false;
    let stopped = false;
    // An `error` event in place of the message's end (overloaded_error, api_error): the SDK throws
    // it to a caller that reads; settled as broken, whether or not the caller reads.
    let failed = false;
    // A message_delta carried usage: without one, message_start's output count (1) is not the answer's.
    let delivered = false;
    let model: string | undefined;
    return {
      onEvent(event) {
        if (event.event === 'content_block_delta') {
          texts.add(event.data);
          return;
        }
        const data = asObject(eventJson(event));
        if (!data) return;
        switch (data.type) {
          case 'message_start': {
            const message = asObject(data.message);
            if (typeof message?.model === 'string') model = message.model;
            raw = mergeStreamUsage(undefined, message?.usage);
            break;
          }
          case 'message_delta':
            raw = mergeStreamUsage(raw, data.usage);
            if (asObject(data.usage)) delivered = true;
            // Counts are cumulative: only the delta that says why the message stopped has the final ones.
            if (asObject(data.delta)?.stop_reason != null) final = raw !== undefined && delivered;
            break;
          case 'message_stop':
            stopped = true;
            break;
          case 'error':
            failed = stopped = true;
            break;
          case 'content_block_delta':
            texts.addParsed(data);
            break;
          default:
        }
      },
      // Usage is final once the last message_delta came (or message_stop); before that,
      // message_start still tells the exact input of an aborted stream, and the deltas the output
      // generated so far.
      usage: (): UsageReading => (final || (stopped && raw !== undefined && delivered) ? messageUsage(raw) : undefined),
      inputTokens: () => {
        const u = raw && !final ? messageUsage({ ...raw, output_tokens: 0 }) : undefined;
        return u && u !== MALFORMED ? u.inputTokens : undefined;
      },
      outputTokens: () => {
        const reported = raw?.['output_tokens'];
        const generated = typeof reported === 'number' && Number.isSafeInteger(reported) && reported > 0 ? reported : 0;
        return Math.max(outputTokensOf(texts.text(), plan.model), generated);
      },
      model: () => model,
      rates: () => anthropicRates(raw),
      finished: () => stopped,
      failed: () => failed,
    };
  },
};
