import type { Binding } from '../shared/binding.js';
import type { EstimateOptions } from '../estimate-types.js';
import type { CallPlan } from '../shared/tracked-call.js';
import { refinePlan } from '../shared/plan.js';
import { routeProxy, type RouteTree } from '../shared/proxy.js';
import { billedMethod, helperMethod, type StainlessEndpoint } from '../shared/stainless.js';
import { messages, messagesPlan, withCompaction } from './endpoints.js';

/** An `@anthropic-ai/sdk` client (1.x; 0.x where the surface is the same; Bedrock and Vertex clients): the parts the wrapper touches. */
interface AnthropicLike {
  messages: Record<string, unknown> & { countTokens?: (params: Record<string, unknown>, options?: unknown) => PromiseLike<{ input_tokens: number }> };
  withOptions?(options: Record<string, unknown>): AnthropicLike;
}

export function isAnthropicClient(client: object): boolean {
  const c = client as Partial<AnthropicLike> & { chat?: unknown };
  return typeof c.messages?.create === 'function' && c.chat === undefined && (typeof c.withOptions === 'function' || typeof (c as { post?: unknown }).post === 'function');
}

/** Fields the free count-tokens endpoint accepts. */
const COUNTED_FIELDS = ['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking', 'mcp_servers'];

/**
 * `estimator: 'provider'`: the input count comes from `messages.countTokens` (free, exact; the
 * client's own, not charged) before the reservation; on failure or after 2 s the local estimate is kept.
 */
function withProviderCount(endpoint: StainlessEndpoint, client: AnthropicLike, binding: Binding): StainlessEndpoint {
  return {
    ...endpoint,
    plan(params, settings) {
      // `local` (the default): the endpoint's own plan, without the count body or another await.
      if (binding.options.estimator !== 'provider') return endpoint.plan(params, settings);
      return providerPlan(params, settings);
    },
  };

  // The count is of the request's context: a compaction's step is held on it as on the local estimate.
  async function providerPlan(params: Record<string, unknown>, settings: EstimateOptions): Promise<CallPlan> {
    const local = await messagesPlan(params, settings);
    const messagesResource = client.messages;
    const counter = messagesResource.countTokens;
    if (typeof counter !== 'function') return withCompaction(local, params, settings);
    const body = Object.fromEntries(COUNTED_FIELDS.filter((k) => params[k] !== undefined).map((k) => [k, params[k]]));
    const refined = await refinePlan(local, binding, async (signal) => (await counter.call(messagesResource, body, signal ? { signal } : undefined)).input_tokens);
    return withCompaction(refined, params, settings);
  }
}

/**
 * Wraps an Anthropic client. Counted: messages create/stream/parse and their beta equivalents,
 * tool runners and threads (each request). `countTokens` and batches pass through.
 */
export function wrapAnthropic<C extends object>(client: C, binding: Binding, rewrap: (client: object) => object): C {
  const endpoint = withProviderCount(messages, client as unknown as AnthropicLike, binding);
  const helper = helperMethod(binding);
  const create = billedMethod(endpoint, binding);
  const routes: RouteTree = {
    messages: { create, stream: helper, parse: helper },
    beta: {
      messages: { create, stream: helper, parse: helper, toolRunner: helper, thread: helper },
    },
    withOptions: (owner, original) => (options: Record<string, unknown>) => rewrap(original().call(owner, options) as object),
  };
  return routeProxy(client, routes, { childMethods: 'proxy' });
}
