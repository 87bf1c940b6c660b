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

  /** An ISO 8601 date(-time) or milliseconds since the epoch. */
  date(name: string): Date | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    const ms = /^\d{1,15}$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
    if (!Number.isFinite(ms)) throw new InvalidArgumentError(name, value, 'expected an ISO 8601 date or milliseconds since the epoch');
    return new Date(ms);
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (!(values as readonly string[]).includes(value)) throw new InvalidArgumentError(name, value, `expected one of ${values.join(', ')}`);
    return value as T;
  }
}
