/**
 * Fault-injection knobs: validation of programmatic behaviors, parsing of `x-emulator-*` request
 * headers, and the queue of `enqueue()`d behaviors.
 */

import { validateHeaderName, validateHeaderValue } from 'node:http';

import { isRawJson, rawJson } from './json.js';
import type { BehaviorMatch, EmulatorBehavior, EmulatorEndpoint, EnqueueOptions, RecordedRequest, UsageOverride, UsageOverrideValue } from './types.js';

/** The longest delay a timer can hold (2^31 - 1 ms). */
const MAX_DELAY_MS = 2_147_483_647;

/** Prefix of the request headers that steer the emulator. */
export const KNOB_HEADER_PREFIX = 'x-emulator-';

function checkCount(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!(Number.isInteger(value) && value >= 0)) throw new RangeError(`${name} must be a non-negative integer, got ${String(value)}`);
}

/**
 * Every field of an EmulatorBehavior: any other is a typo, refused rather than ignored. A record
 * over the type's keys, so that a field added to the type and not here fails to compile.
 */
const BEHAVIOR_FIELD_RECORD: Record<keyof EmulatorBehavior, true> = {
  status: true,
  errorBody: true,
  retryAfterMs: true,
  retryAfter: true,
  shouldRetry: true,
  headers: true,
  delayMs: true,
  chunkDelayMs: true,
  disconnectAfterChunks: true,
  dropConnection: true,
  midStreamError: true,
  omitUsage: true,
  usage: true,
  reasoningTokens: true,
  cachedInputTokens: true,
  cacheCreationInputTokens: true,
  messageDeltas: true,
  hang: true,
};
const BEHAVIOR_FIELDS: ReadonlySet<string> = new Set(Object.keys(BEHAVIOR_FIELD_RECORD));

/**
 * Throw a TypeError naming the first field of `value` not in `known`. An ignored misspelt knob
 * (`{ stauts: 429 }`) let the test it was meant to break pass; the header knobs refuse theirs too.
 */
export function rejectUnknownFields(value: object, known: ReadonlySet<string>, where: string): void {
  for (const [key, field] of Object.entries(value)) {
    if (field !== undefined && !known.has(key)) throw new TypeError(`${where}: unknown field ${JSON.stringify(key)} (known: ${[...known].join(', ')})`);
  }
}

function checkBoolean(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${typeof value}`);
}

/**
 * Throw a TypeError/RangeError naming the field when `behavior` is malformed.
 * @param where prefix of the messages, e.g. `enqueue()`
 */
export function validateBehavior(behavior: unknown, where: string): asserts behavior is EmulatorBehavior {
  if (typeof behavior !== 'object' || behavior === null || Array.isArray(behavior)) {
    throw new TypeError(`${where}: the behavior must be an object`);
  }
  const b = behavior as Record<string, unknown>;
  rejectUnknownFields(b, BEHAVIOR_FIELDS, where);
  const name = (field: string): string => `${where}: ${field}`;
  if (b['status'] !== undefined) {
    if (typeof b['status'] !== 'number' || !Number.isInteger(b['status']) || b['status'] < 400 || b['status'] > 599) {
      throw new RangeError(`${name('status')} must be an integer from 400 to 599, got ${String(b['status'])}`);
    }
  }
  if (b['retryAfterMs'] !== undefined && b['retryAfterMs'] !== null) {
    if (typeof b['retryAfterMs'] !== 'number' || !Number.isFinite(b['retryAfterMs']) || b['retryAfterMs'] < 0) {
      throw new RangeError(`${name('retryAfterMs')} must be a finite non-negative number or null, got ${String(b['retryAfterMs'])}`);
    }
  }
  if (b['retryAfter'] !== undefined && typeof b['retryAfter'] !== 'number' && typeof b['retryAfter'] !== 'string') {
    throw new TypeError(`${name('retryAfter')} must be a number or a string`);
  }
  for (const field of ['delayMs', 'chunkDelayMs', 'disconnectAfterChunks', 'reasoningTokens', 'cachedInputTokens', 'cacheCreationInputTokens']) {
    checkCount(name(field), b[field]);
  }
  for (const field of ['delayMs', 'chunkDelayMs']) {
    if (typeof b[field] === 'number' && b[field] > MAX_DELAY_MS) throw new RangeError(`${name(field)} must be at most ${MAX_DELAY_MS} (use hang to never answer)`);
  }
  if (b['messageDeltas'] !== undefined) {
    checkCount(name('messageDeltas'), b['messageDeltas']);
    if (b['messageDeltas'] === 0) throw new RangeError(`${name('messageDeltas')} must be at least 1`);
  }
  for (const field of ['shouldRetry', 'dropConnection', 'omitUsage', 'hang']) checkBoolean(name(field), b[field]);
  const mid = b['midStreamError'];
  if (mid !== undefined && typeof mid !== 'boolean') {
    if (typeof mid !== 'object' || mid === null) throw new TypeError(`${name('midStreamError')} must be a boolean or an object`);
    const m = mid as Record<string, unknown>;
    rejectUnknownFields(m, new Set(['afterChunks', 'message']), name('midStreamError'));
    checkCount(name('midStreamError.afterChunks'), m['afterChunks']);
    if (m['message'] !== undefined && typeof m['message'] !== 'string') throw new TypeError(`${name('midStreamError.message')} must be a string`);
  }
  if (b['usage'] !== undefined && (typeof b['usage'] !== 'object' || b['usage'] === null || Array.isArray(b['usage']))) {
    throw new TypeError(`${name('usage')} must be an object`);
  }
  const headers = b['headers'];
  if (headers !== undefined) {
    if (typeof headers !== 'object' || headers === null) throw new TypeError(`${name('headers')} must be an object`);
    for (const [key, value] of Object.entries(headers)) {
      if (typeof value !== 'string') throw new TypeError(`${name(`headers.${key}`)} must be a string`);
      // Checked here, not when answering: writeHead threw there, and the request got a bare 500.
      try {
        validateHeaderName(key);
        validateHeaderValue(key, value);
      } catch {
        throw new TypeError(`${name('headers')}: ${JSON.stringify(key)}: ${JSON.stringify(value)} is not a valid HTTP header`);
      }
    }
  }
}

/** Merge behaviors field by field, later ones winning (`headers` and `usage` merge too). */
export function mergeBehaviors(...behaviors: ReadonlyArray<EmulatorBehavior | undefined>): EmulatorBehavior {
  const out: EmulatorBehavior = {};
  for (const behavior of behaviors) {
    if (behavior === undefined) continue;
    const { headers, usage, ...rest } = behavior;
    Object.assign(out, rest);
    if (headers !== undefined) out.headers = { ...out.headers, ...headers };
    if (usage !== undefined) out.usage = { ...out.usage, ...usage };
  }
  return out;
}

/** A header knob with a bad value: answered with 400. */
export class KnobHeaderError extends Error {
  override readonly name = 'KnobHeaderError';
}

function parseCount(header: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || n > max) throw new KnobHeaderError(`${header}: expected an integer from 0 to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

function parseBool(header: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === '') return true;
  if (v === 'false' || v === '0') return false;
  throw new KnobHeaderError(`${header}: expected true or false, got ${JSON.stringify(value)}`);
}

/** Split `a=1,b="x,y",c.d=2` at top-level commas (commas inside double quotes are kept). */
function splitAssignments(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"' && text[i - 1] !== '\\') quoted = !quoted;
    if (ch === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

/** Parse the `x-emulator-usage` header: `path=rawJsonValue` pairs, dots for nesting, empty value removes. */
export function parseUsageHeader(header: string, value: string): UsageOverride {
  const out: UsageOverride = {};
  for (const assignment of splitAssignments(value)) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new KnobHeaderError(`${header}: expected field=value pairs, got ${JSON.stringify(assignment)}`);
    const path = assignment.slice(0, eq).trim().split('.');
    const raw = assignment.slice(eq + 1).trim();
    let target: UsageOverride = out;
    for (const key of path.slice(0, -1)) {
      const next: UsageOverrideValue = target[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next) || isRawJson(next)) target[key] = {};
      target = target[key] as UsageOverride;
    }
    const leaf = path[path.length - 1] ?? '';
    if (leaf === '') throw new KnobHeaderError(`${header}: empty field name in ${JSON.stringify(assignment)}`);
    target[leaf] = raw === '' ? undefined : rawJson(raw);
  }
  return out;
}

/** Parse every `x-emulator-*` header into a behavior. @throws KnobHeaderError on unknown headers or bad values */
export function behaviorFromHeaders(headers: Record<string, string>): EmulatorBehavior {
  const b: EmulatorBehavior = {};
  for (const [header, value] of Object.entries(headers)) {
    if (!header.startsWith(KNOB_HEADER_PREFIX)) continue;
    const knob = header.slice(KNOB_HEADER_PREFIX.length);
    switch (knob) {
      case 'status': {
        const status = parseCount(header, value);
        if (status < 400 || status > 599) throw new KnobHeaderError(`${header}: expected 400-599, got ${value}`);
        b.status = status;
        break;
      }
      case 'error-body':
        try {
          b.errorBody = JSON.parse(value);
        } catch {
          throw new KnobHeaderError(`${header}: not JSON`);
        }
        break;
      case 'retry-after-ms':
        b.retryAfterMs = value.trim() === 'none' ? null : Number(value);
        if (b.retryAfterMs !== null && !(Number.isFinite(b.retryAfterMs) && b.retryAfterMs >= 0)) {
          throw new KnobHeaderError(`${header}: expected a non-negative number or none, got ${JSON.stringify(value)}`);
        }
        break;
      case 'retry-after':
        b.retryAfter = value.trim();
        break;
      case 'should-retry':
        b.shouldRetry = parseBool(header, value);
        break;
      case 'delay-ms':
        b.delayMs = parseCount(header, value, MAX_DELAY_MS);
        break;
      case 'chunk-delay-ms':
        b.chunkDelayMs = parseCount(header, value, MAX_DELAY_MS);
        break;
      case 'disconnect-after-chunks':
        b.disconnectAfterChunks = parseCount(header, value);
        break;
      case 'drop-connection':
        b.dropConnection = parseBool(header, value);
        break;
      case 'mid-stream-error':
        b.midStreamError = value.trim() === 'true' || value.trim() === '' ? true : { afterChunks: parseCount(header, value) };
        break;
      case 'omit-usage':
        b.omitUsage = parseBool(header, value);
        break;
      case 'usage':
        b.usage = parseUsageHeader(header, value);
        break;
      case 'reasoning-tokens':
        b.reasoningTokens = parseCount(header, value);
        break;
      case 'cached-tokens':
        b.cachedInputTokens = parseCount(header, value);
        break;
      case 'cache-creation-tokens':
        b.cacheCreationInputTokens = parseCount(header, value);
        break;
      case 'message-deltas': {
        const deltas = parseCount(header, value);
        if (deltas < 1) throw new KnobHeaderError(`${header}: must be at least 1`);
        b.messageDeltas = deltas;
        break;
      }
      case 'hang':
        b.hang = parseBool(header, value);
        break;
      default:
        throw new KnobHeaderError(`unknown emulator header ${header}`);
    }
  }
  return b;
}

interface QueueEntry {
  behavior: EmulatorBehavior;
  remaining: number;
  match: BehaviorMatch;
}

function stripModelsPrefix(model: string): string {
  return model.startsWith('models/') ? model.slice('models/'.length) : model;
}

function matches(match: BehaviorMatch, request: RecordedRequest): boolean {
  if (match.provider !== undefined && match.provider !== request.provider) return false;
  if (match.endpoint !== undefined) {
    const endpoints: readonly string[] = typeof match.endpoint === 'string' ? [match.endpoint] : match.endpoint;
    if (!endpoints.includes(request.endpoint)) return false;
  }
  if (match.model !== undefined && (request.model === undefined || stripModelsPrefix(match.model) !== stripModelsPrefix(request.model))) return false;
  if (match.stream !== undefined && match.stream !== request.stream) return false;
  if (match.where !== undefined && !match.where(request)) return false;
  return true;
}

const PROVIDERS: ReadonlySet<string> = new Set(['openai', 'anthropic', 'google']);

/** Every endpoint name, as a record over the type so that one added there and not here fails to compile. */
const ENDPOINT_RECORD: Record<EmulatorEndpoint, true> = {
  'chat.completions': true,
  responses: true,
  'responses.input_tokens': true,
  'responses.compact': true,
  completions: true,
  embeddings: true,
  messages: true,
  'messages.count_tokens': true,
  generateContent: true,
  streamGenerateContent: true,
  countTokens: true,
  embedContent: true,
  batchEmbedContents: true,
};
const ENDPOINTS: ReadonlySet<string> = new Set(Object.keys(ENDPOINT_RECORD));

/** Throw a TypeError naming the field when enqueue()'s options are malformed (`times` is checked by the caller). */
function validateEnqueueOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new TypeError('enqueue(): the options must be an object');
  rejectUnknownFields(options, new Set(['times', 'match']), 'enqueue() options');
  const match = (options as Record<string, unknown>)['match'];
  if (match === undefined) return;
  if (typeof match !== 'object' || match === null || Array.isArray(match)) throw new TypeError('enqueue(): match must be an object');
  rejectUnknownFields(match, new Set(['provider', 'endpoint', 'model', 'stream', 'where']), 'enqueue(): match');
  const m = match as Record<string, unknown>;
  // A provider no request has would keep the entry waiting for ever, silently.
  if (m['provider'] !== undefined && (typeof m['provider'] !== 'string' || !PROVIDERS.has(m['provider']))) {
    throw new TypeError(`enqueue(): match.provider must be one of ${[...PROVIDERS].join(', ')}, got ${JSON.stringify(m['provider'])}`);
  }
  const endpoint = m['endpoint'];
  if (endpoint !== undefined && typeof endpoint !== 'string' && !(Array.isArray(endpoint) && endpoint.every((e) => typeof e === 'string'))) {
    throw new TypeError('enqueue(): match.endpoint must be a string or an array of strings');
  }
  // A name no request has (`chat.completion`), or none at all, would keep the entry waiting for
  // ever, silently, like an unknown provider.
  if (endpoint !== undefined) {
    const names: readonly string[] = typeof endpoint === 'string' ? [endpoint] : endpoint;
    if (names.length === 0) throw new TypeError('enqueue(): match.endpoint must name at least one endpoint');
    const unknown = names.find((name) => !ENDPOINTS.has(name));
    if (unknown !== undefined) throw new TypeError(`enqueue(): match.endpoint ${JSON.stringify(unknown)} is no endpoint of the emulator (known: ${[...ENDPOINTS].join(', ')})`);
  }
  if (m['model'] !== undefined && typeof m['model'] !== 'string') throw new TypeError('enqueue(): match.model must be a string');
  checkBoolean('enqueue(): match.stream', m['stream']);
  if (m['where'] !== undefined && typeof m['where'] !== 'function') throw new TypeError('enqueue(): match.where must be a function');
}

/** A copy of a behavior, down to its `headers` and `usage` maps (a caller may change theirs later). */
export function copyBehavior(behavior: EmulatorBehavior): EmulatorBehavior {
  const copy: EmulatorBehavior = { ...behavior };
  if (behavior.headers !== undefined) copy.headers = { ...behavior.headers };
  if (behavior.usage !== undefined) copy.usage = { ...behavior.usage };
  return copy;
}

/** First-in, first-out behaviors for the next matching requests. */
export class BehaviorQueue {
  #entries: QueueEntry[] = [];

  add(behavior: EmulatorBehavior, options: EnqueueOptions = {}): void {
    validateBehavior(behavior, 'enqueue()');
    validateEnqueueOptions(options);
    const times = options.times ?? 1;
    if (typeof times !== 'number') throw new TypeError(`enqueue(): times must be a number, got ${typeof times}`);
    // 0 is refused too: an entry for no request is a mistake in the test (a count computed as 0),
    // and a silent no-op would let it pass without the fault it meant to inject.
    if (!(times === Infinity || (Number.isInteger(times) && times >= 1))) {
      throw new RangeError(`enqueue(): times must be a whole number from 1, or Infinity, got ${String(times)}`);
    }
    this.#entries.push({ behavior: copyBehavior(behavior), remaining: times, match: { ...options.match } });
  }

  /** Take the behavior of the first entry matching `request` (consuming one use), if any. */
  take(request: RecordedRequest): EmulatorBehavior | undefined {
    const index = this.#entries.findIndex((entry) => matches(entry.match, request));
    const entry = this.#entries[index];
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#entries.splice(index, 1);
    return entry.behavior;
  }

  clear(): void {
    this.#entries = [];
  }
}
