/**
 * The emulator's HTTP server: `node:http` on 127.0.0.1, request recording, behavior resolution and
 * the writing of answers (delays, stream pacing, disconnects, in-stream errors). Over 300 lines:
 * the fault behaviours all act on the same response, so they are written in one place.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { hashOf, IdFactory } from './content.js';
import { errorBody, isRetryableStatus } from './errors.js';
import { asRecord, InvalidRequestError, type HandlerResult, type JsonReply, type SseReply } from './handler.js';
import { toJson } from './json.js';
import { BehaviorQueue, behaviorFromHeaders, copyBehavior, KnobHeaderError, mergeBehaviors, rejectUnknownFields, validateBehavior } from './knobs.js';
import { checkAuth, dispatch, providerOfPath, routeOf, type Route } from './routes.js';
import type { Emulator, EmulatorBehavior, EmulatorOptions, EmulatorProvider, RecordedRequest, ReplyOutcome } from './types.js';

/** 2025-01-01T00:00:00Z: the default timestamp of response bodies. */
const DEFAULT_BODY_TIME_MS = Date.UTC(2025, 0, 1);
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const DEFAULT_RETRY_AFTER_MS = 10;
const DEFAULT_WAIT_TIMEOUT_MS = 5000;
/** The longest delay a timer can hold (2^31 - 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

const OPTION_FIELDS: ReadonlySet<string> = new Set(['port', 'defaultBehavior', 'clock', 'requireAuth', 'headerKnobs', 'embeddingDimensions']);

function validateOptions(options: unknown): asserts options is EmulatorOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('startEmulator: options must be an object');
  const o = options as Record<string, unknown>;
  // `{ defaultBehaviour: { status: 429 } }` was ignored: every request answered 200.
  rejectUnknownFields(o, OPTION_FIELDS, 'startEmulator');
  if (o['port'] !== undefined && (typeof o['port'] !== 'number' || !Number.isInteger(o['port']) || o['port'] < 0 || o['port'] > 65535)) {
    throw new RangeError(`startEmulator: port must be an integer from 0 to 65535, got ${String(o['port'])}`);
  }
  if (o['clock'] !== undefined && typeof o['clock'] !== 'function') throw new TypeError('startEmulator: clock must be a function');
  for (const flag of ['requireAuth', 'headerKnobs']) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') throw new TypeError(`startEmulator: ${flag} must be a boolean`);
  }
  const dims = o['embeddingDimensions'];
  if (dims !== undefined && (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1 || dims > 65536)) {
    throw new RangeError(`startEmulator: embeddingDimensions must be an integer from 1 to 65536, got ${String(dims)}`);
  }
  if (o['defaultBehavior'] !== undefined) validateBehavior(o['defaultBehavior'], 'startEmulator: defaultBehavior');
}

/**
 * The error for malformed waitForRequests() options, if any. setTimeout takes anything, firing at
 * once for what it cannot hold: `{ timeoutMs: Infinity }` (meant as "no limit") rejected after 1 ms.
 */
function waitOptionsProblem(options: unknown): Error | undefined {
  if (typeof options !== 'object' || options === null) return new TypeError('waitForRequests: options must be an object');
  const timeoutMs = (options as { timeoutMs?: unknown }).timeoutMs;
  if (timeoutMs === undefined) return undefined;
  if (typeof timeoutMs !== 'number') return new TypeError(`waitForRequests: timeoutMs must be a number, got ${typeof timeoutMs}`);
  if (!(timeoutMs >= 0 && timeoutMs <= MAX_TIMER_MS)) return new RangeError(`waitForRequests: timeoutMs must be from 0 to ${MAX_TIMER_MS}, got ${timeoutMs}`);
  return undefined;
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new RangeError('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Wait `ms`, or less if `signal` aborts; resolves whether the full time passed. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    timer.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolve when `signal` aborts (no timer: a hanging request holds nothing but its socket). */
function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Write `data`, resolving once it is handed to the socket (false if the response is gone). */
function write(res: ServerResponse, data: string | Uint8Array): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return Promise.resolve(false);
  return new Promise((resolve) => {
    res.write(data, (error) => resolve(error == null));
  });
}

function requestIdHeader(provider: EmulatorProvider | 'unknown'): string {
  if (provider === 'anthropic') return 'request-id';
  if (provider === 'google') return 'x-goog-request-id';
  return 'x-request-id';
}

/** The request as recorded, before any behavior is applied. */
function recordOf(seq: number, req: IncomingMessage, url: URL, rawBody: string, route: Route | undefined): RecordedRequest {
  let body: unknown;
  try {
    body = rawBody.length > 0 ? JSON.parse(rawBody) : undefined;
  } catch {
    body = undefined;
  }
  const bodyModel = asRecord(body)?.['model'];
  return {
    seq,
    method: req.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: flattenHeaders(req.headers),
    body,
    rawBody,
    provider: route?.provider ?? providerOfPath(url.pathname),
    endpoint: route?.endpoint ?? 'unknown',
    model: route?.pathModel ?? (typeof bodyModel === 'string' ? bodyModel : undefined),
    stream: route?.endpoint === 'streamGenerateContent' || route?.stream === true || asRecord(body)?.['stream'] === true,
    time: Date.now(),
    behavior: {},
  };
}

/** `retry-after-ms` / `retry-after` / `x-should-retry` for an injected error status. */
function retryHeaders(status: number, behavior: EmulatorBehavior): Record<string, string> {
  const headers: Record<string, string> = {};
  const retryAfterMs = behavior.retryAfterMs === undefined ? (isRetryableStatus(status) ? DEFAULT_RETRY_AFTER_MS : null) : behavior.retryAfterMs;
  if (retryAfterMs !== null) headers['retry-after-ms'] = String(retryAfterMs);
  if (behavior.retryAfter !== undefined) headers['retry-after'] = String(behavior.retryAfter);
  if (behavior.shouldRetry !== undefined) headers['x-should-retry'] = String(behavior.shouldRetry);
  return headers;
}

/**
 * Start an emulator of the OpenAI, Anthropic and Gemini HTTP APIs on `127.0.0.1`, for driving the
 * real SDKs in tests. Close it with `close()`.
 * @throws TypeError/RangeError for malformed options
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  validateOptions(options);
  const clock = options.clock ?? ((): number => DEFAULT_BODY_TIME_MS);
  const requireAuth = options.requireAuth ?? true;
  const headerKnobs = options.headerKnobs ?? true;
  const embeddingDimensions = options.embeddingDimensions ?? 8;

  const requests: RecordedRequest[] = [];
  const queue = new BehaviorQueue();
  // The configured default, which reset() restores: a suite that resets in beforeEach keeps it.
  const initialDefault: EmulatorBehavior = copyBehavior(options.defaultBehavior ?? {});
  let defaultBehavior: EmulatorBehavior = copyBehavior(initialDefault);
  let seq = 0;
  const sockets = new Set<Socket>();
  const shutdown = new AbortController();
  const waiters = new Set<() => void>();
  let closePromise: Promise<void> | undefined;

  const notify = (): void => {
    for (const waiter of [...waiters]) waiter();
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let rawBody: string;
    try {
      rawBody = await readBody(req);
    } catch {
      res.destroy();
      return;
    }
    const route = routeOf(url.pathname);
    const recorded = recordOf(++seq, req, url, rawBody, route);
    const { provider, body } = recorded;
    requests.push(recorded);
    notify();

    // Ids derive from what the request asks for, not from how it is delivered: `stream_options`
    // is left out, so a client that asks for stream usage gets the same ids as one that does not.
    const hash = hashOf({ path: url.pathname, body: withoutStreamOptions(body) ?? rawBody });
    const requestId = `req_${hash.slice(0, 16)}${recorded.seq.toString(16).padStart(8, '0')}`;
    const baseHeaders: Record<string, string> = { [requestIdHeader(provider)]: requestId, 'x-emulator-request-seq': String(recorded.seq) };

    const sendJson = (status: number, payload: unknown, extra: Record<string, string> = {}): void => {
      if (res.destroyed) return;
      const text = toJson(payload);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(text)),
        ...baseHeaders,
        ...extra,
      });
      res.end(text);
      recorded.reply = { status, outcome: 'complete' };
    };
    const sendError = (status: number, message?: string, extra: Record<string, string> = {}): void => {
      sendJson(status, errorBody(provider, status, requestId, message), extra);
    };

    let behavior: EmulatorBehavior;
    try {
      const fromHeaders = headerKnobs ? behaviorFromHeaders(recorded.headers) : {};
      behavior = mergeBehaviors(defaultBehavior, queue.take(recorded), fromHeaders);
    } catch (error) {
      if (!(error instanceof KnobHeaderError)) throw error;
      sendError(400, `emulator: ${error.message}`);
      return;
    }
    recorded.behavior = behavior;

    if (behavior.dropConnection === true) {
      recorded.reply = { status: 0, outcome: 'dropped' };
      req.socket.destroy();
      return;
    }
    if (behavior.hang === true) {
      recorded.reply = { status: 0, outcome: 'hung' };
      await untilAborted(shutdown.signal);
      return;
    }
    if (behavior.delayMs !== undefined && !(await sleep(behavior.delayMs, shutdown.signal))) {
      recorded.reply = { status: 0, outcome: 'closed' };
      return;
    }

    const extraHeaders: Record<string, string> = { ...behavior.headers };
    if (behavior.status !== undefined) {
      const headersWithRetry = { ...retryHeaders(behavior.status, behavior), ...extraHeaders };
      if (behavior.errorBody !== undefined) sendJson(behavior.status, behavior.errorBody, headersWithRetry);
      else sendError(behavior.status, undefined, headersWithRetry);
      return;
    }
    if (route === undefined) {
      sendError(404, `emulator: no route for ${recorded.method} ${url.pathname}`, extraHeaders);
      return;
    }
    if (recorded.method !== 'POST') {
      sendError(405, `emulator: ${url.pathname} takes POST, not ${recorded.method}`, extraHeaders);
      return;
    }
    if (requireAuth) {
      const problem = checkAuth(route.provider, recorded.headers, recorded.query, route.platform);
      if (problem !== undefined) {
        sendError(problem.status, problem.message, extraHeaders);
        return;
      }
    }
    const objectBody = asRecord(body);
    if (objectBody === undefined) {
      sendError(400, 'emulator: the request body must be a JSON object', extraHeaders);
      return;
    }

    let result: HandlerResult;
    try {
      result = dispatch(
        route,
        {
          endpoint: route.endpoint,
          body: objectBody,
          model: recorded.model ?? '',
          stream: recorded.stream,
          behavior,
          ids: new IdFactory(hash),
          nowMs: clock(),
          embeddingDimensions,
        },
        recorded.query,
      );
    } catch (error) {
      if (!(error instanceof InvalidRequestError)) throw error;
      sendError(400, error.message, extraHeaders);
      return;
    }
    const replyInfo = { ...(result.usage ? { usage: result.usage } : {}), ...(result.text !== undefined ? { text: result.text } : {}) };
    const reply = result.reply;
    const outcome =
      reply.kind === 'json'
        ? await writeJson(res, reply, { ...baseHeaders, ...extraHeaders }, behavior)
        : await writeSse(res, reply, { ...baseHeaders, ...extraHeaders }, behavior, shutdown.signal, route.platform === 'bedrock' ? awsEventStreamFrame : undefined);
    recorded.reply = { status: reply.kind === 'json' ? reply.status : 200, outcome, ...replyInfo };
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // An unexpected failure must not crash the test process: answer 500 if still possible.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"emulator: internal error","type":"server_error","param":null,"code":null}}');
      } else {
        res.destroy();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const emulator: Emulator = {
    url,
    openaiBaseURL: `${url}/v1`,
    anthropicBaseURL: url,
    googleBaseUrl: url,
    requests,
    enqueue(behavior, enqueueOptions) {
      queue.add(behavior, enqueueOptions);
    },
    setDefault(behavior) {
      validateBehavior(behavior, 'setDefault()');
      // A copy down to its maps, as at start: the caller changing its object later changes nothing.
      defaultBehavior = copyBehavior(behavior);
    },
    clearRequests() {
      requests.length = 0;
    },
    reset() {
      requests.length = 0;
      queue.clear();
      defaultBehavior = copyBehavior(initialDefault);
    },
    waitForRequests(count, waitOptions = {}) {
      if (!Number.isInteger(count) || count < 0) return Promise.reject(new RangeError(`waitForRequests: count must be a non-negative integer, got ${count}`));
      const problem = waitOptionsProblem(waitOptions);
      if (problem !== undefined) return Promise.reject(problem);
      const timeoutMs = waitOptions.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (requests.length >= count) {
            done();
            resolve([...requests]);
          } else if (shutdown.signal.aborted) {
            done();
            reject(new Error('waitForRequests: the emulator was closed'));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`waitForRequests: ${requests.length} of ${count} requests after ${timeoutMs} ms`));
        }, timeoutMs);
        timer.unref();
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      closePromise ??= new Promise<void>((resolve) => {
        shutdown.abort();
        notify();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closePromise;
    },
  };
  return emulator;
}

async function writeJson(res: ServerResponse, reply: JsonReply, headers: Record<string, string>, behavior: EmulatorBehavior): Promise<ReplyOutcome> {
  if (res.destroyed) return 'client-closed';
  const text = toJson(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  if (behavior.disconnectAfterChunks === undefined) {
    res.end(text);
    return 'complete';
  }
  res.flushHeaders();
  if (behavior.disconnectAfterChunks > 0) await write(res, text.slice(0, Math.floor(text.length / 2)));
  res.socket?.destroy();
  return 'disconnected';
}

async function writeSse(
  res: ServerResponse,
  reply: SseReply,
  headers: Record<string, string>,
  behavior: EmulatorBehavior,
  signal: AbortSignal,
  frame?: (record: string) => Uint8Array,
): Promise<ReplyOutcome> {
  if (res.destroyed) return 'client-closed';
  const contentType = frame === undefined ? 'text/event-stream; charset=utf-8' : 'application/vnd.amazon.eventstream';
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', ...headers });
  res.flushHeaders();
  const mid = behavior.midStreamError;
  const midAt = mid === undefined || mid === false ? undefined : mid === true ? 1 : (mid.afterChunks ?? 1);
  const midMessage = typeof mid === 'object' && mid.message !== undefined ? mid.message : 'Emulated mid-stream error';
  const cutAt = behavior.disconnectAfterChunks;
  for (let i = 0; i <= reply.records.length; i++) {
    if (res.destroyed) return 'client-closed';
    if (i > 0 && behavior.chunkDelayMs !== undefined && !(await sleep(behavior.chunkDelayMs, signal))) return 'closed';
    if (cutAt === i) {
      res.socket?.destroy();
      return 'disconnected';
    }
    if (midAt === i) {
      const errorRecord = reply.errorRecord(midMessage, i);
      await write(res, frame === undefined ? errorRecord : frame(errorRecord));
      res.end();
      return 'stream-error';
    }
    const record = reply.records[i];
    if (record === undefined) break;
    if (!(await write(res, frame === undefined ? record : frame(record)))) return res.destroyed && signal.aborted ? 'closed' : 'client-closed';
  }
  res.end();
  return 'complete';
}

/**
 * One SSE record as an AWS event-stream message, the way Bedrock streams Anthropic events: a
 * `chunk` event whose JSON payload carries the event's data, base64-encoded, as `bytes`.
 * Message: total length, headers length, prelude CRC32, headers, payload, message CRC32.
 */
function awsEventStreamFrame(record: string): Uint8Array {
  const data = record
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trimStart())
    .join('\n');
  const payload = Buffer.from(JSON.stringify({ bytes: Buffer.from(data, 'utf8').toString('base64') }), 'utf8');
  const headers = Buffer.concat(
    Object.entries({ ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' }).map(([name, value]) => {
      const n = Buffer.from(name, 'utf8');
      const v = Buffer.from(value, 'utf8');
      const length = Buffer.alloc(2);
      length.writeUInt16BE(v.length);
      return Buffer.concat([Buffer.from([n.length]), n, Buffer.from([7]), length, v]);
    }),
  );
  const total = 12 + headers.length + payload.length + 4;
  const prelude = Buffer.alloc(8);
  prelude.writeUInt32BE(total, 0);
  prelude.writeUInt32BE(headers.length, 4);
  const preludeCrc = Buffer.alloc(4);
  preludeCrc.writeUInt32BE(crc32(prelude));
  const body = Buffer.concat([prelude, preludeCrc, headers, payload]);
  const messageCrc = Buffer.alloc(4);
  messageCrc.writeUInt32BE(crc32(body));
  return Buffer.concat([body, messageCrc]);
}

/** CRC-32 (IEEE), as AWS event-stream messages use it (`zlib.crc32` needs Node 20.15). */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function withoutStreamOptions(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('stream_options' in body)) return body;
  const { stream_options: _ignored, ...rest } = body as Record<string, unknown>;
  return rest;
}
