import type { ProviderName, Reservation, Usage } from '../../kernel/types.js';
import { MAX_COST_USD } from '../../kernel/units.js';
import type { EstimateOptions } from '../estimate-types.js';
import { chargedRates, costOfUsage, holdPriceForCall, priceForCall } from '../pricing/resolve.js';
import type { RateModifiers } from '../pricing/types.js';
import { resolveUser, type Binding } from './binding.js';
import type { LimiterPort } from './port.js';
import type { ProviderUsage } from './usage.js';

/** What a call is expected to use, computed before it is made. */
export interface CallPlan {
  /** `unknown`: a provider of no known family (through the AI SDK). */
  provider: ProviderName;
  endpoint: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** The model may bill hidden reasoning (the output table's flag): an aborted stream is charged its hold by default. */
  reasoning?: boolean;
  /** The output hold is the request's own maximum (else the table's or `outputReservation`). */
  outputFromRequest?: boolean;
  /**
   * The provider goes on when the caller stops reading (an OpenAI background response): an aborted
   * stream is charged its hold whatever `abortedStreamCharge` says, since all of it is billed.
   */
  runsOnAfterAbort?: boolean;
  /** What besides the model the request asks to be priced by (OpenAI's tier, Anthropic's speed and geography): it prices the hold. */
  rates?: RateModifiers;
  /** The most web searches the request allows (its web search tools' `max_uses`): their fee is held. */
  webSearches?: number;
}

/** How a finished call is described in its usage record. */
export interface CallOutcome {
  model?: string | undefined;
  requestId?: string | undefined;
  status?: Usage['status'];
  estimated?: boolean;
  /** The rate modifiers the response reports (the request's count where it reports none; see `chargedRates`). */
  rates?: RateModifiers | undefined;
}

/**
 * The most web searches a hold includes: a request may allow any number (`max_uses` up to 2^53 on
 * several tools), and their fee must stay a cost the engine takes ($10,000 here at Claude's rate):
 * such a request is then refused by a cost limit as too large, not by an invalid estimate.
 */
export const MAX_HELD_WEB_SEARCHES = 1_000_000;

/** How many leases a call's hold is renewed for at most (an hour at the default lease of 10 minutes). */
export const MAX_RENEWED_LEASES = 6;

/**
 * One provider request under quota: reserved before it is sent, then committed or released exactly
 * once. Every wrapper (OpenAI, Anthropic, both Google SDKs) goes through this class.
 *
 * Commits and releases are handed to the limiter and not awaited: the caller's result never waits
 * for a store round trip after the provider answered (`limiter.flush()` waits for them). The
 * terminal methods never throw: a store failure is queued by the engine and reported as an event.
 */
export class TrackedCall {
  /** Resolves when the reservation is held; rejects with the refusal (quota, disabled, no user, store). */
  readonly admitted: Promise<void>;
  /**
   * Resolves once the call's commit or release is handed to the limiter (or it was never admitted).
   * Never rejects; it does not wait for the store (see `limiter.flush()`), and the limiter starts
   * the write only after the current turn of the event loop (the caller's result comes first).
   */
  readonly settled: Promise<void>;
  plan: CallPlan | undefined;
  /** The output tokens the reservation holds (lower than planned when the request was shrunk to fit). */
  grantedOutput: number | undefined;
  #limiter: LimiterPort | undefined;
  #reservation: Reservation | undefined;
  #done = false;
  #startedAt = 0;
  #renewal: ReturnType<typeof setTimeout> | undefined;
  /** A stream being read (see `watchStream`): how to settle it if it stalls, and when it last moved. */
  #stream: { settle: () => void; movedAt: number } | undefined;
  #settle!: () => void;

  /**
   * @param shrinkable whether the caller can send the request with a lower output maximum (asked
   * only when `onInsufficientQuota` is `shrink`; see
   * {@link shrunkOutput}); only then may `onInsufficientQuota: 'shrink'` hold less than the plan.
   * A path that cannot rewrite its request must leave it false: it then refuses instead, since a
   * smaller hold than the request's real maximum could overspend.
   */
  constructor(binding: Binding, plan: (settings: EstimateOptions) => CallPlan | Promise<CallPlan>, shrinkable: boolean | (() => boolean) = false) {
    this.settled = new Promise((resolve) => {
      this.#settle = resolve;
    });
    this.admitted = this.#admit(binding, plan, shrinkable);
    this.admitted.catch(() => {
      this.#done = true;
      this.#settle();
    });
  }

  async #admit(binding: Binding, planner: (settings: EstimateOptions) => CallPlan | Promise<CallPlan>, shrinkable: boolean | (() => boolean)): Promise<void> {
    const limiter = binding.limiter();
    const userId = resolveUser(binding);
    this.#limiter = limiter;
    const settings = limiter.callSettings;
    const outputReservation = binding.options.outputReservation ?? settings.outputReservation;
    const plan = await planner({
      tokenizer: settings.tokenizer,
      maxOutputTokens: settings.maxOutputTokens,
      ...(outputReservation === undefined ? {} : { outputReservation }),
    });
    this.plan = plan;
    const standard = settings.prices.resolve(plan.model);
    const price = standard && holdPriceForCall(standard, plan.rates);
    const searches = Math.min(plan.webSearches ?? 0, MAX_HELD_WEB_SEARCHES);
    const costOf = (output: number) => costOfUsage({ inputTokens: plan.inputTokens, outputTokens: output, webSearchRequests: searches }, price!);
    const estimate = price ? { tokens: plan.inputTokens + plan.outputTokens, costUsd: costOf(plan.outputTokens) } : { tokens: plan.inputTokens + plan.outputTokens };
    const shrink =
      (binding.options.onInsufficientQuota ?? settings.onInsufficientQuota) === 'shrink' &&
      plan.outputTokens > settings.minShrunkOutput &&
      (typeof shrinkable === 'function' ? shrinkable() : shrinkable);
    const options = shrink
      ? {
          shrinkable: {
            tokens: plan.outputTokens - settings.minShrunkOutput,
            ...(price ? { costUsdPerToken: price.output / 1_000_000 } : {}),
          },
        }
      : undefined;
    this.#reservation = await limiter.reserve(userId, estimate, options);
    this.grantedOutput = plan.outputTokens - (estimate.tokens - this.#reservation.estimate.tokens);
    this.#startedAt = performance.now();
    if (!this.#reservation.unmetered) this.#renewLater();
  }

  /**
   * Renews the hold every half lease while the call runs: a hold whose lease ends stops counting
   * (so that a crashed process's frees itself), and a long stream (64k output tokens can take
   * longer than the default 10 minutes) must not stop counting while it still runs. Stops when the
   * call settles or the hold is gone; a store failure is logged and tried again at the next turn.
   * Renewals stop after {@link MAX_RENEWED_LEASES} leases from admission: a request that never
   * answers must not hold quota for ever (its hold then ends with its lease; an answer that comes
   * later still commits). A stream being read goes on being renewed while data comes; one that
   * brought nothing for a whole lease past that point has stalled (a connection gone silent), and
   * is settled with what it brought (see `watchStream`): left to its lease, it would charge nothing.
   */
  #renewLater(): void {
    const limiter = this.#limiter!;
    const leaseMs = limiter.callSettings.leaseMs;
    const now = performance.now();
    if (now - this.#startedAt >= MAX_RENEWED_LEASES * leaseMs) {
      const stream = this.#stream;
      if (stream === undefined) return;
      if (now - stream.movedAt >= leaseMs) {
        stream.settle();
        return;
      }
    }
    this.#renewal = setTimeout(() => {
      this.#renewal = undefined;
      const reservation = this.#reservation;
      if (this.#done || !reservation) return;
      // Called from a promise reaction, so that a port that throws instead of rejecting is logged
      // like a store failure rather than thrown out of a timer.
      Promise.resolve(reservation)
        .then((held) => limiter.renew(held))
        .then(
          (live) => {
            if (live && !this.#done) this.#renewLater();
          },
          (error: unknown) => {
            limiter.callSettings.logger?.warn?.('token-limits: could not renew the hold of a call in progress', { error: (error as Error).message });
            if (!this.#done) this.#renewLater();
          },
        );
    }, Math.max(250, leaseMs / 2));
    // A timer must not keep the process alive: the call's own request does while it runs.
    this.#renewal.unref?.();
  }

  /**
   * Marks the call as a stream being read. `settle` settles it with what it brought so far (an
   * estimate, status `aborted`), should it stall (see `#renewLater`); the returned function is to be
   * called whenever data arrives.
   */
  watchStream(settle: () => void): () => void {
    const stream = { settle, movedAt: performance.now() };
    this.#stream = stream;
    return () => {
      stream.movedAt = performance.now();
    };
  }

  /**
   * After admission: the output maximum the request must be sent with when the reservation was
   * shrunk to fit (`onInsufficientQuota: 'shrink'`), else undefined (send it as it is).
   */
  shrunkOutput(): number | undefined {
    const plan = this.plan;
    return plan && this.grantedOutput !== undefined && this.grantedOutput < plan.outputTokens ? this.grantedOutput : undefined;
  }

  /** Commits what the provider reported. */
  commit(usage: ProviderUsage, outcome: CallOutcome = {}): void {
    this.#terminal((limiter, reservation, plan) => {
      // Every field in one order, with the values that mean "none" (0, false, 'ok'), rather than
      // spread-in optional ones: one object shape for every call keeps the engine's reads of it fast.
      const engineUsage: Usage = {
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        cachedInputTokens: usage.cachedInputTokens || 0,
        reasoningTokens: usage.reasoningTokens || 0,
        cacheWriteTokens: usage.cacheWriteTokens || 0,
        provider: plan.provider,
        model: outcome.model ?? plan.model,
        endpoint: plan.endpoint,
        latencyMs: Math.round(performance.now() - this.#startedAt),
        estimated: outcome.estimated === true,
        status: outcome.status ?? 'ok',
      };
      if (outcome.requestId) engineUsage.requestId = outcome.requestId;
      // Rates other than the model's standard ones (a service tier, fast mode, US inference),
      // hour-long cache writes, audio tokens and web search fees are not the engine's (it prices
      // tokens by model, every write at the 5-minute rate, every token as text): the call's cost is
      // given with the usage then.
      const rates = chargedRates(plan.rates, outcome.rates);
      const hourWrites = usage.cacheWrite1hTokens || 0;
      const audioIn = usage.audioInputTokens || 0;
      const audioOut = usage.audioOutputTokens || 0;
      const searches = usage.webSearchRequests || 0;
      const standard = (rates || hourWrites > 0 || audioIn > 0 || audioOut > 0 || searches > 0) && limiter.callSettings.prices.resolve(outcome.model ?? plan.model);
      if (standard) {
        const priced = {
          ...engineUsage,
          cacheWriteTokens: (usage.cacheWriteTokens || 0) - hourWrites,
          cacheWrite1hTokens: hourWrites,
          audioInputTokens: audioIn,
          audioOutputTokens: audioOut,
          webSearchRequests: searches,
        };
        // Bounded as the engine bounds a price-table cost (a provider's absurd usage is charged, not refused).
        engineUsage.costUsd = Math.min(costOfUsage(priced, priceForCall(standard, rates)), MAX_COST_USD);
      }
      return limiter.commit(reservation, engineUsage);
    });
  }

  /**
   * Commits an estimate when the provider's usage is unknown (aborted or broken stream, malformed
   * usage): the input estimate plus the output tokens seen, marked estimated; never zero. For an
   * aborted stream of a reasoning model (or with `abortedStreamCharge: 'hold'`) that reported no
   * output of its own, the whole hold: the provider bills thinking that never reached the caller;
   * so for a call that runs on after an abort (`runsOnAfterAbort`). `outputReported`: the stream
   * reported its running output (Gemini's usage on every chunk, thinking included), which
   * `outputTokens` then includes: it is what was billed so far.
   */
  commitEstimate(outputTokens: number, outcome: CallOutcome = {}, knownInputTokens?: number, outputReported = false): void {
    const plan = this.plan;
    if (!plan) return this.release();
    const inputTokens = knownInputTokens !== undefined && knownInputTokens > 0 ? knownInputTokens : Math.max(1, plan.inputTokens);
    let output = outputTokens;
    const chargeHold = plan.runsOnAfterAbort === true || (!outputReported && this.#chargeHold(plan));
    if (outcome.status === 'aborted' && chargeHold) output = Math.max(outputTokens, this.grantedOutput ?? plan.outputTokens);
    this.commit({ inputTokens, outputTokens: output }, { ...outcome, estimated: true });
  }

  /** Drops the hold: the call charged nothing. */
  release(): void {
    this.#terminal((limiter, reservation) => limiter.release(reservation));
  }

  #chargeHold(plan: CallPlan): boolean {
    if (plan.runsOnAfterAbort === true) return true;
    const setting = this.#limiter?.callSettings.abortedStreamCharge;
    return setting === undefined ? plan.reasoning === true : setting === 'hold';
  }

  #terminal(action: (limiter: LimiterPort, reservation: Reservation, plan: CallPlan) => Promise<unknown>): void {
    if (this.#done || !this.#reservation || !this.plan) {
      // Not admitted (yet): settle once admission is decided; a refusal held nothing.
      if (!this.#done && !this.#reservation) void this.admitted.then(() => this.#terminal(action), () => {});
      return;
    }
    this.#done = true;
    if (this.#renewal !== undefined) clearTimeout(this.#renewal);
    this.#settle();
    const limiter = this.#limiter!;
    let written: Promise<unknown>;
    try {
      written = action(limiter, this.#reservation, this.plan);
    } catch (error) {
      // A limiter port that throws instead of rejecting: the terminal methods run inside the
      // caller's read of the response, which must not fail for it.
      written = Promise.reject(error);
    }
    written.catch((error: unknown) => {
      // The engine queued the write (store down) and reported it, or refused malformed input.
      limiter.callSettings.logger?.warn?.('token-limits: could not settle a call', { error: (error as Error).message });
    });
  }
}
