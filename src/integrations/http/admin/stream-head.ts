type Chunk = string | Uint8Array;

const NEWLINE = 0x0a;

/**
 * Reads the start of a streamed body before its status is sent: until `lines` line ends were read,
 * or the stream ended. A 200 cannot be taken back once sent, so a source that fails at its first
 * read (a ledger whose database is down: `admin.exportUsage` fails with a `QuotaStoreError`) must
 * fail here, where the API can still answer its JSON error (503). What was read is held in memory:
 * keep `lines` small (a CSV header and the first row).
 *
 * Returns a stream that gives what was read, then the rest; closing it closes the source.
 */
export async function readStreamHead(source: AsyncIterable<Chunk>, lines: number): Promise<AsyncIterable<Chunk>> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Chunk[] = [];
  let seen = 0;
  let ended = false;
  try {
    while (seen < lines) {
      const next = await iterator.next();
      if (next.done === true) {
        ended = true;
        break;
      }
      head.push(next.value);
      seen += countLineEnds(next.value);
    }
  } catch (error) {
    await closeQuietly(iterator);
    throw error;
  }
  return replay(head, ended, iterator);
}

function countLineEnds(chunk: Chunk): number {
  let n = 0;
  if (typeof chunk === 'string') {
    for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) n += 1;
  } else {
    for (const byte of chunk) if (byte === NEWLINE) n += 1;
  }
  return n;
}

/**
 * An iterator written out rather than an async generator: a generator's `return()` before its
 * first `next()` does not run its `finally`, and the source (a database cursor) would stay open.
 */
function replay(head: Chunk[], ended: boolean, source: AsyncIterator<Chunk>): AsyncIterable<Chunk> {
  let closed = ended;
  const iterator: AsyncIterator<Chunk> = {
    async next() {
      const chunk = head.shift();
      if (chunk !== undefined) return { done: false, value: chunk };
      if (closed) return { done: true, value: undefined };
      return source.next();
    },
    async return() {
      head.length = 0;
      if (!closed) {
        closed = true;
        await closeQuietly(source);
      }
      return { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

async function closeQuietly(iterator: AsyncIterator<Chunk>): Promise<void> {
  try {
    await iterator.return?.();
  } catch {
    // The source failed or is closed already: nothing is read from it any more.
  }
}
