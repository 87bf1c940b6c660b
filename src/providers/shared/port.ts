import type { Logger, Estimate, Reservation, Usage, UsageRecord, UserRef } from '../../kernel/types.js';
import type { PriceTable } from '../pricing/resolve.js';
import type { Tokenizer } from '../../tokenizer/types.js';

/**
 * What a wrapped call needs of a limiter, handed to the providers by the public face (a
 * `TokenLimiter` is one): the engine's reserve/commit/release, and the settings that estimate and
 * describe a call. Providers see nothing else of the engine.
 */
export interface LimiterPort {
  reserve(user: UserRef, estimate: Estimate, options?: { shrinkable?: { tokens: number; costUsdPerToken?: number } }): Promise<Reservation>;
  commit(reservation: Reservation, usage: Usage): Promise<UsageRecord>;
  release(reservation: Reservation): Promise<void>;
  renew(reservation: Reservation): Promise<boolean>;
  readonly callSettings: CallSettings;
}

/** How wrapped calls are estimated and settled (from `createTokenLimiter`'s options). */
export interface CallSettings {
  tokenizer: Tokenizer;
  prices: PriceTable;
  /** The output hold for requests that set no maximum, when the user chose one (else the model's maximum). */
  outputReservation: number | undefined;
  /** Per-model overrides of the maximum output table. */
  maxOutputTokens: Readonly<Record<string, number>>;
  /** `shrink`: lower a request's output maximum to what is left instead of refusing it. */
  onInsufficientQuota: 'refuse' | 'shrink';
  /** The smallest output maximum a shrunk request gets. */
  minShrunkOutput: number;
  /** What an aborted stream without provider usage is charged; undefined: by model (see the option). */
  abortedStreamCharge: 'hold' | 'received' | undefined;
  logger: Logger | undefined;
  /** How long a hold counts unless renewed: a call still running renews its own every half of it. */
  leaseMs: number;
}
