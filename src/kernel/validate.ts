import { InvalidArgumentError } from './errors.js';
import type { UserRef } from './types.js';
import { MAX_COST_USD } from './units.js';

/** Longest accepted user id, in UTF-16 code units. Longer ids are hashed into keys, never stored raw in them. */
export const MAX_USER_ID_LENGTH = 65_536;

/**
 * Accepts a non-empty, well-formed string id (or `{ id }`). Lone surrogates are refused: two such
 * strings can encode to the same bytes, and two users must never share a quota.
 */
export function parseUserId(user: unknown, parameter = 'userId'): string {
  const id = typeof user === 'object' && user !== null && 'id' in user ? (user as { id: unknown }).id : user;
  const where = id === user ? parameter : `${parameter}.id`;
  if (typeof id !== 'string') throw new InvalidArgumentError(where, id, 'expected a non-empty string');
  if (id.length === 0) throw new InvalidArgumentError(where, id, 'must not be empty');
  if (id.length > MAX_USER_ID_LENGTH) {
    throw new InvalidArgumentError(where, id, `must be at most ${MAX_USER_ID_LENGTH} characters`);
  }
  if (!id.isWellFormed()) throw new InvalidArgumentError(where, id, 'must be well-formed Unicode (no lone surrogates)');
  return id;
}

export function userIdOf(user: UserRef): string {
  return typeof user === 'string' ? user : user.id;
}

/** A non-negative safe integer (token and request counts). */
export function parseCount(value: unknown, parameter: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(parameter, value, 'expected a non-negative integer no larger than Number.MAX_SAFE_INTEGER');
  }
  return value;
}

export function parseOptionalCount(value: unknown, parameter: string): number | undefined {
  return value === undefined ? undefined : parseCount(value, parameter);
}

/** A non-negative, finite amount of US dollars. */
export function parseUsd(value: unknown, parameter: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_COST_USD) {
    throw new InvalidArgumentError(parameter, value, `expected a finite number of US dollars between 0 and ${MAX_COST_USD}`);
  }
  return value;
}

export function parsePositiveInt(value: unknown, parameter: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new InvalidArgumentError(parameter, value, `expected an integer from 1 to ${max}`);
  }
  return value;
}

export function parseBoolean(value: unknown, parameter: string): boolean {
  if (typeof value !== 'boolean') throw new InvalidArgumentError(parameter, value, 'expected true or false');
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Refuses keys an object must not have (catches typos such as `timezone` for `timeZone`). */
export function rejectUnknownKeys(object: Record<string, unknown>, allowed: readonly string[], parameter: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw new InvalidArgumentError(`${parameter}.${key}`, object[key], `unknown option (allowed: ${allowed.join(', ')})`);
    }
  }
}
