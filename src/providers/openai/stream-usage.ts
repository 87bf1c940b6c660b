/**
 * Usage of chat and legacy completion streams: asked for where the caller did not, and hidden from
 * a caller who did not ask for it.
 */
import type { Binding } from '../shared/binding.js';
import { eventJson, type SseEvent } from '../shared/sse.js';
import type { StainlessEndpoint } from '../shared/stainless.js';
import { asObject } from '../shared/usage.js';

/**
 * Chat and legacy completion streams report usage only with `stream_options.include_usage`. The
 * wrapper asks for it when the caller did not, then hides what the caller did not ask for: the
 * extra last chunk (`choices: []` with usage) and the `"usage": null` of the other chunks. With
 * `includeStreamUsage: false` the request is left as it is (the stream is charged by estimate).
 */
export function askForStreamUsage(params: Record<string, unknown>, binding: Binding): ReturnType<NonNullable<StainlessEndpoint['prepare']>> {
  if (params.stream !== true || binding.options.includeStreamUsage === false) return { params };
  const options = asObject(params.stream_options);
  if (options?.include_usage === true) return { params };
  return {
    params: { ...params, stream_options: { ...options, include_usage: true } },
    rewrite(event: SseEvent) {
      const { data } = event;
      // Most chunks: `"usage":null` is their last member (OpenAI's field order). The final `}` of
      // an object's text closes the top-level object, so the member just before it is top-level:
      // it is cut from the text as it is, with no JSON parse and re-serialization per chunk.
      const cut = usageNullAtEnd(data);
      if (cut >= 0 && !data.includes('\n')) return `${event.event === undefined ? '' : `event: ${event.event}\n`}data: ${data.slice(0, cut)}}\n\n`;
      // OpenAI's default: `"usage":null` followed by a last `"obfuscation":"..."` member.
      const member = cut < 0 ? usageNullBeforeObfuscation(data) : undefined;
      if (member !== undefined && !data.includes('\n')) {
        return `${event.event === undefined ? '' : `event: ${event.event}\n`}data: ${data.slice(0, member[0])}${data.slice(member[1])}\n\n`;
      }
      if (!data.includes('"usage"')) return undefined;
      const chunk = asObject(eventJson(event));
      if (!chunk || !('usage' in chunk)) return undefined;
      if (Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage !== null) return null;
      if (chunk.usage !== null) return undefined;
      const { usage: _hidden, ...rest } = chunk;
      return `${event.event === undefined ? '' : `event: ${event.event}\n`}data: ${JSON.stringify(rest)}\n\n`;
    },
  };
}

/**
 * Whether the requests of `client` may carry the fields Azure OpenAI added in api-version
 * 2024-09-01-preview (GA: 2024-10-21): `stream_options` and `max_completion_tokens`. Before it,
 * Azure refuses a request carrying either (400 "Unrecognized request argument supplied"); a client
 * of such a version (the `api-version` of its default query, as `AzureOpenAI` sets it) must send
 * its streams as written, and an output maximum as `max_tokens`. Any other client, and a version
 * not named by a date (`preview`, `latest`), takes them.
 */
export function takesNewerFields(client: object): boolean {
  const defaultQuery = (client as { defaultQuery?: unknown }).defaultQuery;
  let version: unknown;
  try {
    version = typeof defaultQuery === 'function' ? asObject(defaultQuery.call(client))?.['api-version'] : undefined;
  } catch {
    version = undefined;
  }
  const date = typeof version === 'string' ? /^\d{4}-\d{2}-\d{2}/.exec(version)?.[0] : undefined;
  return date === undefined || date >= '2024-09-01';
}

/**
 * Where a chunk's JSON ends with `, "usage": null }` (JSON whitespace anywhere between): the index
 * of that comma, or -1. Read backwards from the end: a regular expression tried every comma of
 * every chunk.
 */
export function usageNullAtEnd(data: string): number {
  let at = skipSpaceBack(data, data.length);
  for (const token of USAGE_NULL_TOKENS) {
    if (at < token.length || !data.startsWith(token, at - token.length)) return -1;
    at = skipSpaceBack(data, at - token.length);
  }
  return at > 0 && data.charCodeAt(at - 1) === 44 /* , */ ? at - 1 : -1;
}

/**
 * Where a chunk's JSON ends with `, "usage": null, "obfuscation": "<characters>" }` (OpenAI adds the
 * obfuscation member to every chunk unless `stream_options.include_obfuscation` is false): the
 * range `[start, end)` to cut, from the comma before `"usage"` to the comma before
 * `"obfuscation"`, or undefined. A value with a backslash is left to the parse.
 */
export function usageNullBeforeObfuscation(data: string): [number, number] | undefined {
  let at = skipSpaceBack(data, data.length);
  if (at < 2 || data.charCodeAt(at - 1) !== 125 /* } */) return undefined;
  at = skipSpaceBack(data, at - 1);
  if (at < 1 || data.charCodeAt(at - 1) !== 34 /* " */) return undefined;
  const open = data.lastIndexOf('"', at - 2);
  if (open < 0) return undefined;
  for (let i = open + 1; i < at - 1; i += 1) if (data.charCodeAt(i) === 92 /* backslash */) return undefined;
  at = skipSpaceBack(data, open);
  if (at < 1 || data.charCodeAt(at - 1) !== 58 /* : */) return undefined;
  at = skipSpaceBack(data, at - 1);
  if (!data.startsWith(OBFUSCATION, at - OBFUSCATION.length)) return undefined;
  at = skipSpaceBack(data, at - OBFUSCATION.length);
  if (at < 1 || data.charCodeAt(at - 1) !== 44 /* , */) return undefined;
  const end = at - 1;
  const start = usageNullAtEnd(`${data.slice(0, end)}}`);
  return start < 0 ? undefined : [start, end];
}

const OBFUSCATION = '"obfuscation"';

/** The tokens of `"usage": null }`, last first. */
const USAGE_NULL_TOKENS = ['}', 'null', ':', '"usage"'];

/** The index just after the last non-whitespace (JSON whitespace) character before `end`. */
function skipSpaceBack(text: string, end: number): number {
  let at = end;
  for (;;) {
    const c = text.charCodeAt(at - 1);
    if (c === 32 || c === 10 || c === 13 || c === 9) at -= 1;
    else return at;
  }
}
