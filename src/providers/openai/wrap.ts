import type { Binding } from '../shared/binding.js';
import { routeProxy, type RouteTree } from '../shared/proxy.js';
import { billedMethod, helperMethod, type StainlessEndpoint } from '../shared/stainless.js';
import { chatCompletions, completions, embeddings, responses, responsesCompact } from './endpoints.js';
import { takesNewerFields } from './stream-usage.js';

/** An `openai` client (v5, v6, v7; `AzureOpenAI` and clients of OpenAI-compatible providers too): the parts the wrapper touches. */
interface OpenAILike {
  chat: { completions: Record<string, unknown> };
  withOptions(options: Record<string, unknown>): OpenAILike;
}

export function isOpenAIClient(client: object): boolean {
  const c = client as Partial<OpenAILike>;
  return typeof c.chat?.completions?.create === 'function' && typeof c.withOptions === 'function';
}

/**
 * Wraps an openai client. The token-billing `create` methods are reserved and committed; the SDK's
 * helpers run on the wrapped resources, so each request they make goes through a wrapped `create`.
 * Counted: chat.completions create/parse/stream/runTools, responses create/stream/parse/compact
 * (and beta.responses create/compact), completions.create, embeddings.create. Everything else is the client's own.
 */
export function wrapOpenAI<C extends object>(client: C, binding: Binding, rewrap: (client: object) => object): C {
  const helper = helperMethod(binding);
  const billed = (endpoint: StainlessEndpoint) => billedMethod(endpoint, binding);
  // Where the client's API is older than `stream_options` and `max_completion_tokens` (read per call:
  // the client's configuration may change after wrapping), streams are sent as written and charged
  // by estimate, and a shrunk maximum is sent as `max_tokens`.
  const streamUsage = (endpoint: StainlessEndpoint): StainlessEndpoint => {
    const resize = endpoint.resize;
    return {
      ...endpoint,
      prepare: (params, active) => (takesNewerFields(client) ? endpoint.prepare!(params, active) : { params }),
      ...(resize === undefined
        ? {}
        : { resize: (params, n) => (takesNewerFields(client) || params.max_completion_tokens != null ? resize(params, n) : resize({ ...params, max_tokens: params.max_tokens ?? n }, n)) }),
    };
  };
  const routes: RouteTree = {
    chat: {
      completions: {
        create: billed(streamUsage(chatCompletions)),
        parse: helper,
        stream: helper,
        runTools: helper,
      },
    },
    responses: { create: billed(responses), stream: helper, parse: helper, compact: billed(responsesCompact) },
    // The beta Responses API (`/responses?beta=true` with an `openai-beta` header): the same
    // requests, answers and usage as the Responses API.
    beta: { responses: { create: billed(responses), compact: billed(responsesCompact) } },
    completions: { create: billed(streamUsage(completions)) },
    embeddings: { create: billed(embeddings) },
    // A client derived from a wrapped client is wrapped the same way (no quota bypass).
    withOptions: (owner, original) => (options: Record<string, unknown>) => rewrap(original().call(owner, options) as object),
  };
  return routeProxy(client, routes, { childMethods: 'proxy' });
}
