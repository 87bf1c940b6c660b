import { luaBindings, READ_ACCOUNT_ARGS, READ_ARGS } from '../schema.js';
import { PRELUDE } from './prelude.js';

/**
 * Scripts that are never on a wrapped call's path: reads, admin writes, and the steps of moving a
 * user between accounts. Each touches keys of one hash tag. (Over 300 lines: Lua text kept beside
 * the window helpers it shares, so a script reads top to bottom in one place.)
 */

/** The windows of `rules` in window hash w, holds past their lease not counted; appended to out. */
const VIEW = `
local function view(w, rules, now, out)
  local all = redis.call('HGETALL', w)
  local stored, expired = {}, {}
  for i = 1, #all, 2 do
    local f, v = all[i], all[i + 1]
    if string.sub(f, 1, 2) == 'w:' then stored[string.sub(f, 3)] = state(v)
    elseif string.sub(f, 1, 2) == 'x:' then
      local expiry, shares = hold(v)
      if expiry <= now then expired[#expired + 1] = shares end
    end
  end
  for _, r in ipairs(rules) do
    local win, rolled = current(r, now, stored[r.id])
    if not win then return false end
    local held = win.h
    if not rolled then
      for _, shares in ipairs(expired) do
        local share = shares[r.id]
        if share and share.fp == win.fp and share.s == win.s then held = held - share.amount end
      end
    end
    out[#out + 1] = win.s; out[#out + 1] = win.e; out[#out + 1] = win.u; out[#out + 1] = math.max(0, held)
  end
  return true
end
`;

/**
 * read: the user's windows (and their account's) without writing.
 * KEYS[1] user config hash, KEYS[2] user window hash; for a member, KEYS[3] account config hash,
 * KEYS[4] account window hash. ARGV: READ_ARGS.
 * Replies: {'ok', now, active 0|1, (start, end, used, held) per rule, user's then account's} |
 * {'stale', now, scope, version, rules, anchor, plan} | {'clock', now, at} | {'moved', now, home} |
 * {'moving', now}
 */
export const READ = `#!lua flags=no-writes
${PRELUDE}
${luaBindings(READ_ARGS)}
${VIEW}
local cfg = redis.call('HMGET', KEYS[1], 'v', 'x', 'r', 'a', 'p', 'acct', 'moved', 'in')
if inAccount then
  if cfg[7] then return { 'moved', now, cfg[7] } end
  if not cfg[8] then return { 'moving', now } end
elseif cfg[6] then
  return { 'moved', now, cfg[6] }
end
if (tonumber(cfg[1]) or 0) ~= version then return { 'stale', now, 'user', tonumber(cfg[1]) or 0, cfg[3] or '', cfg[4] or '', cfg[5] or '' } end
if inAccount then
  local acfg = redis.call('HMGET', KEYS[3], 'v', 'r', 'p')
  if (tonumber(acfg[1]) or 0) ~= accountVersion then return { 'stale', now, 'account', tonumber(acfg[1]) or 0, acfg[2] or '', '', acfg[3] or '' } end
end
local out = { 'ok', now, cfg[2] == '0' and 0 or 1 }
if not view(KEYS[2], rules, now, out) then return { 'clock', now, now } end
if inAccount and not view(KEYS[4], accountRules, now, out) then return { 'clock', now, now } end
return out
`;

/**
 * read-account: an account's windows. KEYS[1] account config hash, KEYS[2] account window hash.
 * ARGV: READ_ACCOUNT_ARGS. Replies: {'ok', now, (start, end, used, held) per rule} | {'stale', now,
 * 'account', version, rules, '', plan} | {'clock', now, at}
 */
export const READ_ACCOUNT = `#!lua flags=no-writes
${PRELUDE}
${luaBindings(READ_ACCOUNT_ARGS)}
${VIEW}
local acfg = redis.call('HMGET', KEYS[1], 'v', 'r', 'p')
if (tonumber(acfg[1]) or 0) ~= version then return { 'stale', now, 'account', tonumber(acfg[1]) or 0, acfg[2] or '', '', acfg[3] or '' } end
local out = { 'ok', now }
if not view(KEYS[2], rules, now, out) then return { 'clock', now, now } end
return out
`;

/**
 * get-config: KEYS[1] config hash (the user's own, or their member config in an account), KEYS[2]
 * window hash. Reply: {version, rules, anchor, plan, active 0|1, exists 0|1, account pointer
 * ('' = none), moved (false = not moved), in (false = not a member here)}.
 */
export const GET_CONFIG = `#!lua flags=no-writes
local cfg = redis.call('HMGET', KEYS[1], 'v', 'r', 'a', 'p', 'x', 'acct', 'moved', 'in')
local exists = redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 and 1 or 0
return { cfg[1] or '0', cfg[2] or '', cfg[3] or '', cfg[4] or '', cfg[5] == '0' and 0 or 1, exists, cfg[6] or '', cfg[7], cfg[8] }
`;

/**
 * Whether the user lives at the home of config hash \`key\`: in an account, marked there and not
 * moved on; on their own, no pointer to an account.
 */
const LIVES_HERE = `
local function livesHere(key, member)
  if member then
    return redis.call('HEXISTS', key, 'in') == 1 and redis.call('HEXISTS', key, 'moved') == 0
  end
  return redis.call('HEXISTS', key, 'acct') == 0
end
`;

/** Shared validation of change payloads (admin, JSON in ARGV[1]). */
const CHANGE = `
local a = cjson.decode(ARGV[1])
if type(a) ~= 'table' then fail('invalid change') end
local function optionalText(v, name, max)
  if v ~= nil and v ~= cjson.null and (type(v) ~= 'string' or #v == 0 or #v > max) then fail('invalid ' .. name) end
end
-- The largest rules the engine accepts (16 rules of 32 model filters of 256 characters, escaped
-- in JSON) are about 790 KB: 1 MB keeps every valid list, and bounds what one change can store.
optionalText(a.rules, 'rules', 1048576)
optionalText(a.plan, 'plan', 262144)
local removed = a.removed or {}
if type(removed) ~= 'table' then fail('invalid removed') end
for _, rid in ipairs(removed) do
  if type(rid) ~= 'string' or #rid == 0 or #rid > 64 or not string.match(rid, '^[%w_.-]+$') then fail('invalid removed') end
end
-- A removed rule's window: its usage goes, but what calls in flight hold on it stays while they
-- hold it. Deleting that too let the rule, added again, start a fresh window with the same
-- fingerprint and start, which those calls' shares match: their settling took their amounts off
-- the new window's holds, and calls past the limit were admitted.
local function dropWindow(w, rid)
  local win = state(redis.call('HGET', w, 'w:' .. rid))
  if win and win.h > 0 then
    win.u, win.a = 0, 0
    redis.call('HSET', w, 'w:' .. rid, packed(win))
  else
    redis.call('HDEL', w, 'w:' .. rid)
  end
end
local bump = false
local function apply(key, field, v)
  if v == cjson.null then redis.call('HDEL', key, field); bump = true
  elseif v ~= nil then redis.call('HSET', key, field, v); bump = true end
end
`;

/**
 * update-user: KEYS[1] config hash, KEYS[2] window hash (at the home the caller read). ARGV[1]
 * JSON {rules?: JSON | null, plan?: id | null, removed: rule ids, anchor?: ms (set only if none),
 * active?: boolean}, ARGV[2] '1' when that home is an account, else '0'. The version goes up when
 * rules, plan or anchor change. Writes nothing when the user does not live there (moved since the
 * caller read their home, or being moved): the caller reads it again.
 * Reply: {version, previous plan ('' = none)} | {'moved'}.
 */
export const UPDATE_USER = `#!lua
${PRELUDE}
${LIVES_HERE}
${CHANGE}
if a.anchor ~= nil and (type(a.anchor) ~= 'number' or a.anchor ~= a.anchor or a.anchor < 0 or a.anchor > MAXN or a.anchor % 1 ~= 0) then fail('invalid anchor') end
if a.active ~= nil and type(a.active) ~= 'boolean' then fail('invalid active') end
if ARGV[2] ~= '0' and ARGV[2] ~= '1' then fail('invalid home') end
if not livesHere(KEYS[1], ARGV[2] == '1') then return { 'moved' } end
local previous = redis.call('HGET', KEYS[1], 'p') or ''
apply(KEYS[1], 'r', a.rules)
if a.plan ~= nil and (a.plan == cjson.null and '' or a.plan) == previous then a.plan = nil end
apply(KEYS[1], 'p', a.plan)
if a.anchor ~= nil and redis.call('HEXISTS', KEYS[1], 'a') == 0 then
  redis.call('HSET', KEYS[1], 'a', fmt(a.anchor))
  bump = true
end
if a.active == false then redis.call('HSET', KEYS[1], 'x', '0') elseif a.active == true then redis.call('HDEL', KEYS[1], 'x') end
for _, rid in ipairs(removed) do dropWindow(KEYS[2], rid) end
local v = bump and redis.call('HINCRBY', KEYS[1], 'v', 1) or (tonumber(redis.call('HGET', KEYS[1], 'v')) or 0)
return { v, previous }
`;

/**
 * update-account: KEYS[1] account config hash, KEYS[2] account window hash. ARGV[1] JSON {rules?,
 * plan?, removed}. Reply: {version, previous plan ('' = none)}.
 */
export const UPDATE_ACCOUNT = `#!lua
${PRELUDE}
${CHANGE}
local previous = redis.call('HGET', KEYS[1], 'p') or ''
apply(KEYS[1], 'r', a.rules)
if a.plan ~= nil and (a.plan == cjson.null and '' or a.plan) == previous then a.plan = nil end
apply(KEYS[1], 'p', a.plan)
for _, rid in ipairs(removed) do dropWindow(KEYS[2], rid) end
redis.call('HSETNX', KEYS[1], 'v', '0')
local v = bump and redis.call('HINCRBY', KEYS[1], 'v', 1) or (tonumber(redis.call('HGET', KEYS[1], 'v')) or 0)
return { v, previous }
`;

/** get-account: KEYS[1] account config hash, KEYS[2] members zset. Reply: {version, rules, plan, exists 0|1, members}. */
export const GET_ACCOUNT = `#!lua flags=no-writes
local c = redis.call('HMGET', KEYS[1], 'v', 'r', 'p')
return { c[1] or '0', c[2] or '', c[3] or '', redis.call('EXISTS', KEYS[1]), redis.call('ZCARD', KEYS[2]) }
`;

/**
 * move-out: the first step of moving a user: freezes their state at the home they leave and marks
 * it left (reserves, reads and commits there are sent on; see COMMIT 'forward'). From then on
 * nothing is written to the user's keys at this home, so the snapshot, the log and the history
 * read from it stay exact until the move completes. Idempotent: a home already left for the same
 * target (an own home: for any target) answers the snapshot it took then (a snapshot left by an
 * older move is never reused: move-in drops the snapshot at the home it arrives at).
 * KEYS[1] config hash, KEYS[2] window hash, KEYS[3] the snapshot key, KEYS[4] (leaving an account)
 * its members zset. ARGV[1] target home ('' = on their own), ARGV[2] user id, ARGV[3] snapshot ttl.
 * Reply: the snapshot: {config fields and values..., '|', window fields and values..., then the
 * holds of calls in flight ('x:<id>', text form) and their earliest expiry ('m')}.
 */
export const MOVE_OUT = `#!lua
${PRELUDE}
local target, userId, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
if not ttl or ttl ~= ttl or ttl < 1 or ttl > MAXN or ttl % 1 ~= 0 then fail('invalid ttl') end
local left = redis.call('HMGET', KEYS[1], 'moved', 'acct')
local retry
-- An own home left already was emptied then: its snapshot is the user's state whatever the target
-- (a move that stopped before the user arrived, now sent elsewhere). An account's member config
-- stays whole, and a snapshot there is reused only for the same target.
if KEYS[4] then retry = left[1] == target else retry = left[2] ~= false end
local snapshot = retry and redis.call('LRANGE', KEYS[3], 0, -1) or {}
if #snapshot == 0 then
  redis.call('DEL', KEYS[3])
  local cfg = redis.call('HGETALL', KEYS[1])
  for i = 1, #cfg, 2 do
    local f = cfg[i]
    if f == 'v' or f == 'r' or f == 'a' or f == 'p' or f == 'x' then snapshot[#snapshot + 1] = f; snapshot[#snapshot + 1] = cfg[i + 1] end
  end
  snapshot[#snapshot + 1] = '|'
  -- What was used moves, and so do the holds of calls in flight (in text form: the snapshot
  -- crosses the client as UTF-8 strings), so that the new home counts them until they settle:
  -- their commits are forwarded there, and their releases and renewals follow the user (engine).
  -- Each window is given what the holds carried hold in it (a hold that cannot be read stays).
  local all = redis.call('HGETALL', KEYS[2])
  local windows, held, holds, earliest = {}, {}, {}, nil
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 2) == 'w:' then windows[string.sub(all[i], 3)] = state(all[i + 1]) end
  end
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 2) == 'x:' then
      local expiry, shares, readable = hold(all[i + 1])
      if readable then
        holds[#holds + 1] = all[i]; holds[#holds + 1] = textHold(all[i + 1])
        if not earliest or expiry < earliest then earliest = expiry end
        for rid, share in pairs(shares) do
          local w = windows[rid]
          if w and w.fp == share.fp and w.s == share.s then held[rid] = (held[rid] or 0) + share.amount end
        end
      end
    end
  end
  for i = 1, #all, 2 do
    local rid = string.sub(all[i], 3)
    if string.sub(all[i], 1, 2) == 'w:' and windows[rid] then
      local w = windows[rid]
      w.h = held[rid] or 0
      snapshot[#snapshot + 1] = all[i]; snapshot[#snapshot + 1] = textWindow(w)
    end
  end
  for i = 1, #holds do snapshot[#snapshot + 1] = holds[i] end
  if earliest then snapshot[#snapshot + 1] = 'm'; snapshot[#snapshot + 1] = fmt(earliest) end
  redis.call('RPUSH', KEYS[3], unpack(snapshot))
  redis.call('PEXPIRE', KEYS[3], fmt(ttl))
end
if KEYS[4] then
  redis.call('HSET', KEYS[1], 'moved', target)
  redis.call('ZREM', KEYS[4], userId)
  redis.call('PEXPIRE', KEYS[1], fmt(ttl))
else
  -- Leaving their own home: the own config keeps only the pointer to the account.
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'acct', target)
end
return snapshot
`;

/**
 * read-trail: what a user's log and history hold at a home they left (frozen since move-out).
 * KEYS[1] log zset, KEYS[2...] history hashes by month. Reply: {log pttl, {member, score, ...}},
 * then per month {pttl, {field, value, ...}}.
 */
export const READ_TRAIL = `#!lua flags=no-writes
local out = { redis.call('PTTL', KEYS[1]), redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES') }
for i = 2, #KEYS do
  out[#out + 1] = redis.call('PTTL', KEYS[i])
  out[#out + 1] = redis.call('HGETALL', KEYS[i])
end
return out
`;

/**
 * write-trail: the step before move-in: replaces the user's log and history at the new home with
 * the trail read from the home they left. Nothing is written at a home before the user lives there,
 * so replacing is exact, and a repeat writes the same; once the user lives there (move-in done), it
 * does nothing.
 * KEYS[1] config hash at the new home, KEYS[2] log zset, KEYS[3...] history hashes by month (as
 * read). ARGV[1] '1' when the new home is an account, then for the log and each month: its pttl
 * (ms, or negative: no expiry), its element count n, n elements (log: member, score pairs; months:
 * field, value pairs). Reply: 1 when written, 0 when the user already lives there.
 */
export const WRITE_TRAIL = `#!lua
${PRELUDE}
${LIVES_HERE}
if livesHere(KEYS[1], ARGV[1] == '1') then return 0 end
local at = 2
for k = 2, #KEYS do
  local key, pttl, n = KEYS[k], tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  if not pttl or pttl ~= pttl or not n or n < 0 or n % 2 ~= 0 or at + 1 + n > #ARGV then fail('invalid trail') end
  redis.call('DEL', key)
  for i = at + 2, at + 1 + n, 2 do
    if k == 2 then
      local score = tonumber(ARGV[i + 1])
      if not score or score ~= score then fail('invalid trail') end
      redis.call('ZADD', key, ARGV[i + 1], ARGV[i])
    else
      redis.call('HSET', key, ARGV[i], ARGV[i + 1])
    end
  end
  if n > 0 and pttl > 0 then redis.call('PEXPIRE', key, fmt(pttl)) end
  at = at + 2 + n
end
return 1
`;

/**
 * move-in: the last step: installs the snapshot at the new home (a new config version, the used
 * figures of the user's windows, the holds of calls in flight) and marks the user there.
 * Idempotent (a home where the user already lives keeps its state).
 * KEYS[1] config hash, KEYS[2] window hash, KEYS[3] the snapshot key at this home (a snapshot left
 * from an earlier stay is dropped), KEYS[4] (joining an account) its members zset, then the outcome
 * hashes at this home of the snapshot's holds (see ARGV[3]).
 * ARGV[1] user id, ARGV[2] time to live of the windows (ms), then optionally '#' and n: the last n
 * KEYS are those outcome hashes; then the snapshot (as move-out answered it). A hold whose call
 * was already released or committed here is not installed, nor counted in its windows: a release
 * sent here while the user was still on the way (an own home answers with its pointer to the
 * account being left) marked the call released here and dropped nothing, and the hold installed
 * after it stayed until its lease ended, every later release being answered as a repeat.
 * Reply: 1 when installed, 0 when the user was already there.
 */
export const MOVE_IN = `#!lua
${PRELUDE}
${LIVES_HERE}
local userId, ttl = ARGV[1], tonumber(ARGV[2])
if not ttl or ttl ~= ttl or ttl < 1 or ttl > MAXN or ttl % 1 ~= 0 then fail('invalid ttl') end
local i, settledKeys = 3, 0
if ARGV[3] == '#' then
  settledKeys = tonumber(ARGV[4])
  if not settledKeys or settledKeys ~= settledKeys or settledKeys < 0 or settledKeys % 1 ~= 0 or settledKeys > #KEYS - 3 then fail('invalid outcome keys') end
  i = 5
end
local members = #KEYS - settledKeys >= 4 and KEYS[4] or nil
if livesHere(KEYS[1], members ~= nil) then return 0 end
local cfg, version = {}, 0
while ARGV[i] and ARGV[i] ~= '|' do
  if ARGV[i] == 'v' then version = tonumber(ARGV[i + 1]) or 0 else cfg[#cfg + 1] = ARGV[i]; cfg[#cfg + 1] = ARGV[i + 1] end
  i = i + 2
end
if ARGV[i] ~= '|' then fail('invalid snapshot') end
-- The holds of calls already settled here (see above), and what they hold in each window.
local settled, off = {}, {}
for j = i + 1, #ARGV, 2 do
  local field = ARGV[j]
  if string.sub(field, 1, 2) == 'x:' then
    local id = string.sub(field, 3)
    for k = #KEYS - settledKeys + 1, #KEYS do
      local done = redis.call('HGET', KEYS[k], id)
      if done and (string.sub(done, 1, 1) == 'r' or string.sub(done, 1, 1) == 'c') then
        settled[field] = true
        local _, shares = hold(ARGV[j + 1] or '')
        for rid, share in pairs(shares) do
          local key = rid .. ' ' .. share.fp .. ' ' .. fmt(share.s)
          off[key] = (off[key] or 0) + share.amount
        end
        break
      end
    end
  end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
cfg[#cfg + 1] = 'v'; cfg[#cfg + 1] = fmt(version + 1)
if members then cfg[#cfg + 1] = 'in'; cfg[#cfg + 1] = '1' end
redis.call('HSET', KEYS[1], unpack(cfg))
local windows = {}
for j = i + 1, #ARGV, 2 do
  local field, value = ARGV[j], ARGV[j + 1] or ''
  local kind = string.sub(field, 1, 2)
  if kind == 'w:' then
    local w = state(value)
    if w then
      local taken = off[string.sub(field, 3) .. ' ' .. w.fp .. ' ' .. fmt(w.s)]
      if taken then w.h = math.max(0, w.h - taken) end
      windows[#windows + 1] = field; windows[#windows + 1] = packed(w)
    end
  elseif kind == 'x:' then
    -- The hold of a call in flight at the home left (text form, read as a hold is).
    local _, _, readable = hold(value)
    if readable and not settled[field] then windows[#windows + 1] = field; windows[#windows + 1] = value end
  elseif field == 'm' and tonumber(value) then
    windows[#windows + 1] = 'm'; windows[#windows + 1] = fmt(tonumber(value))
  end
end
if #windows > 0 then
  redis.call('HSET', KEYS[2], unpack(windows))
  redis.call('PEXPIRE', KEYS[2], fmt(ttl))
end
if members then redis.call('ZADD', members, 0, userId) end
return 1
`;

/**
 * move-lock: takes the lock a user's moves between accounts run under, one at a time (two moves at
 * once each snapshotted the user, one of them from a config the other had already emptied).
 * KEYS[1] the lock key (under the user's own tag), ARGV[1] a token naming the holder, ARGV[2] its
 * time to live (ms; a holder that died frees it then). Reply: 1 when taken, 0 when held by another.
 */
export const MOVE_LOCK = `#!lua
${PRELUDE}
local ttl = tonumber(ARGV[2])
if #ARGV[1] == 0 or #ARGV[1] > 64 then fail('invalid token') end
if not ttl or ttl ~= ttl or ttl < 1 or ttl > MAXN or ttl % 1 ~= 0 then fail('invalid ttl') end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', fmt(ttl)) then return 1 end
return 0
`;

/** move-unlock: KEYS[1] the lock key; ARGV[1] the holder's token. Frees the lock if that holder still has it. */
export const MOVE_UNLOCK = `#!lua
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
`;

/** set-pointer: KEYS[1] the user's own config hash; ARGV[1] the account the user lives in. */
export const SET_POINTER = `#!lua
redis.call('HSET', KEYS[1], 'acct', ARGV[1])
return 1
`;

/** list-lex: KEYS[1] a zset of ids; ARGV[1] exclusive cursor ('' = from the start), ARGV[2] count. */
export const LIST_LEX = `#!lua flags=no-writes
local from = '-'
if ARGV[1] ~= '' then from = '(' .. ARGV[1] end
return redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', 0, tonumber(ARGV[2]))
`;

/**
 * reset-usage: zero used and fired alerts of existing windows. KEYS[1] config hash, KEYS[2] window
 * hash (at the home the caller read); ARGV[1] '1' when that home is an account, else '0', ARGV[2...]
 * rule ids. Writes nothing when the user does not live there (as UPDATE_USER).
 * Reply: 1 | 'moved'.
 */
export const RESET_USAGE = `#!lua
${PRELUDE}
${LIVES_HERE}
if ARGV[1] ~= '0' and ARGV[1] ~= '1' then fail('invalid home') end
for i = 2, #ARGV do if #ARGV[i] == 0 or #ARGV[i] > 64 or not string.match(ARGV[i], '^[%w_.-]+$') then fail('invalid rule id') end end
if not livesHere(KEYS[1], ARGV[1] == '1') then return 'moved' end
for i = 2, #ARGV do
  local w = state(redis.call('HGET', KEYS[2], 'w:' .. ARGV[i]))
  if w then
    w.u, w.a = 0, 0
    redis.call('HSET', KEYS[2], 'w:' .. ARGV[i], packed(w))
  end
end
return 1
`;

/**
 * delete-member: deletes a member's keys at their account's home and leaves a marker that sends
 * their calls on to their own home (as a move to their own home would), so that a process which
 * still believes the user is a member follows, and calls in flight are charged once.
 * KEYS[1] config hash, KEYS[2] members zset, KEYS[3...] the member's other keys. ARGV[1] user id,
 * ARGV[2] marker ttl (ms). Reply: {the plan the config named ('' = none, or already deleted), whose
 * use count the caller then takes down (so a repeated delete takes nothing), the config's version
 * (0 = none), which the own home's marker goes on above (see DELETE_KEYS)}.
 */
export const DELETE_MEMBER = `#!lua
${PRELUDE}
local ttl = tonumber(ARGV[2])
if not ttl or ttl ~= ttl or ttl < 1 or ttl > MAXN or ttl % 1 ~= 0 then fail('invalid ttl') end
local cfg = redis.call('HMGET', KEYS[1], 'p', 'v')
redis.call('ZREM', KEYS[2], ARGV[1])
for i = 1, #KEYS do if i ~= 2 then redis.call('DEL', KEYS[i]) end end
redis.call('HSET', KEYS[1], 'moved', '')
redis.call('PEXPIRE', KEYS[1], fmt(ttl))
return { cfg[1] or '', tonumber(cfg[2]) or 0 }
`;

/**
 * delete-keys: delete every given key of one user (all in the user's slot). KEYS[1] the user's own
 * config hash. ARGV[1] the version of the user's config in an account deleted just before ('0' =
 * none); ARGV[2] (optional): the position in KEYS of the snapshot a move out of this home took,
 * when the user never arrived where it went: their config is then that snapshot (move-out emptied
 * the config hash), whose plan is the one answered. The config hash is left holding only a version
 * above every one the user's config had (when it had one): other processes keep the rules they
 * read for a version they hold, so a config that started again at 0 gave its versions a second
 * meaning and those processes applied the deleted user's old rules to the new ones.
 * Reply: the plan the config named ('' = none, or already deleted), as DELETE_MEMBER.
 */
export const DELETE_KEYS = `#!lua
${PRELUDE}
local carried = tonumber(ARGV[1])
if not carried or carried ~= carried or carried < 0 or carried >= MAXN or carried % 1 ~= 0 then fail('invalid version') end
local at = ARGV[2] and tonumber(ARGV[2])
if ARGV[2] and (not at or at ~= at or at % 1 ~= 0 or at < 2 or at > #KEYS) then fail('invalid snapshot key') end
local cfg = redis.call('HMGET', KEYS[1], 'p', 'v')
local plan, version = cfg[1] or '', math.max(tonumber(cfg[2]) or 0, carried)
if at then
  local snapshot = redis.call('LRANGE', KEYS[at], 0, -1)
  for i = 1, #snapshot - 1, 2 do
    if snapshot[i] == '|' then break end
    if snapshot[i] == 'p' and plan == '' then plan = snapshot[i + 1] end
    if snapshot[i] == 'v' then version = math.max(version, tonumber(snapshot[i + 1]) or 0) end
  end
end
redis.call('DEL', unpack(KEYS))
if version > 0 and version < MAXN then redis.call('HSET', KEYS[1], 'v', fmt(version + 1)) end
return plan
`;

/** read-hashes: HGETALL of every key (history months). Reply: one flat array per key. */
export const READ_HASHES = `#!lua flags=no-writes
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGETALL', key) end
return out
`;

/**
 * read-log: newest entries of a log zset. KEYS[1] log; ARGV[1] until (ms or '+inf'),
 * ARGV[2] since (ms or '-inf'), ARGV[3] limit. Reply: member, score pairs.
 */
export const READ_LOG = `#!lua flags=no-writes
return redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
`;

/**
 * record-refusal: KEYS[1] the user's refusals list; ARGV[1] the refusal's JSON (at most 4 KB),
 * ARGV[2] how many to keep, ARGV[3] their time to live in ms.
 */
export const RECORD_REFUSAL = `#!lua
local n = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
if #ARGV[1] == 0 or #ARGV[1] > 4096 then error({ err = 'ERR token-limits: invalid refusal' }) end
if not n or n ~= n or n < 1 or n > 1000 or n % 1 ~= 0 then error({ err = 'ERR token-limits: invalid maxKept' }) end
if not ttl or ttl ~= ttl or ttl < 1 or ttl > 31536000000 or ttl % 1 ~= 0 then error({ err = 'ERR token-limits: invalid ttl' }) end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, n - 1)
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`;

/** read-refusals: KEYS[1] the user's refusals list; ARGV[1] how many (newest first). */
export const READ_REFUSALS = `#!lua flags=no-writes
local n = tonumber(ARGV[1])
if not n or n ~= n or n < 1 or n > 1000 or n % 1 ~= 0 then error({ err = 'ERR token-limits: invalid limit' }) end
return redis.call('LRANGE', KEYS[1], 0, n - 1)
`;
