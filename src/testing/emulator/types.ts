/**
 * Public types of the provider emulator (`token-limits/testing`). Over 300 lines: they are the
 * documentation of its options, read as one reference.
 */


/** The provider family an emulated endpoint belongs to. */
export type EmulatorProvider = 'openai' | 'anthropic' | 'google';

/** Names of the OpenAI endpoints the emulator serves (the path below `/v1/`, dots for slashes). */
export type OpenAIEndpoint =
  | 'chat.completions'
  | 'responses'
  | 'responses.input_tokens'
  | 'responses.compact'
  | 'completions'
  | 'embeddings';

/** Names of the Anthropic endpoints the emulator serves. */
export type AnthropicEndpoint = 'messages' | 'messages.count_tokens';

/** Names of the Gemini endpoints the emulator serves (the method after `:` in the path). */
export type GoogleEndpoint =
  | 'generateContent'
  | 'streamGenerateContent'
  | 'countTokens'
  | 'embedContent'
  | 'batchEmbedContents';

/** Every endpoint name the emulator knows. */
export type EmulatorEndpoint = OpenAIEndpoint | AnthropicEndpoint | GoogleEndpoint;

/**
 * A value of a usage override: written into the usage object as given. `undefined` removes the
 * field, a nested object is merged into the nested usage object, {@link RawJson} (from
 * `rawJson('1e309')`) writes its text verbatim, `NaN` is written as the bare token `NaN` (making the
 * body invalid JSON) and `±Infinity` as `±1e309` (which `JSON.parse` reads back as `±Infinity`).
 */
export type UsageOverrideValue =
  | number
  | string
  | boolean
  | null
  | undefined
  | RawJson
  | UsageOverride
  | readonly UsageOverrideValue[];

/**
 * Fields merged into the provider-shaped usage object the emulator sends (e.g. OpenAI
 * `{ prompt_tokens: -1 }`, Anthropic `{ output_tokens: '12' }`, Gemini `{ promptTokenCount: null }`).
 */
export interface UsageOverride {
  [field: string]: UsageOverrideValue;
}

/** An in-stream error record written in the provider's own format. */
export interface MidStreamError {
  /**
   * How many stream records are written before the error record.
   * @default 1
   */
  afterChunks?: number;
  /**
   * The error message.
   * @default 'Emulated mid-stream error'
   */
  message?: string;
}

/**
 * What the emulator does with one request. Every field is optional; an empty behavior is a normal,
 * successful answer. Behaviors are merged field by field: `setDefault()` < matching `enqueue()` entry <
 * `x-emulator-*` request headers.
 */
export interface EmulatorBehavior {
  /**
   * Answer with this HTTP status (≥ 400) and the provider's real error body format, instead of a
   * normal reply. Statuses 408, 409, 429 and ≥ 500 are retried by the Stainless SDKs (OpenAI,
   * Anthropic). Header: `x-emulator-status`.
   */
  status?: number;
  /**
   * Replace the generated error body (used with {@link EmulatorBehavior.status}); serialized as JSON.
   */
  errorBody?: unknown;
  /**
   * Value of the `retry-after-ms` response header sent with error statuses. `null` sends none.
   * Header: `x-emulator-retry-after-ms`.
   * @default 10 for 408, 409, 429 and ≥ 500; none otherwise
   */
  retryAfterMs?: number | null;
  /**
   * Value of the `retry-after` header (seconds; fractions are allowed and honoured by the Stainless
   * SDKs) sent with error statuses. Header: `x-emulator-retry-after`.
   * @default not sent
   */
  retryAfter?: number | string;
  /**
   * Value of the `x-should-retry` header sent with error statuses (the Stainless SDKs obey it).
   * Header: `x-emulator-should-retry: true|false`.
   * @default not sent
   */
  shouldRetry?: boolean;
  /** Extra response headers, sent with every answer (success or error). */
  headers?: Readonly<Record<string, string>>;
  /**
   * Wait this long before sending the response headers. Header: `x-emulator-delay-ms`.
   * @default 0
   */
  delayMs?: number;
  /**
   * Wait this long before each stream record after the first. Header: `x-emulator-chunk-delay-ms`.
   * @default 0
   */
  chunkDelayMs?: number;
  /**
   * Send the status line, the headers and this many stream records, then destroy the socket. For a
   * non-streaming answer, `0` destroys it after the headers and any other value after half the body.
   * Header: `x-emulator-disconnect-after-chunks`.
   */
  disconnectAfterChunks?: number;
  /**
   * Destroy the socket as soon as the request has been read, without any answer (a connection
   * error: the Stainless SDKs retry it). Header: `x-emulator-drop-connection: true`.
   */
  dropConnection?: boolean;
  /**
   * In a stream, write the provider's in-stream error record after some records and end the stream.
   * Ignored for non-streaming answers. `true` means `{}`. Header: `x-emulator-mid-stream-error: <afterChunks>`.
   */
  midStreamError?: boolean | MidStreamError;
  /**
   * Send no usage: no `usage` in OpenAI/Anthropic bodies, no OpenAI usage chunk, no `usage` in the
   * Responses `response.completed` event, no usage in Anthropic `message_start`/`message_delta`,
   * no `usageMetadata` in Gemini answers. Header: `x-emulator-omit-usage: true`.
   */
  omitUsage?: boolean;
  /**
   * Fields merged into every usage object sent (after the knobs below are applied). Header:
   * `x-emulator-usage: prompt_tokens=-1,completion_tokens="12",prompt_tokens_details.cached_tokens=1e309`
   * (each value is written into the JSON verbatim; an empty value removes the field).
   */
  usage?: UsageOverride;
  /**
   * Reasoning tokens: OpenAI `completion_tokens_details.reasoning_tokens` /
   * `output_tokens_details.reasoning_tokens` (added to the output tokens, as OpenAI bills them),
   * Anthropic `output_tokens_details.thinking_tokens` (added to `output_tokens`), Gemini
   * `thoughtsTokenCount` (separate from `candidatesTokenCount`, added to `totalTokenCount`).
   * Header: `x-emulator-reasoning-tokens`.
   * @default 0
   */
  reasoningTokens?: number;
  /**
   * Cached input tokens (part of the prompt): OpenAI `cached_tokens`, Anthropic
   * `cache_read_input_tokens` (taken out of `input_tokens`, as Anthropic reports them), Gemini
   * `cachedContentTokenCount`. Clamped to the prompt size. Header: `x-emulator-cached-tokens`.
   * @default 0
   */
  cachedInputTokens?: number;
  /**
   * Anthropic `cache_creation_input_tokens` (taken out of `input_tokens`); ignored by the other
   * providers. Clamped to what is left of the prompt. Header: `x-emulator-cache-creation-tokens`.
   * @default 0
   */
  cacheCreationInputTokens?: number;
  /**
   * Anthropic streams: the number of `message_delta` events, each with the cumulative
   * `output_tokens` so far (the last one has the total and the `stop_reason`). Header:
   * `x-emulator-message-deltas`.
   * @default 1
   */
  messageDeltas?: number;
  /**
   * Accept the request and never answer, until `close()`. Header: `x-emulator-hang: true`.
   */
  hang?: boolean;
}

/** Which requests an `enqueue()`d behavior applies to; every given field must match. */
export interface BehaviorMatch {
  /** Only requests to this provider. */
  provider?: EmulatorProvider;
  /** Only requests to this endpoint (or one of these). */
  endpoint?: EmulatorEndpoint | readonly EmulatorEndpoint[];
  /** Only requests for this model (compared without a leading `models/`). */
  model?: string;
  /** Only streaming (`true`) or non-streaming (`false`) requests. */
  stream?: boolean;
  /** Any other condition, tested last. */
  where?: (request: RecordedRequest) => boolean;
}

/** Options of `enqueue()`. */
export interface EnqueueOptions {
  /**
   * How many matching requests get the behavior: a whole number from 1, or `Infinity` for all,
   * until `reset()`. Anything else (0, negative, fractional, `NaN`) throws a `RangeError`, a
   * non-number a `TypeError`, and nothing is queued.
   * @default 1
   */
  times?: number;
  /** Which requests it applies to. @default every request */
  match?: BehaviorMatch;
}

/**
 * Usage of one request as the emulator accounts it, normalised across providers. Input counts
 * the whole prompt (for Anthropic: `input_tokens + cache_read_input_tokens +
 * cache_creation_input_tokens`); output counts every billed output token (for Gemini:
 * `candidatesTokenCount + thoughtsTokenCount`).
 */
export interface EmulatorUsage {
  /** The whole prompt, cached parts included. */
  inputTokens: number;
  /** Every billed output token, reasoning included. */
  outputTokens: number;
  /** The part of `inputTokens` read from a cache. */
  cachedInputTokens: number;
  /** The part of `inputTokens` written to a cache (Anthropic only). */
  cacheCreationInputTokens: number;
  /** The part of `outputTokens` spent on reasoning/thinking. */
  reasoningTokens: number;
  /** `inputTokens + outputTokens`. */
  totalTokens: number;
}

/**
 * How an answer ended: `complete`; `disconnected` (socket destroyed by `disconnectAfterChunks`);
 * `stream-error` (ended by `midStreamError`); `client-closed` (the client went away first, e.g. an
 * aborted stream); `dropped` (`dropConnection`); `hung` (`hang`); `closed` (cut short by `close()`).
 */
export type ReplyOutcome = 'complete' | 'disconnected' | 'stream-error' | 'client-closed' | 'dropped' | 'hung' | 'closed';

/** What the emulator answered to a recorded request. */
export interface RecordedReply {
  /** The HTTP status sent (0 when nothing was sent: dropped, hung, or closed during `delayMs`). */
  status: number;
  /** How the answer ended. */
  outcome: ReplyOutcome;
  /**
   * The usage the answer meant to report, before `usage` overrides; `undefined` for errors,
   * count and embedding-less endpoints. For count endpoints `inputTokens` is the count.
   */
  usage?: EmulatorUsage;
  /** The generated reply text (or tool-call arguments), when there is one. */
  text?: string;
}

/** One HTTP attempt received by the emulator (SDK retries are separate entries). */
export interface RecordedRequest {
  /** 1-based arrival number within this emulator (not reset by `clearRequests()`). */
  seq: number;
  /** The HTTP method, e.g. `POST`. */
  method: string;
  /** The URL path without the query, e.g. `/v1/chat/completions`. */
  path: string;
  /** Query parameters (`?alt=sse`, `?beta=true`, `?key=…`). */
  query: Record<string, string>;
  /** Request headers, lower-cased names, repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The parsed JSON body (`undefined` when empty or not JSON; see `rawBody`). */
  body: unknown;
  /** The body as received. */
  rawBody: string;
  /** The provider of the endpoint, or `'unknown'` for unrouted paths. */
  provider: EmulatorProvider | 'unknown';
  /** The endpoint name, or `'unknown'`. */
  endpoint: EmulatorEndpoint | 'unknown';
  /** The model (from the body, or the Gemini path without `models/`). */
  model: string | undefined;
  /** Whether the request asked for a stream. */
  stream: boolean;
  /** Wall-clock arrival time, ms since the epoch (`Date.now()`). */
  time: number;
  /** The behavior applied after merging default, queue and headers. */
  behavior: EmulatorBehavior;
  /** Set once the answer is complete (or abandoned). */
  reply?: RecordedReply;
}

/** Options of `startEmulator()`. */
export interface EmulatorOptions {
  /**
   * TCP port on 127.0.0.1.
   * @default 0 (an ephemeral port)
   */
  port?: number;
  /** Behavior for every request (same as calling `setDefault()`). @default `{}` */
  defaultBehavior?: EmulatorBehavior;
  /**
   * Source of the timestamps written in response bodies (`created`, `created_at`), in ms since the
   * epoch. Pass a fake clock's `now` to control them.
   * @default a constant (2025-01-01T00:00:00Z), so bodies do not vary between runs
   */
  clock?: () => number;
  /**
   * Answer 401 (403 for Google) in the provider's format when a request has no credentials.
   * @default true
   */
  requireAuth?: boolean;
  /**
   * Obey `x-emulator-*` request headers.
   * @default true
   */
  headerKnobs?: boolean;
  /**
   * Length of embedding vectors when the request gives no `dimensions` /
   * `outputDimensionality`.
   * @default 8
   */
  embeddingDimensions?: number;
}

/** A running emulator. */
export interface Emulator {
  /** The origin, e.g. `http://127.0.0.1:54321`. */
  readonly url: string;
  /** `url + '/v1'`: the `baseURL` for `new OpenAI()`. */
  readonly openaiBaseURL: string;
  /** `url`: the `baseURL` for `new Anthropic()`. */
  readonly anthropicBaseURL: string;
  /** `url`: the `baseUrl` for `@google/generative-ai` request options and `@google/genai` `httpOptions`. */
  readonly googleBaseUrl: string;
  /** Every HTTP attempt received, in arrival order. Cleared in place by `clearRequests()`/`reset()`. */
  readonly requests: RecordedRequest[];
  /** Apply `behavior` to the next matching request(s); entries are consumed first in, first out. */
  enqueue(behavior: EmulatorBehavior, options?: EnqueueOptions): void;
  /** Replace the behavior applied to every request (below queue entries and headers). */
  setDefault(behavior: EmulatorBehavior): void;
  /** Forget the recorded requests. */
  clearRequests(): void;
  /**
   * Forget the recorded requests and the queue, and go back to the `defaultBehavior` given to
   * `startEmulator()` (undoing `setDefault()`): what tests did, not how the emulator was started,
   * so a suite can call it in `beforeEach`.
   */
  reset(): void;
  /**
   * Resolve once at least `count` requests have been recorded since the last clear.
   * @param options.timeoutMs reject after this long (default 5000)
   */
  waitForRequests(count: number, options?: { timeoutMs?: number }): Promise<RecordedRequest[]>;
  /** Stop the server, end hanging requests and destroy open sockets. Idempotent. */
  close(): Promise<void>;
}

/** Brands {@link RawJson} (the value behind it is private to json.ts). */
declare const RAW_JSON: unique symbol;

/** Text written verbatim into an emulated JSON body. Create it with {@link rawJson}. */
export interface RawJson {
  readonly [RAW_JSON]: string;
}
