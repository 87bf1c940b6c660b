/**
 * One model call, one charge per limiter, however many layers of the middleware wrap the model:
 * two instances in one `wrapLanguageModel` (`middleware: [a, b]`), a shared wrapped model that an app
 * wraps again, or another middleware between them. A layer runs the layers below it inside its
 * scope, which names its limiter and the call; a layer below whose limiter is already charging that
 * call passes it on untouched. Layers on different limiters each charge their own quota.
 *
 * The call is known by its prompt (`values` for an embedding call): the AI SDK builds one per call,
 * and the layers and middleware between them hand it on (they copy the params, not the prompt).
 * A model call made while another is in progress (by a tool that `streamText` runs, in its
 * `onFinish`) has its own prompt: it is charged on its own even if the outer call's scope reaches it.
 *
 * One store per process, shared by every copy of the library that is loaded (the ESM and the CJS
 * build side by side, or a library's copy and the app's), as the request context is.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** A call being charged on a limiter by an outer layer. */
interface Charging {
  readonly limiter: object;
  readonly call: object;
}

const STORAGE_KEY = Symbol.for('token-limits.ai-sdk.layers.v1');
const registry = globalThis as { [STORAGE_KEY]?: AsyncLocalStorage<readonly Charging[]> };
const storage = (registry[STORAGE_KEY] ??= new AsyncLocalStorage<readonly Charging[]>());

/** What identifies a model call across layers: its prompt (its values for an embedding call), else the params themselves. */
function callOf(params: object): object {
  const { prompt, values } = params as { prompt?: unknown; values?: unknown };
  if (typeof prompt === 'object' && prompt !== null) return prompt;
  return typeof values === 'object' && values !== null ? values : params;
}

/** Whether an outer layer is charging this call on `limiter` (this layer then passes it on). */
export function chargedAbove(limiter: object, params: object): boolean {
  const outer = storage.getStore();
  if (outer === undefined) return false;
  const call = callOf(params);
  return outer.some((c) => c.limiter === limiter && c.call === call);
}

/** Runs the layers below (`run`) knowing that this call is charged on `limiter`. */
export function chargingBelow<T>(limiter: object, params: object, run: () => T): T {
  return storage.run([...(storage.getStore() ?? []), { limiter, call: callOf(params) }], run);
}
