/**
 * The arguments of every Redis script, declared once. From a schema, `encodeArgs` writes the ARGV
 * values the store sends, and `luaBindings` writes the Lua that reads them back into named,
 * validated locals at the top of the script: TypeScript and Lua read the same field list, in the
 * same order, and a test sends every field malformed values to check that each script refuses
 * them before writing anything.
 *
 * The bindings are inline statements (no JSON decoding, no validator closures), because argument
 * handling runs on every call. Every field but the lists travels in one binary header, ARGV[1],
 * read by one struct.unpack: numeric fields (counts, times, flags, amounts) as little-endian
 * doubles, then ids, model names, rule bits, thresholds and rules as length-prefixed bytes. A
 * double is still checked for NaN, infinities, sign, range and integrality (a NaN slips through
 * `used + n > limit` guards); identifiers are matched against their character class. Numbers go
 * back to Redis as strings formatted by the script.
 *
 * Lists (the aggregates' users, tags, hours and record times) are a count followed by their
 * elements, one ARGV value each. Rules are one binary value (see `FieldKinds.rules`), because
 * they are the one field whose parsing grows with each rule of a call: struct reads a rule in
 * half the time a pattern and five tonumber calls take.
 * Over 300 lines because every script's schema is here: the one list TypeScript and Lua both read.
 */

import { Buffer } from 'node:buffer';

/** Field kinds and the TypeScript type the store gives for each. */
export interface FieldKinds {
  /** 1-64 characters of A-Z a-z 0-9 _ . - */
  id: string;
  /** A non-negative integer no larger than 2^53 - 1. */
  count: number;
  /** ms since the epoch; absent: the server's clock (Redis TIME). */
  time: number | undefined;
  /** [tokens, requests, micro-dollars] */
  amounts: readonly [number, number, number];
  /**
   * At most 16 rules in one binary value (`encodeRules`): a byte with their number; per rule its
   * metric (one byte t, r or c), limit and 4 increasing window boundaries as little-endian doubles
   * (integers within ±2^53), and the lengths of its id (1-64) and fingerprint (1-80); then every
   * rule's id and fingerprint, in order, as one text of A-Z a-z 0-9 _ . - (Lua checks it with one
   * pattern, and reads each rule's numbers with one struct.unpack, format '<c1dddddBB').
   */
  rules: Buffer;
  /** At most 32 characters, each '0' or '1' (one per rule). */
  bits: string;
  /** At most 10 ascending per-mille thresholds. */
  thresholds: readonly number[];
  /** A model name: 1-1024 bytes, no `|` (it separates history field parts). */
  model: string;
  /** true or false */
  flag: boolean;
  /** At most 4096 history buckets: [bucket start ms, model, requests, input tokens, output tokens, micro-dollars]. */
  buckets: readonly (readonly [number, string, number, number, number, number])[];
  /** At most 4096 strings of 1 to 262,144 bytes (user ids). */
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
  /** '1' when the user's home is an account (KEYS 4 and 5 are then the account's). */
  inAccount: 'flag',
  version: 'count',
  accountVersion: 'count',
  now: 'time',
  lease: 'count',
  initAnchor: 'flag',
  amounts: 'amounts',
  rules: 'rules',
  accountRules: 'rules',
} as const satisfies Schema;

export const COMMIT_ARGS = {
  id: 'id',
  inAccount: 'flag',
  accountVersion: 'count',
  /** The user's share of a call reserved at their previous home (see CommitReply 'forward'). */
  forwarded: 'flag',
  /** Names the outcome key (KEYS[3]) and the history key's month (KEYS[5]), for their TTL horizons. */
  bucket: 'id',
  month: 'id',
  attempt: 'id',
  version: 'count',
  now: 'time',
  amounts: 'amounts',
  costUnknown: 'flag',
  model: 'model',
  inputTokens: 'count',
  outputTokens: 'count',
  /** How long the outcome answers replays. */
  doneTtl: 'count',
  logMax: 'count',
  /** Time to live of the user's log, and of the history key of the current month, from now. */
  logTtl: 'count',
  historyTtl: 'count',
  thresholds: 'thresholds',
  rules: 'rules',
  accountRules: 'rules',
  /** Per rule of `rules` then `accountRules`: '1' when the call counts against it. */
  matches: 'bits',
} as const satisfies Schema;

export const RELEASE_ARGS = {
  id: 'id',
  bucket: 'id',
  now: 'time',
  doneTtl: 'count',
} as const satisfies Schema;

export const RENEW_ARGS = {
  id: 'id',
  now: 'time',
  lease: 'count',
} as const satisfies Schema;

export const READ_ARGS = {
  inAccount: 'flag',
  version: 'count',
  accountVersion: 'count',
  now: 'time',
  rules: 'rules',
  accountRules: 'rules',
} as const satisfies Schema;

export const READ_ACCOUNT_ARGS = {
  version: 'count',
  now: 'time',
  rules: 'rules',
} as const satisfies Schema;

/** Aggregates over all users for a batch of committed calls (the records' JSON follow the fields). */
export const AGGREGATE_ARGS = {
  /** The aggregator that sent the batch (random per store instance; names KEYS[1]). */
  source: 'id',
  /** The batch's number from that aggregator: 1, 2, 3... in the order they are sent. */
  sequence: 'count',
  /** How long the source's last applied number is kept after its last batch (the replay guard). */
  guardTtl: 'count',
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
  /** The store time of each record that follows the fields. */
  logTimes: 'counts',
} as const satisfies Schema;

export type ReserveArgs = ArgsOf<typeof RESERVE_ARGS>;
export type CommitArgs = ArgsOf<typeof COMMIT_ARGS>;
export type ReleaseArgs = ArgsOf<typeof RELEASE_ARGS>;
export type RenewArgs = ArgsOf<typeof RENEW_ARGS>;
export type ReadArgs = ArgsOf<typeof READ_ARGS>;
export type AggregateArgs = ArgsOf<typeof AGGREGATE_ARGS>;

// ------------------------------------------------------------------------------------ TypeScript

const str = (n: number): string => String(n);

/** One rule as the scripts take it. */
export interface RuleArg {
  id: string;
  /** 't' tokens, 'r' requests, 'c' cost (micro-dollars). */
  metric: string;
  limit: number;
  fingerprint: string;
  boundaries: readonly number[];
}

const NO_RULES = Buffer.alloc(0);

/** The binary form of a list of rules (see `FieldKinds.rules`); no rules: one shared empty value. */
export function encodeRules(rules: readonly RuleArg[]): Buffer {
  if (rules.length === 0) return NO_RULES;
  const fixed = Buffer.alloc(1 + 43 * rules.length);
  fixed[0] = Math.min(rules.length, 255);
  const texts: Buffer[] = [];
  rules.forEach((r, i) => {
    const at = 1 + 43 * i;
    const id = Buffer.from(r.id, 'utf8');
    const fp = Buffer.from(r.fingerprint, 'utf8');
    fixed.write(r.metric.slice(0, 1).padEnd(1, '?'), at, 'latin1');
    fixed.writeDoubleLE(r.limit, at + 1);
    for (let j = 0; j < 4; j += 1) fixed.writeDoubleLE(r.boundaries[j] ?? Number.NaN, at + 9 + 8 * j);
    fixed[at + 41] = Math.min(id.length, 255);
    fixed[at + 42] = Math.min(fp.length, 255);
    texts.push(id, fp);
  });
  return Buffer.concat([fixed, ...texts]);
}

/** An ARGV value: a string, or bytes (the header, rules). */
export type ScriptArg = string | Buffer;

/**
 * Doubles each numeric kind takes in the header: every count, time, flag and amounts field of a
 * schema travels in one binary value, ARGV[1], as little-endian doubles in schema order (a flag is
 * 0 or 1; an absent time is -1). One struct.unpack reads them all, where a string per number cost
 * an ARGV slot, a tonumber and its parsing each.
 */
const HEADER_DOUBLES: Partial<Record<FieldKind, number>> = { count: 1, time: 1, flag: 1, amounts: 3 };

/**
 * Kinds that travel inside the header too, after the doubles, in schema order: each as a 4-byte
 * little-endian length and its bytes (struct format 'I4c0'), thresholds as their doubles. The same
 * struct.unpack reads them. Each ARGV value costs on both sides, whatever its size: ioredis encodes
 * every argument on its own (a `Buffer` lookup, a length, a copy), and Redis builds a Lua string
 * and a table slot for it; a commit sent 11 of them more than it does now. The list kinds (used by
 * the aggregates, once per batch) stay one ARGV value per element.
 */
const INLINE: Partial<Record<FieldKind, true>> = { id: true, model: true, bits: true, rules: true, thresholds: true };

/** A schema's fields, header size and inline fields, worked out once per schema (the hot path encodes on every call). */
interface Layout {
  fields: ReadonlyArray<readonly [string, FieldKind]>;
  doubles: number;
  inline: readonly string[];
}
const layouts = new WeakMap<Schema, Layout>();

function layoutOf(schema: Schema): Layout {
  let layout = layouts.get(schema);
  if (!layout) {
    const fields = Object.entries(schema);
    layout = {
      fields,
      doubles: fields.reduce((n, [, kind]) => n + (HEADER_DOUBLES[kind] ?? 0), 0),
      inline: fields.filter(([, kind]) => INLINE[kind]).map(([name]) => name),
    };
    layouts.set(schema, layout);
  }
  return layout;
}

/** The number of doubles in a schema's header (0: the schema sends none). */
export function headerDoubles(schema: Schema): number {
  return layoutOf(schema).doubles;
}

/**
 * The bytes of an inline field as sent: a string's UTF-8, a buffer as it is, thresholds as
 * doubles. Any value is encoded as given (tests send malformed ones): the scripts validate.
 */
function inlineBytes(kind: FieldKind, value: unknown): Buffer | string {
  if (kind === 'thresholds' && Array.isArray(value)) {
    const list = value as readonly number[];
    const out = Buffer.allocUnsafe(8 * list.length);
    list.forEach((n, i) => out.writeDoubleLE(n, 8 * i));
    return out;
  }
  return value as Buffer | string;
}

/**
 * The ARGV values of a script call: the header (doubles, then the inline fields), then the other
 * fields in schema order; `extra` strings follow them.
 */
export function encodeArgs<S extends Schema>(schema: S, args: ArgsOf<S>, extra: readonly string[] = []): ScriptArg[] {
  const { fields, doubles, inline } = layoutOf(schema);
  const values = args as Record<string, unknown>;
  let size = 8 * doubles;
  const inlineValues: Array<Buffer | string> = [];
  for (const name of inline) {
    const bytes = inlineBytes(schema[name]!, values[name]);
    inlineValues.push(bytes);
    size += 4 + (typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length);
  }
  const header = size > 0 ? Buffer.allocUnsafe(size) : undefined;
  const out: ScriptArg[] = header ? [header] : [];
  let at = 0;
  const put = (n: number) => {
    header!.writeDoubleLE(n, at);
    at += 8;
  };
  for (const [name, kind] of fields) {
    const v = values[name];
    switch (kind) {
      case 'count':
        put(v as number);
        break;
      case 'time':
        put(v === undefined ? -1 : (v as number));
        break;
      case 'flag':
        put(v ? 1 : 0);
        break;
      case 'amounts':
        for (const n of v as FieldKinds['amounts']) put(n);
        break;
      case 'texts':
      case 'ids':
        out.push(str((v as readonly string[]).length), ...(v as readonly string[]));
        break;
      case 'buckets': {
        const buckets = v as FieldKinds['buckets'];
        out.push(str(buckets.length));
        for (const b of buckets) out.push(str(b[0]), b[1], str(b[2]), str(b[3]), str(b[4]), str(b[5]));
        break;
      }
      case 'counts':
        out.push(str((v as readonly number[]).length), ...(v as readonly number[]).map(str));
        break;
      default:
        // Inline kinds: written after the doubles, below.
        break;
    }
  }
  for (const bytes of inlineValues) {
    const length = typeof bytes === 'string' ? header!.write(bytes, at + 4) : bytes.copy(header!, at + 4);
    header!.writeUInt32LE(length, at);
    at += 4 + length;
  }
  out.push(...extra);
  return out;
}

/**
 * Where each field sits, for tests: a header double's index (0-based) and number of doubles, an
 * inline field's place among the header's inline fields (0-based), or another field's ARGV slot
 * (1-based) and number of slots.
 */
export type ArgSlot = { header: number; length: number } | { inline: number } | { first: number; length: number };

export function argSlots<S extends Schema>(schema: S, args: ArgsOf<S>): Record<keyof S, ArgSlot> {
  const slots = {} as Record<keyof S, ArgSlot>;
  const { doubles, inline } = layoutOf(schema);
  let double = 0;
  let next = doubles > 0 || inline.length > 0 ? 2 : 1;
  for (const name of Object.keys(schema) as (keyof S & string)[]) {
    const inHeader = HEADER_DOUBLES[schema[name]!];
    if (inHeader) {
      slots[name] = { header: double, length: inHeader };
      double += inHeader;
      continue;
    }
    if (INLINE[schema[name]!]) {
      slots[name] = { inline: inline.indexOf(name) };
      continue;
    }
    const one = { [name]: (args as Record<string, unknown>)[name] } as ArgsOf<S>;
    const length = encodeArgs({ [name]: schema[name] } as Schema, one as never).length;
    slots[name] = { first: next, length };
    next += length;
  }
  return slots;
}

// ------------------------------------------------------------------------------------------- Lua

const COUNT = (v: string, name: string) =>
  `if not ${v} or ${v} ~= ${v} or ${v} < 0 or ${v} > MAXN or ${v} % 1 ~= 0 then fail('invalid ${name}') end`;
const ID = (v: string, name: string) =>
  `if not ${v} or #${v} == 0 or #${v} > 64 or not smatch(${v}, '^[%w_.-]+$') then fail('invalid ${name}') end`;

/**
 * Lua binding one field to the local `name`: header doubles from the header's locals (`hd<n>`, from
 * `first`), inline fields from theirs (`hs<inline>`), the others from the ARGV cursor `p`.
 */
function luaField(name: string, kind: FieldKind, first: number, inline: number): string {
  const d = (i: number) => `hd${first + i}`;
  const hs = `hs${inline}`;
  switch (kind) {
    case 'id':
      return `local ${name} = ${hs}\n${ID(name, name)}`;
    case 'count':
      return `local ${name} = ${d(0)}\n${COUNT(name, name)}`;
    case 'time':
      return [
        `local ${name} = ${d(0)}`,
        `if ${name} == -1 then local t = rcall('TIME'); ${name} = tonumber(t[1]) * 1000 + mfloor(tonumber(t[2]) / 1000)`,
        `else ${COUNT(name, name)} end`,
      ].join('\n');
    case 'flag':
      return `local ${name} = ${d(0)} == 1; if ${d(0)} ~= 1 and ${d(0)} ~= 0 then fail('invalid ${name}') end`;
    case 'amounts':
      return [
        `local ${name} = { t = ${d(0)}, r = ${d(1)}, c = ${d(2)} }`,
        // Each checked as the header's local it is: a loop over the table took twice as long.
        COUNT(d(0), name),
        COUNT(d(1), name),
        COUNT(d(2), name),
      ].join('\n');
    case 'bits':
      return `local ${name} = ${hs}\nif not ${name} or #${name} > 32 or sfind(${name}, '[^01]') then fail('invalid ${name}') end`;
    case 'model':
      return `local ${name} = ${hs}\nif not ${name} or #${name} == 0 or #${name} > 1024 or sfind(${name}, '|', 1, true) then fail('invalid ${name}') end`;
    case 'rules':
      // rulesOf (prelude.ts) answers nil for a malformed rule, a value cut short included.
      return [
        `local ${name} = rulesOf(${hs})`,
        `if type(${name}) ~= 'table' then fail('invalid ${name}') end`,
      ].join('\n');
    case 'thresholds':
      // thresholdsOf (prelude.ts): at most 10 doubles, ascending; nil when not.
      return `local ${name} = thresholdsOf(${hs})\nif not ${name} then fail('invalid ${name}') end`;
    case 'counts':
      return [
        `local ${name} = {}`,
        `do`,
        `  local n = tonumber(ARGV[p]); p = p + 1`,
        `  ${COUNT('n', name)}`,
        `  if n > 4096 then fail('invalid ${name}') end`,
        `  for i = 1, n do`,
        `    local v = tonumber(ARGV[p]); p = p + 1`,
        `    ${COUNT('v', name)}`,
        `    ${name}[i] = v`,
        `  end`,
        `end`,
      ].join('\n');
    case 'texts':
    case 'ids':
      return [
        `local ${name} = {}`,
        `do`,
        `  local n = tonumber(ARGV[p]); p = p + 1`,
        `  ${COUNT('n', name)}`,
        `  if n > 4096 then fail('invalid ${name}') end`,
        `  for i = 1, n do`,
        `    local v = ARGV[p]; p = p + 1`,
        kind === 'ids' ? `    ${ID('v', name)}` : `    if not v or #v == 0 or #v > 262144 then fail('invalid ${name}') end`,
        `    ${name}[i] = v`,
        `  end`,
        `end`,
      ].join('\n');
    case 'buckets':
      return [
        `local ${name} = {}`,
        `do`,
        `  local n = tonumber(ARGV[p]); p = p + 1`,
        `  ${COUNT('n', name)}`,
        `  if n > 4096 then fail('invalid ${name}') end`,
        `  for i = 1, n do`,
        `    local b = { tonumber(ARGV[p]), ARGV[p + 1], tonumber(ARGV[p + 2]), tonumber(ARGV[p + 3]), tonumber(ARGV[p + 4]), tonumber(ARGV[p + 5]) }`,
        `    p = p + 6`,
        `    for _, j in ipairs({ 1, 3, 4, 5, 6 }) do local v = b[j]; ${COUNT('v', name)} end`,
        `    if not b[2] or #b[2] == 0 or #b[2] > 1024 or sfind(b[2], '|', 1, true) then fail('invalid ${name}') end`,
        `    ${name}[i] = b`,
        `  end`,
        `end`,
      ].join('\n');
  }
}

/**
 * Lua that reads every field of `schema` into validated locals: the header (see `HEADER_DOUBLES`
 * and `INLINE`) with one struct.unpack, then each field in schema order; `p` is left after the
 * last ARGV slot read. A header cut short, or with bytes after its last field, is refused whole.
 */
export function luaBindings(schema: Schema): string {
  const { doubles, inline } = layoutOf(schema);
  const lines = ['local p = 1'];
  if (doubles > 0 || inline.length > 0) {
    const names = [...Array.from({ length: doubles }, (_, i) => `hd${i}`), ...inline.map((_, i) => `hs${i}`)].join(', ');
    lines.push(
      `local hd = ARGV[p]; p = p + 1`,
      `if not hd then fail('invalid header') end`,
      `local ok, ${names}, hdEnd = pcall(sunpack, '<${'d'.repeat(doubles)}${'I4c0'.repeat(inline.length)}', hd)`,
      `if not ok or hdEnd ~= #hd + 1 then fail('invalid header') end`,
    );
  }
  let first = 0;
  for (const [name, kind] of Object.entries(schema)) {
    lines.push(`-- ${name}: ${kind}\n${luaField(name, kind, first, inline.indexOf(name))}`);
    first += HEADER_DOUBLES[kind] ?? 0;
  }
  return lines.join('\n');
}
