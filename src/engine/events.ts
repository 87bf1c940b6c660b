import { InvalidArgumentError } from '../kernel/errors.js';
import type { Logger } from '../kernel/types.js';

/**
 * A small typed event emitter; a throwing listener is logged and never breaks a call. It knows its
 * events' names: a listener for any other name (a typo such as `'usages'`, from JavaScript or a
 * cast) would never be called, so `on` refuses it.
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(payload: never) => void>>();
  readonly #names: ReadonlySet<keyof Events>;
  readonly #logger: Logger | undefined;

  constructor(names: ReadonlyArray<keyof Events>, logger?: Logger) {
    this.#names = new Set(names);
    this.#logger = logger;
  }

  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    if (!this.#names.has(event)) {
      throw new InvalidArgumentError('event', event, `expected one of ${[...this.#names].map((n) => JSON.stringify(n)).join(', ')}`);
    }
    if (typeof listener !== 'function') throw new InvalidArgumentError('listener', listener, 'expected a function');
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return () => {
      set.delete(listener as (payload: never) => void);
    };
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        const result = (listener as (payload: Events[K]) => unknown)(payload);
        if (result instanceof Promise) result.catch((error: unknown) => this.#report(event, error));
      } catch (error) {
        this.#report(event, error);
      }
    }
  }

  listenerCount<K extends keyof Events>(event: K): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  #report(event: keyof Events, error: unknown): void {
    this.#logger?.error?.(`token-limits: a "${String(event)}" listener threw`, { error });
  }
}
