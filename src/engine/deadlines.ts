/**
 * Deadlines of store operations (see store-call.ts), sharing timers: one per deadline length, not
 * one per operation.
 */

/** One pending deadline; `cancel` once the operation settled. */
export interface Deadline {
  cancel(): void;
}

/**
 * The deadlines of store operations of one length. A timer per operation (set, then cleared
 * microseconds later) was a visible part of a wrapped call's cost; these share one. All have the
 * same length, so they end in the order they were added: one timer waits for the oldest, and
 * when it fires, every deadline that has passed expires and it waits for the next one.
 */
class DeadlineQueue {
  readonly #pending = new Set<Entry>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The deadline the timer was set for: it expires when the timer fires, whatever the clock says (fake timers). */
  #target: Entry | undefined;
  /** When the timer should fire. */
  #armedUntil = 0;

  constructor(readonly timeoutMs: number) {}

  add(expire: () => void): Deadline {
    const pending = this.#pending;
    const entry: Entry = {
      due: performance.now() + this.timeoutMs,
      expire,
      cancel() {
        pending.delete(entry);
      },
    };
    pending.add(entry);
    if (this.#timer === undefined) {
      this.#arm(entry, this.timeoutMs);
    } else if (entry.due - this.timeoutMs > this.#armedUntil + OVERDUE_MS) {
      // The timer should have fired by now: it may never fire (set under fake timers that were then
      // put away). Another one is set for the oldest deadline; at worst this one was only late.
      clearTimeout(this.#timer);
      const oldest = pending.values().next().value!;
      this.#arm(oldest, Math.max(0, oldest.due - (entry.due - this.timeoutMs)));
    }
    return entry;
  }

  #arm(entry: Entry, ms: number): void {
    this.#target = entry;
    this.#armedUntil = performance.now() + ms;
    this.#timer = setTimeout(() => this.#fire(), ms);
    this.#timer.unref?.();
  }

  #fire(): void {
    const target = this.#target;
    this.#timer = undefined;
    this.#target = undefined;
    const now = performance.now();
    // A Set iterates in insertion order, which is deadline order.
    for (const entry of this.#pending) {
      if (entry !== target && entry.due > now) {
        this.#arm(entry, Math.max(1, Math.ceil(entry.due - now)));
        return;
      }
      this.#pending.delete(entry);
      entry.expire();
    }
  }
}

interface Entry extends Deadline {
  due: number;
  expire(): void;
}

/** How late a deadline timer may be before it is replaced (see DeadlineQueue.add). */
const OVERDUE_MS = 100;

const queues = new Map<number, DeadlineQueue>();

/** The shared queue of deadlines `timeoutMs` long. */
export function deadlines(timeoutMs: number): DeadlineQueue {
  let queue = queues.get(timeoutMs);
  if (queue === undefined) {
    queue = new DeadlineQueue(timeoutMs);
    queues.set(timeoutMs, queue);
  }
  return queue;
}
