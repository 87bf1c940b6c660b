/**
 * A Proxy that intercepts only chosen paths of an SDK client (`chat.completions.create`, ...) and
 * lets everything else through as it is on the bare client.
 *
 * What the caller reads through the proxy is what the bare client holds: `constructor` (so statics
 * and `instanceof` work), own properties (function-valued fields such as `fetch` or `credentials`,
 * methods the caller replaced, spies), and writes go to the real object. Only two things differ:
 * - intercepted methods (the route leaves), unless the caller has since replaced the method on the
 *   object itself: then the replacement (a spy, a stub) reads back exactly as it was set;
 * - methods inherited by the root object run with the real object as `this`: SDK client classes use
 *   `#private` fields, and a method called with `this` = the proxy would throw "Cannot read private
 *   member".
 * Methods inherited by a routed sub-object (a resource such as `chat.completions`) are returned as
 * they are and run with `this` = that sub-object's proxy, so the SDK's own helpers (`stream`,
 * `parse`, tool runners) reach the intercepted methods; in such a sub-object, a property holding
 * the real root (`_client`) reads as the root proxy.
 *
 * Spy libraries that look a method up by its property descriptor along the prototype chain
 * (`vi.spyOn`) must find what a read finds, so the proxy's prototype is a view of the real one
 * (`Object.create(realPrototype)`, so `instanceof` holds) that holds the intercepted methods and, on
 * the root, the methods that run on the real object.
 */

/**
 * Builds the replacement for an intercepted method. `owner` is the real object that holds it;
 * `original()` is the method as it was before interception (the value at wrap time if it was an
 * own property, else the inherited one, read at call time).
 */
export type MethodFactory = (owner: object, original: () => (...args: any[]) => unknown) => (...args: any[]) => unknown;

/** Intercepted paths: a method factory at a leaf, a sub-tree for a nested resource. */
export interface RouteTree {
  readonly [key: string]: RouteTree | MethodFactory;
}

/** Marks a proxy made here and gives back its target (so that wrapping twice rewraps the original). */
export const UNWRAP = Symbol('token-limits.unwrap');

/** How inherited methods of routed sub-objects run. */
export interface RouteProxyOptions {
  /**
   * `proxy`: returned as they are (run with `this` = the sub-object's proxy; the SDK resources of
   * openai and Anthropic have no `#private` fields). `real`: bound to the real sub-object.
   * @default 'real'
   */
  childMethods?: 'proxy' | 'real';
}

export function routeProxy<T extends object>(target: T, routes: RouteTree, options: RouteProxyOptions = {}): T {
  const root: { real: object; proxy?: object } = { real: target };
  const proxy = makeProxy(target, routes, root, options, true);
  root.proxy = proxy;
  return proxy;
}

function makeProxy<T extends object>(target: T, routes: RouteTree, root: { real: object; proxy?: object }, options: RouteProxyOptions, isRoot: boolean): T {
  const children = new Map<PropertyKey, { value: object; proxy: object }>();
  const methods = new Map<PropertyKey, unknown>();
  const inherited = new WeakMap<(...args: any[]) => unknown, unknown>();
  // Route leaves that were own properties at wrap time (`@google/genai` methods are instance fields):
  // those values are the SDK's, anything else found there later is the caller's replacement.
  const ownAtWrap = new Map<PropertyKey, unknown>();
  for (const key of Object.keys(routes)) {
    if (typeof routes[key] === 'function' && Object.hasOwn(target, key)) ownAtWrap.set(key, (target as Record<string, unknown>)[key]);
  }
  const bindInherited = isRoot || options.childMethods !== 'proxy';
  let protoView: { proto: object | null; view: object | null } | undefined;
  const self: T = new Proxy(target, {
    getPrototypeOf(real) {
      const proto = Reflect.getPrototypeOf(real);
      if (proto === null) return null;
      if (protoView?.proto !== proto) protoView = { proto, view: prototypeView(real, proto) };
      return protoView.view;
    },
    get(real, key) {
      if (key === UNWRAP) return real;
      const value = Reflect.get(real, key, real) as unknown;
      if (key === 'constructor') return value;
      const own = Object.hasOwn(real, key);
      const route = typeof key === 'string' && Object.hasOwn(routes, key) ? routes[key] : undefined;
      if (typeof route === 'function') {
        if (typeof value !== 'function') return value; // an SDK version without this method
        if (own && value !== ownAtWrap.get(key)) return value; // replaced by the caller (spy, stub)
        let method = methods.get(key);
        if (!method) {
          const original = () =>
            (ownAtWrap.has(key) ? ownAtWrap.get(key) : Reflect.get(Object.getPrototypeOf(real) as object, key, real)) as (...args: any[]) => unknown;
          method = route(real, original);
          methods.set(key, method);
        }
        return method;
      }
      if (route !== undefined && typeof value === 'object' && value !== null) {
        let child = children.get(key);
        if (child?.value !== value) {
          child = { value, proxy: makeProxy(value, route, root, options, false) };
          children.set(key, child);
        }
        return child.proxy;
      }
      if (!isRoot && value === root.real) return root.proxy;
      if (typeof value !== 'function' || own || !bindInherited || isAccessor(real, key)) return value;
      return receiverFixed(value as (...args: any[]) => unknown, real);
    },
  });

  /** Whether `key` is an inherited getter (a function it returns is a value, like `credentials`, not a method). */
  function isAccessor(real: object, key: PropertyKey): boolean {
    for (let p = Object.getPrototypeOf(real) as object | null; p !== null; p = Object.getPrototypeOf(p) as object | null) {
      const descriptor = Object.getOwnPropertyDescriptor(p, key);
      if (descriptor) return descriptor.get !== undefined;
    }
    return false;
  }

  function receiverFixed(fn: (...args: any[]) => unknown, real: object): unknown {
    let b = inherited.get(fn);
    if (!b) {
      b = withReceiver(fn, self, real);
      inherited.set(fn, b);
    }
    return b;
  }

  /** `Object.create(proto)` holding what reads of inherited methods return (non-enumerable, like class methods). */
  function prototypeView(real: object, proto: object): object {
    const view = Object.create(proto) as object;
    const define = (key: PropertyKey, value: unknown) => Object.defineProperty(view, key, { value, writable: true, configurable: true, enumerable: false });
    if (bindInherited) {
      const seen = new Set<PropertyKey>();
      for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
        for (const key of Reflect.ownKeys(p)) {
          if (key === 'constructor' || seen.has(key)) continue;
          seen.add(key);
          const descriptor = Object.getOwnPropertyDescriptor(p, key);
          if (descriptor && typeof descriptor.value === 'function') define(key, receiverFixed(descriptor.value as (...args: any[]) => unknown, real));
        }
      }
    }
    for (const key of Object.keys(routes)) {
      if (typeof routes[key] === 'function' && !ownAtWrap.has(key) && typeof Reflect.get(proto, key, real) === 'function') define(key, Reflect.get(self, key, self));
    }
    return view;
  }
  return self;
}

/** `fn` run with `real` as `this` when called on the proxy (any other receiver is kept); same name and length. */
function withReceiver(fn: (...args: any[]) => unknown, proxy: object, real: object): (...args: any[]) => unknown {
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    return fn.apply(this === proxy || this === undefined ? real : this, args);
  };
  Object.defineProperty(wrapper, 'name', { value: fn.name });
  Object.defineProperty(wrapper, 'length', { value: fn.length });
  return wrapper;
}

export function unwrap<T>(value: T): T {
  const inner = (value as { [UNWRAP]?: T } | null | undefined)?.[UNWRAP];
  return inner === undefined ? value : unwrap(inner);
}
