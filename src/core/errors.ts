/**
 * One error hierarchy for the whole library: every error has an explicit `name`, a stable `code`
 * string that callers can switch on, structured fields and an optional `cause`.
 */

/** Stable error codes. Never change the strings: users switch on them. */
export type TokenLimitsErrorCode =
  | 'token_limit_exceeded'
  | 'user_disabled'
  | 'missing_user'
  | 'store_unavailable'
  | 'invalid_argument'
  | 'tokenizer_unavailable';

/**
 * Every error carries the kinds of its classes under a global symbol, and `instanceof` checks them:
 * so `instanceof` works across two copies of this package, and on the copies the provider wrappers
 * give an SDK's helpers (which re-wrap any error that is not the SDK's own).
 */
const KINDS = Symbol.for('token-limits.error.kinds');

function kindsOf(ctor: unknown): string[] {
  const kinds: string[] = [];
  for (let c = ctor as { kind?: unknown } | null; c && c !== Error; c = Object.getPrototypeOf(c) as { kind?: unknown } | null) {
    if (Object.hasOwn(c, 'kind') && typeof c.kind === 'string') kinds.push(c.kind);
  }
  return kinds;
}

/** Base class of every error the library throws. */
export abstract class TokenLimitsError extends Error {
  /** Identifies the class for `instanceof` (see `KINDS`). */
  static readonly kind: string = 'TokenLimitsError';
  abstract readonly code: TokenLimitsErrorCode;
  /** The HTTP status an integration should answer with. */
  abstract readonly status: number;

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    const kinds = (value as { [KINDS]?: unknown })[KINDS];
    if (Array.isArray(kinds)) return kinds.includes((this as unknown as { kind: string }).kind);
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    Object.defineProperty(this, KINDS, { value: kindsOf(new.target) });
  }
}

/** A rule of the user refused the request: the call never reached the provider. */
export class TokenLimitExceededError extends TokenLimitsError {
  static override readonly kind: string = 'TokenLimitExceededError';
  override readonly name = 'TokenLimitExceededError';
  readonly code = 'token_limit_exceeded' as const;
  readonly status = 429;
  readonly userId: string;
  /** The id of the rule that refused. */
  readonly ruleId: string;
  /** What the rule limits: `tokens`, `requests` or `costUsd` (cost figures are in US dollars). */
  readonly metric: 'tokens' | 'requests' | 'costUsd';
  readonly limit: number;
  /** Committed usage in the current period. */
  readonly used: number;
  /** Held by reservations in flight. */
  readonly reserved: number;
  /** What this call asked for. */
  readonly requested: number;
  /** When the rule's current period ends. */
  readonly resetAt: Date;
  /** When the rule's current period began (absent on errors built without it). */
  readonly periodStart: Date | undefined;
  /**
   * When the store refused, by the same clock as `resetAt` (the store's): `resetAt - rejectedAt` is
   * the wait, whatever the app server's clock says (absent on errors built without it).
   */
  readonly rejectedAt: Date | undefined;

  constructor(fields: {
    userId: string;
    ruleId: string;
    metric: 'tokens' | 'requests' | 'costUsd';
    limit: number;
    used: number;
    reserved: number;
    requested: number;
    resetAt: Date;
    periodStart?: Date;
    rejectedAt?: Date;
  }) {
    super(
      `Token limit exceeded for rule "${fields.ruleId}": limit ${fields.limit} ${fields.metric}, ` +
        `used ${fields.used}, reserved ${fields.reserved}, requested ${fields.requested}; ` +
        `resets at ${fields.resetAt.toISOString()}`,
    );
    this.userId = fields.userId;
    this.ruleId = fields.ruleId;
    this.metric = fields.metric;
    this.limit = fields.limit;
    this.used = fields.used;
    this.reserved = fields.reserved;
    this.requested = fields.requested;
    this.resetAt = fields.resetAt;
    this.periodStart = fields.periodStart;
    this.rejectedAt = fields.rejectedAt;
  }

  /** What is left in the current period (never negative). */
  get remaining(): number {
    return Math.max(0, this.limit - this.used - this.reserved);
  }
}

/** An admin disabled the user. */
export class UserDisabledError extends TokenLimitsError {
  static override readonly kind: string = 'UserDisabledError';
  override readonly name = 'UserDisabledError';
  readonly code = 'user_disabled' as const;
  readonly status = 403;
  readonly userId: string;

  constructor(userId: string) {
    super('The user is disabled');
    this.userId = userId;
  }
}

/** No user was given to the wrapped client and none is in the request context. */
export class MissingUserError extends TokenLimitsError {
  static override readonly kind: string = 'MissingUserError';
  override readonly name = 'MissingUserError';
  readonly code = 'missing_user' as const;
  readonly status = 500;

  constructor(message = 'No user for this call: pass one to withTokenLimits(client, user) or run the call inside runWithUser(user, fn)') {
    super(message);
  }
}

/** The quota store failed or did not answer in time. */
export class QuotaStoreError extends TokenLimitsError {
  static override readonly kind: string = 'QuotaStoreError';
  override readonly name = 'QuotaStoreError';
  readonly code = 'store_unavailable' as const;
  readonly status = 503;
  /** The store operation that failed. */
  readonly operation: string;

  constructor(operation: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.operation = operation;
  }
}

/** A parameter was invalid. Nothing was written. */
export class InvalidArgumentError extends TokenLimitsError {
  static override readonly kind: string = 'InvalidArgumentError';
  override readonly name = 'InvalidArgumentError';
  readonly code = 'invalid_argument' as const;
  readonly status = 400;
  /** The parameter's path, e.g. `rules[0].tokens` or `usage.inputTokens`. */
  readonly parameter: string;
  /** The offending value (as given; large strings are cut). */
  readonly value: unknown;

  constructor(parameter: string, value: unknown, reason: string) {
    super(`Invalid ${parameter}: ${reason} (got ${describe(value)})`);
    this.parameter = parameter;
    this.value = typeof value === 'string' && value.length > 200 ? `${value.slice(0, 200)}…` : value;
  }
}

/**
 * A tokenizer library could not be loaded: an optional package (e.g. `js-tiktoken`) is not
 * installed, or encoders were used synchronously where no `require` exists (call `warmup()` first).
 */
export class TokenizerUnavailableError extends TokenLimitsError {
  static override readonly kind: string = 'TokenizerUnavailableError';
  override readonly name = 'TokenizerUnavailableError';
  readonly code = 'tokenizer_unavailable' as const;
  readonly status = 500;
  /** The package that failed to load. */
  readonly packageName: string;
  /** The encoding that was asked for. */
  readonly encoding: string;

  constructor(packageName: string, encoding: string, reason: string, options?: { cause?: unknown }) {
    super(`Cannot load the ${encoding} encoder from "${packageName}": ${reason}`, options);
    this.packageName = packageName;
    this.encoding = encoding;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 60)}…` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** True for any error of this library (works across duplicated copies of the package). */
export function isTokenLimitsError(error: unknown): error is TokenLimitsError {
  return error instanceof TokenLimitsError;
}
