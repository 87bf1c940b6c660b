/**
 * The public face of the AI SDK middleware: options validated once, and per call the binding
 * (whom to charge, on which limiter) that the provider layer's middleware charges.
 */
import { InvalidArgumentError } from '../kernel/errors.js';
import type { UserRef } from '../kernel/types.js';
import { isPlainObject, parseUserId, rejectUnknownKeys } from '../kernel/validate.js';
import {
  createEmbeddingModelMiddleware,
  createLanguageModelMiddleware,
  type AiCallParams,
  type TokenLimitsEmbeddingModelMiddleware,
  type TokenLimitsLanguageModelMiddleware,
} from '../providers/ai-sdk/middleware.js';
import type { Binding, WrapOptions } from '../providers/shared/binding.js';

export type {
  AiCallParams,
  AiEmbedParams,
  AiGenerateResult,
  AiModel,
  AiStreamResult,
  TokenLimitsEmbeddingModelMiddleware,
  TokenLimitsLanguageModelMiddleware,
} from '../providers/ai-sdk/middleware.js';
import { currentLimiter } from '../providers/shared/context.js';
import type { TokenLimiter } from './limiter.js';
import { parseWrapOptions } from './wrap-client.js';
import { getDefaultLimiter } from './with-token-limits.js';

/** What a `user` function receives: the call's `providerOptions` and `headers` (as given to `generateText`...). */
export interface AiCallContext {
  providerOptions: Readonly<Record<string, unknown>> | undefined;
  headers: Readonly<Record<string, string | undefined>> | undefined;
}

/** Whom to charge: a user, or a function of the call that names one (`undefined`: the request context's). */
export type AiUserOption = UserRef | ((call: AiCallContext) => UserRef | undefined);

/** Options of `tokenLimitsMiddleware` and `tokenLimitsEmbeddingMiddleware`. */
export interface TokenLimitsMiddlewareOptions {
  /** The limiter to charge. @default the request context's limiter (`runWithUser`, web middleware), else the default limiter (`configureTokenLimits`) */
  limiter?: TokenLimiter;
  /**
   * Whom to charge: a user id, a `UserContext`, or a function of the call's `providerOptions` and
   * `headers` returning one (or `undefined` to use the request context's).
   * @default the user of `runWithUser` (or the web middleware); with none, calls throw `MissingUserError`
   */
  user?: AiUserOption;
  /** Output tokens held when a call sets no `maxOutputTokens`. @default the limiter's `outputReservation`, else the model's maximum output */
  outputReservation?: number;
  /** `shrink`: lower a call's `maxOutputTokens` to what is left instead of refusing it. @default the limiter's `onInsufficientQuota` ('refuse') */
  onInsufficientQuota?: 'refuse' | 'shrink';
}

interface Parsed {
  user: AiUserOption | undefined;
  settings: WrapOptions;
}

function parseOptions(options: unknown): Parsed {
  if (options === undefined) return { user: undefined, settings: {} };
  if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { limiter?, user?, outputReservation?, onInsufficientQuota? }');
  // The SDK wrappers' `estimator` and `includeStreamUsage` mean nothing here: rejected, never ignored.
  rejectUnknownKeys(options, ['limiter', 'user', 'outputReservation', 'onInsufficientQuota'], 'options');
  const { user, ...rest } = options;
  if (user !== undefined && typeof user !== 'function') parseUserId(user, 'options.user');
  return { user: user as AiUserOption | undefined, settings: parseWrapOptions(rest) };
}

function bindings(parsed: Parsed): (params: { providerOptions?: unknown; headers?: unknown }) => Binding {
  const limiter = () => parsed.settings.limiter ?? currentLimiter() ?? getDefaultLimiter();
  const fixed: Binding | undefined =
    typeof parsed.user === 'function'
      ? undefined
      : { userId: parsed.user === undefined ? undefined : parseUserId(parsed.user, 'options.user'), options: parsed.settings, limiter, userFrom: AI_SDK_USER };
  if (fixed !== undefined) return () => fixed;
  const userOf = parsed.user as (call: AiCallContext) => UserRef | undefined;
  return (params) => {
    const user = userOf({
      providerOptions: params.providerOptions as AiCallContext['providerOptions'],
      headers: params.headers as AiCallContext['headers'],
    });
    if (typeof (user as { then?: unknown } | undefined)?.then === 'function') {
      // An async function: its promise is never awaited, so a rejection of it is silenced here.
      (user as unknown as PromiseLike<unknown>).then(undefined, () => {});
      throw new InvalidArgumentError('options.user()', user, 'expected a user id or UserContext returned synchronously (not a Promise)');
    }
    return { userId: user === undefined ? undefined : parseUserId(user, 'options.user()'), options: parsed.settings, limiter, userFrom: AI_SDK_USER };
  };
}

/** Where an AI SDK call's user comes from, for `MissingUserError`. */
const AI_SDK_USER = 'give tokenLimitsMiddleware({ user }) one';

/**
 * A language-model middleware for the Vercel AI SDK (`ai` 6 and 7): every model call made through
 * `wrapLanguageModel({ model, middleware: tokenLimitsMiddleware(options) })` (`generateText`,
 * `streamText`, `generateObject`, `streamObject`, each step of a tool loop) is reserved before the
 * provider is called and committed with the usage it reports. A refusal throws
 * `TokenLimitExceededError` and the provider is never called.
 * @throws InvalidArgumentError for bad options (at once, not at the first call)
 */
export function tokenLimitsMiddleware(options?: TokenLimitsMiddlewareOptions): TokenLimitsLanguageModelMiddleware {
  const bindingOf = bindings(parseOptions(options));
  return createLanguageModelMiddleware((params: AiCallParams) => bindingOf(params));
}

/**
 * An embedding-model middleware (`wrapEmbeddingModel({ model, middleware })`, `ai` 6 and 7) for
 * `embed` and `embedMany`: each provider call is reserved and committed with the tokens it reports
 * (the input estimate when the provider reports none). `outputReservation` and
 * `onInsufficientQuota` do not apply (embeddings have no output).
 */
export function tokenLimitsEmbeddingMiddleware(options?: TokenLimitsMiddlewareOptions): TokenLimitsEmbeddingModelMiddleware {
  const bindingOf = bindings(parseOptions(options));
  return createEmbeddingModelMiddleware((params) => bindingOf(params as { providerOptions?: unknown; headers?: unknown }));
}
