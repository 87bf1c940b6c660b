/**
 * The path and query of an HTTP request target as it was sent: neither decoded nor normalised.
 * A Fetch `Request` cannot give that (its URL parser removes `.` and `..` segments), and the admin
 * API must see `/users/../usage` as the user `..`, not as `/usage`.
 */
export interface RequestTarget {
  /** Starts with `/`; still percent-encoded; dot segments kept. */
  path: string;
  /** Without the `?`. */
  query: string;
}

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/**
 * Splits a request target (`req.url` of node:http and Express): origin-form `/a/b?q`, or
 * absolute-form `http://host/a/b?q` (its path). `undefined` for anything else (`*`, authority-form).
 */
export function splitRequestTarget(target: string): RequestTarget | undefined {
  let rest = target;
  const absolute = ABSOLUTE_FORM.exec(target);
  if (absolute !== null) {
    rest = target.slice(absolute[0].length);
    if (!rest.startsWith('/')) rest = `/${rest}`;
  }
  rest = rest.split('#', 1)[0]!;
  if (!rest.startsWith('/')) return undefined;
  const q = rest.indexOf('?');
  return q === -1 ? { path: rest, query: '' } : { path: rest.slice(0, q), query: rest.slice(q + 1) };
}
