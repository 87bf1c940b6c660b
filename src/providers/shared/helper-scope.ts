import { currentUserId } from './context.js';
import { bindingScope, type Binding } from './binding.js';

/**
 * Some SDK helpers start their requests lazily, when the caller iterates or awaits them later
 * (Anthropic's tool runner), outside the wrapped call's async scope. Their methods (and async
 * iterators) are made to run inside the binding of the call that created them, with the user
 * resolved at creation.
 */
export function keepBinding<T>(result: T, binding: Binding): T {
  if (typeof result !== 'object' || result === null || result instanceof Promise) return result;
  const userId = binding.userId ?? currentUserId();
  let fixed = binding;
  if (userId !== undefined && userId !== binding.userId) {
    fixed = { ...binding, userId };
    roots.set(fixed, rootOf(binding));
  }
  return scoped(result as object, fixed) as T;
}

const roots = new WeakMap<Binding, Binding>();

/** The binding a helper's binding was derived from (itself if it was not derived). */
export function rootOf(binding: Binding): Binding {
  return roots.get(binding) ?? binding;
}

function scoped<T extends object>(target: T, binding: Binding): T {
  const cache = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(real, key) {
      const value = Reflect.get(real, key, real) as unknown;
      if (typeof value !== 'function' || key === 'constructor') return value;
      let fn = cache.get(key);
      if (!fn) {
        fn = (...args: unknown[]) => {
          const out = bindingScope.run(binding, () => (value as (...a: unknown[]) => unknown).apply(real, args));
          // An async iterator's next() must run in the binding too.
          return key === Symbol.asyncIterator && typeof out === 'object' && out !== null ? scoped(out, binding) : out;
        };
        cache.set(key, fn);
      }
      return fn;
    },
  });
}
