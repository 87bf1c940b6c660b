import type { UserRef } from '../kernel/types.js';
import type { WrapOptions } from '../providers/shared/binding.js';
import { createTokenLimiter, type TokenLimiter } from './limiter.js';
import type { TokenLimiterOptions } from './options.js';
import { wrapClient } from './wrap-client.js';

let defaultLimiter: TokenLimiter | undefined;

/**
 * Creates the limiter that wrapped clients use when neither `withTokenLimits(..., { limiter })`
 * nor the request context (middleware) names one, and returns it.
 */
export function configureTokenLimits(options: TokenLimiterOptions): TokenLimiter {
  const limiter = createTokenLimiter(options);
  defaultLimiter = limiter;
  return limiter;
}

/** The default limiter: the configured one, else one on the embedded MemoryStore with default rules. */
export function getDefaultLimiter(): TokenLimiter {
  defaultLimiter ??= createTokenLimiter();
  return defaultLimiter;
}

/**
 * Returns `client` with quotas: same type, same methods, same results. Every token-billing call
 * is reserved before it is sent and committed with the provider's usage after. Without `user`, the
 * user comes from `runWithUser` (or the middleware); with neither, calls throw `MissingUserError`.
 */
export function withTokenLimits<C extends object>(client: C, user?: UserRef, options?: WrapOptions): C {
  return wrapClient(client, user, options, getDefaultLimiter);
}
