import { AsyncLocalStorage } from 'node:async_hooks';
import { InvalidArgumentError } from '../../kernel/errors.js';
import { parseUserId } from '../../kernel/validate.js';
import type { LimiterPort as TokenLimiter } from './port.js';
import type { UserRef } from '../../kernel/types.js';

/**
 * What the current request carries, across awaits: the user to charge and the limiter to charge
 * them on. Either may be absent (a request with no signed-in user still carries its limiter).
 */
export interface ContextScope {
  readonly userId: string | undefined;
  readonly limiter: TokenLimiter | undefined;
}

/**
 * One store per process, shared by every copy of the library that is loaded (the ESM and the CJS
 * build side by side, or two installed versions): otherwise middleware from one copy would set a
 * user that wrapped clients of the other copy cannot see.
 */
const STORAGE_KEY = Symbol.for('token-limits.context.v1');
const registry = globalThis as { [STORAGE_KEY]?: AsyncLocalStorage<ContextScope> };
const storage = (registry[STORAGE_KEY] ??= new AsyncLocalStorage<ContextScope>());

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
  const userId = parseUserId(user, 'user');
  if (typeof fn !== 'function') throw new InvalidArgumentError('fn', fn, 'expected a function');
  const limiter = options?.limiter === undefined ? storage.getStore()?.limiter : parseLimiter(options.limiter, 'options.limiter');
  return storage.run({ userId, limiter }, fn);
}

/** The user set by the innermost `runWithUser` (or web middleware), if any. */
export function currentUserId(): string | undefined {
  return storage.getStore()?.userId;
}

/** The limiter set by the innermost scope (`runWithUser(..., { limiter })` or web middleware), if any. */
export function currentLimiter(): TokenLimiter | undefined {
  return storage.getStore()?.limiter;
}

/**
 * Runs `fn` in exactly this scope. Unlike `runWithUser` it can also clear the user (a request with
 * no signed-in user must not inherit an outer one). For the integrations.
 * @internal
 */
export function runInScope<T>(scope: ContextScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** @internal */
export function currentScope(): ContextScope | undefined {
  return storage.getStore();
}

/** Checks that a value looks like a `TokenLimiter` (duck-typed: works across copies of the package). */
export function parseLimiter(value: unknown, parameter: string): TokenLimiter {
  const l = value as Partial<TokenLimiter> | null;
  if (
    typeof l !== 'object' ||
    l === null ||
    typeof l.reserve !== 'function' ||
    typeof l.commit !== 'function' ||
    typeof l.release !== 'function' ||
    typeof l.callSettings !== 'object'
  ) {
    throw new InvalidArgumentError(parameter, value, 'expected a TokenLimiter (from createTokenLimiter)');
  }
  return value as TokenLimiter;
}
