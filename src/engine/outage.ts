/**
 * The fail-open budget (`onStoreError: 'allow'` with `allowBudget`): what one process lets through
 * unmetered during one outage of the store. An outage starts at a store failure and ends only once
 * the store has gone `quietMs` without failing: a success in between (another user's call, served by
 * another Redis Cluster node that is still up) does not end it, so the budget is never refilled
 * while some calls keep failing.
 */
export class OutageBudget {
  #spent = { tokens: 0, requests: 0 };
  #lastFailure = Number.NEGATIVE_INFINITY;

  constructor(
    readonly budget: { tokens: number; requests: number },
    readonly quietMs: number,
  ) {}

  /** Records a failure; says whether a call of `tokens` may go on unmetered (and spends it if so). */
  spend(tokens: number, now = Date.now()): boolean {
    if (now - this.#lastFailure >= this.quietMs) this.#spent = { tokens: 0, requests: 0 };
    this.#lastFailure = now;
    if (this.#spent.tokens + tokens > this.budget.tokens || this.#spent.requests + 1 > this.budget.requests) return false;
    this.#spent = { tokens: this.#spent.tokens + tokens, requests: this.#spent.requests + 1 };
    return true;
  }

  /** Whether a call of `tokens` would go on unmetered now (as `spend` would say), spending nothing. */
  wouldAllow(tokens: number, now = Date.now()): boolean {
    const spent = now - this.#lastFailure >= this.quietMs ? { tokens: 0, requests: 0 } : this.#spent;
    return spent.tokens + tokens <= this.budget.tokens && spent.requests + 1 <= this.budget.requests;
  }

  /** Records a failure that spends nothing (the call is refused anyway). */
  failed(now = Date.now()): void {
    if (now - this.#lastFailure >= this.quietMs) this.#spent = { tokens: 0, requests: 0 };
    this.#lastFailure = now;
  }
}
