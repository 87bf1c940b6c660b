/**
 * The response a Stainless SDK (openai, Anthropic) holds for a streamed call, made to read from the
 * observed body (observed-body.ts) in place of its own, which the observer reads.
 */
import { Readable } from 'node:stream';

/** What a Response offers to read its body with. */
const READ_METHODS = ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text', 'clone'] as const;

/** Where a response made to read from an observed body keeps it (see `readsFrom`). */
const OBSERVED = Symbol('token-limits.observed');

interface ObservedState {
  body: ReadableStream<Uint8Array>;
  /** A Response over `body`, made on the first use of a reading method. */
  whole: Response | undefined;
}

type ObservedResponse = Response & { [OBSERVED]: ObservedState };

function wholeOf(response: ObservedResponse): Response {
  const state = response[OBSERVED];
  return (state.whole ??= new Response(state.body, { status: response.status, statusText: response.statusText, headers: response.headers }));
}

/**
 * The properties that make a response read from the observed body kept in OBSERVED (one set for
 * all of them): once a Response over that body exists (a reading method was used), that Response
 * owns the body (a clone replaces it with one of the tee's branches).
 */
const OBSERVED_PROPERTIES: PropertyDescriptorMap = {
  body: {
    get(this: ObservedResponse) {
      const state = this[OBSERVED];
      return state.whole === undefined ? state.body : state.whole.body;
    },
    configurable: true,
  },
  bodyUsed: {
    get(this: ObservedResponse) {
      const state = this[OBSERVED];
      return state.whole === undefined ? Readable.isDisturbed(state.body as unknown as NodeJS.ReadableStream) : state.whole.bodyUsed;
    },
    configurable: true,
  },
  ...Object.fromEntries(
    READ_METHODS.map((name) => [
      name,
      {
        value(this: ObservedResponse, ...args: unknown[]) {
          return (wholeOf(this)[name] as (...a: unknown[]) => unknown)(...args);
        },
        configurable: true,
        writable: true,
      },
    ]),
  ),
};

/**
 * Makes `response` read from `body` instead of its own body (which the observer holds): `body`,
 * `bodyUsed` and the reading methods become its own properties over `body`; `instanceof`, status,
 * headers and url are unchanged. Replacing the SDK's response by a new Response instead cost a
 * streamed call 12-15 µs more latency (docs/benchmarks.md), and this way every holder of the SDK's
 * response object reads the observed body. False (nothing changed) when the response cannot take
 * the properties.
 */
export function readsFrom(response: Response, body: ReadableStream<Uint8Array>): boolean {
  if (!Object.isExtensible(response)) return false;
  try {
    Object.defineProperty(response, OBSERVED, { value: { body, whole: undefined } satisfies ObservedState });
    Object.defineProperties(response, OBSERVED_PROPERTIES);
  } catch {
    return false;
  }
  return true;
}
