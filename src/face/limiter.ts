import type { UserRef } from '../kernel/types.js';
import { createEngine, type Engine } from '../engine/engine.js';
import type { CallSettings } from '../providers/shared/port.js';
import type { WrapOptions } from '../providers/shared/binding.js';
import { encodingForModel } from '../tokenizer/encodings.js';
import type { EncodingName } from '../tokenizer/types.js';
import { parseLimiterOptions, type TokenLimiterOptions } from './options.js';
import { wrapClient } from './wrap-client.js';

/** The quota engine, with what wrapped clients need: `createTokenLimiter(options)`. */
export interface TokenLimiter extends Engine {
  /** `withTokenLimits(client, user, { ...options, limiter: this })`. */
  wrap<C extends object>(client: C, user?: UserRef, options?: Omit<WrapOptions, 'limiter'>): C;
  /**
   * Loads what the first call would otherwise load: the store's scripts, and the tokenizer
   * encodings of `models` (default: the o200k encoding of current OpenAI models).
   */
  warmup(options?: { models?: readonly string[] }): Promise<void>;
  /** How wrapped calls are estimated and settled (the options that concern them). */
  readonly callSettings: CallSettings;
}

/** Creates a quota engine. See `TokenLimiterOptions` for every option and its default. */
export function createTokenLimiter(options?: TokenLimiterOptions): TokenLimiter {
  const { engine: config, call } = parseLimiterOptions(options);
  const engine = createEngine(config);
  const limiter: TokenLimiter = {
    callSettings: call,
    admin: engine.admin,
    check: (user, estimate) => engine.check(user, estimate),
    reserve: (user, estimate, reserveOptions) => engine.reserve(user, estimate, reserveOptions),
    commit: (reservation, usage) => engine.commit(reservation, usage),
    release: (reservation) => engine.release(reservation),
    renew: (reservation) => engine.renew(reservation),
    flush: () => engine.flush(),
    on: (event, listener) => engine.on(event, listener),
    close: () => engine.close(),
    ledgerLag: () => engine.ledgerLag(),
    flushLedger: (timeoutMs) => engine.flushLedger(timeoutMs),
    get pendingWrites() {
      return engine.pendingWrites;
    },
    wrap: (client, user, wrapOptions) => wrapClient(client, user, { ...wrapOptions, limiter }, () => limiter),
    async warmup(warm) {
      // Encoders load lazily on first use (0.1-0.3 s each): load the ones the app's models use now.
      const encodings = new Set<EncodingName>((warm?.models ?? ['gpt-4o']).map((m) => encodingForModel(m)));
      await Promise.all([engine.warmup(), call.tokenizer.warmup([...encodings])]);
    },
  };
  return Object.freeze(limiter);
}
