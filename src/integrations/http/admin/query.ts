import { InvalidArgumentError } from '../../../kernel/errors.js';
import { parseUserId } from '../../../kernel/validate.js';

/** Reads a query string strictly: unknown or repeated parameters are refused (400 naming them). */
export class QueryReader {
  readonly #params: URLSearchParams;

  constructor(params: URLSearchParams, allowed: readonly string[]) {
    this.#params = params;
    const seen = new Set<string>();
    for (const key of params.keys()) {
      if (!allowed.includes(key)) {
        throw new InvalidArgumentError(key, params.get(key), `unknown query parameter (allowed: ${allowed.join(', ') || 'none'})`);
      }
      if (seen.has(key)) throw new InvalidArgumentError(key, params.getAll(key).join(','), 'given more than once');
      seen.add(key);
    }
  }

  string(name: string): string | undefined {
    const value = this.#params.get(name);
    return value === null || value === '' ? undefined : value;
  }

  userId(name: string): string | undefined {
    const value = this.string(name);
    return value === undefined ? undefined : parseUserId(value, name);
  }

  int(name: string, min: number, max: number): number | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (!/^\d{1,15}$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(name, value, `expected an integer from ${min} to ${max}`);
    }
    return Number(value);
  }

  /**
   * A full ISO 8601 date (`2026-05-01`, midnight UTC), an ISO 8601 date-time with its zone
   * (`2026-05-01T10:00:00Z`, `2026-05-01T10:00:00.123-03:00`), or milliseconds since the epoch
   * (negative before 1970).
   * Impossible dates (`2026-02-30`), reduced precision (`2026-05`, a bare year `2026`, which would
   * otherwise be read as 2026 ms) and date-times without a zone (read in the server's zone) are
   * refused (400 naming the parameter).
   */
  date(name: string): Date | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    const ms = parseQueryDate(value);
    if (ms === undefined) {
      throw new InvalidArgumentError(
        name,
        value,
        'expected a full ISO 8601 date (2026-05-01), a date-time with its zone (2026-05-01T10:00:00Z) or milliseconds since the epoch',
      );
    }
    return new Date(ms);
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (!(values as readonly string[]).includes(value)) throw new InvalidArgumentError(name, value, `expected one of ${values.join(', ')}`);
    return value as T;
  }
}

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2})))?$/;

/** Milliseconds since the epoch for a query date (see `QueryReader.date`), or `undefined`. */
function parseQueryDate(value: string): number | undefined {
  if (/^-?\d{1,15}$/.test(value)) {
    // Four digits read as a year by anyone who types them: refused rather than taken as milliseconds.
    // Negative: before 1970 (history imported into the ledger), as the admin functions take it.
    return /^\d{4}$/.test(value) ? undefined : Number(value);
  }
  const m = ISO_DATE_TIME.exec(value);
  if (m === null) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Date.UTC rolls an impossible day over (February 30 is March 2): the date must come back as
  // written. Set on a Date rather than by Date.UTC, which reads the years 0-99 as 1900-1999.
  const midnight = new Date(0);
  midnight.setUTCFullYear(year, month - 1, day);
  if (midnight.getUTCFullYear() !== year || midnight.getUTCMonth() !== month - 1 || midnight.getUTCDate() !== day) return undefined;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return undefined;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return undefined;
  const ms = m[4] === undefined ? midnight.getTime() : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}
