/**
 * The alert webhook's delivery queue. Over 300 lines: its queue, retries, backoff, `Retry-After`,
 * `flush` and `close` share the state of the events in flight, and are read together.
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '../../kernel/errors.js';
import type { TokenLimiter } from '../../face/limiter.js';
import type { AlertEvent } from '../../kernel/types.js';
import { WebhookDeliveryError, type WebhookFailure } from './delivery-error.js';
import { parseWebhookOptions, type AlertWebhookOptions } from './options.js';
import { callQuietly } from '../shared/call-quietly.js';
import { redactError } from './redact.js';
import { retryAfterMs } from './retry-after.js';
import { signWebhookBody, WEBHOOK_HEADERS } from './signature.js';

export { WebhookDeliveryError, type WebhookFailure } from './delivery-error.js';
export type { AlertWebhookOptions } from './options.js';

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
  /** In flight when `close()` began: a retriable failure gets its last attempt at once, as waiting retries do. */
  retryAtClose?: boolean;
}

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

  /**
   * Logs without letting the app's logger throw into the webhook: a throw, or a rejected promise
   * from an async logger, would otherwise stop a delivery half-way (and `flush()` never resolve).
   */
  function log(level: 'warn' | 'error', message: string, meta: Record<string, unknown>): void {
    const logger = config.logger;
    callQuietly(() => logger?.[level]?.(message, meta), () => {});
  }

  function report(error: WebhookDeliveryError): void {
    log('error', 'token-limits: alert webhook gave up', { eventId: error.eventId, reason: error.reason, attempts: error.attempts, status: error.status });
    const onError = config.onError;
    if (onError) {
      // A throw or a rejected promise (an async onError) is logged, never left unhandled.
      callQuietly(
        () => onError(error),
        (e) => log('error', 'token-limits: the webhook onError callback threw', { error: e instanceof Error ? e.message : String(e) }),
      );
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
      attempt(job).catch((error: unknown) => {
        // Not expected (the app's callbacks are guarded): still, the queue must go on and settle.
        inFlight.delete(job);
        log('error', 'token-limits: alert webhook failed unexpectedly', { eventId: job.id, error: error instanceof Error ? error.message : String(error) });
        pump();
      });
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
    let failure: { reason: WebhookFailure; status?: number; retry: boolean; retryAfterMs?: number; cause?: Error } | undefined;
    try {
      const timestamp = Math.floor(Date.now() / 1000);
      const response = await abortable(config.fetch(config.url, {
        method: 'POST',
        body: job.body,
        redirect: 'manual',
        signal: controller.signal,
        headers: {
          'user-agent': 'token-limits-webhook/1',
          ...config.headers,
          'content-type': 'application/json',
          [WEBHOOK_HEADERS.event]: 'alert',
          [WEBHOOK_HEADERS.delivery]: job.id,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: signWebhookBody(config.secret, timestamp, job.body),
        },
      }), controller.signal);
      await abortable(response.body?.cancel(), controller.signal).catch(() => {});
      if (response.status < 200 || response.status >= 300) {
        const s = response.status;
        failure = { reason: 'http_status', status: s, retry: s === 408 || s === 429 || s >= 500 };
        // A receiver that is throttling us or down for a while says when to come back.
        const wait = s === 429 || s === 503 ? retryAfterMs(response.headers.get('retry-after'), Date.now()) : undefined;
        if (wait !== undefined) failure.retryAfterMs = wait;
      }
    } catch (error) {
      const reason = timedOut ? 'timeout' : controller.signal.aborted ? 'closed' : 'network';
      // What fetch threw may quote the request (URL, headers): only a redacted copy is kept.
      failure = { reason, retry: reason !== 'closed', cause: redactError(error, config.sensitive) };
    } finally {
      clearTimeout(timer);
      inFlight.delete(job);
    }
    if (failure === undefined) {
      pump();
      return;
    }
    log('warn', 'token-limits: alert webhook attempt failed', {
      eventId: job.id,
      attempt: job.attempts,
      reason: failure.reason,
      status: failure.status,
      retryAfterMs: failure.retryAfterMs,
      // Redacted (see redactError): safe to log.
      error: failure.cause?.message,
    });
    const retriable = failure.retry && job.attempts < config.maxAttempts;
    if (retriable && closed && job.retryAtClose === true) {
      job.retryAtClose = false;
      ready.push(job);
    } else if (retriable && !closed) {
      const base = Math.min(config.maxBackoffMs, config.backoffMs * 2 ** (job.attempts - 1));
      const backoff = Math.round(base * (0.5 + Math.random() / 2));
      // At least what the receiver asked for, within maxRetryAfterMs; close() still retries at once.
      const delay = failure.retryAfterMs === undefined ? backoff : Math.max(backoff, Math.min(failure.retryAfterMs, config.maxRetryAfterMs));
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
      log('error', 'token-limits: alert webhook could not queue an event', { error: error instanceof Error ? error.message : String(error) });
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
      for (const job of inFlight.keys()) job.retryAtClose = true;
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

/**
 * Settles with `promise`, or rejects with the signal's reason as soon as it aborts (a timeout, or
 * `close()` giving up): a `fetch` option that ignores its signal (a wrapper that does not pass it
 * on) must not hold a delivery slot, `flush()` and `close()` forever. A response that arrives after
 * that has its body cancelled, so its connection is freed.
 */
function abortable<T>(value: T | PromiseLike<T>, signal: AbortSignal): Promise<T> {
  const promise = Promise.resolve(value);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason);
      promise.then(
        (late) => {
          try {
            const body = (late as { body?: { cancel?: () => unknown } | null } | undefined)?.body;
            Promise.resolve(body?.cancel?.()).catch(() => {});
          } catch {
            // A body that cannot be cancelled (locked) is left to the garbage collector.
          }
        },
        () => {},
      );
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function payloadOf(id: string, event: AlertEvent): AlertWebhookPayload {
  return {
    id,
    type: 'alert',
    createdAt: new Date().toISOString(),
    data: {
      userId: event.userId,
      scope: event.scope,
      ...(event.accountId === undefined ? {} : { accountId: event.accountId }),
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
