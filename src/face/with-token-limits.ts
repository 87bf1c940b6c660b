import type { UserRef } from '../kernel/types.js';
import type { WrapOptions } from '../providers/shared/binding.js';
import { createTokenLimiter, type TokenLimiter } from './limiter.js';
import type { TokenLimiterOptions } from './options.js';
import { wrapClient } from './wrap-client.js';

/**
 * One default limiter per process, shared by every copy of the library that is loaded (the ESM and
 * the CJS build side by side, as the request context is): a module variable gave each copy its own,
 * so `configureTokenLimits` through `import` left clients wrapped through `require` on a separate
 * limiter with the default rules.
 */
const DEFAULT_KEY = Symbol.for('token-limits.default-limiter.v1');
const registry = globalThis as { [DEFAULT_KEY]?: TokenLimiter };

/**
 * Creates the limiter that wrapped clients use when neither `withTokenLimits(..., { limiter })`
 * nor the request context (middleware) names one, and returns it.
 */
export function configureTokenLimits(options: TokenLimiterOptions): TokenLimiter {
  const limiter = createTokenLimiter(options);
  registry[DEFAULT_KEY] = limiter;
  return limiter;
}

/** The default limiter: the configured one, else one on the embedded MemoryStore with default rules. */
export function getDefaultLimiter(): TokenLimiter {
  return (registry[DEFAULT_KEY] ??= createTokenLimiter());
}

/**
 * Returns `client` with quotas: same type, same methods, same results. Every token-billing call
 * is reserved before it is sent and committed with the provider's usage after. Without `user`, the
 * user comes from `runWithUser` (or the middleware); with neither, calls throw `MissingUserError`.
 */
export function withTokenLimits<C extends object>(client: C, user?: UserRef, options?: WrapOptions): C {
  return wrapClient(client, user, options, getDefaultLimiter);
}
