import type { Binding } from '../shared/binding.js';
import { routeProxy, type RouteTree } from '../shared/proxy.js';
import { forwarder, patchMethod, shadowOf } from '../shared/stainless.js';
import { chatCompletions, completions, embeddings, responses } from './endpoints.js';

/** An `openai` client (v5, v6): the parts the wrapper touches. */
interface OpenAILike {
  chat: { completions: Record<string, unknown> };
  responses?: Record<string, unknown>;
  completions?: Record<string, unknown>;
  embeddings?: Record<string, unknown>;
  withOptions(options: Record<string, unknown>): OpenAILike;
}

export function isOpenAIClient(client: object): boolean {
  const c = client as Partial<OpenAILike>;
  return typeof c.chat?.completions?.create === 'function' && typeof c.withOptions === 'function';
}

/** Patches the shadow's token-billing `create` methods; helpers reach them through `this._client`. */
function patchShadow(shadow: OpenAILike): void {
  patchMethod(shadow.chat.completions, 'create', chatCompletions);
  if (shadow.responses) patchMethod(shadow.responses, 'create', responses);
  if (shadow.completions) patchMethod(shadow.completions, 'create', completions);
  if (shadow.embeddings) patchMethod(shadow.embeddings, 'create', embeddings);
}

/**
 * Wraps an openai client: token-billing methods run on the shadow client under the binding;
 * everything else is the client's own. Counted: chat.completions create/parse/stream/runTools,
 * responses create/stream/parse, completions.create, embeddings.create.
 */
export function wrapOpenAI<C extends object>(client: C, binding: Binding, rewrap: (client: object) => object): C {
  const shadow = shadowOf(client as unknown as OpenAILike, patchShadow);
  const via = forwarder(shadow, binding);
  const chat = (c: OpenAILike) => c.chat.completions;
  const routes: RouteTree = {
    chat: {
      completions: {
        create: via(chat, 'create'),
        parse: via(chat, 'parse'),
        stream: via(chat, 'stream'),
        runTools: via(chat, 'runTools'),
      },
    },
    responses: {
      create: via((c) => c.responses, 'create'),
      stream: via((c) => c.responses, 'stream'),
      parse: via((c) => c.responses, 'parse'),
    },
    completions: { create: via((c) => c.completions, 'create') },
    embeddings: { create: via((c) => c.embeddings, 'create') },
    // A client derived from a wrapped client is wrapped the same way (no quota bypass).
    withOptions: (owner) => (options: Record<string, unknown>) => rewrap((owner as OpenAILike).withOptions(options)),
  };
  return routeProxy(client, routes);
}
