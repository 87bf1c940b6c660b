/**
 * What the webhook may say about its own configuration in errors and log lines: the receiver's
 * origin, never its credentials, path, query string, fragment, header values or the secret.
 */

/** A URL as errors show it: its origin (`https://hooks.example.com`), or `[url]` when it has none. */
export function redactUrl(url: URL | string): string {
  try {
    const { origin } = typeof url === 'string' ? new URL(url) : url;
    return origin === 'null' ? '[url]' : origin;
  } catch {
    return '[url]';
  }
}

// Anything that looks like an absolute URL in free text (ends at whitespace or a quote).
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/** Replaces every URL in `text` by its origin. */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (match) => redactUrl(match));
}

const WITHHELD = '[message withheld: it quoted the webhook configuration]';
const SAFE_WORD = /^[\w$.-]{1,64}$/;
const MAX_DEPTH = 4;

/**
 * A copy of an error thrown by `fetch`, safe to hand to `onError` and loggers: URLs are cut to their
 * origin, and a message that still contains one of `sensitive` (the secret, the URL's path, query and
 * parameter values, header values) is withheld whole rather than patched, so no substring of a secret
 * survives. Only `name`, `code` (when they are plain words) and the redacted message are kept, down
 * the `cause` chain; the original error (whose stack and fields may quote the request) is dropped.
 */
export function redactError(error: unknown, sensitive: readonly string[], depth = 0): Error {
  const source = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown };
  const clean = (word: unknown): string | undefined =>
    typeof word === 'string' && SAFE_WORD.test(word) && !sensitive.some((s) => word.includes(s)) ? word : undefined;
  const raw = typeof source.message === 'string' ? source.message : typeof error === 'object' && error !== null ? '' : String(error);
  let message = redactUrlsIn(raw);
  if (sensitive.some((s) => message.includes(s))) message = WITHHELD;
  const cause = depth < MAX_DEPTH && source.cause !== undefined ? redactError(source.cause, sensitive, depth + 1) : undefined;
  const copy = new Error(message, cause === undefined ? undefined : { cause });
  copy.name = clean(source.name) ?? 'Error';
  const code = clean(source.code);
  if (code !== undefined) Object.defineProperty(copy, 'code', { value: code, enumerable: true });
  return copy;
}

/**
 * The strings of a webhook configuration that must never appear in an error: the secret, header
 * values, and the URL's path (when it is more than `/`), query string, parameter values and fragment.
 * Empty strings are left out (they would match everything).
 */
export function sensitiveStrings(url: URL, secret: string, headerValues: readonly string[]): string[] {
  const out = new Set<string>([secret, ...headerValues]);
  if (url.pathname !== '/') out.add(url.pathname);
  if (url.search !== '') out.add(url.search.slice(1));
  for (const value of url.searchParams.values()) out.add(value);
  if (url.hash !== '') out.add(url.hash.slice(1));
  out.delete('');
  return [...out];
}
