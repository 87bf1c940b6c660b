import { AsyncLocalStorage } from 'node:async_hooks';
import { currentScope, currentUserId } from './context.js';
import { MissingUserError } from '../../kernel/errors.js';
import type { LimiterPort as TokenLimiter } from './port.js';

/** Options of `withTokenLimits` / `limiter.wrap`. */
export interface WrapOptions {
  /** The limiter to charge. @default the request context's limiter (middleware), else the default limiter (`configureTokenLimits`) */
  limiter?: TokenLimiter;
  /** Output tokens held when a request sets no maximum. @default the limiter's `outputReservation` */
  outputReservation?: number;
  /** `shrink`: lower a request's output maximum to what is left instead of refusing. @default the limiter's `onInsufficientQuota` */
  onInsufficientQuota?: 'refuse' | 'shrink';
  /**
   * How input tokens are estimated before a call to Anthropic or Google: `local` (a calibrated
   * heuristic, no extra request) or `provider` (their free count-tokens endpoint first: exact, one
   * more request per call; falls back to `local` if it fails).
   * @default 'local'
   */
  estimator?: 'local' | 'provider';
  /**
   * OpenAI chat and legacy completion streams report usage only when the request asks for it
   * (`stream_options.include_usage`). By default the wrapper asks for it and hides the extra usage
   * chunk (and the `"usage": null` fields) from the caller, so streams are charged their exact usage.
   * `false`: requests are sent exactly as the caller wrote them; a stream that did not ask for usage
   * itself is then charged an estimate (input estimate + tokens of the text received), and its
   * usage record is marked `estimated`.
   * @default true
   */
  includeStreamUsage?: boolean;
}

/** What a wrapped client carries: whom to charge and how. Resolved at each call. */
export interface Binding {
  /** The user given to `withTokenLimits`, if any. */
  readonly userId: string | undefined;
  readonly options: Readonly<WrapOptions>;
  /** Resolves the limiter for a call. */
  limiter(): TokenLimiter;
  /** Where this binding's user comes from, for `MissingUserError` (default: withTokenLimits's). */
  readonly userFrom?: string;
}

/** The binding of the wrapped call in progress (helpers such as runTools call `create` later, asynchronously). */
export const bindingScope = new AsyncLocalStorage<Binding>();

/** The user to charge: the one given to the wrapper, else the request context's; never none. */
export function resolveUser(binding: Binding): string {
  const userId = binding.userId ?? currentUserId();
  if (userId === undefined) throw new MissingUserError(missingUserMessage(binding));
  return userId;
}

/**
 * What a call with no user says: where a user could have come from. A request scope without a
 * user is the web middleware's answer for a request whose `getUserId` gave none (anonymous).
 */
function missingUserMessage(binding: Binding): string {
  const from = binding.userFrom ?? 'pass one to withTokenLimits(client, user)';
  if (currentScope() !== undefined) return `No user for this call: it runs in a request without one (the middleware's getUserId gave none); ${from} or run it inside runWithUser(user, fn)`;
  return `No user for this call: ${from} or run the call inside runWithUser(user, fn)`;
}
