import type { AlertEvent } from '../../kernel/types.js';

/** Why an event was not delivered. */
export type WebhookFailure = 'http_status' | 'network' | 'timeout' | 'queue_full' | 'closed';

/**
 * An alert the webhook gave up on; given to `onError`, never thrown into a user's call. Its message
 * names the receiver by origin only, and its `cause` is a redacted copy of what `fetch` threw (see
 * `redactError`): no credentials, path, query string, header value or secret.
 */
export class WebhookDeliveryError extends Error {
  override readonly name = 'WebhookDeliveryError';
  readonly code = 'webhook_delivery_failed' as const;
  /** The event id (the `x-token-limits-delivery` header). */
  readonly eventId: string;
  readonly reason: WebhookFailure;
  readonly attempts: number;
  /** The receiver's last HTTP status, when it answered. */
  readonly status: number | undefined;
  /** The event that was not delivered. */
  readonly event: AlertEvent;

  constructor(fields: { eventId: string; reason: WebhookFailure; attempts: number; status?: number; event: AlertEvent; origin: string; cause?: Error }) {
    const what = fields.status === undefined ? fields.reason : `HTTP ${fields.status}`;
    super(`Alert webhook to ${fields.origin} failed (${what}) after ${fields.attempts} attempt(s)`, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.eventId = fields.eventId;
    this.reason = fields.reason;
    this.attempts = fields.attempts;
    this.status = fields.status;
    this.event = fields.event;
  }
}
