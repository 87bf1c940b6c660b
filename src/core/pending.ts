import type { Logger } from './types.js';

/** A store write that failed and must still happen (commits and releases are idempotent by id). */
export interface PendingOperation {
  kind: 'commit' | 'release';
  userId: string;
  reservationId: string;
  run(): Promise<void>;
}

/**
 * A bounded queue of writes retried with exponential backoff until the store answers. Its timer is
 * unref()ed, so it never keeps a process alive; `flush` drains it on close.
 */
export class PendingQueue {
  readonly #items: PendingOperation[] = [];
  readonly #max: number;
  readonly #logger: Logger | undefined;
  readonly #onDrop: (op: PendingOperation) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #delay = 100;
  #draining = false;
  #closed = false;

  constructor(max: number, logger: Logger | undefined, onDrop: (op: PendingOperation) => void) {
    this.#max = max;
    this.#logger = logger;
    this.#onDrop = onDrop;
  }

  get size(): number {
    return this.#items.length;
  }

  push(op: PendingOperation): void {
    if (this.#items.length >= this.#max) {
      const dropped = this.#items.shift();
      if (dropped) this.#onDrop(dropped);
    }
    this.#items.push(op);
    this.#schedule();
  }

  /** Tries every queued write once more, giving up at `deadline` (ms since epoch). */
  async flush(deadline: number): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#items.length > 0 && Date.now() < deadline) {
      const ok = await this.#runHead();
      if (!ok) await new Promise((resolve) => setTimeout(resolve, Math.min(100, Math.max(0, deadline - Date.now()))));
    }
  }

  #schedule(): void {
    if (this.#timer || this.#draining || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#drain();
    }, this.#delay);
    this.#timer.unref?.();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#items.length > 0 && !this.#closed) {
        if (!(await this.#runHead())) {
          this.#delay = Math.min(this.#delay * 2, 5_000);
          return;
        }
        this.#delay = 100;
      }
    } finally {
      this.#draining = false;
      if (this.#items.length > 0) this.#schedule();
    }
  }

  async #runHead(): Promise<boolean> {
    const op = this.#items[0];
    if (!op) return true;
    try {
      await op.run();
      // The head may have been dropped by push() while we awaited; remove this op wherever it is.
      const index = this.#items.indexOf(op);
      if (index >= 0) this.#items.splice(index, 1);
      return true;
    } catch (error) {
      this.#logger?.debug?.('token-limits: a queued store write failed again', { kind: op.kind, error });
      return false;
    }
  }
}
