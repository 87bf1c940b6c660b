/**
 * Checks of the connection URLs the CLI is given. A URL of another scheme was not refused: pg
 * read `mysql://...` as PostgreSQL's, and ioredis took `http://user:secret@host` for a Unix
 * socket path, whose connection errors then printed the whole URL, password included. The
 * messages here name the option and the scheme, never the URL: it may hold a password.
 */

/**
 * The problem with `url` as the value of `--<option>`, or undefined when it is usable.
 * @param schemes the accepted URL schemes, without `:`; a path (`/run/redis.sock`) is accepted too
 */
export function connectionUrlProblem(url: string, option: string, schemes: readonly string[]): string | undefined {
  if (url.startsWith('/')) return undefined;
  const expected = `a URL of scheme ${schemes.map((s) => `${s}:`).join(' or ')}`;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return `--${option} must be ${expected}`;
  if (!schemes.includes(scheme)) return `--${option} must be ${expected}, not ${scheme}:`;
  try {
    new URL(url);
  } catch {
    return `--${option} is not a valid URL (a port that is no number? characters to percent-encode in the password?)`;
  }
  return undefined;
}
