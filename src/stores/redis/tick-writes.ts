/**
 * Sends the commands a store issues in one tick in a few socket writes instead of one each.
 *
 * Why: ioredis writes every command to its socket as it is issued, one system call each. Under
 * load, replies arrive in bursts and each resumes a call that sends its next command at once, so
 * many commands are issued within one tick; the socket's writes then took about a sixth of the
 * client's CPU per reserve+commit pair (docs/benchmarks.md). Corking the socket until the tick's
 * end (Node's `cork`, undone by `uncork` in `process.nextTick`, which runs once the current
 * promise reactions are done and before any I/O) makes them one `writev` (or one per
 * {@link COMMANDS_PER_WRITE}). No command waits for anything but code already running, and the order of writes on the connection is
 * unchanged, the application's own commands included.
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
 * by 7% against no corking at all, while 8 per write kept the CPU saved (client CPU per pair −12%)
 * and raised pairs/s by 2-3% (bench/redis-pairs.ts workload; 2, 4, 8, 16 and no cap were tried).
 * It also bounds how long a command can wait: for 7 more to be issued in the same tick.
 */
export const COMMANDS_PER_WRITE = 8;

/**
 * A function to call right before issuing a command on `client`: the first call in a tick corks
 * the client's socket (when it is connected); it is uncorked at the tick's end, or sooner once
 * {@link COMMANDS_PER_WRITE} commands wait.
 */
export function tickWrites(client: unknown): () => void {
  const holder = client as SocketHolder;
  if (typeof holder !== 'object' || holder === null) return () => {};
  let corked: Corkable | undefined;
  let count = 0;
  let scheduled = false;
  const release = (): void => {
    scheduled = false;
    const stream = corked;
    if (stream === undefined) return;
    corked = undefined;
    stream.uncork();
  };
  return () => {
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
    if (!scheduled) {
      scheduled = true;
      process.nextTick(release);
    }
  };
}
