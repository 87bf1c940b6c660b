/**
 * How a store says that it will never take a command, as opposed to being unreachable or slow:
 * the Redis scripts' own validation answers `ERR token-limits: <what was wrong>`. Retrying such a
 * command cannot help, so it is dropped (with an event) rather than retried.
 */
export const REFUSAL_PREFIX = 'ERR token-limits: ';

/** Does `error` carry a store's refusal (see REFUSAL_PREFIX), itself or as the message it wraps? */
export function isRefusal(error: unknown): boolean {
  return error instanceof Error && error.message.includes(REFUSAL_PREFIX);
}
