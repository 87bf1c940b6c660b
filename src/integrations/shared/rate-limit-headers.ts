/**
 * `Retry-After` and the IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-11):
 *
 *   RateLimit-Policy: "monthly";q=100000;w=2592000
 *   RateLimit: "monthly";r=0;t=3600
 *
 * Both are Structured Field lists of items whose value is the policy name (a String). `q` is the
 * quota, `w` the window in seconds, `r` what is left, `t` the seconds until the window ends. The
 * draft's units registry has no "tokens", so `qu` is omitted; the unit is the rule's (tokens or
 * requests; micro-dollars for cost rules, since `q` and `r` must be integers).
 */

export interface RateLimitState {
  ruleId: string;
  metric: 'tokens' | 'requests' | 'costUsd';
  limit: number;
  remaining: number;
  resetAt: Date;
  periodStart: Date | undefined;
}

/** Seconds from `now` until `date`, rounded up, never negative (HTTP delay-seconds). */
export function secondsUntil(date: Date, now: number): number {
  return Math.max(0, Math.ceil((date.getTime() - now) / 1000));
}

/** A Structured Field String (RFC 9651 §3.3.3): printable ASCII with `"` and `\` escaped. */
export function sfString(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return `"${printable.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function units(metric: RateLimitState['metric'], value: number, round: 'down' | 'nearest'): number {
  const scaled = metric === 'costUsd' ? value * 1_000_000 : value;
  const n = round === 'down' ? Math.floor(scaled + 1e-9) : Math.round(scaled);
  return Math.max(0, n);
}

export function rateLimitHeaders(state: RateLimitState, now: number): Record<string, string> {
  const name = sfString(state.ruleId);
  const t = secondsUntil(state.resetAt, now);
  let policy = `${name};q=${units(state.metric, state.limit, 'nearest')}`;
  if (state.periodStart !== undefined) {
    const w = Math.round((state.resetAt.getTime() - state.periodStart.getTime()) / 1000);
    if (w > 0) policy += `;w=${w}`;
  }
  return {
    'retry-after': String(t),
    'ratelimit-policy': policy,
    ratelimit: `${name};r=${units(state.metric, state.remaining, 'down')};t=${t}`,
  };
}
