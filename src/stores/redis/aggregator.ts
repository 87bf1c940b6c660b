import { randomBytes } from 'node:crypto';
import { QuotaStoreError } from '../../kernel/errors.js';
import { isRefusal } from '../protocol/refusal.js';
import type { Amounts } from '../protocol/types.js';
import type { RedisContext } from './context.js';
import { HOUR_MS, monthKey, monthName, nextMonthStart } from './keys.js';
import { SCRIPTS } from './registry.js';
import { AGGREGATE_ARGS, encodeArgs, type FieldKinds } from './schema.js';

/** A committed call, for the aggregates over all users. */
export interface AggregateEntry {
  timestamp: number;
  userId: string;
  tag: string;
  /** Encoded model name. */
  model: string;
  actual: Amounts;
  history: { inputTokens: number; outputTokens: number };
  record: string;
}

interface Batch {
  /** 1, 2, 3... in the order batches are made, which is the order they are sent and applied. */
  sequence: number;
  month: number;
  entries: AggregateEntry[];
  attempts: number;
  notBefore: number;
  /** When its first record came: it is sealed BATCH_DELAY_MS later, if not full before. */
  openedAt: number;
  /** Its records' tokens and cost: the script takes sums up to 2^53 only (see add). */
  tokens: number;
  cost: number;
}

/** Records per batch, and how long a record waits for others before its batch is sent. */
const BATCH_SIZE = 256;
/**
 * A batch costs Redis about as much as a reserve+commit pair whatever it holds (the script and its
 * fixed commands), so under light traffic the wait decides how many batches there are: at a call
 * every 2-3 ms, 5 ms made a batch per 2.7 calls and cost 57-62 µs of script time per call, 50 ms a
 * batch per 19.4-19.8 calls and 15-17 µs (`node bench/light-traffic.mjs`). The aggregates
 * (everyone's log, history, totals) are then at most this late for readers that do not flush, and a
 * process that dies loses this long of them at most; a user's own windows, log and history are
 * written by the commit itself.
 */
const BATCH_DELAY_MS = 50;
/** Batches kept while the store fails; beyond, the oldest one not being sent is dropped (and reported). */
const MAX_QUEUED_BATCHES = 1_000;
/**
 * How long Redis keeps the number of the last batch applied from this aggregator after its last
 * batch. A batch is sent again only after its earlier try failed: a batch applied whose reply was
 * lost is answered as applied if it comes back within this time.
 */
export const REPLAY_GUARD_MS = 86_400_000;

/**
 * The aggregates over all users (everyone's log and history, totals, the user index, active users)
 * live in one slot, apart from every user's: writing them on each commit would add a round trip
 * and contention on that slot to every call. They are written here instead, in batches: one script
 * call per batch, applied once per batch: batches are numbered and sent one at a time, in order, a
 * failing one retried with backoff until it is applied (or dropped, see MAX_QUEUED_BATCHES) before
 * the next is sent, so Redis needs only the last number applied from this aggregator to answer a
 * batch sent again as applied. A process that dies loses the aggregates of its unsent batches (at
 * most BATCH_DELAY_MS of calls while the store answers), never a user's quota or log.
 */
export class Aggregator {
  /** Names this aggregator's replay guard in Redis (one per store instance). */
  readonly #source = randomBytes(12).toString('base64url');
  #sequence = 0;
  readonly #queue: Batch[] = [];
  #open: Batch | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the armed timer fires. */
  #timerAt = 0;
  #sending: Promise<void> | undefined;

  constructor(
    readonly ctx: RedisContext,
    readonly report: (error: QuotaStoreError, dropped: number) => void,
  ) {}

  add(entry: AggregateEntry): void {
    const month = nextMonthStart(entry.timestamp);
    let batch = this.#open;
    // Each record's amounts are safe integers (the commit checked them), but the script refuses
    // sums that are not: two calls of 2^52 tokens would make a batch it never takes.
    if (
      !batch ||
      batch.month !== month ||
      batch.entries.length >= BATCH_SIZE ||
      !Number.isSafeInteger(batch.tokens + entry.actual.tokens) ||
      !Number.isSafeInteger(batch.cost + entry.actual.cost)
    ) {
      this.#seal();
      this.#sequence += 1;
      batch = { sequence: this.#sequence, month, entries: [], attempts: 0, notBefore: 0, openedAt: Date.now(), tokens: 0, cost: 0 };
      this.#open = batch;
    }
    batch.entries.push(entry);
    batch.tokens += entry.actual.tokens;
    batch.cost += entry.actual.cost;
    if (batch.entries.length >= BATCH_SIZE) this.#seal();
    this.#next();
  }

  /** Resolves once every record added so far is applied; rejects if the store still fails at `deadline`. */
  async flush(deadline: number): Promise<void> {
    this.#seal();
    while (this.#queue.length > 0 || this.#sending) {
      if (Date.now() >= deadline) throw new QuotaStoreError('aggregate', 'The aggregates over all users could not be written in time');
      if (!this.#sending && this.#queue.length > 0) this.#send(this.#queue[0]!);
      if (this.#sending) await this.#sending;
      // A failed batch: pause a little before forcing it again.
      if ((this.#queue[0]?.attempts ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(50, Math.max(1, deadline - Date.now()))));
    }
  }

  get pending(): number {
    return this.#queue.reduce((n, b) => n + b.entries.length, this.#open?.entries.length ?? 0);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Sends the first waiting batch when it is due; else arms the timer for the next moment one is:
   * the first batch's retry, or the open batch's BATCH_DELAY_MS. A full batch goes at once, and a
   * batch still filling is sealed only when that delay has passed, also right after a send.
   */
  #next(): void {
    // A send in progress calls this again when it settles.
    if (this.#sending) return;
    const now = Date.now();
    if (this.#open && now - this.#open.openedAt >= BATCH_DELAY_MS) this.#seal();
    const head = this.#queue[0];
    if (head && head.notBefore <= now) {
      this.#send(head);
      return;
    }
    const dueAt = Math.min(head?.notBefore ?? Infinity, this.#open ? this.#open.openedAt + BATCH_DELAY_MS : Infinity);
    if (dueAt === Infinity || (this.#timer !== undefined && this.#timerAt <= dueAt)) return;
    clearTimeout(this.#timer);
    this.#timerAt = dueAt;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#next();
    }, dueAt - now);
    this.#timer.unref?.();
  }

  #seal(): void {
    if (!this.#open || this.#open.entries.length === 0) return;
    this.#queue.push(this.#open);
    this.#open = undefined;
    while (this.#queue.length > MAX_QUEUED_BATCHES) {
      // Not the batch being sent (the head): Redis may be applying it at this moment, and its send
      // removes it from the queue when it settles.
      const [dropped] = this.#queue.splice(this.#sending ? 1 : 0, 1) as [Batch];
      this.report(new QuotaStoreError('aggregate', 'The store failed for too long: aggregates of a batch were dropped'), dropped.entries.length);
    }
  }

  /** Sends `batch` (the first waiting one); once it settles, the next step runs. */
  #send(batch: Batch): void {
    this.#sending = this.#write(batch)
      .then(
        () => {
          if (this.#queue[0] === batch) this.#queue.shift();
        },
        (error: unknown) => {
          if (isRefusal(error)) {
            // Refused by the script's own checks: sending it again cannot help, and the batches
            // behind it would wait for it for ever.
            if (this.#queue[0] === batch) this.#queue.shift();
            this.report(new QuotaStoreError('aggregate', `The store refused a batch of the aggregates, which was dropped: ${(error as Error).message}`), batch.entries.length);
            return;
          }
          batch.attempts += 1;
          batch.notBefore = Date.now() + Math.min(5_000, 50 * 2 ** batch.attempts);
          if (batch.attempts === 1 || batch.attempts % 10 === 0) {
            this.report(new QuotaStoreError('aggregate', `Writing the aggregates failed: ${(error as Error).message}`), 0);
          }
        },
      )
      .finally(() => {
        this.#sending = undefined;
        this.#next();
      });
  }

  async #write(batch: Batch): Promise<void> {
    const s = this.ctx.settings;
    const first = batch.entries[0]!.timestamp;
    const hours = new Map<string, [number, string, number, number, number, number]>();
    const totals: [number, number, number] = [0, 0, 0];
    const users = new Set<string>();
    const tags = new Set<string>();
    for (const e of batch.entries) {
      const hour = e.timestamp - (e.timestamp % HOUR_MS);
      const key = `${hour}|${e.model}`;
      const b = hours.get(key) ?? [hour, e.model, 0, 0, 0, 0];
      b[2] += e.actual.requests;
      b[3] += e.history.inputTokens;
      b[4] += e.history.outputTokens;
      b[5] += e.actual.cost;
      hours.set(key, b);
      totals[0] += e.actual.tokens;
      totals[1] += e.actual.requests;
      totals[2] += e.actual.cost;
      users.add(e.userId);
      tags.add(e.tag);
    }
    const args = encodeArgs(
      AGGREGATE_ARGS,
      {
      source: this.#source,
      sequence: batch.sequence,
      guardTtl: REPLAY_GUARD_MS,
      logMax: s.logMaxLength,
      logTtl: s.logRetentionMs,
      historyTtl: batch.month - first + s.globalHistoryRetentionMs,
      activeTtl: nextMonthStart(batch.month) - first,
      totals,
      hours: [...hours.values()] as FieldKinds['buckets'],
      users: [...users],
      tags: [...tags],
      logTimes: batch.entries.map((e) => e.timestamp),
      },
      batch.entries.map((e) => e.record),
    );
    const g = this.ctx.global;
    await this.ctx.run(SCRIPTS.aggregate, [g.applied(this.#source), g.log, g.historyMonth(monthKey(first)), g.totals, g.users, g.activeMonth(monthName(first))], args);
  }
}
