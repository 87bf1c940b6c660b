import { randomBytes } from 'node:crypto';
import type { LedgerDrainSettings, LedgerEntry, LedgerErrorEvent, LedgerLag, UsageLedger } from '../kernel/types.js';
import type { LedgerFeed, LedgerFeedEntry } from '../stores/protocol/types.js';
import { recordsOf, refusedForData, type Refusal } from './ledger-records.js';

const MAX_BACKOFF_MS = 5_000;
/** Readers idle this long with nothing pending are forgotten (each drainer process reads under its own name). */
export const PRUNE_IDLE_MS = 86_400_000;
/** How often a drainer prunes (and once at start). */
const PRUNE_EVERY_MS = 3_600_000;

export interface DrainEvents {
  error(event: LedgerErrorEvent): void;
  lag(lag: LedgerLag): void;
  /** Whether anyone listens to `ledger-lag` (the figures cost a few store reads). */
  wantsLag(): boolean;
}

/**
 * Moves records from the store's ledger feed into the ledger, off every caller's path: read a
 * batch, write it (the ledger skips ids it has), then acknowledge it in the feed. A record leaves
 * the feed only after the ledger has it, and a write of a record already there changes nothing, so
 * a crash anywhere (of this process, of the ledger's database, between the write and the
 * acknowledgement) delays records and never loses or duplicates one. At most one batch is in this
 * process at a time (bounded memory); a failing write is retried with backoff and reported.
 */
export class LedgerDrainer {
  readonly #consumer = `c-${process.pid}-${randomBytes(6).toString('base64url')}`;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lagTimer: ReturnType<typeof setInterval> | undefined;
  #pruneTimer: ReturnType<typeof setInterval> | undefined;
  /** The cycle running now: one at a time (the timer's and `drainAll`'s share the batch). */
  #lock: Promise<unknown> = Promise.resolve();
  #stopped = false;
  #written = 0;
  #failures = 0;
  /** A batch read but not yet written (kept across failed writes). */
  #batch: LedgerFeedEntry[] = [];

  constructor(
    readonly feed: LedgerFeed,
    readonly ledger: UsageLedger,
    readonly settings: LedgerDrainSettings,
    readonly events: DrainEvents,
  ) {}

  start(): void {
    this.#schedule(0);
    const prune = (): void => void this.feed.prune?.(PRUNE_IDLE_MS).catch(() => {});
    prune();
    this.#pruneTimer = setInterval(prune, PRUNE_EVERY_MS);
    this.#pruneTimer.unref?.();
    this.#lagTimer = setInterval(() => {
      // .catch after: a listener that throws, and a logger that throws reporting it, end there too.
      if (this.events.wantsLag()) this.lag().then((lag) => this.events.lag(lag)).catch(() => {});
    }, this.settings.lagReportMs);
    this.#lagTimer.unref?.();
  }

  async lag(): Promise<LedgerLag> {
    const { pending, oldest } = await this.feed.lag();
    return { pending, oldestMs: oldest === null ? null : Math.max(0, Date.now() - oldest), written: this.#written, failures: this.#failures };
  }

  /** Drains until the feed is empty (for tests, shutdown and the CLI); rejects after `deadline`. */
  async drainAll(deadline: number): Promise<void> {
    let failure: unknown;
    for (;;) {
      let moved: number;
      try {
        // A write the database never answers (no reply, no error) must not hold the caller past its deadline.
        moved = await until(this.#exclusive(), deadline);
      } catch (error) {
        // At the deadline, the ledger's own last error says more than that the time ran out.
        if (!(error instanceof LateError)) failure = error;
        if (Date.now() > deadline) throw failure ?? error;
        const backoff = Math.min(MAX_BACKOFF_MS, this.settings.pollMs * 2 ** Math.min(this.#failures, 10));
        await new Promise((resolve) => setTimeout(resolve, Math.min(backoff, Math.max(0, deadline - Date.now()))));
        continue;
      }
      if (moved === 0 && this.#batch.length === 0 && (await this.feed.lag()).pending === 0) return;
      if (Date.now() > deadline) throw new Error(`the ledger still lacks ${(await this.feed.lag()).pending} records`);
      if (moved === 0) await new Promise((resolve) => setTimeout(resolve, Math.min(this.settings.pollMs, 50)));
    }
  }

  /**
   * Stops the timers and waits for the cycle under way, for up to `deadline` (one the database
   * never answers goes on alone: its batch is acknowledged if it ends, else read again later).
   */
  async stop(deadline = Date.now() + MAX_BACKOFF_MS): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#lagTimer);
    clearInterval(this.#pruneTimer);
    await until(this.#lock, deadline).catch(() => {});
  }

  #exclusive(): Promise<number> {
    const run = this.#lock.then(
      () => this.#cycle(),
      () => this.#cycle(),
    );
    this.#lock = run.catch(() => {});
    return run;
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.#exclusive().then(
        (moved) => this.#schedule(moved > 0 ? 0 : this.settings.pollMs),
        () => this.#schedule(Math.min(MAX_BACKOFF_MS, this.settings.pollMs * 2 ** Math.min(this.#failures, 10))),
      );
    }, delay);
    this.#timer.unref?.();
  }

  /**
   * One read-write-acknowledge step; resolves with the entries handled, rejects when the write (or
   * a move to the dead letters) failed. Entries that are no records are moved out to the feed's
   * dead letters, never written and never left to stop the others: before, each stayed pending
   * for ever (RedisStore read and skipped it every claimIdleMs), or was deleted without a trace.
   */
  async #cycle(): Promise<number> {
    const overflow = this.feed.bound?.(this.settings.maxQueue) ?? 0;
    if (overflow > 0) {
      this.events.error({ error: new Error(`the in-process ledger queue was full: ${overflow} records were dropped`), policy: 'dropped', records: overflow });
    }
    if (this.#batch.length === 0) {
      try {
        this.#batch = await this.feed.read(this.#consumer, this.settings.batchSize, this.settings.claimIdleMs);
      } catch (error) {
        // The store cannot be read (an outage): backed off and reported as a failed write is, where
        // it was polled every pollMs in silence (a process that only drains, the CLI's, saw nothing).
        this.#failures += 1;
        this.events.error({ error: error instanceof Error ? error : new Error(String(error)), policy: 'retrying', records: 0 });
        throw error;
      }
    }
    const batch = this.#batch;
    if (batch.length === 0) {
      this.#failures = 0; // the feed answers again, and has nothing waiting
      return 0;
    }
    const refused: Refusal[] = [];
    const records = recordsOf(batch, refused);
    let kept: Array<{ entry: LedgerEntry; from: LedgerFeedEntry[] }>;
    try {
      kept = await this.#write([...records.values()], refused);
    } catch (error) {
      this.#failures += 1;
      this.events.error({ error: error instanceof Error ? error : new Error(String(error)), policy: 'retrying', records: batch.length });
      throw error;
    }
    const written = kept.flatMap((r) => r.from);
    if (written.length > 0) {
      try {
        await this.feed.ack(written);
      } catch (error) {
        // Written, not acknowledged (the store went away between): the batch is kept, written
        // again (ids already there are skipped) and acknowledged on a later try. Reported and
        // backed off as a failed write is: before, it was retried every pollMs in silence.
        this.#failures += 1;
        this.events.error({ error: error instanceof Error ? error : new Error(String(error)), policy: 'retrying', records: written.length });
        throw error;
      }
    }
    // Counted once acknowledged: a failed move below keeps only the refused entries, and the
    // written ones, counted after it, were never counted.
    this.#written += written.length;
    // What is left of the batch: kept (and moved again) if the move fails.
    this.#batch = refused.map((r) => r.entry);
    if (refused.length > 0) await this.#deadLetter(refused);
    this.#failures = 0;
    this.#batch = [];
    return batch.length;
  }

  /**
   * Writes `records`; resolves with the ones the ledger took. A write the ledger refuses for its
   * data (`refusedForData`) is split in halves, down to single records: each record it still
   * refuses alone goes to `refused` with the ledger's reason, the others are written. Any other
   * failure (the database is down) rejects, and the whole batch is tried again (what was written
   * is skipped then by id). Before, one record PostgreSQL could not store (a count of 1.5 tokens,
   * a time past the year 9999) failed its batch on every try, and no record after it was written.
   */
  async #write<T extends { entry: LedgerEntry; from: LedgerFeedEntry[] }>(records: T[], refused: Refusal[]): Promise<T[]> {
    if (records.length === 0) return records;
    try {
      await this.ledger.write(records.map((r) => r.entry));
      return records;
    } catch (error) {
      if (!refusedForData(error)) throw error;
      if (records.length === 1) {
        const reason = `the ledger refused it: ${(error as { code: string }).code} ${error instanceof Error ? error.message : String(error)}`;
        for (const from of records[0]!.from) refused.push({ entry: from, reason });
        return [];
      }
      const half = Math.ceil(records.length / 2);
      const first = await this.#write(records.slice(0, half), refused);
      return [...first, ...(await this.#write(records.slice(half), refused))];
    }
  }

  /**
   * Moves `refused` out of the feed to its dead letters and reports each move (`dead-lettered`);
   * rejects when a move failed (reported as `retrying`: the entries stay in the batch). A feed
   * without dead letters (MemoryStore) drops them, reported as `dropped`.
   */
  async #deadLetter(refused: readonly Refusal[]): Promise<void> {
    if (this.feed.deadLetter === undefined) {
      await this.feed.ack(refused.map((r) => r.entry));
      const listed = list(refused.map((r) => ({ id: r.entry.ref, reason: r.reason })));
      this.events.error({ error: new Error(`${refused.length} ledger entries cannot be written, and were dropped unwritten: ${listed}`), policy: 'dropped', records: refused.length });
      return;
    }
    const moves = await this.feed.deadLetter(refused);
    let failed: Error | undefined;
    for (const m of moves) {
      if (m.error !== undefined) {
        failed ??= m.error;
        this.events.error({
          error: new Error(`${m.entries.length} ledger entries of ${m.from} cannot be written, and moving them to ${m.to} failed (tried again): ${m.error.message}`, { cause: m.error }),
          policy: 'retrying',
          records: m.entries.length,
        });
      } else if (m.moved > 0) {
        this.events.error({
          error: new Error(`${m.moved} ledger entries were moved unwritten out of ${m.from} to ${m.to}: ${list(m.entries)}`),
          policy: 'dead-lettered',
          records: m.moved,
        });
      }
    }
    if (failed !== undefined) {
      this.#failures += 1;
      throw failed;
    }
  }
}

class LateError extends Error {}

/** `work`, or a rejection once `deadline` has passed (the work itself goes on). */
function until<T>(work: Promise<T>, deadline: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LateError('the ledger did not answer in time')), Math.max(0, deadline - Date.now()) + 1);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** The first ids with their reasons, for a message. */
function list(entries: ReadonlyArray<{ id: string; reason: string }>): string {
  const shown = entries.slice(0, 5).map((e) => `${e.id} (${e.reason})`);
  return `${shown.join(', ')}${entries.length > shown.length ? `, and ${entries.length - shown.length} more` : ''}`;
}
