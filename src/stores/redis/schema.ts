/**
 * The arguments of every Redis script, declared once. A script receives one JSON object in ARGV[1]
 * (Redis ships cjson); `luaBindings(schema)` writes the Lua lines that decode it and bind each field
 * to a named, validated local at the top of the script, and `ArgsOf<schema>` is the TypeScript type
 * the store encodes. So TypeScript and Lua read the same field list, and a test sends every field a
 * malformed value to check that each script refuses it before writing anything.
 *
 * Validation in Lua repeats the engine's: cjson accepts NaN, Infinity and hex, and a NaN slips
 * through `used + n > limit` guards. Numbers reach Redis as strings formatted by the script.
 */

/** Field kinds, each with its Lua validator (in lua/prelude.ts) and its TypeScript type. */
export interface FieldKinds {
  /** 1-64 characters of A-Z a-z 0-9 _ . - */
  id: string;
  /** A non-negative integer no larger than 2^53 - 1. */
  count: number;
  /** ms since the epoch; absent: the server's clock (Redis TIME). */
  time: number | undefined;
  /** [tokens, requests, micro-dollars] */
  amounts: readonly [number, number, number];
  /** At most 16 rules: [id, metric 't'|'r'|'c', limit, fingerprint, 4 increasing boundaries]. */
  rules: readonly (readonly [string, 't' | 'r' | 'c', number, string, number, number, number, number])[];
  /** At most 10 ascending per-mille thresholds. */
  thresholds: readonly number[];
  /** A model name: 1-1024 characters, no `|` (it separates history field parts). */
  model: string;
  /** true or false */
  flag: boolean;
  /** At most 4096 history buckets: [bucket start ms, model, requests, input tokens, output tokens, micro-dollars]. */
  buckets: readonly (readonly [number, string, number, number, number, number])[];
  /** At most 4096 strings of at most 262,144 bytes (user ids). */
  texts: readonly string[];
  /** At most 4096 ids. */
  ids: readonly string[];
  /** At most 4096 counts. */
  counts: readonly number[];
}

export type FieldKind = keyof FieldKinds;
export type Schema = Readonly<Record<string, FieldKind>>;

/** The TypeScript shape of a schema's arguments (`time` fields may be left out). */
export type ArgsOf<S extends Schema> = { [K in keyof S as S[K] extends 'time' ? never : K]: FieldKinds[S[K]] } & {
  [K in keyof S as S[K] extends 'time' ? K : never]?: number;
};

export const RESERVE_ARGS = {
  id: 'id',
  version: 'count',
  now: 'time',
  lease: 'count',
  initAnchor: 'flag',
  amounts: 'amounts',
  rules: 'rules',
} as const satisfies Schema;

export const COMMIT_ARGS = {
  id: 'id',
  attempt: 'id',
  version: 'count',
  now: 'time',
  amounts: 'amounts',
  costUnknown: 'flag',
  rules: 'rules',
  thresholds: 'thresholds',
  model: 'model',
  inputTokens: 'count',
  outputTokens: 'count',
  /** How long the outcome answers replays. */
  doneTtl: 'count',
  logMax: 'count',
  /** Time to live of the user's log, and of the history key of the current month, from now. */
  logTtl: 'count',
  historyTtl: 'count',
} as const satisfies Schema;

export const RELEASE_ARGS = {
  id: 'id',
  now: 'time',
  doneTtl: 'count',
} as const satisfies Schema;

export const READ_ARGS = {
  version: 'count',
  now: 'time',
  rules: 'rules',
} as const satisfies Schema;

/** Aggregates over all users for a batch of committed calls (ARGV[2..] are the records' JSON). */
export const AGGREGATE_ARGS = {
  batch: 'id',
  now: 'time',
  logMax: 'count',
  logTtl: 'count',
  /** Time to live of the history key of the batch's month, and of the month's active-user set. */
  historyTtl: 'count',
  activeTtl: 'count',
  totals: 'amounts',
  hours: 'buckets',
  /** Ids of the users in the batch (the user index), and their key tags (active users of the month). */
  users: 'texts',
  tags: 'ids',
  /** The store time of each record in ARGV[2..]. */
  logTimes: 'counts',
} as const satisfies Schema;

export type ReserveArgs = ArgsOf<typeof RESERVE_ARGS>;
export type CommitArgs = ArgsOf<typeof COMMIT_ARGS>;
export type ReleaseArgs = ArgsOf<typeof RELEASE_ARGS>;
export type ReadArgs = ArgsOf<typeof READ_ARGS>;
export type AggregateArgs = ArgsOf<typeof AGGREGATE_ARGS>;

/** Lua that decodes ARGV[1] and binds every field of `schema` to a validated local of the same name. */
export function luaBindings(schema: Schema): string {
  const lines = ["local args = cjson.decode(ARGV[1])", "if type(args) ~= 'table' then fail('invalid arguments') end"];
  for (const [name, kind] of Object.entries(schema)) lines.push(`local ${name} = check.${kind}(args.${name}, '${name}')`);
  return lines.join('\n');
}

/** Encodes a script's arguments (JSON.stringify drops `undefined` time fields: the server's clock). */
export function encodeArgs<S extends Schema>(_schema: S, args: ArgsOf<S>): string {
  return JSON.stringify(args);
}
