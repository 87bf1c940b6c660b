import { bindingScope, type Binding } from '../shared/binding.js';
import { refinePlan } from '../shared/plan.js';
import { routeProxy, type RouteTree } from '../shared/proxy.js';
import { forwarder, patchMethod, shadowOf, type StainlessEndpoint } from '../shared/stainless.js';
import { messages } from './endpoints.js';

/** An `@anthropic-ai/sdk` client (1.x; 0.x where the surface is the same): the parts the wrapper touches. */
interface AnthropicLike {
  messages: Record<string, unknown> & { countTokens?: (params: Record<string, unknown>, options?: unknown) => PromiseLike<{ input_tokens: number }> };
  beta?: { messages?: Record<string, unknown> };
  withOptions(options: Record<string, unknown>): AnthropicLike;
}

export function isAnthropicClient(client: object): boolean {
  const c = client as Partial<AnthropicLike> & { chat?: unknown };
  return typeof c.messages?.create === 'function' && typeof c.withOptions === 'function' && c.chat === undefined;
}

/** Fields the free count-tokens endpoint accepts. */
const COUNTED_FIELDS = ['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking', 'mcp_servers'];

/**
 * `estimator: 'provider'`: the input count comes from `messages.countTokens` (free, exact) before
 * the reservation; on failure or after 2 s the local estimate is kept.
 */
function withProviderCount(endpoint: StainlessEndpoint, shadow: () => AnthropicLike): StainlessEndpoint {
  return {
    ...endpoint,
    async plan(params, settings) {
      const local = await endpoint.plan(params, settings);
      const binding = bindingScope.getStore();
      const messagesResource = shadow().messages;
      const counter = messagesResource.countTokens;
      if (!binding || typeof counter !== 'function') return local;
      const body = Object.fromEntries(COUNTED_FIELDS.filter((k) => params[k] !== undefined).map((k) => [k, params[k]]));
      return refinePlan(local, binding, async (signal) => (await counter.call(messagesResource, body, signal ? { signal } : undefined)).input_tokens);
    },
  };
}

/**
 * Wraps an Anthropic client. Counted: messages create/stream/parse and their beta equivalents,
 * tool runners (each request). `countTokens` and batches pass through.
 */
export function wrapAnthropic<C extends object>(client: C, binding: Binding, rewrap: (client: object) => object): C {
  const ref: { shadow?: AnthropicLike } = {};
  const endpoint = withProviderCount(messages, () => ref.shadow!);
  const shadow = shadowOf(client as unknown as AnthropicLike, (s) => {
    patchMethod(s.messages, 'create', endpoint);
    if (s.beta?.messages) patchMethod(s.beta.messages, 'create', endpoint);
  });
  ref.shadow = shadow;
  const via = forwarder(shadow, binding);
  const msgs = (c: AnthropicLike) => c.messages;
  const beta = (c: AnthropicLike) => c.beta?.messages;
  const routes: RouteTree = {
    messages: { create: via(msgs, 'create'), stream: via(msgs, 'stream'), parse: via(msgs, 'parse') },
    beta: {
      messages: {
        create: via(beta, 'create'),
        stream: via(beta, 'stream'),
        parse: via(beta, 'parse'),
        toolRunner: via(beta, 'toolRunner'),
      },
    },
    withOptions: (owner) => (options: Record<string, unknown>) => rewrap((owner as AnthropicLike).withOptions(options)),
  };
  return routeProxy(client, routes);
}
