import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '../../kernel/errors.js';
import type { TokenLimiter } from '../../face/limiter.js';
import type { AlertEvent, Logger } from '../../kernel/types.js';
import { isPlainObject, parsePositiveInt, rejectUnknownKeys } from '../../kernel/validate.js';
import { signWebhookBody, WEBHOOK_HEADERS } from './signature.js';

/** Options of `createAlertWebhook` / `onAlert`. */
export interface AlertWebhookOptions {
  /** Where alerts are POSTed (http or https). */
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
  /** Extra request headers (e.g. an API key of the receiver). @default none */
  headers?: Record<string, string>;
  /** Called for every event given up (after its last attempt, dropped, or abandoned by `close`). @default none */
  onError?: (error: WebhookDeliveryError) => void;
  /** Receives a warning for every failed attempt and an error for every event given up. @default none */
  logger?: Logger;
  /** The `fetch` to use (a proxy-aware one, a test double). @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** Why an event was not delivered. */
export type WebhookFailure = 'http_status' | 'network' | 'timeout' | 'queue_full' | 'closed';

/** An alert the webhook gave up on; given to `onError`, never thrown into a user's call. */
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

  constructor(fields: { eventId: string; reason: WebhookFailure; attempts: number; status?: number; event: AlertEvent; origin: string; cause?: unknown }) {
    const what = fields.status === undefined ? fields.reason : `HTTP ${fields.status}`;
    super(`Alert webhook to ${fields.origin} failed (${what}) after ${fields.attempts} attempt(s)`, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.eventId = fields.eventId;
    this.reason = fields.reason;
    this.attempts = fields.attempts;
    this.status = fields.status;
    this.event = fields.event;
  }
}

/** The JSON body of a delivery. */
export interface AlertWebhookPayload {
  id: string;
  type: 'alert';
  /** When the event was queued (ISO 8601). */
  createdAt: string;
  data: Omit<AlertEvent, 'periodStart' | 'resetAt'> & { periodStart: string; resetAt: string };
}

export interface AlertWebhook {
  /** The listener: `limiter.on('alert', webhook.send)`. Returns at once; never throws. */
  readonly send: (event: AlertEvent) => void;
  /** Events queued, in flight or waiting for a retry. */
  readonly pending: number;
  /** Resolves when every event sent so far is delivered or given up. */
  flush(): Promise<void>;
  /**
   * Stops taking events (and unsubscribes, for `onAlert`), waits up to `closeTimeoutMs` for the
   * pending ones (retries waiting for their backoff are tried at once), then abandons the rest.
   */
  close(): Promise<void>;
}

interface Job {
  id: string;
  event: AlertEvent;
  body: string;
  attempts: number;
}

const OPTION_KEYS = [
  'url',
  'secret',
  'timeoutMs',
  'maxAttempts',
  'backoffMs',
  'maxBackoffMs',
  'maxQueueSize',
  'concurrency',
  'closeTimeoutMs',
  'headers',
  'onError',
  'logger',
  'fetch',
] as const;

/**
 * POSTs alert events as signed JSON to `url`, in the background: `send` only queues. Failed attempts
 * are retried with exponential backoff; the queue is bounded; nothing ever blocks or fails the
 * call that crossed the threshold. Timers are `unref`ed.
 */
export function createAlertWebhook(options: AlertWebhookOptions): AlertWebhook {
  const config = parseWebhookOptions(options);
  const ready: Job[] = [];
  const waiting = new Map<ReturnType<typeof setTimeout>, Job>();
  const inFlight = new Map<Job, AbortController>();
  const idle: Array<() => void> = [];
  let closed = false;
  let pumpScheduled = false;

  const size = (): number => ready.length + waiting.size + inFlight.size;

  function report(error: WebhookDeliveryError): void {
    config.logger?.error?.('token-limits: alert webhook gave up', { eventId: error.eventId, reason: error.reason, attempts: error.attempts, status: error.status });
    if (config.onError) {
      try {
        config.onError(error);
      } catch (e) {
        config.logger?.error?.('token-limits: the webhook onError callback threw', { error: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  function settle(): void {
    if (size() !== 0) return;
    for (const resolve of idle.splice(0)) resolve();
  }

  function schedulePump(): void {
    if (pumpScheduled) return;
    pumpScheduled = true;
    // Never start network work inside the caller's stack (the limiter emits alerts from commit()).
    setImmediate(() => {
      pumpScheduled = false;
      pump();
    });
  }

  function pump(): void {
    while (inFlight.size < config.concurrency && ready.length > 0) {
      const job = ready.shift()!;
      void attempt(job);
    }
    settle();
  }

  async function attempt(job: Job): Promise<void> {
    job.attempts += 1;
    const controller = new AbortController();
    inFlight.set(job, controller);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('timeout'));
    }, config.timeoutMs);
    timer.unref?.();
    let failure: { reason: WebhookFailure; status?: number; retry: boolean; cause?: unknown } | undefined;
    try {
      const timestamp = Math.floor(Date.now() / 1000);
      const response = await config.fetch(config.url, {
        method: 'POST',
        body: job.body,
        redirect: 'manual',
        signal: controller.signal,
        headers: {
          ...config.headers,
          'content-type': 'application/json',
          'user-agent': 'token-limits-webhook/1',
          [WEBHOOK_HEADERS.event]: 'alert',
          [WEBHOOK_HEADERS.delivery]: job.id,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: signWebhookBody(config.secret, timestamp, job.body),
        },
      });
      await response.body?.cancel().catch(() => {});
      if (response.status < 200 || response.status >= 300) {
        const s = response.status;
        failure = { reason: 'http_status', status: s, retry: s === 408 || s === 429 || s >= 500 };
      }
    } catch (error) {
      const reason = timedOut ? 'timeout' : controller.signal.aborted ? 'closed' : 'network';
      failure = { reason, retry: reason !== 'closed', cause: error };
    } finally {
      clearTimeout(timer);
      inFlight.delete(job);
    }
    if (failure === undefined) {
      pump();
      return;
    }
    config.logger?.warn?.('token-limits: alert webhook attempt failed', { eventId: job.id, attempt: job.attempts, reason: failure.reason, status: failure.status });
    if (failure.retry && job.attempts < config.maxAttempts && !closed) {
      const base = Math.min(config.maxBackoffMs, config.backoffMs * 2 ** (job.attempts - 1));
      const delay = Math.round(base * (0.5 + Math.random() / 2));
      const t = setTimeout(() => {
        waiting.delete(t);
        ready.push(job);
        pump();
      }, delay);
      t.unref?.();
      waiting.set(t, job);
    } else {
      report(
        new WebhookDeliveryError({
          eventId: job.id,
          reason: failure.reason,
          attempts: job.attempts,
          event: job.event,
          origin: config.origin,
          ...(failure.status === undefined ? {} : { status: failure.status }),
          ...(failure.cause === undefined ? {} : { cause: failure.cause }),
        }),
      );
    }
    pump();
  }

  function send(event: AlertEvent): void {
    try {
      const id = randomUUID();
      if (closed || size() >= config.maxQueueSize) {
        const error = new WebhookDeliveryError({ eventId: id, reason: closed ? 'closed' : 'queue_full', attempts: 0, event, origin: config.origin });
        setImmediate(() => report(error));
        return;
      }
      ready.push({ id, event, body: JSON.stringify(payloadOf(id, event)), attempts: 0 });
      schedulePump();
    } catch (error) {
      config.logger?.error?.('token-limits: alert webhook could not queue an event', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  function flush(): Promise<void> {
    if (size() === 0) return Promise.resolve();
    return new Promise((resolve) => idle.push(resolve));
  }

  async function close(): Promise<void> {
    if (!closed) {
      closed = true;
      // Retries waiting for their backoff get one last attempt now.
      for (const [t, job] of waiting) {
        clearTimeout(t);
        ready.push(job);
      }
      waiting.clear();
      pump();
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), config.closeTimeoutMs);
    });
    const outcome = await Promise.race([flush(), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      for (const job of ready.splice(0)) {
        report(new WebhookDeliveryError({ eventId: job.id, reason: 'closed', attempts: job.attempts, event: job.event, origin: config.origin }));
      }
      for (const controller of inFlight.values()) controller.abort(new Error('closed'));
      await flush();
    }
  }

  return {
    send,
    get pending() {
      return size();
    },
    flush,
    close,
  };
}

/**
 * Subscribes a webhook to the limiter's `alert` event: `const hook = onAlert(limiter, { url, secret })`;
 * `await hook.close()` unsubscribes and flushes.
 */
export function onAlert(limiter: TokenLimiter, options: AlertWebhookOptions): AlertWebhook {
  if (typeof (limiter as Partial<TokenLimiter> | null)?.on !== 'function') {
    throw new InvalidArgumentError('limiter', limiter, 'expected a TokenLimiter (from createTokenLimiter)');
  }
  const webhook = createAlertWebhook(options);
  const off = limiter.on('alert', webhook.send);
  return {
    send: webhook.send,
    get pending() {
      return webhook.pending;
    },
    flush: webhook.flush,
    async close() {
      off();
      await webhook.close();
    },
  };
}

function payloadOf(id: string, event: AlertEvent): AlertWebhookPayload {
  return {
    id,
    type: 'alert',
    createdAt: new Date().toISOString(),
    data: {
      userId: event.userId,
      ruleId: event.ruleId,
      metric: event.metric,
      threshold: event.threshold,
      limit: event.limit,
      used: event.used,
      periodStart: event.periodStart.toISOString(),
      resetAt: event.resetAt.toISOString(),
    },
  };
}

interface WebhookConfig {
  url: URL;
  origin: string;
  secret: string;
  timeoutMs: number;
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  maxQueueSize: number;
  concurrency: number;
  closeTimeoutMs: number;
  headers: Record<string, string>;
  onError: ((error: WebhookDeliveryError) => void) | undefined;
  logger: Logger | undefined;
  fetch: typeof fetch;
}

function parseWebhookOptions(options: unknown): WebhookConfig {
  if (!isPlainObject(options)) throw new InvalidArgumentError('options', options, 'expected { url, secret }');
  rejectUnknownKeys(options, OPTION_KEYS, 'options');
  let url: URL;
  try {
    url = new URL(options.url as string | URL);
  } catch {
    throw new InvalidArgumentError('options.url', options.url, 'expected an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('options.url', url.protocol, 'expected an http(s) URL');
  const { secret, headers = {}, onError, logger } = options;
  if (typeof secret !== 'string' || secret.length < 16) {
    // The value is never echoed: it is a secret.
    throw new InvalidArgumentError('options.secret', typeof secret === 'string' ? '[redacted]' : secret, 'expected a string of at least 16 characters');
  }
  if (!isPlainObject(headers) || Object.values(headers).some((v) => typeof v !== 'string')) {
    throw new InvalidArgumentError('options.headers', headers, 'expected an object of string header values');
  }
  if (onError !== undefined && typeof onError !== 'function') throw new InvalidArgumentError('options.onError', onError, 'expected a function');
  if (logger !== undefined && (typeof logger !== 'object' || logger === null)) throw new InvalidArgumentError('options.logger', logger, 'expected a logger object');
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== 'function') throw new InvalidArgumentError('options.fetch', options.fetch, 'expected a fetch function');
  const int = (key: string, fallback: number, max: number): number =>
    options[key] === undefined ? fallback : parsePositiveInt(options[key], `options.${key}`, max);
  return {
    url,
    origin: url.origin,
    secret,
    timeoutMs: int('timeoutMs', 5000, 600_000),
    maxAttempts: int('maxAttempts', 5, 100),
    backoffMs: int('backoffMs', 500, 3_600_000),
    maxBackoffMs: int('maxBackoffMs', 30_000, 3_600_000),
    maxQueueSize: int('maxQueueSize', 1000, 1_000_000),
    concurrency: int('concurrency', 4, 256),
    closeTimeoutMs: int('closeTimeoutMs', 10_000, 600_000),
    headers: headers as Record<string, string>,
    onError: onError as WebhookConfig['onError'],
    logger: logger as Logger | undefined,
    fetch: fetchFn as typeof fetch,
  };
}
