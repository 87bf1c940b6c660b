import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header names of a webhook delivery. */
export const WEBHOOK_HEADERS = {
  /** Unix time (seconds) of this attempt; part of the signed text, so an old delivery cannot be replayed. */
  timestamp: 'x-token-limits-timestamp',
  /** `v1=` + hex HMAC-SHA256(secret, `${timestamp}.${rawBody}`). */
  signature: 'x-token-limits-signature',
  /** The event id: the same on every retry of one event (deduplicate on it). */
  delivery: 'x-token-limits-delivery',
  /** The event type (`alert`). */
  event: 'x-token-limits-event',
} as const;

/** The signature header value of a body sent at `timestamp` (Unix seconds). */
export function signWebhookBody(secret: string, timestamp: number | string, rawBody: string | Uint8Array): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

/** Options of `verifyWebhookSignature`. */
export interface VerifyWebhookOptions {
  /** The exact bytes received (do not re-serialise parsed JSON). */
  rawBody: string | Uint8Array;
  /** The `x-token-limits-timestamp` header. */
  timestamp: string | null | undefined;
  /** The `x-token-limits-signature` header. */
  signature: string | null | undefined;
  /** The shared secret (or several, while rotating it). */
  secret: string | readonly string[];
  /**
   * Largest accepted age (and clock skew) of a delivery, in seconds.
   * @default 300
   */
  toleranceSeconds?: number;
  /** Current time in ms. @default Date.now() */
  now?: number;
}

/**
 * True when a delivery is authentic and fresh: its signature matches `secret` (compared in constant
 * time) and its timestamp is within `toleranceSeconds` of now. For receivers written in Node; the
 * README shows the same check in a few lines for any language.
 */
export function verifyWebhookSignature(options: VerifyWebhookOptions): boolean {
  const { timestamp, signature, rawBody } = options;
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !/^\d{1,12}$/.test(timestamp)) return false;
  const tolerance = options.toleranceSeconds ?? 300;
  const now = (options.now ?? Date.now()) / 1000;
  if (Math.abs(now - Number(timestamp)) > tolerance) return false;
  const secrets = typeof options.secret === 'string' ? [options.secret] : options.secret;
  const given = Buffer.from(signature);
  let ok = false;
  for (const secret of secrets) {
    const expected = Buffer.from(signWebhookBody(secret, timestamp, rawBody));
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}
