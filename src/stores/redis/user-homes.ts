import { randomBytes } from 'node:crypto';
import { QuotaStoreError } from '../../kernel/errors.js';
import type { UserConfigView } from '../protocol/types.js';
import type { RedisContext } from './context.js';
import { accountKeys, DAY_MS, monthsCovering, outcomeBucket, userKeys, userTag } from './keys.js';
import { SCRIPTS } from './registry.js';

/**
 * Where a user lives (on their own, or in an account) and how they move, for the admin functions
 * (admin.ts). A move is several scripts on two hash tags, so one runs at a time per user, under a
 * lock beside the user's own keys; a write at a user's home checks in its script that the user
 * still lives there, and is tried again at the new home while a move is under way.
 */

/** How long a wait for a user being moved lasts at most (a move's steps take milliseconds). */
const MOVE_WAIT_MS = 2000;
/** How long a move holds the user's move lock at most (a process that died frees it then). */
const MOVE_LOCK_TTL_MS = 10_000;
/** How long the state a user left when moving is kept (moves are retried within it). */
export const SNAPSHOT_TTL_MS = DAY_MS;

/** Adds a user to the index of every user (paging, listUsers). */
export function indexUser(ctx: RedisContext, userId: string): Promise<unknown> {
  return ctx.run(SCRIPTS.indexUser, [ctx.global.users], [userId]);
}

export interface UserHomes {
  /** Where the user lives: the account their own config points to, or null. */
  homeOf(userId: string): Promise<string | null>;
  /** The user's config at `home`, and whether the user lives there (see LIVES_HERE). */
  liveConfigAt(userId: string, home: string | null): Promise<{ config: UserConfigView; lives: boolean }>;
  /**
   * The account the user lives in when a move out of `pointer` (the account their own config names)
   * stopped after they arrived there, before the pointer followed; else undefined.
   */
  arrivedBeyond(userId: string, pointer: string): Promise<string | undefined>;
  /**
   * Whether a move from the user's own home into `pointer` (the account their own config names)
   * stopped before they arrived there: their state is then still at their own home, in the
   * snapshot move-out took (see setAccount's steps).
   */
  neverArrived(userId: string, pointer: string): Promise<boolean>;
  /** Runs `write` at the user's home; `undefined` from it means the user was not there (see below). */
  atHome<T>(userId: string, operation: string, write: (home: string | null) => Promise<T | undefined>): Promise<T>;
  /** Moves the user into an account, or back on their own (null), one move at a time. */
  setAccount(userId: string, to: string | null): Promise<void>;
  /**
   * Runs `work` under the user's move lock: no move of the user runs meanwhile. For writes that
   * span both of a user's homes (deleteUser), which the check a script makes at one home cannot cover.
   */
  exclusive<T>(userId: string, operation: string, work: () => Promise<T>): Promise<T>;
}

export function userHomes(ctx: RedisContext): UserHomes {
  const homeOf = async (userId: string): Promise<string | null> => {
    const k = userKeys(ctx.prefix, userId);
    const reply = await ctx.runArray(SCRIPTS.getConfig, [k.config, k.windows], []);
    return reply[6] === '' ? null : String(reply[6]);
  };
  /**
   * Runs a write at the user's home, reading it again while the write finds the user gone from it
   * (moved since it was read, or being moved: the script checks, and writes nothing then): a write
   * at a home the user left was lost. Gives up at moveWaitEnd (a move that stopped half-way is
   * finished by calling setAccount again).
   */
  const atHome = async <T>(userId: string, operation: string, write: (home: string | null) => Promise<T | undefined>): Promise<T> => {
    const end = moveWaitEnd(ctx);
    for (let attempt = 0; ; attempt += 1) {
      const out = await write(await homeOf(userId));
      if (out !== undefined) return out;
      if (!(await pause(attempt, end))) throw new QuotaStoreError(operation, `${describeUser(userId)} is being moved between accounts (setAccount finishes a move that stopped half-way)`);
    }
  };
  const configAt = async (userId: string, home: string | null): Promise<UserConfigView> => (await liveConfigAt(userId, home)).config;
  /** The user's config at `home`, and whether the user lives there (see LIVES_HERE). */
  const liveConfigAt = async (userId: string, home: string | null): Promise<{ config: UserConfigView; lives: boolean }> => {
    const k = userKeys(ctx.prefix, userId, home);
    const [v, rules, anchor, plan, active, exists, pointer, moved, here] = await ctx.runArray(SCRIPTS.getConfig, [k.config, k.windows], []);
    const lives = home === null ? pointer === '' : here !== null && moved === null;
    const config: UserConfigView = {
      version: Number(v),
      rules: rules === '' ? null : String(rules),
      anchor: anchor === '' ? null : Number(anchor),
      plan: plan === '' ? null : String(plan),
      active: active === 1,
      exists: exists === 1,
      account: home,
    };
    return { config, lives };
  };
  const arrivedBeyond = async (userId: string, pointer: string): Promise<string | undefined> => {
    const left = userKeys(ctx.prefix, userId, pointer);
    const moved = (await ctx.runArray(SCRIPTS.getConfig, [left.config, left.windows], []))[7];
    return typeof moved === 'string' && moved !== '' && (await liveConfigAt(userId, moved)).lives ? moved : undefined;
  };
  const neverArrived = async (userId: string, pointer: string): Promise<boolean> => {
    const at = userKeys(ctx.prefix, userId, pointer);
    const [, , , , , , , moved, here] = await ctx.runArray(SCRIPTS.getConfig, [at.config, at.windows], []);
    return here === null && moved === null;
  };
  /** setAccount's steps (see docs/plans-and-accounts.md), under the user's move lock. */
  const move = async (userId: string, to: string | null): Promise<void> => {
    const own = userKeys(ctx.prefix, userId);
    let pointer = await homeOf(userId);
    if (pointer !== null) {
      // A move between accounts that stopped after the user arrived, before the pointer followed:
      // the user lives where the account left names (moving again from there, not from the stale
      // state left behind).
      const moved = await arrivedBeyond(userId, pointer);
      if (moved !== undefined) {
        await ctx.run(SCRIPTS.setPointer, [own.config], [moved]);
        pointer = moved;
      }
    }
    // A move that stopped half-way left the pointer at its destination with the state at home.
    let from = pointer;
    if (pointer !== null) {
      const member = await configAt(userId, pointer).catch(() => undefined);
      const at = userKeys(ctx.prefix, userId, pointer);
      const [, , , , , , , moved, here] = await ctx.runArray(SCRIPTS.getConfig, [at.config, at.windows], []);
      if (!member || (here === null && moved === null)) from = null; // never arrived: the state is still at their own home
      if (here !== null && moved === null && pointer === to) return;
    } else if (to === null) return;
    const source = userKeys(ctx.prefix, userId, from);
    const members = from === null ? [] : [accountKeys(ctx.prefix, from).members];
    const snapshot = (await ctx.runArray(SCRIPTS.moveOut, [source.config, source.windows, source.snapshot, ...members], [to ?? '', userId, String(SNAPSHOT_TTL_MS)])) as string[];
    // The log and history are frozen at the home left: carry them over before the user arrives.
    const today = ctx.serverNow();
    const months = monthsCovering(today - ctx.settings.userHistoryRetentionMs - 31 * DAY_MS, today + 31 * DAY_MS);
    const trail = (await ctx.runArray(SCRIPTS.readTrail, [source.log, ...months.map(source.historyMonth)], [])) as Array<number | string[]>;
    const target = userKeys(ctx.prefix, userId, to);
    await ctx.run(SCRIPTS.writeTrail, [target.config, target.log, ...months.map(target.historyMonth)], [to === null ? '0' : '1', ...trailArgs(trail)]);
    const join = to === null ? [] : [accountKeys(ctx.prefix, to).members];
    // Where a release or commit of each call in flight would have marked it at the new home: a
    // release sent there before the user arrived marks the call released and drops nothing, so
    // move-in must not install its hold.
    const settled = [...new Set(heldIds(snapshot).map((id) => target.outcomes(outcomeBucket(id))))];
    const moveInArgs = [userId, String(windowsTtl(snapshot, ctx.serverNow())), '#', String(settled.length), ...snapshot];
    await ctx.run(SCRIPTS.moveIn, [target.config, target.windows, target.snapshot, ...join, ...settled], moveInArgs);
    if (to !== null) {
      await ctx.run(SCRIPTS.setPointer, [own.config], [to]);
      await ctx.run(SCRIPTS.indexUser, [ctx.global.accounts], [to]);
    }
    await indexUser(ctx, userId);
  };
  /** One move (or deleteUser) of a user at a time, from any process (MOVE_LOCK in lua/admin.ts). */
  const exclusive = async <T>(userId: string, operation: string, work: () => Promise<T>): Promise<T> => {
    const lock = `${ctx.prefix}:{${userTag(userId)}}:ml`;
    const token = randomBytes(12).toString('hex');
    // A lock a process that died left behind frees only after MOVE_LOCK_TTL_MS: this wait ends
    // first (moveWaitEnd), so that a move or delete never starts after its caller gave up on it.
    const end = moveWaitEnd(ctx);
    for (let attempt = 0; Number(await ctx.run(SCRIPTS.moveLock, [lock], [token, String(MOVE_LOCK_TTL_MS)])) !== 1; attempt += 1) {
      if (!(await pause(attempt, end))) throw new QuotaStoreError(operation, `${describeUser(userId)} is being moved between accounts by another call`);
    }
    try {
      return await work();
    } finally {
      await ctx.run(SCRIPTS.moveUnlock, [lock], [token]).catch(() => {});
    }
  };
  return {
    homeOf,
    liveConfigAt,
    arrivedBeyond,
    neverArrived,
    atHome,
    exclusive,
    setAccount: (userId, to) => exclusive(userId, 'setAccount', () => move(userId, to)),
  };
}

/** READ_TRAIL's reply as WRITE_TRAIL's arguments: per key its pttl, element count and elements. */
function trailArgs(trail: ReadonlyArray<number | string[]>): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < trail.length; i += 2) {
    const elements = trail[i + 1] as string[];
    out.push(String(trail[i]), String(elements.length), ...elements);
  }
  return out;
}

/** The reservation ids of the holds a move's snapshot carries (its 'x:<id>' fields). */
function heldIds(snapshot: readonly string[]): string[] {
  const ids: string[] = [];
  for (let i = snapshot.indexOf('|') + 1; i + 1 < snapshot.length; i += 2) {
    if (snapshot[i]!.startsWith('x:')) ids.push(snapshot[i]!.slice(2));
  }
  return ids;
}

/** How long the windows of a moved user must live at their new home: until the last one ends. */
function windowsTtl(snapshot: readonly string[], now: number): number {
  let end = now;
  for (let i = snapshot.indexOf('|') + 1; i + 1 < snapshot.length; i += 2) {
    const e = Number(snapshot[i + 1]!.split(' ')[2]);
    if (Number.isFinite(e) && e > end) end = e;
  }
  return Math.max(60_000, end - now + 3_600_000);
}

/**
 * When a wait for a move that starts now gives up: after MOVE_WAIT_MS, and within the engine's
 * store timeout (`storeTimeoutMs`, the store's operationTimeoutMs), which bounds each admin store
 * call: at three quarters of it, so that the last try (one script) still ends within it. The
 * caller then gets this wait's own error, not a bare timeout while the wait went on unseen (and,
 * for the move lock, took it after the caller was told the call failed, moving or deleting the user).
 */
function moveWaitEnd(ctx: RedisContext): number {
  return Date.now() + Math.min(MOVE_WAIT_MS, ctx.settings.operationTimeoutMs * 0.75);
}

/**
 * Waits before the next try of a wait for a move (1, 2, 4... ms, at most 50); false, without
 * waiting, when that try would come after `end`.
 */
async function pause(attempt: number, end: number): Promise<boolean> {
  const ms = Math.min(2 ** attempt, 50);
  if (Date.now() + ms > end) return false;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return true;
}

function describeUser(userId: string): string {
  return `User ${JSON.stringify(userId.length > 60 ? `${userId.slice(0, 60)}…` : userId)}`;
}
