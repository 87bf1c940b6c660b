import { modelLimits, refineInputTokens, resolveOutputReservation, type EstimateOptions, type RequestEstimate } from '../estimate-types.js';
import { utf8ByteLength } from '../../tokenizer/safe-cuts.js';
import type { Binding } from './binding.js';
import type { CallPlan } from './tracked-call.js';

/**
 * Runs an estimator; if it cannot read the request (a shape it does not know), falls back to a
 * conservative bound (UTF-8 bytes of the JSON, and the model's output hold) rather than failing a
 * call the provider would take: the provider, not the estimator, decides what a valid request is.
 */
export async function planWith(...args: Parameters<typeof planNow>): Promise<CallPlan> {
  return planNow(...args);
}

/**
 * {@link planWith}, returned at once (not as a promise) when `estimate` returns at once: a wrapped
 * call's plan then takes no promise and no await of its own (it took one of each per layer).
 */
export function planNow(
  provider: RequestEstimate['provider'],
  endpoint: string,
  params: Record<string, unknown>,
  settings: EstimateOptions,
  estimate: (options: EstimateOptions) => RequestEstimate | Promise<RequestEstimate>,
  maxOutput?: number,
): CallPlan | Promise<CallPlan> {
  const fallback = () => fallbackPlan(provider, endpoint, params, settings, maxOutput);
  const toPlan = (e: RequestEstimate): CallPlan => ({
    provider,
    endpoint,
    model: e.model,
    inputTokens: e.inputTokens,
    outputTokens: e.outputTokens,
    reasoning: modelLimits(provider, e.model, settings).reasoning,
    outputFromRequest: e.outputFromRequest === true,
  });
  let e: RequestEstimate | Promise<RequestEstimate>;
  try {
    e = estimate(settings);
    // A thenable is awaited, as planWith awaited any value.
    if (typeof (e as { then?: unknown } | null)?.then !== 'function') return toPlan(e as RequestEstimate);
  } catch {
    return fallback();
  }
  return (async () => {
    try {
      return toPlan(await e);
    } catch {
      return fallback();
    }
  })();
}

/** The conservative plan of a request the estimator cannot read (see {@link planWith}). */
function fallbackPlan(
  provider: RequestEstimate['provider'],
  endpoint: string,
  params: Record<string, unknown>,
  settings: EstimateOptions,
  maxOutput: number | undefined,
): CallPlan {
  let json = '';
  try {
    json = JSON.stringify(params) ?? '';
  } catch {
    json = '';
  }
  const model = typeof params.model === 'string' && params.model.length > 0 ? params.model : 'unknown';
  let outputTokens = maxOutput;
  if (outputTokens === undefined) {
    try {
      outputTokens = resolveOutputReservation(settings, modelLimits(provider, model, settings));
    } catch {
      outputTokens = modelLimits(provider, model, {}).maxOutput; // invalid settings: the table alone
    }
  }
  return {
    provider,
    endpoint,
    model,
    inputTokens: Math.max(1, utf8ByteLength(json)),
    outputTokens,
    reasoning: modelLimits(provider, model, {}).reasoning,
    outputFromRequest: maxOutput !== undefined,
  };
}

/**
 * `estimator: 'provider'`: replaces the plan's input with the provider's own count (a free
 * count-tokens request, not charged) before the reservation. On failure, or after the timeout of
 * `refineInputTokens` (2 s), the local plan is kept: counting never makes a call fail.
 * With `estimator: 'local'` (the default) the plan is returned as it is and `count` is not called.
 */
export async function refinePlan(planned: CallPlan | Promise<CallPlan>, binding: Binding, count: (signal: AbortSignal | undefined) => Promise<number>): Promise<CallPlan> {
  const plan = await planned;
  if (binding.options.estimator !== 'provider') return plan;
  // Only the vendor SDK wrappers (a known provider) count with the provider.
  if (plan.provider === 'unknown') return plan;
  const local: RequestEstimate = { ...plan, provider: plan.provider, totalTokens: plan.inputTokens + plan.outputTokens, exact: false, method: 'heuristic' };
  const refined = await refineInputTokens(local, undefined, (_params, context) => count(context.signal));
  return { ...plan, inputTokens: refined.inputTokens };
}
