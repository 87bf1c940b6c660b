/**
 * Where `ledger export` writes. Either all of the export or none of it: a script reading the
 * output cannot tell a CSV cut short by a failed query from a complete one, and a failed
 * `--out` export used to leave the previous file emptied, or holding only the header.
 */
import { rename, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * A pass-through that holds back its first chunk (the CSV header) until a second one or the end
 * arrives, so an export whose first query fails (no such table) writes nothing at all.
 */
export function holdFirstChunk(): Transform {
  let held: Buffer | undefined;
  let first = true;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (first) {
        first = false;
        held = chunk;
        callback();
        return;
      }
      if (held !== undefined) this.push(held);
      held = undefined;
      callback(null, chunk);
    },
    flush(callback) {
      callback(null, held);
    },
  });
}

/**
 * Write `source` to `path` through a temporary file beside it, renamed over `path` only once
 * complete; on failure the temporary file is removed and `path` is left as it was.
 */
export async function writeFileWhole(source: Readable, path: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
  // Ctrl-C mid-export: stop and remove the temporary file, which the default handler left behind.
  // Without waiting for the pipeline: destroying the source waits for the query it is reading
  // (an async generator returns only after its pending step), and one blocked on a lock never ends.
  let interrupt: (error: Error) => void = () => {};
  const interrupted = new Promise<never>((_, reject) => {
    interrupt = reject;
  });
  const file = createWriteStream(temporary, { flags: 'wx' });
  const stop = (): void => {
    const error = new Error(`interrupted: ${path} was left as it was`);
    interrupt(error);
    source.destroy(error);
    file.destroy();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const piping = pipeline(source, file);
    // It may settle after the interruption won the race: never an unhandled rejection.
    piping.catch(() => {});
    await Promise.race([piping, interrupted]);
    await rename(temporary, path);
  } catch (error) {
    // Closed first: a file still being opened would be created after its removal.
    if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
    await rm(temporary, { force: true });
    throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** Pipe `source` into `out` (stdout), holding back its first chunk, without ending `out`. */
export function pipeHeld(source: Readable, out: Writable | NodeJS.WritableStream): Promise<void> {
  return pipeline(source, holdFirstChunk(), out, { end: false });
}

/**
 * Write `lines` to `out` (stdout) as the reader takes them (waiting on `drain`), and stop quietly
 * when the reader goes away (`| head`: EPIPE), which is no failure of the command. Written with
 * bare `out.write()`, the EPIPE was an unhandled 'error' event: a stack trace and exit code 1.
 */
export async function writeLines(out: NodeJS.WritableStream, lines: Iterable<string>): Promise<void> {
  let failure: NodeJS.ErrnoException | undefined;
  const onError = (error: NodeJS.ErrnoException): void => {
    failure = error;
  };
  out.on('error', onError);
  try {
    for (const line of lines) {
      if (failure !== undefined) break;
      if (!out.write(line)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            out.off('drain', done);
            out.off('error', done);
            resolve();
          };
          out.on('drain', done);
          out.on('error', done);
        });
      }
    }
    // An EPIPE is reported after the write that met it: give it its turn before returning.
    await new Promise((resolve) => setImmediate(resolve));
    if (failure !== undefined && failure.code !== 'EPIPE') throw failure;
  } finally {
    out.off('error', onError);
  }
}

