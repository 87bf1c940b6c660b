import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from '../../kernel/errors.js';
import { isPlainObject } from '../../kernel/validate.js';
import { parseWebhookSecret } from './options.js';

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

/**
 * The signature header value of a body sent at `timestamp` (Unix seconds). Throws
 * `InvalidArgumentError` for a secret shorter than 16 characters (an empty key signs nothing).
 */
export function signWebhookBody(secret: string, timestamp: number | string, rawBody: string | Uint8Array): string {
  return hmac(parseWebhookSecret(secret, 'secret'), timestamp, parseRawBody(rawBody));
}

function hmac(secret: string, timestamp: number | string, rawBody: string | Uint8Array): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

function parseRawBody(rawBody: unknown): string | Uint8Array {
  if (typeof rawBody === 'string' || rawBody instanceof Uint8Array) return rawBody;
  // Not echoed: it is a request body.
  throw new InvalidArgumentError('rawBody', typeof rawBody, 'expected the exact bytes received, as a string or a Uint8Array (not parsed JSON)');
}

/** Options of `verifyWebhookSignature`. */
export interface VerifyWebhookOptions {
  /** The exact bytes received (do not re-serialise parsed JSON). */
  rawBody: string | Uint8Array;
  /** The `x-token-limits-timestamp` header. */
  timestamp: string | null | undefined;
  /** The `x-token-limits-signature` header. */
  signature: string | null | undefined;
  /**
   * The shared secret (or several, while rotating it): each at least 16 characters. A missing or
   * short secret throws `InvalidArgumentError` instead of returning false, so a misconfigured
   * receiver fails loudly (an empty key would accept signatures anyone can compute).
   */
  secret: string | readonly string[];
  /**
   * Largest accepted age (and clock skew) of a delivery, in seconds: a finite number, 0 or more
   * (`NaN` or `Infinity` would accept any timestamp, so they throw).
   * @default 300
   */
  toleranceSeconds?: number;
  /** Current time in ms (finite). @default Date.now() */
  now?: number;
}

/**
 * True when a delivery is authentic and fresh: its signature matches `secret` (compared in constant
 * time) and its timestamp is within `toleranceSeconds` of now. For receivers written in Node; the
 * README shows the same check in a few lines for any language. What the request carries (headers,
 * body) only ever makes it return false; the receiver's own configuration (`secret`,
 * `toleranceSeconds`, `now`, a `rawBody` that is not bytes) throws `InvalidArgumentError` when invalid.
 */
export function verifyWebhookSignature(options: VerifyWebhookOptions): boolean {
  const { secrets, tolerance, nowMs, rawBody } = parseVerifyOptions(options);
  const { timestamp, signature } = options;
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > tolerance) return false;
  const given = Buffer.from(signature);
  let ok = false;
  for (const secret of secrets) {
    const expected = Buffer.from(hmac(secret, timestamp, rawBody));
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}

function parseVerifyOptions(options: unknown): { secrets: string[]; tolerance: number; nowMs: number; rawBody: string | Uint8Array } {
  if (!isPlainObject(options)) throw new InvalidArgumentError('options', typeof options, 'expected { rawBody, timestamp, signature, secret }');
  const { secret, toleranceSeconds = 300, now } = options;
  let secrets: string[];
  if (Array.isArray(secret)) {
    if (secret.length === 0) throw new InvalidArgumentError('secret', 'an empty array', 'expected at least one secret');
    secrets = secret.map((s, i) => parseWebhookSecret(s, `secret[${i}]`));
  } else {
    secrets = [parseWebhookSecret(secret, 'secret')];
  }
  if (typeof toleranceSeconds !== 'number' || !Number.isFinite(toleranceSeconds) || toleranceSeconds < 0) {
    throw new InvalidArgumentError('toleranceSeconds', toleranceSeconds, 'expected a finite number of seconds, 0 or more');
  }
  if (now !== undefined && (typeof now !== 'number' || !Number.isFinite(now))) {
    throw new InvalidArgumentError('now', now, 'expected a finite time in milliseconds');
  }
  return { secrets, tolerance: toleranceSeconds, nowMs: now ?? Date.now(), rawBody: parseRawBody(options.rawBody) };
}
