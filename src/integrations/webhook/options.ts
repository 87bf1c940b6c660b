import { InvalidArgumentError } from '../../kernel/errors.js';
import type { Logger } from '../../kernel/types.js';
import { isPlainObject, parsePositiveInt } from '../../kernel/validate.js';
import type { WebhookDeliveryError } from './delivery-error.js';
import { redactUrl, sensitiveStrings } from './redact.js';

/** Options of `createAlertWebhook` / `onAlert`. */
export interface AlertWebhookOptions {
  /**
   * Where alerts are POSTed (http or https). Credentials in the URL (`user:password@`) are refused:
   * send them in `headers` (`authorization`). Errors show only the URL's origin.
   */
  url: string | URL;
  /** Shared secret of the HMAC-SHA256 signature (at least 16 characters). Never logged. */
  secret: string;
  /**
   * Longest wait for one attempt (connection, headers and body), in ms.
   * @default 5000
   */
  timeoutMs?: number;
  /**
   * Attempts per event, the first included. Retried: network errors, timeouts, 408, 429 and 5xx.
   * @default 5
   */
  maxAttempts?: number;
  /**
   * Delay before the first retry, in ms; doubled for each further retry (with jitter: 50-100%).
   * @default 500
   */
  backoffMs?: number;
  /**
   * Longest delay between two attempts, in ms.
   * @default 30_000
   */
  maxBackoffMs?: number;
  /**
   * Longest wait a receiver's `Retry-After` (on a 429 or a 503: seconds, or an HTTP date) can
   * impose before the next attempt, in ms; a longer one waits this long. The wait is never shorter
   * than the backoff. A malformed, negative or past `Retry-After` is ignored (the backoff applies).
   * `close()` does not wait for it (see `closeTimeoutMs`).
   * @default 300_000 (5 minutes)
   */
  maxRetryAfterMs?: number;
  /**
   * Events waiting, in flight or between retries; a new event beyond it is dropped (reported).
   * @default 1000
   */
  maxQueueSize?: number;
  /**
   * Deliveries in flight at once.
   * @default 4
   */
  concurrency?: number;
  /**
   * How long `close()` waits for deliveries still pending before abandoning them, in ms.
   * @default 10_000
   */
  closeTimeoutMs?: number;
  /**
   * Extra request headers (e.g. an API key of the receiver). Names must be HTTP tokens, values
   * printable (no CR, LF or other control characters); the headers this library sets
   * (`content-type`, `x-token-limits-*`) and those the HTTP client owns (`host`, `content-length`,
   * `connection`...) are refused. Values are never logged. @default none
   */
  headers?: Record<string, string>;
  /**
   * Called for every event given up (after its last attempt, dropped, or abandoned by `close`). May
   * be async; a throw or a rejection goes to `logger.error`, never back into the webhook. @default none
   */
  onError?: (error: WebhookDeliveryError) => void;
  /** Receives a warning for every failed attempt and an error for every event given up; its own throws and rejections are ignored. @default none */
  logger?: Logger;
  /** The `fetch` to use (a proxy-aware one, a test double). @default globalThis.fetch */
  fetch?: typeof fetch;
}

export interface WebhookConfig {
  url: URL;
  /** The only part of the URL errors and logs may show. */
  origin: string;
  secret: string;
  /** Strings errors must never contain (see `redactError`). */
  sensitive: string[];
  timeoutMs: number;
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  maxRetryAfterMs: number;
  maxQueueSize: number;
  concurrency: number;
  closeTimeoutMs: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  onError: ((error: WebhookDeliveryError) => void) | undefined;
  logger: Logger | undefined;
  fetch: typeof fetch;
}

const OPTION_KEYS: ReadonlySet<string> = new Set([
  'url',
  'secret',
  'timeoutMs',
  'maxAttempts',
  'backoffMs',
  'maxBackoffMs',
  'maxRetryAfterMs',
  'maxQueueSize',
  'concurrency',
  'closeTimeoutMs',
  'headers',
  'onError',
  'logger',
  'fetch',
]);

/** Shortest accepted secret, in characters, for signing and for verifying. */
export const MIN_SECRET_LENGTH = 16;

/** What errors show in place of a secret or a header value. */
const REDACTED = '[redacted]';

/**
 * A webhook secret: a string of at least `MIN_SECRET_LENGTH` characters. The value is never put in
 * the error (neither its message nor its `value`).
 */
export function parseWebhookSecret(value: unknown, parameter: string): string {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) {
    const got = typeof value === 'string' ? `a string of ${value.length} characters` : value === null ? 'null' : typeof value;
    // The error adds "(got <value>)" itself: the value is redacted there, its shape said here.
    throw new InvalidArgumentError(parameter, REDACTED, `expected a string of at least ${MIN_SECRET_LENGTH} characters, not ${got}`);
  }
  return value;
}

// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters but horizontal tab (CR and LF split headers), or anything outside Latin-1 (not a ByteString). */
function isBadHeaderValue(value: string): boolean {
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return true;
  }
  return false;
}
/** Set by this library on every delivery: a caller's value would corrupt the signature or the body. */
const OWN_HEADERS = new Set(['content-type', 'x-token-limits-event', 'x-token-limits-delivery', 'x-token-limits-timestamp', 'x-token-limits-signature']);
/** Owned by the HTTP client: setting them breaks the request (undici refuses some at every attempt). */
const CLIENT_HEADERS = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'te', 'trailer']);

/** Validates `headers` without ever quoting a value (nor a name that is not a valid token). */
function parseHeaders(headers: unknown): Record<string, string> {
  if (!isPlainObject(headers)) throw new InvalidArgumentError('options.headers', typeof headers, 'expected an object of header names to string values');
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [index, [name, value]] of Object.entries(headers).entries()) {
    if (!HEADER_NAME.test(name)) {
      throw new InvalidArgumentError('options.headers', REDACTED, `header #${index + 1} has an invalid name (expected an HTTP token: letters, digits and !#$%&'*+-.^_\`|~)`);
    }
    const where = `options.headers.${name}`;
    const lower = name.toLowerCase();
    if (typeof value !== 'string') throw new InvalidArgumentError(where, REDACTED, `expected a string (got ${value === null ? 'null' : typeof value})`);
    if (isBadHeaderValue(value)) {
      throw new InvalidArgumentError(where, REDACTED, 'the value contains CR, LF or another control character, or a character outside Latin-1');
    }
    if (OWN_HEADERS.has(lower)) throw new InvalidArgumentError(where, REDACTED, 'is set by token-limits on every delivery');
    if (CLIENT_HEADERS.has(lower)) throw new InvalidArgumentError(where, REDACTED, 'is set by the HTTP client');
    if (lower in out) throw new InvalidArgumentError(where, REDACTED, 'is given twice (header names are case-insensitive)');
    out[lower] = value;
  }
  return out;
}

/** Parses the receiver URL; errors show at most its origin, never what it was given as. */
function parseUrl(value: unknown): URL {
  if (typeof value !== 'string' && !(value instanceof URL)) {
    throw new InvalidArgumentError('options.url', typeof value, 'expected an absolute http(s) URL (a string or a URL)');
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Not echoed: an unparsable URL may still carry a password or a token.
    throw new InvalidArgumentError('options.url', REDACTED, 'expected an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('options.url', url.protocol, 'expected an http(s) URL');
  if (url.username !== '' || url.password !== '') {
    throw new InvalidArgumentError(
      'options.url',
      redactUrl(url),
      'must not contain credentials (user:password@): fetch refuses such URLs, and they would end up in logs; send them in options.headers (authorization) instead',
    );
  }
  return url;
}

export function parseWebhookOptions(options: unknown): WebhookConfig {
  if (!isPlainObject(options)) throw new InvalidArgumentError('options', typeof options, 'expected { url, secret }');
  for (const key of Object.keys(options)) {
    // The value of a misspelt option may be a secret: only its name is shown.
    if (!OPTION_KEYS.has(key)) throw new InvalidArgumentError(`options.${key}`, REDACTED, `unknown option (allowed: ${[...OPTION_KEYS].join(', ')})`);
  }
  const url = parseUrl(options.url);
  const secret = parseWebhookSecret(options.secret, 'options.secret');
  const headers = options.headers === undefined ? {} : parseHeaders(options.headers);
  const { onError, logger } = options;
  if (onError !== undefined && typeof onError !== 'function') throw new InvalidArgumentError('options.onError', typeof onError, 'expected a function');
  if (logger !== undefined && (typeof logger !== 'object' || logger === null)) throw new InvalidArgumentError('options.logger', logger === null ? null : typeof logger, 'expected a logger object');
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== 'function') throw new InvalidArgumentError('options.fetch', typeof options.fetch, 'expected a fetch function');
  const int = (key: string, fallback: number, max: number): number =>
    options[key] === undefined ? fallback : parsePositiveInt(options[key], `options.${key}`, max);
  return {
    url,
    origin: redactUrl(url),
    secret,
    sensitive: sensitiveStrings(url, secret, Object.values(headers)),
    timeoutMs: int('timeoutMs', 5000, 600_000),
    maxAttempts: int('maxAttempts', 5, 100),
    backoffMs: int('backoffMs', 500, 3_600_000),
    maxBackoffMs: int('maxBackoffMs', 30_000, 3_600_000),
    maxRetryAfterMs: int('maxRetryAfterMs', 300_000, 3_600_000),
    maxQueueSize: int('maxQueueSize', 1000, 1_000_000),
    concurrency: int('concurrency', 4, 256),
    closeTimeoutMs: int('closeTimeoutMs', 10_000, 600_000),
    headers,
    onError: onError as WebhookConfig['onError'],
    logger: logger as Logger | undefined,
    fetch: fetchFn as typeof fetch,
  };
}
