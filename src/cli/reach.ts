/**
 * The CLI's connections to PostgreSQL and Redis: checked once, within a time limit, before a
 * command starts, so an unreachable server fails the command promptly with a clear message
 * instead of hanging (pg waits forever for a server that accepts and never answers) or writing
 * half an export first.
 */

/** How long a connection may take before the command fails, by default (ms). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** A failure to reach a server: printed as it is, without the usage text. */
export class ReachError extends Error {}

/**
 * Run `attempt` (a first round trip to `what`), failing with a ReachError when it fails or takes
 * longer than `ms`. The timer is cleared either way, so it never holds the process open.
 */
export async function reach<T>(what: string, ms: number, attempt: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReachError(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([attempt(), timeout]);
  } catch (error) {
    if (error instanceof ReachError) throw error;
    throw new ReachError(`cannot reach ${what}: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}
