/**
 * Sends the commands a store issues in one tick in a few socket writes instead of one each.
 *
 * Why: ioredis writes every command to its socket as it is issued, one system call each. Under
 * load, replies arrive in bursts and each resumes a call that sends its next command at once, so
 * many commands are issued within one tick; the socket's writes then took about 15% of the
 * client's busy time in the pairs workload (docs/benchmarks.md). From the second command of a tick,
 * the socket is corked (Node's `cork`) until the tick's end (`uncork` in `process.nextTick`, which
 * runs once the current promise reactions are done and before any I/O) or until
 * {@link COMMANDS_PER_WRITE} commands wait: they leave in one `writev`. The first command of a tick
 * is written at once, so that a lone call never waits for code that runs after it. The order of
 * writes on the connection is unchanged, the application's own commands included.
 *
 * Only for a client with a connected socket of its own (ioredis `Redis`, whose `stream` is set
 * once it connects, so it is looked up on each call); a `Cluster` spreads its commands over many
 * connections and is left as it is.
 */

interface Corkable {
  cork(): void;
  uncork(): void;
}

interface SocketHolder {
  status?: unknown;
  stream?: unknown;
}

function corkable(value: unknown): value is Corkable {
  return typeof value === 'object' && value !== null && typeof (value as Corkable).cork === 'function' && typeof (value as Corkable).uncork === 'function';
}

/**
 * At most this many commands wait for one write. Holding every command of a burst until its end
 * kept Redis idle while the client worked through the burst: at 100 pairs in flight, pairs/s fell
 * by 3-9% against no corking at all, while 8 per write kept the CPU saved and pairs/s as they were
 * (bench/pair-cpu.mjs; 2, 4, 8, 16 and no cap were tried). It also bounds how many other commands
 * one waits for.
 */
export const COMMANDS_PER_WRITE = 8;

/**
 * A function to call right before issuing a command on `client`. The first command of a tick is
 * written at once: a lone call never waits, even when the application goes on with synchronous
 * work after making it. A second command in the same tick corks the client's socket (when it is
 * connected): it and the commands after it are written at the tick's end, or once
 * {@link COMMANDS_PER_WRITE} wait.
 */
export function tickWrites(client: unknown): () => void {
  const holder = client as SocketHolder;
  if (typeof holder !== 'object' || holder === null) return () => {};
  /** A command was issued in this tick (reset at its end). */
  let busy = false;
  let corked: Corkable | undefined;
  let count = 0;
  const endOfTick = (): void => {
    busy = false;
    const stream = corked;
    if (stream === undefined) return;
    corked = undefined;
    stream.uncork();
  };
  return () => {
    if (!busy) {
      busy = true;
      process.nextTick(endOfTick);
      return;
    }
    if (corked !== undefined) {
      if (++count <= COMMANDS_PER_WRITE) return;
      corked.uncork();
      corked = undefined;
    }
    if (holder.status !== 'ready') return;
    const stream = holder.stream;
    if (!corkable(stream)) return;
    stream.cork();
    corked = stream;
    count = 1;
  };
}
