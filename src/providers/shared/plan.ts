import { refineInputTokens, type EstimateOptions, type RequestEstimate } from '../estimate-types.js';
import { utf8ByteLength } from '../../tokenizer/fast-estimate.js';
import type { Binding } from './binding.js';
import type { CallPlan } from './tracked-call.js';

/**
 * Runs an estimator; if it cannot read the request (a shape it does not know), falls back to a
 * conservative bound (UTF-8 bytes of the JSON) rather than failing a call the provider would take:
 * the provider, not the estimator, decides what a valid request is.
 */
export function planWith(
  provider: CallPlan['provider'],
  endpoint: string,
  params: Record<string, unknown>,
  settings: EstimateOptions,
  estimate: (options: EstimateOptions) => RequestEstimate,
  maxOutput?: number,
): CallPlan {
  try {
    const e = estimate(settings);
    return { provider, endpoint, model: e.model, inputTokens: e.inputTokens, outputTokens: e.outputTokens };
  } catch {
    let json = '';
    try {
      json = JSON.stringify(params) ?? '';
    } catch {
      json = '';
    }
    const model = typeof params.model === 'string' && params.model.length > 0 ? params.model : 'unknown';
    return { provider, endpoint, model, inputTokens: Math.max(1, utf8ByteLength(json)), outputTokens: maxOutput ?? settings.outputReservation ?? 4096 };
  }
}

/**
 * `estimator: 'provider'`: replaces the plan's input with the provider's own count (a free
 * count-tokens request, not charged) before the reservation. On failure, or after the timeout of
 * `refineInputTokens` (2 s), the local plan is kept: counting never makes a call fail.
 * With `estimator: 'local'` (the default) the plan is returned as it is and `count` is not called.
 */
export async function refinePlan(plan: CallPlan, binding: Binding, count: (signal: AbortSignal | undefined) => Promise<number>): Promise<CallPlan> {
  if (binding.options.estimator !== 'provider') return plan;
  const local: RequestEstimate = { ...plan, totalTokens: plan.inputTokens + plan.outputTokens, exact: false, method: 'heuristic' };
  const refined = await refineInputTokens(local, undefined, (_params, context) => count(context.signal));
  return { ...plan, inputTokens: refined.inputTokens };
}
