import type { LedgerDeadLetters, LedgerFeed, LedgerFeedEntry } from '../protocol/types.js';
import type { RedisContext } from './context.js';
import { SCRIPTS } from './registry.js';
import { slotOf, slotTag } from './slots.js';

/** How long the list of streams read from the index is reused. */
const INDEX_REFRESH_MS = 2_000;
/** Streams read at once. */
const PARALLEL_READS = 16;
/** How soon after a commit its process adds its streams to the index again (in the background). */
const REINDEX_MS = 5_000;
/** A Date's latest time (ms): a later `t` has no ISO form, and made the insert of its whole batch throw. */
const LATEST = 8_640_000_000_000_000;

/** The ledger feed of RedisStore, and what its commits need of it. */
export interface RedisLedgerFeed extends LedgerFeed {
  /** The stream of a user's (or account's) hash tag, indexed before it is returned. */
  streamFor(tag: string): Promise<string>;
}

/**
 * Ledger streams: the commit script appends each record to the stream of its slot; the index
 * `{g}:lqs` lists every stream that may hold records (a stream is indexed before its first record,
 * so no record sits in a stream a drainer does not know about).
 */
export function redisLedgerFeed(ctx: RedisContext): RedisLedgerFeed {
  const indexed = new Set<string>();
  let reindexing: ReturnType<typeof setTimeout> | undefined;
  let streams: { list: string[]; at: number } = { list: [], at: 0 };
  let cursor = 0;

  /**
   * Adds this process's streams to the index again, within REINDEX_MS of a commit. The index is
   * never emptied by design, but a Redis restarted without persistence or a FLUSHALL empties it
   * while `indexed` still remembers the streams: records appended after that would wait in streams
   * no drainer knows of, for good. A stream's key is fixed by its slot, so indexing it again at any
   * later time makes all its records drainable. Beside the commits, never on their path.
   */
  function reindexSoon(): void {
    if (reindexing !== undefined) return;
    reindexing = setTimeout(() => {
      reindexing = undefined;
      const keys = [...indexed];
      for (let i = 0; i < keys.length; i += 100) {
        ctx.run(SCRIPTS.ledgerIndex, [ctx.global.ledgerIndex], keys.slice(i, i + 100)).catch(() => {});
      }
    }, REINDEX_MS);
    reindexing.unref?.();
  }

  async function known(): Promise<string[]> {
    if (Date.now() - streams.at > INDEX_REFRESH_MS) {
      const reply = await ctx.run(SCRIPTS.ledgerStreams, [ctx.global.ledgerIndex], []);
      streams = { list: (Array.isArray(reply) ? reply.map(String) : []).sort(), at: Date.now() };
    }
    return streams.list;
  }

  /**
   * Moves entries to their stream's dead-letter stream (`<stream>d`, in the same slot), copied,
   * acknowledged and deleted there in one script step; one item per stream and part of 5,000.
   * An entry no longer in its stream (moved already) is only acknowledged, and not counted.
   */
  async function deadLetter(entries: ReadonlyArray<{ entry: LedgerFeedEntry; reason: string }>): Promise<LedgerDeadLetters[]> {
    const byStream = new Map<string, Array<{ id: string; reason: string }>>();
    for (const { entry, reason } of entries) {
      const cut = entry.ref.lastIndexOf('\n');
      const key = entry.ref.slice(0, cut);
      let list = byStream.get(key);
      if (!list) byStream.set(key, (list = []));
      // The script takes reasons of up to 1,000 bytes: 300 UTF-16 units are at most 900.
      list.push({ id: entry.ref.slice(cut + 1), reason: reason.length > 300 ? `${reason.slice(0, 299)}…`.toWellFormed() : reason });
    }
    const moves = [...byStream].flatMap(([key, list]) => {
      const parts: Array<Promise<LedgerDeadLetters>> = [];
      for (let i = 0; i < list.length; i += 5_000) {
        const part = list.slice(i, i + 5_000);
        const dead = `${key}d`;
        const item = { from: key, to: `${dead} (XRANGE ${dead} - +)`, entries: part };
        parts.push(
          ctx.run(SCRIPTS.ledgerDeadLetter, [key, dead], part.flatMap((e) => [e.id, e.reason])).then(
            (copied) => ({ ...item, moved: Number(copied) }),
            (error: unknown) => ({ ...item, moved: 0, error: error instanceof Error ? error : new Error(String(error)) }),
          ),
        );
      }
      return parts;
    });
    return Promise.all(moves);
  }

  return {
    async streamFor(tag) {
      const key = `${ctx.prefix}:{${slotTag(slotOf(tag))}}:lq`;
      if (!indexed.has(key)) {
        await ctx.run(SCRIPTS.ledgerIndex, [ctx.global.ledgerIndex], [key]);
        indexed.add(key);
      } else reindexSoon();
      return key;
    },

    async read(consumer, count, claimIdleMs) {
      const list = await known();
      const out: LedgerFeedEntry[] = [];
      let failure: unknown;
      // Round-robin over the streams, so that a busy slot cannot starve the others.
      for (let done = 0; done < list.length && out.length < count; ) {
        const batch: string[] = [];
        for (; batch.length < PARALLEL_READS && done < list.length; done += 1) batch.push(list[(cursor + done) % list.length]!);
        const want = Math.max(1, Math.ceil((count - out.length) / batch.length));
        // Each stream's read stands alone: a read that fails must not throw away the records the
        // others have already handed to this consumer (they would wait claimIdleMs to be claimed).
        const replies = await Promise.allSettled(batch.map((key) => ctx.runArray(SCRIPTS.ledgerRead, [key], [consumer, String(want), String(claimIdleMs)]).then((r) => ({ key, r }))));
        for (const reply of replies) {
          if (reply.status === 'rejected') {
            failure ??= reply.reason;
            continue;
          }
          for (const raw of reply.value.r) {
            const entry = entryOf(reply.value.key, raw);
            if (entry !== undefined) out.push(entry);
          }
        }
      }
      cursor = list.length === 0 ? 0 : (cursor + 1) % list.length;
      // Nothing read and a read failed: the store is failing (the drainer backs off and reports).
      if (out.length === 0 && failure !== undefined) throw failure;
      return out;
    },

    async ack(entries) {
      const byStream = new Map<string, string[]>();
      for (const e of entries) {
        const cut = e.ref.lastIndexOf('\n');
        const key = e.ref.slice(0, cut);
        let ids = byStream.get(key);
        if (!ids) byStream.set(key, (ids = []));
        ids.push(e.ref.slice(cut + 1));
      }
      await Promise.all(
        [...byStream].flatMap(([key, ids]) => {
          const parts: Array<Promise<unknown>> = [];
          for (let i = 0; i < ids.length; i += 5_000) parts.push(ctx.run(SCRIPTS.ledgerAck, [key], ids.slice(i, i + 5_000)));
          return parts;
        }),
      );
    },

    async prune(idleMs) {
      streams.at = 0;
      const list = await known();
      let removed = 0;
      for (let i = 0; i < list.length; i += PARALLEL_READS) {
        const replies = await Promise.all(list.slice(i, i + PARALLEL_READS).map((key) => ctx.run(SCRIPTS.ledgerPrune, [key], [String(idleMs)])));
        for (const n of replies) removed += Number(n);
      }
      return removed;
    },

    deadLetter,

    async lag() {
      streams.at = 0;
      const list = await known();
      let pending = 0;
      let oldest: number | null = null;
      let failure: unknown;
      let read = 0;
      for (let i = 0; i < list.length; i += PARALLEL_READS) {
        // As in read: a stream that cannot be read does not hide the others' figures.
        const settled = await Promise.allSettled(list.slice(i, i + PARALLEL_READS).map((key) => ctx.runArray(SCRIPTS.ledgerLag, [key], [])));
        for (const reply of settled) {
          if (reply.status === 'rejected') {
            failure ??= reply.reason;
            continue;
          }
          read += 1;
          const [n, id] = reply.value;
          pending += Number(n);
          const at = Number(String(id).split('-')[0]);
          if (String(id) !== '' && Number.isFinite(at)) oldest = oldest === null ? at : Math.min(oldest, at);
        }
      }
      if (read === 0 && failure !== undefined) throw failure;
      return { pending, oldest };
    },
  };
}

/**
 * A stream entry ({id, [t, time, r, record, n, note]}) as a feed entry, `unreadable` (with why)
 * when it is no record the drainer could write: a field missing, a time that is no ms since the
 * epoch (the drainer moves those to the dead-letter stream, with the records it finds are none);
 * undefined without an id.
 */
function entryOf(key: string, raw: unknown): LedgerFeedEntry | undefined {
  if (!Array.isArray(raw)) return undefined;
  const id = String(raw[0]);
  if (!/^\d+-\d+$/.test(id)) return undefined;
  const ref = `${key}\n${id}`;
  const unreadable = (reason: string): LedgerFeedEntry => ({ ref, timestamp: 0, record: '', note: '', unreadable: reason });
  if (!Array.isArray(raw[1])) return unreadable('no fields');
  const fields = new Map<string, string>();
  const list = raw[1] as unknown[];
  for (let i = 0; i + 1 < list.length; i += 2) fields.set(String(list[i]), String(list[i + 1]));
  const missing = ['t', 'r', 'n'].filter((f) => !fields.has(f));
  if (missing.length > 0) return unreadable(`no field ${missing.join(', ')}`);
  const time = fields.get('t')!;
  const record = fields.get('r')!;
  const note = fields.get('n')!;
  const timestamp = Number(time);
  if (!/^\d{1,16}$/.test(time) || timestamp > LATEST) return unreadable('t is not ms since the epoch');
  // The record itself is parsed and checked once, by the drainer (engine/ledger-records.ts).
  return { ref, timestamp, record, note };
}
