/**
 * Free TCP ports for harness-managed Redis processes.
 *
 * Redis ports are picked from 10000–22767, below the kernel's ephemeral range (32768–60999 on
 * Linux), instead of asking the kernel for port 0. Two reasons:
 * - `restart()` must rebind the same port; a port from the ephemeral range can be taken in the
 *   meantime by any outgoing connection (including a reconnecting ioredis client).
 * - a cluster node also needs its bus port, `port + 10000`, which must be free and ≤ 65535.
 *
 * A candidate is accepted only if binding it (and its bus port, when asked) on the host succeeds.
 * Ports handed out by this process are never handed out again by it. Another process can still
 * take a port between the check and redis-server's own bind: `startRedisServer` retries with a
 * new port when Redis reports "Address already in use".
 */
import { createServer } from 'node:net';

const FIRST_PORT = 10_000;
const LAST_PORT = 22_767;
/** Redis Cluster's bus port is the client port plus this offset. */
export const CLUSTER_BUS_PORT_OFFSET = 10_000;

const handedOut = new Set<number>();

/** True if `port` can be bound on `host` right now. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/** Options of {@link findFreePort}. */
export interface FindFreePortOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /**
   * Also require `port + 10000` (the Redis Cluster bus port) to be free.
   * @default false
   */
  withBusPort?: boolean;
}

/**
 * Returns a port in 10000–22767 that is free on `host` (and whose bus port is free too when
 * `withBusPort` is set), never one this process already handed out.
 *
 * @throws Error if 200 random candidates were all taken.
 */
export async function findFreePort(options: FindFreePortOptions = {}): Promise<number> {
  const host = options.host ?? '127.0.0.1';
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = FIRST_PORT + Math.floor(Math.random() * (LAST_PORT - FIRST_PORT + 1));
    if (handedOut.has(port)) continue;
    if (!(await isPortFree(port, host))) continue;
    if (options.withBusPort === true && !(await isPortFree(port + CLUSTER_BUS_PORT_OFFSET, host))) {
      continue;
    }
    handedOut.add(port);
    return port;
  }
  throw new Error(`No free port found in ${FIRST_PORT}-${LAST_PORT} on ${host} after 200 attempts`);
}
