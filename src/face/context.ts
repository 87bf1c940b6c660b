import { InvalidArgumentError } from '../kernel/errors.js';
import type { UserRef } from '../kernel/types.js';
import * as context from '../providers/shared/context.js';
import type { TokenLimiter } from './limiter.js';

/** Options of `runWithUser`. */
export interface RunWithUserOptions {
  /**
   * The limiter that wrapped clients created without one charge inside `fn`
   * (a wrapper's own `limiter` option still wins).
   * @default the limiter of the enclosing scope, if any
   */
  limiter?: TokenLimiter;
}

/**
 * Runs `fn` with `user` as the current user: wrapped clients created without a user charge it.
 * Nested calls override the outer user (and, when `options.limiter` is given, the limiter) for
 * their own scope.
 */
export function runWithUser<T>(user: UserRef, fn: () => T, options?: RunWithUserOptions): T {
  return context.runWithUser(user, fn, options);
}

/** The user set by the innermost `runWithUser` (or web middleware), if any. */
export function currentUserId(): string | undefined {
  return context.currentUserId();
}

/** The limiter set by the innermost scope (`runWithUser(..., { limiter })` or web middleware), if any. */
export function currentLimiter(): TokenLimiter | undefined {
  return context.currentLimiter() as TokenLimiter | undefined;
}

/** Checks that a value is a `TokenLimiter` (duck-typed: works across copies of the package). */
export function parseTokenLimiter(value: unknown, parameter: string): TokenLimiter {
  const limiter = context.parseLimiter(value, parameter) as Partial<TokenLimiter>;
  if (typeof limiter.admin !== 'object' || limiter.admin === null) {
    throw new InvalidArgumentError(parameter, value, 'expected a TokenLimiter (from createTokenLimiter)');
  }
  return limiter as TokenLimiter;
}

/** For the integrations: the request scope as the provider wrappers read it. */
export { runInScope, currentScope, type ContextScope } from '../providers/shared/context.js';
