import type { TokenLimitsError } from '../../kernel/errors.js';

/**
 * A copy of one of our errors that is also an instance of an SDK's base error class.
 *
 * The SDKs' helper objects (openai's ChatCompletionStream and tool runners, Anthropic's
 * MessageStream) re-wrap any error that is not their own into a generic SDK error, which would hide
 * a quota refusal. The copy keeps every field, `name`, `code` and `instanceof TokenLimitExceededError`
 * (our classes check a brand, not the prototype), and passes through those helpers unchanged.
 */
const prototypes = new WeakMap<object, Map<object, object>>();

export function asSdkError<E extends TokenLimitsError>(error: E, sdkBase: (new (...args: any[]) => Error) | undefined): E {
  if (typeof sdkBase !== 'function' || error instanceof sdkBase) return error;
  const ours = Object.getPrototypeOf(error) as object;
  let bySdk = prototypes.get(ours);
  if (!bySdk) {
    bySdk = new Map();
    prototypes.set(ours, bySdk);
  }
  let proto = bySdk.get(sdkBase);
  if (!proto) {
    proto = Object.create(sdkBase.prototype as object) as object;
    // Our accessors and methods (e.g. `remaining`), own class first.
    for (let p: object | null = ours; p && p !== Error.prototype; p = Object.getPrototypeOf(p) as object | null) {
      for (const key of Reflect.ownKeys(p)) {
        if (!Object.hasOwn(proto, key)) Object.defineProperty(proto, key, Object.getOwnPropertyDescriptor(p, key)!);
      }
    }
    bySdk.set(sdkBase, proto);
  }
  const copy = Object.create(proto) as E;
  for (const key of Reflect.ownKeys(error)) Object.defineProperty(copy, key, Object.getOwnPropertyDescriptor(error, key)!);
  return copy;
}
