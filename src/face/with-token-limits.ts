import { InvalidArgumentError } from '../kernel/errors.js';
import type { UserRef } from '../kernel/types.js';
import { isPlainObject, parseCount, parseUserId, rejectUnknownKeys } from '../kernel/validate.js';
import { currentLimiter, parseLimiter } from '../providers/shared/context.js';
import type { Binding, WrapOptions } from '../providers/shared/binding.js';
import { unwrap } from '../providers/shared/proxy.js';
import { isOpenAIClient, wrapOpenAI } from '../providers/openai/wrap.js';
import { isAnthropicClient, wrapAnthropic } from '../providers/anthropic/wrap.js';
import { isGenAIClient, wrapGenAI } from '../providers/google-genai/wrap.js';
import { isGenerativeAIObject, wrapGenerativeAI } from '../providers/google-generative-ai/wrap.js';
import { createTokenLimiter, type TokenLimiter } from './limiter.js';
import type { TokenLimiterOptions } from './options.js';
import { oneOf } from '../engine/config.js';

/** A provider the wrapper knows: how to recognise its client and wrap it. */
interface ProviderAdapter {
  name: string;
  matches(client: object): boolean;
  wrap<C extends object>(client: C, binding: Binding, rewrap: (client: object) => object): C;
}

const adapters: ProviderAdapter[] = [
  { name: 'openai', matches: isOpenAIClient, wrap: wrapOpenAI },
  { name: 'anthropic', matches: isAnthropicClient, wrap: wrapAnthropic },
  { name: 'google-genai', matches: isGenAIClient, wrap: wrapGenAI },
  { name: 'google-generative-ai', matches: isGenerativeAIObject, wrap: wrapGenerativeAI },
];

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
  if (typeof client !== 'object' || client === null) throw new InvalidArgumentError('client', client, 'expected an SDK client');
  const userId = user === undefined ? undefined : parseUserId(user, 'user');
  const settings = parseWrapOptions(options);
  const target = unwrap(client);
  const adapter = adapters.find((a) => a.matches(target));
  if (!adapter) {
    throw new InvalidArgumentError(
      'client',
      client,
      'expected an OpenAI, Anthropic, GoogleGenerativeAI (or its GenerativeModel / ChatSession) or GoogleGenAI client',
    );
  }
  const binding: Binding = {
    userId,
    options: settings,
    // The limiter of a call: explicit, else the request context's (middleware), else the default.
    limiter: () => settings.limiter ?? currentLimiter() ?? getDefaultLimiter(),
  };
  const rewrap = (derived: object): object => withTokenLimits(derived, userId, settings);
  return adapter.wrap(target, binding, rewrap);
}

function parseWrapOptions(options: unknown): WrapOptions {
  if (options === undefined) return {};
  if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { limiter?, outputReservation?, onInsufficientQuota?, estimator? }');
  rejectUnknownKeys(options, ['limiter', 'outputReservation', 'onInsufficientQuota', 'estimator'], 'options');
  const out: WrapOptions = {};
  if (options.limiter !== undefined) out.limiter = parseLimiter(options.limiter, 'options.limiter');
  if (options.outputReservation !== undefined) out.outputReservation = parseCount(options.outputReservation, 'options.outputReservation');
  if (options.onInsufficientQuota !== undefined) {
    out.onInsufficientQuota = oneOf<'refuse' | 'shrink'>(options.onInsufficientQuota, 'refuse', ['refuse', 'shrink'], 'options.onInsufficientQuota');
  }
  if (options.estimator !== undefined) {
    if (options.estimator !== 'local' && options.estimator !== 'provider') {
      throw new InvalidArgumentError('options.estimator', options.estimator, "expected 'local' or 'provider'");
    }
    out.estimator = options.estimator;
  }
  return out;
}
