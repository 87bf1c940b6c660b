/**
 * One error hierarchy for the whole library: every error has an explicit `name`, a stable `code`
 * string that callers can switch on, the HTTP `status` an integration answers with, structured
 * fields and an optional `cause`. Each class is one short declaration over `errorClass`, which
 * holds what they share (openai-node's error module is the model).
 */
import { remainingOf } from './units.js';

/** Stable error codes. Never change the strings: users switch on them. */
export type TokenLimitsErrorCode =
  | 'token_limit_exceeded'
  | 'user_disabled'
  | 'missing_user'
  | 'store_unavailable'
  | 'store_full'
  | 'invalid_argument'
  | 'plan_in_use'
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
  /** The HTTP status an integration answers with. */
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

/**
 * The type of an error class's base, written out so that the declarations do not spell out the
 * statics of `Error` (Node's `captureStackTrace` and `prepareStackTrace(…: NodeJS.CallSite[])`),
 * which would not compile in a browser app without Node's types.
 */
type ErrorBase<C extends TokenLimitsErrorCode, S extends number> = (abstract new (
  message: string,
  options?: { cause?: unknown },
) => TokenLimitsError & { readonly code: C; readonly status: S }) &
  Pick<typeof TokenLimitsError, 'kind' | typeof Symbol.hasInstance>;

/** The base of one error class: its name (also its `instanceof` kind), code and HTTP status. */
function errorClass<C extends TokenLimitsErrorCode, S extends number>(kind: string, code: C, status: S): ErrorBase<C, S> {
  abstract class Base extends TokenLimitsError {
    static override readonly kind: string = kind;
    override readonly name: string = kind;
    readonly code: C = code;
    readonly status: S = status;
  }
  return Base;
}

/** Which budget refused a call: the user's own rules, or the rules of the account it belongs to. */
export type QuotaScope = 'user' | 'account';

/** A rule refused the request: the call never reached the provider. */
export class TokenLimitExceededError extends errorClass('TokenLimitExceededError', 'token_limit_exceeded', 429) {
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
  /** What this call asked for (input estimate plus output hold, in the rule's unit). */
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
  /** Whose budget refused: the user's own rules, or their account's. */
  readonly scope: QuotaScope;
  /** The account whose rule refused, when `scope` is `account`. */
  readonly accountId: string | undefined;
  /**
   * The IANA time zone of the refusing rule's periods (`UTC` when the rule sets none), in which
   * `resetAt` is shown to people (the HTTP error bodies say the zone). Absent on errors built
   * without it.
   */
  readonly timeZone: string | undefined;

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
    scope?: QuotaScope;
    accountId?: string;
    timeZone?: string;
  }) {
    const left = remainingOf(fields.metric, fields.limit, fields.used, fields.reserved);
    super(
      `Token limit exceeded for rule "${fields.ruleId}": this request needs about ${fields.requested} ${fields.metric}, ` +
        `${left} are left (limit ${fields.limit}, used ${fields.used}, reserved ${fields.reserved}); ` +
        (fields.requested > fields.limit
          ? `the request alone is larger than the limit, so it is refused after the reset at ${fields.resetAt.toISOString()} too`
          : `resets at ${fields.resetAt.toISOString()}`),
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
    this.scope = fields.scope ?? 'user';
    this.accountId = fields.accountId;
    this.timeZone = fields.timeZone;
  }

  /** What is left in the current period (never negative). */
  get remaining(): number {
    return Math.max(0, this.limit - this.used - this.reserved);
  }
}

/** An admin disabled the user. */
export class UserDisabledError extends errorClass('UserDisabledError', 'user_disabled', 403) {
  constructor(readonly userId: string) {
    super('The user is disabled');
  }
}

/** No user was given to the wrapped client and none is in the request context. */
export class MissingUserError extends errorClass('MissingUserError', 'missing_user', 500) {
  constructor(message = 'No user for this call: pass one to withTokenLimits(client, user) or run the call inside runWithUser(user, fn)') {
    super(message);
  }
}

/** The quota store failed or did not answer in time. */
export class QuotaStoreError extends errorClass('QuotaStoreError', 'store_unavailable', 503) {
  /** The store operation that failed. */
  readonly operation: string;

  constructor(operation: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.operation = operation;
  }
}

/**
 * The store is at its configured capacity (`MemoryStore`'s `maxUsers`) and cannot take a new user.
 * Not an outage: the fail-open policy does not apply, and no other user is affected.
 */
export class StoreFullError extends errorClass('StoreFullError', 'store_full', 503) {
  constructor(
    readonly userId: string,
    readonly capacity: number,
  ) {
    super(`The quota store holds its maximum of ${capacity} users and cannot take a new one`);
  }
}

/** A plan cannot be deleted while users or accounts are assigned to it. Nothing was written. */
export class PlanInUseError extends errorClass('PlanInUseError', 'plan_in_use', 409) {
  constructor(
    readonly planId: string,
    readonly users: number,
    readonly accounts: number,
  ) {
    super(`Plan ${JSON.stringify(planId.length > 60 ? `${planId.slice(0, 60)}…` : planId)} is assigned to ${users} users and ${accounts} accounts: assign them another plan first`);
  }
}

/** A parameter was invalid. Nothing was written. */
export class InvalidArgumentError extends errorClass('InvalidArgumentError', 'invalid_argument', 400) {
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
export class TokenizerUnavailableError extends errorClass('TokenizerUnavailableError', 'tokenizer_unavailable', 500) {
  constructor(
    /** The package that failed to load. */
    readonly packageName: string,
    /** The encoding that was asked for. */
    readonly encoding: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot load the ${encoding} encoder from "${packageName}": ${reason}`, options);
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
