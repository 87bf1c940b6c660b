import type { Logger } from '../../kernel/types.js';
import { callQuietly } from './call-quietly.js';

/**
 * Logs to the app's `logger.error`. A logger that throws, or an async one that rejects, is ignored:
 * the request being answered must still get its reply, and nothing may become an unhandled
 * rejection (which ends a Node process by default).
 */
export function logError(logger: Logger | undefined, message: string, meta: Record<string, unknown>): void {
  callQuietly(
    () => logger?.error?.(message, meta),
    () => {
      // The logger is broken: there is nowhere left to report to.
    },
  );
}
