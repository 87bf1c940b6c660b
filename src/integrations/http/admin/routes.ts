import { InvalidArgumentError } from '../../../kernel/errors.js';
import type { TokenLimiter } from '../../../face/limiter.js';
import type { LimitRule } from '../../../kernel/types.js';
import { isPlainObject } from '../../../kernel/validate.js';
import { emptyReply, jsonReply, type HttpReply } from '../../shared/reply.js';
import { QueryReader } from './query.js';
import { pointJson, recordJson, ruleJson, usageJson } from './serialize.js';

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
  const limit = q.int('limit', 1, 10_000);
  const records = await ctx.limiter.admin.getUsageLog({
    ...(filter === undefined ? {} : { userId: filter }),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    ...(limit === undefined ? {} : { limit }),
  });
  return jsonReply(200, { records: records.map(recordJson) });
}

async function history(ctx: RouteContext, userId: string | undefined, allowUserFilter: boolean): Promise<HttpReply> {
  const q = ctx.query(allowUserFilter ? ['userId', 'from', 'to', 'granularity'] : ['from', 'to', 'granularity']);
  const filter = allowUserFilter ? q.userId('userId') : userId;
  const granularity = q.oneOf('granularity', ['hour', 'day'] as const) ?? 'day';
  const to = q.date('to') ?? new Date(ctx.now);
  const from = q.date('from') ?? new Date(to.getTime() - (granularity === 'day' ? 30 * DAY : 48 * HOUR));
  const points = await ctx.limiter.admin.getUsageHistory({ ...(filter === undefined ? {} : { userId: filter }), from, to, granularity });
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
      const q = ctx.query(['cursor', 'limit', 'prefix']);
      const cursor = q.userId('cursor');
      const limit = q.int('limit', 1, 1000);
      const prefix = q.userId('prefix');
      const page = await ctx.limiter.admin.listUsers({
        ...(cursor === undefined ? {} : { cursor }),
        ...(limit === undefined ? {} : { limit }),
        ...(prefix === undefined ? {} : { prefix }),
      });
      return jsonReply(200, { users: page.users.map(usageJson), nextCursor: page.cursor ?? null });
    },
  },
  { method: 'GET', path: '/users/:id/usage', access: 'admin', run: (ctx) => usageOf(ctx, id(ctx)) },
  { method: 'GET', path: '/users/:id/limits', access: 'admin', run: (ctx) => limitsOf(ctx, id(ctx)) },
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
  { method: 'GET', path: '/log', access: 'admin', run: (ctx) => log(ctx, undefined, true) },
  { method: 'GET', path: '/history', access: 'admin', run: (ctx) => history(ctx, undefined, true) },
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
  { method: 'GET', path: '/me/history', access: 'self', run: (ctx) => history(ctx, ctx.selfId!, false) },
];
