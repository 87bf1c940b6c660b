// Every route of the admin HTTP API, in one table so that authorization, validation and paths read
// the same for all of them (over 300 lines for that reason).
import { InvalidArgumentError } from '../../../kernel/errors.js';
import type { TokenLimiter } from '../../../face/limiter.js';
import type { LimitRule } from '../../../kernel/types.js';
import { isPlainObject } from '../../../kernel/validate.js';
import { emptyReply, jsonReply, streamReply, type HttpReply } from '../../shared/reply.js';
import { QueryReader } from './query.js';
import { readStreamHead } from './stream-head.js';
import { accountJson, planJson, pointJson, recordJson, refusalJson, ruleJson, usageJson } from './serialize.js';

/** Who may call a route: admins only, or any signed-in user for their own data. */
export type RouteAccess = 'admin' | 'self';
export type RouteMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface RouteContext {
  limiter: TokenLimiter;
  /** Decoded path parameters (`:id`). */
  params: Readonly<Record<string, string>>;
  /** The query string; call `query(allowed)` once to read it. */
  query(allowed: readonly string[]): QueryReader;
  /** The parsed JSON body (`undefined` when there is none). Only for routes with `body: true`. */
  body: unknown;
  /** The caller's own user id, for `self` routes. */
  selfId: string | undefined;
  now: number;
}

export interface RouteDef {
  method: RouteMethod;
  /** Segments; `:id` is a parameter (one percent-decoded segment: any characters, `/` included). */
  path: string;
  access: RouteAccess;
  /** Whether the route reads a JSON body. */
  body?: boolean;
  run(ctx: RouteContext): Promise<HttpReply>;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** Routes without query parameters refuse any (a typo such as `?userid=` must not be ignored). */
async function usageOf(ctx: RouteContext, userId: string): Promise<HttpReply> {
  ctx.query([]);
  return jsonReply(200, usageJson(await ctx.limiter.admin.getUsage(userId)));
}

async function limitsOf(ctx: RouteContext, userId: string): Promise<HttpReply> {
  ctx.query([]);
  const rules = await ctx.limiter.admin.getLimits(userId);
  return jsonReply(200, { userId, rules: rules.map(ruleJson) });
}

async function log(ctx: RouteContext, userId: string | undefined, allowUserFilter: boolean): Promise<HttpReply> {
  const q = ctx.query(allowUserFilter ? ['userId', 'since', 'until', 'limit'] : ['since', 'until', 'limit']);
  const filter = allowUserFilter ? q.userId('userId') : userId;
  const since = q.date('since');
  const until = q.date('until');
  // Named as the client sent it (the engine would name options.since).
  if (since !== undefined && until !== undefined && since.getTime() > until.getTime()) {
    throw new InvalidArgumentError('since', q.string('since'), 'must not be after until (both are included)');
  }
  const limit = q.int('limit', 1, 10_000);
  const records = await ctx.limiter.admin.getUsageLog({
    ...(filter === undefined ? {} : { userId: filter }),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    ...(limit === undefined ? {} : { limit }),
  });
  return jsonReply(200, { records: records.map(recordJson) });
}

async function refusals(ctx: RouteContext, userId: string): Promise<HttpReply> {
  const limit = ctx.query(['limit']).int('limit', 1, 20);
  const records = await ctx.limiter.admin.getRefusals(userId, limit === undefined ? {} : { limit });
  return jsonReply(200, { refusals: records.map(refusalJson) });
}

async function history(ctx: RouteContext, userId: string | undefined, allowUserFilter: boolean): Promise<HttpReply> {
  const q = ctx.query(allowUserFilter ? ['userId', 'from', 'to', 'granularity'] : ['from', 'to', 'granularity']);
  const filter = allowUserFilter ? q.userId('userId') : userId;
  const granularity = q.oneOf('granularity', ['hour', 'day'] as const) ?? 'day';
  const sentTo = q.date('to');
  const to = sentTo ?? new Date(ctx.now);
  const from = q.date('from') ?? new Date(to.getTime() - (granularity === 'day' ? 30 * DAY : 48 * HOUR));
  const onlyFrom = sentTo === undefined && q.string('from') !== undefined;
  // The engine names `to` for a bad range; a client that sent only `from` must see `from` named.
  if (onlyFrom && from.getTime() >= to.getTime()) throw new InvalidArgumentError('from', q.string('from'), 'must be before to (now, when to is not given)');
  let points;
  try {
    points = await ctx.limiter.admin.getUsageHistory({ ...(filter === undefined ? {} : { userId: filter }), from, to, granularity });
  } catch (error) {
    if (onlyFrom && error instanceof InvalidArgumentError && error.parameter === 'options.to') {
      // The span is too long: what the client can change is `from`.
      const reason = /^Invalid options\.to: (.*) \(got [\s\S]*\)$/.exec(error.message)?.[1] ?? error.message;
      throw new InvalidArgumentError('from', q.string('from'), `${reason} (to is now when not given)`);
    }
    throw error;
  }
  return jsonReply(200, { granularity, from: from.toISOString(), to: to.toISOString(), points: points.map(pointJson) });
}

function bodyObject(body: unknown, allowed: readonly string[], required: boolean): Record<string, unknown> {
  if (body === undefined) {
    if (required) throw new InvalidArgumentError('body', undefined, `expected a JSON object with ${allowed.join(', ')}`);
    return {};
  }
  if (!isPlainObject(body)) throw new InvalidArgumentError('body', body, `expected a JSON object with ${allowed.join(', ')}`);
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw new InvalidArgumentError(key, body[key], `unknown field (allowed: ${allowed.join(', ')})`);
  }
  return body;
}

const id = (ctx: RouteContext): string => ctx.params.id!;
const planId = (ctx: RouteContext): string => ctx.params.planId!;
const accountId = (ctx: RouteContext): string => ctx.params.accountId!;

/** `GET /plans/:planId` of a plan that does not exist: 404 `plan_not_found`. */
export class PlanNotFoundError extends Error {
  override readonly name = 'PlanNotFoundError';
  readonly code = 'plan_not_found';
  constructor(readonly planId: string) {
    super('No plan has this id');
  }
}

/**
 * `GET /export` on a limiter built without a `ledger`: 501 `ledger_not_configured`. The server
 * lacks the feature; the request was not wrong (a 400 sent clients looking for a bad parameter).
 */
export class LedgerNotConfiguredError extends Error {
  override readonly name = 'LedgerNotConfiguredError';
  readonly code = 'ledger_not_configured';
  constructor() {
    super('Exporting usage needs a ledger (option ledger of createTokenLimiter)');
  }
}

/** `admin.exportUsage`, with its "no ledger" refusal (an InvalidArgumentError naming `ledger`) as LedgerNotConfiguredError. */
function exportUsage(limiter: TokenLimiter, options: Parameters<TokenLimiter['admin']['exportUsage']>[0]): AsyncIterable<string | Uint8Array> {
  try {
    return limiter.admin.exportUsage(options);
  } catch (error) {
    if (error instanceof InvalidArgumentError && error.parameter === 'ledger') throw new LedgerNotConfiguredError();
    throw error;
  }
}

/** A body field that must be there: a string id or null (`{ planId }`, `{ accountId }`). */
function idOrNull(body: Record<string, unknown>, field: string, what: string): string | null {
  if (!Object.hasOwn(body, field)) throw new InvalidArgumentError(field, undefined, `required: ${what}, or null for none`);
  const value = body[field];
  if (value !== null && typeof value !== 'string') throw new InvalidArgumentError(field, value, `expected ${what}, or null for none`);
  return value;
}

/** A page query (`cursor`, `limit`), as `GET /users` reads it. */
/** `cursor` and `limit` of a paged list; with `withPrefix`, also `prefix` (ids that start with it). */
function pageQuery(ctx: RouteContext, withPrefix = false): { cursor?: string; limit?: number; prefix?: string } {
  const q = ctx.query(withPrefix ? ['cursor', 'limit', 'prefix'] : ['cursor', 'limit']);
  const cursor = q.userId('cursor');
  const limit = q.int('limit', 1, 1000);
  const prefix = withPrefix ? q.userId('prefix') : undefined;
  return { ...(cursor === undefined ? {} : { cursor }), ...(limit === undefined ? {} : { limit }), ...(prefix === undefined ? {} : { prefix }) };
}

async function accountUsageOf(ctx: RouteContext, account: string): Promise<HttpReply> {
  ctx.query([]);
  return jsonReply(200, accountJson(await ctx.limiter.admin.getAccountUsage(account)));
}

/** An account's rules in force: its own, else its plan's (`plan` names it), else none. */
async function accountLimitsOf(ctx: RouteContext, account: string): Promise<HttpReply> {
  ctx.query([]);
  const usage = await ctx.limiter.admin.getAccountUsage(account);
  return jsonReply(200, { accountId: account, plan: usage.plan, rules: usage.windows.map((w) => ruleJson(w.rule)) });
}

function rulesOf(body: Record<string, unknown>, nullable: boolean): LimitRule[] | null {
  if (!Object.hasOwn(body, 'rules')) {
    throw new InvalidArgumentError('rules', undefined, nullable ? 'required: an array of limit rules, or null for none' : 'required: an array of limit rules');
  }
  if (body.rules === null && !nullable) throw new InvalidArgumentError('rules', null, 'expected an array of limit rules (DELETE removes a plan)');
  return body.rules as LimitRule[] | null;
}

function setActiveRoute(path: string, active: boolean): RouteDef {
  return {
    method: 'POST',
    path,
    access: 'admin',
    async run(ctx) {
      ctx.query([]); // refuse a bad query before writing
      await ctx.limiter.admin.setActive(id(ctx), active);
      return usageOf(ctx, id(ctx));
    },
  };
}

/**
 * The admin HTTP API. Paths are relative to the handler's mount point (`basePath`). The table in the
 * README is written from this list.
 */
export const ROUTES: readonly RouteDef[] = [
  {
    method: 'GET',
    path: '/users',
    access: 'admin',
    async run(ctx) {
      const page = await ctx.limiter.admin.listUsers(pageQuery(ctx, true));
      return jsonReply(200, { users: page.users.map(usageJson), nextCursor: page.cursor ?? null });
    },
  },
  { method: 'GET', path: '/users/:id/usage', access: 'admin', run: (ctx) => usageOf(ctx, id(ctx)) },
  { method: 'GET', path: '/users/:id/limits', access: 'admin', run: (ctx) => limitsOf(ctx, id(ctx)) },
  { method: 'GET', path: '/users/:id/refusals', access: 'admin', run: (ctx) => refusals(ctx, id(ctx)) },
  {
    method: 'PUT',
    path: '/users/:id/limits',
    access: 'admin',
    body: true,
    async run(ctx) {
      ctx.query([]);
      const body = bodyObject(ctx.body, ['rules'], true);
      if (!Object.hasOwn(body, 'rules')) throw new InvalidArgumentError('rules', undefined, 'required: an array of limit rules, or null for the defaults');
      await ctx.limiter.admin.setLimits(id(ctx), body.rules as LimitRule[] | null);
      return limitsOf(ctx, id(ctx));
    },
  },
  {
    method: 'DELETE',
    path: '/users/:id/limits',
    access: 'admin',
    async run(ctx) {
      ctx.query([]);
      await ctx.limiter.admin.setLimits(id(ctx), null);
      return limitsOf(ctx, id(ctx));
    },
  },
  {
    method: 'POST',
    path: '/users/:id/reset',
    access: 'admin',
    body: true,
    async run(ctx) {
      ctx.query([]);
      const body = bodyObject(ctx.body, ['ruleId'], false);
      const ruleId = body.ruleId;
      if (ruleId !== undefined && typeof ruleId !== 'string') throw new InvalidArgumentError('ruleId', ruleId, 'expected a rule id');
      await ctx.limiter.admin.resetUsage(id(ctx), ruleId);
      return usageOf(ctx, id(ctx));
    },
  },
  setActiveRoute('/users/:id/enable', true),
  setActiveRoute('/users/:id/disable', false),
  {
    method: 'DELETE',
    path: '/users/:id',
    access: 'admin',
    async run(ctx) {
      ctx.query([]);
      await ctx.limiter.admin.deleteUser(id(ctx));
      return emptyReply(204);
    },
  },
  {
    method: 'PUT',
    path: '/users/:id/plan',
    access: 'admin',
    body: true,
    async run(ctx) {
      ctx.query([]);
      const plan = idOrNull(bodyObject(ctx.body, ['planId'], true), 'planId', 'a plan id');
      await ctx.limiter.admin.assignPlan(id(ctx), plan);
      return usageOf(ctx, id(ctx));
    },
  },
  {
    method: 'PUT',
    path: '/users/:id/account',
    access: 'admin',
    body: true,
    async run(ctx) {
      ctx.query([]);
      const account = idOrNull(bodyObject(ctx.body, ['accountId'], true), 'accountId', 'an account id');
      await ctx.limiter.admin.setAccount(id(ctx), account);
      return usageOf(ctx, id(ctx));
    },
  },
  {
    method: 'GET',
    path: '/plans',
    access: 'admin',
    async run(ctx) {
      ctx.query([]);
      return jsonReply(200, { plans: (await ctx.limiter.admin.listPlans()).map(planJson) });
    },
  },
  {
    method: 'GET',
    path: '/plans/:planId',
    access: 'admin',
    async run(ctx) {
      ctx.query([]);
      const plan = await ctx.limiter.admin.getPlan(planId(ctx));
      if (plan === null) throw new PlanNotFoundError(planId(ctx));
      return jsonReply(200, planJson(plan));
    },
  },
  {
    method: 'PUT',
    path: '/plans/:planId',
    access: 'admin',
    body: true,
    async run(ctx) {
      ctx.query([]);
      const rules = rulesOf(bodyObject(ctx.body, ['rules'], true), false)!;
      return jsonReply(200, planJson(await ctx.limiter.admin.setPlan(planId(ctx), rules)));
    },
  },
  {
    method: 'DELETE',
    path: '/plans/:planId',
    access: 'admin',
    async run(ctx) {
      ctx.query([]);
      await ctx.limiter.admin.deletePlan(planId(ctx));
      return emptyReply(204);
    },
  },
  {
    method: 'GET',
    path: '/accounts',
    access: 'admin',
    async run(ctx) {
      const page = await ctx.limiter.admin.listAccounts(pageQuery(ctx));
      return jsonReply(200, { accounts: page.accounts.map(accountJson), nextCursor: page.cursor ?? null });
    },
  },
  { method: 'GET', path: '/accounts/:accountId/usage', access: 'admin', run: (ctx) => accountUsageOf(ctx, accountId(ctx)) },
  { method: 'GET', path: '/accounts/:accountId/limits', access: 'admin', run: (ctx) => accountLimitsOf(ctx, accountId(ctx)) },
  {
    method: 'PUT',
    path: '/accounts/:accountId/limits',
    access: 'admin',
    body: true,
    async run(ctx) {
      ctx.query([]);
      await ctx.limiter.admin.setAccountLimits(accountId(ctx), rulesOf(bodyObject(ctx.body, ['rules'], true), true));
      return accountLimitsOf(ctx, accountId(ctx));
    },
  },
  {
    method: 'DELETE',
    path: '/accounts/:accountId/limits',
    access: 'admin',
    async run(ctx) {
      ctx.query([]);
      await ctx.limiter.admin.setAccountLimits(accountId(ctx), null);
      return accountLimitsOf(ctx, accountId(ctx));
    },
  },
  {
    method: 'PUT',
    path: '/accounts/:accountId/plan',
    access: 'admin',
    body: true,
    async run(ctx) {
      ctx.query([]);
      const plan = idOrNull(bodyObject(ctx.body, ['planId'], true), 'planId', 'a plan id');
      await ctx.limiter.admin.assignAccountPlan(accountId(ctx), plan);
      return accountUsageOf(ctx, accountId(ctx));
    },
  },
  {
    method: 'GET',
    path: '/accounts/:accountId/members',
    access: 'admin',
    async run(ctx) {
      const page = await ctx.limiter.admin.listAccountMembers(accountId(ctx), pageQuery(ctx));
      return jsonReply(200, { accountId: accountId(ctx), members: page.members.map(usageJson), nextCursor: page.cursor ?? null });
    },
  },
  { method: 'GET', path: '/log', access: 'admin', run: (ctx) => log(ctx, undefined, true) },
  { method: 'GET', path: '/history', access: 'admin', run: (ctx) => history(ctx, undefined, true) },
  {
    method: 'GET',
    path: '/export',
    access: 'admin',
    async run(ctx) {
      const q = ctx.query(['userId', 'accountId', 'from', 'to', 'format']);
      const userId = q.userId('userId');
      const accountId = q.userId('accountId');
      const format = q.oneOf('format', ['csv', 'jsonl'] as const) ?? 'csv';
      const sentTo = q.date('to');
      const to = sentTo ?? new Date(ctx.now);
      // Without `from`: the UTC month `to` ends in (this month, when `to` is now). From the month of
      // now, a `to` sent alone in an earlier month was refused as before `from`, a parameter the
      // client never sent.
      const last = new Date(to.getTime() - 1);
      const monthStart = new Date(0);
      monthStart.setUTCFullYear(last.getUTCFullYear(), last.getUTCMonth(), 1);
      const from = q.date('from') ?? monthStart;
      if (sentTo === undefined && q.string('from') !== undefined && from.getTime() >= to.getTime()) {
        // As for /history: the client sent only `from`, so `from` is named.
        throw new InvalidArgumentError('from', q.string('from'), 'must be before to (now, when to is not given)');
      }
      const stream = exportUsage(ctx.limiter, { ...(userId === undefined ? {} : { userId }), ...(accountId === undefined ? {} : { accountId }), from, to, format });
      // Named after what it holds: two accounts' exports of one month must not share a file name.
      const safe = (id: string) => id.replace(/[^\w.-]/g, '_').slice(0, 64);
      const who = `${accountId === undefined ? '' : `-account-${safe(accountId)}`}${userId === undefined ? '' : `-${safe(userId)}`}`;
      const name = `usage-${from.toISOString().slice(0, 10)}-${to.toISOString().slice(0, 10)}${who}.${format}`;
      // The 200 waits for the ledger's first answer: a CSV's first line (its header) is written
      // before the ledger is read, so its first row (or its end) is what shows the read worked.
      const body = await readStreamHead(stream, format === 'csv' ? 2 : 1);
      return streamReply(200, body, {
        'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
        'content-disposition': `attachment; filename="${name}"`,
      });
    },
  },
  {
    method: 'GET',
    path: '/stats',
    access: 'admin',
    async run(ctx) {
      ctx.query([]);
      return jsonReply(200, await ctx.limiter.admin.getStats());
    },
  },
  { method: 'GET', path: '/me/usage', access: 'self', run: (ctx) => usageOf(ctx, ctx.selfId!) },
  { method: 'GET', path: '/me/log', access: 'self', run: (ctx) => log(ctx, ctx.selfId!, false) },
  { method: 'GET', path: '/me/refusals', access: 'self', run: (ctx) => refusals(ctx, ctx.selfId!) },
  { method: 'GET', path: '/me/history', access: 'self', run: (ctx) => history(ctx, ctx.selfId!, false) },
];
