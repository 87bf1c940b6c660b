/**
 * Sends the commands a store issues in one tick in one socket write.
 *
 * Why: ioredis writes every command to its socket as it is issued, one system call each. Under
 * load, replies arrive in bursts and each resumes a call that sends its next command at once, so
 * many commands are issued within one tick; the socket's writes then took about a sixth of the
 * client's CPU per reserve+commit pair (docs/benchmarks.md). Corking the socket until the tick's
 * end (Node's `cork`, undone by `uncork` in `process.nextTick`, which runs once the current
 * promise reactions are done and before any I/O) makes them one `writev`. No command waits for
 * anything but the end of the code already running, and the order of writes on the connection is
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
 * A function to call right before issuing a command on `client`: the first call in a tick corks
 * the client's socket (when it is connected) and uncorks it at the tick's end.
 */
export function tickWrites(client: unknown): () => void {
  const holder = client as SocketHolder;
  if (typeof holder !== 'object' || holder === null) return () => {};
  let corked: Corkable | undefined;
  const release = (): void => {
    const stream = corked!;
    corked = undefined;
    stream.uncork();
  };
  return () => {
    if (corked !== undefined || holder.status !== 'ready') return;
    const stream = holder.stream;
    if (!corkable(stream)) return;
    stream.cork();
    corked = stream;
    process.nextTick(release);
  };
}
