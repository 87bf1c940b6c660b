/**
 * A Proxy that intercepts only chosen paths of an SDK client (`chat.completions.create`, ...) and
 * lets everything else through untouched. SDK classes use `#private` fields, so every property is
 * read with the real object as receiver and functions are bound to it; a method called with
 * `this` = the proxy would throw "Cannot read private member".
 */

/** Builds the replacement for an intercepted method, given the real object that owns it. */
export type MethodFactory = (owner: object) => (...args: any[]) => unknown;

/** Intercepted paths: a method factory at a leaf, a sub-tree for a nested resource. */
export interface RouteTree {
  readonly [key: string]: RouteTree | MethodFactory;
}

/** Marks a proxy made here and gives back its target (so that wrapping twice rewraps the original). */
export const UNWRAP = Symbol('token-limits.unwrap');

export function routeProxy<T extends object>(target: T, routes: RouteTree): T {
  const children = new Map<PropertyKey, object>();
  const methods = new Map<PropertyKey, unknown>();
  const bound = new WeakMap<(...args: any[]) => unknown, unknown>();
  return new Proxy(target, {
    get(real, key) {
      if (key === UNWRAP) return real;
      const route = typeof key === 'string' && Object.hasOwn(routes, key) ? routes[key] : undefined;
      const value = Reflect.get(real, key, real) as unknown;
      if (typeof route === 'function') {
        if (typeof value !== 'function') return value; // an SDK version without this method
        let method = methods.get(key);
        if (!method) {
          method = route(real);
          methods.set(key, method);
        }
        return method;
      }
      if (route !== undefined && typeof value === 'object' && value !== null) {
        let child = children.get(key);
        if (!child) {
          child = routeProxy(value, route);
          children.set(key, child);
        }
        return child;
      }
      if (typeof value === 'function') {
        const fn = value as (...args: any[]) => unknown;
        let b = bound.get(fn);
        if (!b) {
          b = fn.bind(real);
          bound.set(fn, b);
        }
        return b;
      }
      return value;
    },
  });
}

export function unwrap<T>(value: T): T {
  const inner = (value as { [UNWRAP]?: T } | null | undefined)?.[UNWRAP];
  return inner === undefined ? value : unwrap(inner);
}
