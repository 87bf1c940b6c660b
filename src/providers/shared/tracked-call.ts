import type { TokenLimiter } from '../../core/limiter.js';
import { limiterInternals } from '../../core/limiter.js';
import type { Reservation, Usage } from '../../core/types.js';
import type { EstimateOptions } from '../estimate-types.js';
import { costOfUsage } from '../pricing/resolve.js';
import { resolveUser, type Binding } from './binding.js';
import { toEngineUsage, type ProviderUsage } from './usage.js';

/** What a call is expected to use, computed before it is made. */
export interface CallPlan {
  provider: 'openai' | 'anthropic' | 'google';
  endpoint: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
}

/** How a finished call is described in its usage record. */
export interface CallOutcome {
  model?: string | undefined;
  requestId?: string | undefined;
  status?: Usage['status'];
  estimated?: boolean;
}

/**
 * One provider request under quota: reserved before it is sent, then committed or released exactly
 * once. Every wrapper (OpenAI, Anthropic, both Google SDKs) goes through this class; the terminal
 * methods never throw (store failures are queued by the engine and logged).
 */
export class TrackedCall {
  /** Resolves when the reservation is held; rejects with the refusal (quota, disabled, no user, store). */
  readonly admitted: Promise<void>;
  /** Resolves once the call is committed or released (or was never admitted). Never rejects. */
  readonly settled: Promise<void>;
  plan: CallPlan | undefined;
  #limiter: TokenLimiter | undefined;
  #reservation: Reservation | undefined;
  #done = false;
  #startedAt = 0;
  #settle!: () => void;

  constructor(binding: Binding, plan: (settings: EstimateOptions) => CallPlan | Promise<CallPlan>) {
    this.settled = new Promise((resolve) => {
      this.#settle = resolve;
    });
    this.admitted = this.#admit(binding, plan);
    this.admitted.catch(() => this.#finish());
  }

  async #admit(binding: Binding, planner: (settings: EstimateOptions) => CallPlan | Promise<CallPlan>): Promise<void> {
    const limiter = binding.limiter();
    const userId = resolveUser(binding);
    this.#limiter = limiter;
    const internals = limiterInternals(limiter);
    const outputReservation = binding.options.outputReservation ?? internals?.config.outputReservation;
    const tokenizer = internals?.config.tokenizer;
    const plan = await planner({
      ...(outputReservation === undefined ? {} : { outputReservation }),
      ...(tokenizer === undefined ? {} : { tokenizer }),
    });
    this.plan = plan;
    const price = internals?.config.pricing.resolve(plan.model);
    const estimate = price
      ? { tokens: plan.inputTokens + plan.outputTokens, costUsd: costOfUsage({ inputTokens: plan.inputTokens, outputTokens: plan.outputTokens }, price) }
      : { tokens: plan.inputTokens + plan.outputTokens };
    this.#reservation = await limiter.reserve(userId, estimate);
    this.#startedAt = performance.now();
  }

  /** Commits what the provider reported. */
  async commit(usage: ProviderUsage, outcome: CallOutcome = {}): Promise<void> {
    await this.#terminal(async (limiter, reservation, plan) => {
      await limiter.commit(reservation, {
        ...toEngineUsage(usage),
        provider: plan.provider,
        model: outcome.model ?? plan.model,
        endpoint: plan.endpoint,
        latencyMs: Math.round(performance.now() - this.#startedAt),
        ...(outcome.requestId ? { requestId: outcome.requestId.slice(0, 256) } : {}),
        ...(outcome.estimated ? { estimated: true } : {}),
        ...(outcome.status ? { status: outcome.status } : {}),
      });
    });
  }

  /**
   * Commits an estimate when the provider's usage is unknown (aborted or broken stream, malformed
   * usage): the input estimate plus the output tokens seen, marked estimated. Never zero.
   */
  async commitEstimate(outputTokens: number, outcome: CallOutcome = {}, knownInputTokens?: number): Promise<void> {
    const plan = this.plan;
    if (!plan) return this.release();
    const inputTokens = knownInputTokens !== undefined && knownInputTokens > 0 ? knownInputTokens : Math.max(1, plan.inputTokens);
    await this.commit({ inputTokens, outputTokens }, { ...outcome, estimated: true });
  }

  /** Drops the hold: the call charged nothing. */
  async release(): Promise<void> {
    await this.#terminal(async (limiter, reservation) => {
      await limiter.release(reservation);
    });
  }

  async #terminal(action: (limiter: TokenLimiter, reservation: Reservation, plan: CallPlan) => Promise<void>): Promise<void> {
    try {
      await this.admitted;
    } catch {
      return; // nothing was held
    }
    if (this.#done) return;
    this.#done = true;
    try {
      await action(this.#limiter!, this.#reservation!, this.plan!);
    } catch (error) {
      // The engine queued the write (store down) or refused malformed input: log, never throw into the caller's call.
      limiterInternals(this.#limiter!)?.config.logger?.warn?.('token-limits: could not settle a call', { error });
    } finally {
      this.#finish();
    }
  }

  #finish(): void {
    this.#done = true;
    this.#settle();
  }
}
