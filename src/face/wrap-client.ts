import { InvalidArgumentError } from '../kernel/errors.js';
import type { UserRef } from '../kernel/types.js';
import { isPlainObject, parseCount, parseUserId, rejectUnknownKeys } from '../kernel/validate.js';
import { oneOf } from '../engine/config.js';
import { currentLimiter, parseLimiter } from '../providers/shared/context.js';
import type { Binding, WrapOptions } from '../providers/shared/binding.js';
import type { LimiterPort } from '../providers/shared/port.js';
import { unwrap } from '../providers/shared/proxy.js';
import { isOpenAIClient, wrapOpenAI } from '../providers/openai/wrap.js';
import { isAnthropicClient, wrapAnthropic } from '../providers/anthropic/wrap.js';
import { isGenAIClient, wrapGenAI } from '../providers/google-genai/wrap.js';
import { isGenerativeAIObject, wrapGenerativeAI } from '../providers/google-generative-ai/wrap.js';

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

/**
 * Wraps `client` for `user`. The limiter of a call is the explicit one, else the request context's
 * (middleware, `runWithUser`), else `fallback()`.
 */
export function wrapClient<C extends object>(client: C, user: UserRef | undefined, options: WrapOptions | undefined, fallback: () => LimiterPort): C {
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
    limiter: () => settings.limiter ?? currentLimiter() ?? fallback(),
  };
  const rewrap = (derived: object): object => wrapClient(derived, userId, settings, fallback);
  return adapter.wrap(target, binding, rewrap);
}

/** Validates `WrapOptions` (shared by `withTokenLimits` and the AI SDK middleware). */
export function parseWrapOptions(options: unknown): WrapOptions {
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
