/**
 * The three HTTP-date forms a recipient must accept (RFC 9110 §5.6.7). Checked before `Date.parse`,
 * which also reads text that is no date at all (`-5` is a day of 2001).
 */
const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC_850 = /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * The wait a receiver asks for in its `Retry-After` header, in ms from `now`: delta-seconds (`120`)
 * or an HTTP-date. `undefined` for no header, a malformed or negative value, or a date that has
 * passed: the webhook's own backoff applies then. Not capped here (the caller caps it).
 */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  let at: number;
  if (IMF_FIXDATE.test(value) || RFC_850.test(value)) at = Date.parse(value);
  // asctime names no zone: it is GMT, never this server's zone.
  else if (ASCTIME.test(value)) at = Date.parse(`${value} GMT`);
  else return undefined;
  return Number.isFinite(at) && at > now ? at - now : undefined;
}
