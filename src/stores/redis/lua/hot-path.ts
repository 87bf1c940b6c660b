import { COMMIT_ARGS, luaBindings, RELEASE_ARGS, RENEW_ARGS, RESERVE_ARGS } from '../schema.js';
import { PRELUDE } from './prelude.js';

/**
 * The scripts on a wrapped call's path. Each touches one user's keys, and for a member of an
 * account the account's keys, all under one hash tag (one Redis Cluster slot); declares every key
 * in KEYS; validates all of its arguments before its first write (Lua has no rollback); and starts
 * with `#!lua`, so that Redis refuses it before it runs when memory is full. Fields are described in
 * prelude.ts. Over 300 lines: reserve, commit and release share routing and window code and are
 * read together.
 */

/**
 * Routing and versions, shared by reserve and read: where the user lives, and whether each scope's
 * rules are the stored ones. Returns a reply to send back, or nil to go on.
 */
const ROUTE = `
local function route(cfg, acfg, now)
  if inAccount then
    if cfg[5] then return { 'moved', now, cfg[5] } end
    if not cfg[6] then return { 'moving', now } end
  elseif cfg[4] then
    return { 'moved', now, cfg[4] }
  end
  if (tonumber(cfg[1]) or 0) ~= version then
    local c = rcall('HMGET', KEYS[1], 'v', 'r', 'a', 'p')
    return { 'stale', now, 'user', tonumber(c[1]) or 0, c[2] or '', c[3] or '', c[4] or '' }
  end
  if inAccount and (tonumber(acfg[1]) or 0) ~= accountVersion then
    local c = rcall('HMGET', KEYS[4], 'v', 'r', 'p')
    return { 'stale', now, 'account', tonumber(c[1]) or 0, c[2] or '', '', c[3] or '' }
  end
  return nil
end
`;

/**
 * reserve: hold the amounts on every rule of the user, and of their account, in one step; or
 * refuse and hold nothing.
 * KEYS[1] user config hash, KEYS[2] user window hash, KEYS[3] outcome hash of the reservation's 10
 * minutes; for a member of an account, KEYS[4] account config hash, KEYS[5] account window hash.
 * ARGV: RESERVE_ARGS.
 * Replies: {'ok', now, replayed 0|1, new user 0|1, (start, end, used, held) per rule, user's then
 * account's} | {'rejected', now, 'user'|'account', rule index, windows as for ok} | {'disabled',
 * now} | {'closed', now} | {'stale', now, scope, version, rules, anchor, plan} | {'clock', now, at}
 * | {'moved', now, home ('' = on their own)} | {'moving', now}
 */
export const RESERVE = `#!lua
${PRELUDE}
${luaBindings(RESERVE_ARGS)}
${ROUTE}
local cfg = rcall('HMGET', KEYS[1], 'v', 'x', 'a', 'acct', 'moved', 'in')
local acfg = inAccount and rcall('HMGET', KEYS[4], 'v', 'x') or {}
local routed = route(cfg, acfg, now)
if routed then return routed end
if cfg[2] == '0' then return { 'disabled', now } end
if initAnchor and not cfg[3] then
  rcall('HSET', KEYS[1], 'a', fmt(now))
  rcall('HINCRBY', KEYS[1], 'v', 1)
  local c = rcall('HMGET', KEYS[1], 'v', 'r', 'a', 'p')
  return { 'stale', now, 'user', tonumber(c[1]) or 0, c[2] or '', c[3] or '', c[4] or '' }
end
local field = 'x:' .. id
local st, wins, changed, maxEnd = scopeWindows(KEYS[2], rules, now, field, 'm', 'k')
if not st then return { 'clock', now, now } end
local replayed = st[1] ~= false
if not replayed and rcall('HEXISTS', KEYS[3], id) == 1 then return { 'closed', now } end
local ast, awins, achanged, amaxEnd = {}, {}, {}, now
if inAccount then
  ast, awins, achanged, amaxEnd = scopeWindows(KEYS[5], accountRules, now, 'm', 'k')
  if not ast then return { 'clock', now, now } end
end
local isNew = not (cfg[1] or cfg[2] or cfg[3])
for i = 4, #rules + 3 do if st[i] then isNew = false end end

local set, aset = {}, {}
if not replayed then
  local refused = refusing(rules, wins, amounts)
  local earliest = tonumber(st[2]) or 0
  -- Holds whose lease ended still count until purged: purge only when they could be why.
  if refused and earliest > 0 and earliest <= now and purge(KEYS[2], now) then
    st, wins, changed, maxEnd = scopeWindows(KEYS[2], rules, now, field, 'm', 'k')
    refused = refusing(rules, wins, amounts)
    earliest = tonumber(st[2]) or 0
  end
  if refused then return withWindows({ 'rejected', now, 'user', refused - 1 }, wins, awins) end
  local arefused = inAccount and refusing(accountRules, awins, amounts)
  local aearliest = tonumber(ast[1]) or 0
  if arefused and aearliest > 0 and aearliest <= now and purge(KEYS[5], now) then
    ast, awins, achanged, amaxEnd = scopeWindows(KEYS[5], accountRules, now, 'm', 'k')
    arefused = refusing(accountRules, awins, amounts)
    aearliest = tonumber(ast[1]) or 0
  end
  if arefused then return withWindows({ 'rejected', now, 'account', arefused - 1 }, wins, awins) end
  local expiry = now + lease
  set[1] = field; set[2] = holdValue(rules, wins, amounts, expiry)
  if earliest == 0 or expiry < earliest then set[3] = 'm'; set[4] = fmt(expiry) end
  for i = 1, #rules do
    local r = rules[i]
    if amounts[r.m] > 0 then wins[i].h = wins[i].h + amounts[r.m]; changed[i] = true end
  end
  if inAccount then
    aset[1] = field; aset[2] = holdValue(accountRules, awins, amounts, expiry)
    if aearliest == 0 or expiry < aearliest then aset[3] = 'm'; aset[4] = fmt(expiry) end
    for i = 1, #accountRules do
      local r = accountRules[i]
      if amounts[r.m] > 0 then awins[i].h = awins[i].h + amounts[r.m]; achanged[i] = true end
    end
  end
end
for i = 1, #rules do
  local r = rules[i]
  if changed[i] then set[#set + 1] = r.f; set[#set + 1] = packed(wins[i]) end
end
for i = 1, #accountRules do
  local r = accountRules[i]
  if achanged[i] then aset[#aset + 1] = r.f; aset[#aset + 1] = packed(awins[i]) end
end
if set[1] then
  rcall('HSET', KEYS[2], unpack(set))
  local hz = horizons(st[3])
  keep(hz, 'w', nil, nil, KEYS[2], now, mmax(maxEnd - now, lease))
  saveHorizons(KEYS[2], hz)
end
if aset[1] then
  rcall('HSET', KEYS[5], unpack(aset))
  local hz = horizons(ast[2])
  keep(hz, 'w', nil, nil, KEYS[5], now, mmax(amaxEnd - now, lease))
  saveHorizons(KEYS[5], hz)
end
return withWindows({ 'ok', now, replayed and 1 or 0, isNew and 1 or 0 }, wins, awins)
`;

/** Charges one scope's windows (see CommitReply in stores/protocol); returns the fields to set. */
const CHARGE = `
local function charge(rules, wins, shares, matchFrom, scope, out, fired, expired)
  local set, found = {}, 0
  for i = 1, #rules do
    local r = rules[i]
    local w, share = wins[i], shares[r.id]
    if share then
      found = found + 1
      -- A hold whose lease ended counts for nothing, as if a purge had dropped it before this
      -- commit (MemoryStore's order): its amount leaves the window it was held in, and the usage is
      -- charged in full. Kept as a share, a window that rolled over since was charged only the part
      -- beyond it, and the rest of the usage was counted nowhere.
      if expired then
        if share.fp == r.fp and share.s == w.s then
          w.h = mmax(0, w.h - share.amount)
          if sbyte(matches, matchFrom + i) ~= 49 then set[#set + 1] = r.f; set[#set + 1] = packed(w) end
        end
        share = nil
      end
    end
    if share or sbyte(matches, matchFrom + i) == 49 then
      local amount = amounts[r.m]
      if costUnknown and r.m == 'c' then amount = share and share.amount or 0 end
      if share and share.fp == r.fp and share.s == w.s then
        w.h = mmax(0, w.h - share.amount)
        w.u = w.u + amount
      elseif share and share.fp == r.fp and share.s < w.s then
        w.u = w.u + mmax(0, amount - share.amount)
      else
        w.u = w.u + amount
      end
      -- Thresholds increase (checked where they are bound): a window below the first crosses none,
      -- and most calls leave it there, so the loop is skipped for them.
      local lowest = thresholds[1]
      if lowest and w.u > 0 and w.u * 1000 >= r.limit * lowest then
        for k, perMille in ipairs(thresholds) do
          local bit = 2 ^ (k - 1)
          if w.u * 1000 >= r.limit * perMille and mfloor(w.a / bit) % 2 == 0 then
            w.a = w.a + bit
            out[3] = out[3] + 1
            local a = { scope, r.id, k - 1, w.u, r.limit, w.s, w.e }
            for _, v in ipairs(a) do out[#out + 1] = v end
            fired[#fired + 1] = scope .. ',' .. r.id .. ',' .. (k - 1) .. ',' .. fmt(w.u) .. ',' .. fmt(r.limit) .. ',' .. fmt(w.s) .. ',' .. fmt(w.e)
          end
        end
      end
      set[#set + 1] = r.f; set[#set + 1] = packed(w)
    end
  end
  return set, found
end

-- The hold of this reservation in window hash w, as shares by rule (empty when none); whether
-- there is one; whether it could be read; how many shares it has; its expiry (0 when none).
local function sharesIn(w, field)
  local value = rcall('HGET', w, field)
  if not value then return {}, false, true, 0, 0 end
  local expiry, shares, readable, n = hold(value)
  return shares, true, readable, n, expiry
end
`;

/**
 * commit: charge the actual usage, once per reservation id (see CommitReply in stores/protocol).
 * Sent where the call was reserved: when the user has left that home since, the account's share is
 * charged here and the reply asks for the user's share to be forwarded to the new home.
 * KEYS[1] user config hash, KEYS[2] user window hash, KEYS[3] outcome hash of the reservation's 10
 * minutes, KEYS[4] user log zset, KEYS[5] the user's history hash of the month; for a member of an
 * account, KEYS[6] account config hash, KEYS[7] account window hash; with a ledger, last, the
 * ledger stream of the slot (keys.ts).
 * ARGV: COMMIT_ARGS, then the record's JSON, then (with a ledger) the ledger note's JSON: the record
 * is appended to the stream in the same step as the charge, so it is there exactly once.
 * Replies: {'applied', now, alert count, (scope, rule, threshold index, used, limit, start, end)
 * per alert} | {'forward', now, time, home ('' = on their own), alert count, alerts as for applied}
 * | {'duplicate', now, first commit time, 1 if that commit was this attempt, its alerts as
 * 'scope,rule,threshold,used,limit,start,end' joined with '|' (this attempt only)} |
 * {'released', now} | {'stale', now, scope, version, rules, anchor, plan} | {'clock', now, at} |
 * (forwarded shares only) {'moved', now, home} | {'moving', now}
 */
export const COMMIT = `#!lua
${PRELUDE}
${luaBindings(COMMIT_ARGS)}
${CHARGE}
local record = ARGV[p]
if not record or #record == 0 or #record > 1048576 then fail('invalid record') end
local note = ARGV[p + 1]
-- A note names the account: an id of 65,536 characters is up to 393,216 bytes of JSON.
if note and (#note == 0 or #note > 1048576 or #KEYS ~= (inAccount and 8 or 6)) then fail('invalid ledger note') end
if #matches ~= #rules + #accountRules then fail('invalid matches') end
local cfg = rcall('HMGET', KEYS[1], 'v', 'acct', 'moved', 'in')
local done = rcall('HGET', KEYS[3], id)
-- 'f' (reserved here, the user's share forwarded to their new home) stops a replay of the commit
-- here, but not the forwarded share itself: it comes back here when the user has returned before
-- it could be charged elsewhere, and is then charged below, once ('f' becomes 'c').
if done and not (forwarded and ssub(done, 1, 1) == 'f') then
  local kind = ssub(done, 1, 1)
  if kind == 'r' then return { 'released', now } end
  if kind == 'f' then
    local ts, first, home, stored = smatch(done, '^f (%d+) (%S+) (%S*) ?(.*)$')
    local reply = { 'forward', now, tonumber(ts), home, 0 }
    -- The same attempt again (its forwarded step failed, or its reply was lost): the alerts its
    -- first try fired here were never given out, so they come back with the forward.
    if first == attempt then
      for a in string.gmatch(stored, '[^|]+') do
        local scope, rule, k, used, limit, s, e = smatch(a, '^(%a+),([^,]+),(%d+),(%d+),(%d+),(%-?%d+),(%-?%d+)$')
        if e then
          reply[5] = reply[5] + 1
          local n = #reply
          reply[n + 1], reply[n + 2], reply[n + 3], reply[n + 4] = scope, rule, tonumber(k), tonumber(used)
          reply[n + 5], reply[n + 6], reply[n + 7] = tonumber(limit), tonumber(s), tonumber(e)
        end
      end
    end
    return reply
  end
  local ts, first, alerts = smatch(done, '^c (%d+) (%S+) ?(.*)$')
  if first == attempt then return { 'duplicate', now, tonumber(ts), 1, alerts } end
  return { 'duplicate', now, tonumber(ts) or 0, 0, '' }
end
-- A forwarded share follows the user: it is charged only where they live now (a home they have
-- left, or not yet entered, is frozen or empty until their move completes).
if forwarded then
  if inAccount then
    if cfg[3] then return { 'moved', now, cfg[3] } end
    if not cfg[4] then return { 'moving', now } end
  elseif cfg[2] then
    return { 'moved', now, cfg[2] }
  end
end
-- Has the user left this home since the call was reserved here?
local away = nil
if not forwarded then
  if inAccount then
    if cfg[3] then away = cfg[3] end
  elseif cfg[2] then
    away = cfg[2]
  end
end
if not away and (tonumber(cfg[1]) or 0) ~= version then
  local c = rcall('HMGET', KEYS[1], 'v', 'r', 'a', 'p')
  return { 'stale', now, 'user', tonumber(c[1]) or 0, c[2] or '', c[3] or '', c[4] or '' }
end
if inAccount and not forwarded and (tonumber(rcall('HGET', KEYS[6], 'v')) or 0) ~= accountVersion then
  local c = rcall('HMGET', KEYS[6], 'v', 'r', 'p')
  return { 'stale', now, 'account', tonumber(c[1]) or 0, c[2] or '', '', c[3] or '' }
end

local field = 'x:' .. id
local out, fired = { 'applied', now, 0 }, {}
-- The user's windows are read before anything is written: a 'clock' reply after the account's
-- share was charged had the retry charge it again.
local st, wins, _, maxEnd = scopeWindows(KEYS[2], rules, now, field, 'm', 'k')
if not st then return { 'clock', now, now } end
if inAccount and not forwarded then
  local ast, awins, _, amaxEnd = scopeWindows(KEYS[7], accountRules, now, 'k')
  if not ast then return { 'clock', now, now } end
  local ashares, aheld, areadable, ashareCount, aexpiry = sharesIn(KEYS[7], field)
  local aset, afound = charge(accountRules, awins, ashares, #rules, 'account', out, fired, aheld and aexpiry <= now)
  local acharged = aset[1]
  -- Shares on rules that left while the call ran (few commits have any: counted, not searched).
  if afound < ashareCount then dropStrayShares(KEYS[7], accountRules, ashares, aset) end
  if aset[1] then rcall('HSET', KEYS[7], unpack(aset)) end
  if aheld then rcall('HDEL', KEYS[7], field) end
  if not areadable then recount(KEYS[7]) end
  if acharged then
    local ahz = horizons(ast[1])
    keep(ahz, 'w', nil, nil, KEYS[7], now, mmax(amaxEnd - now, doneTtl))
    saveHorizons(KEYS[7], ahz)
  end
end

local hz = horizons(st[3])
if away then
  -- The user's share is charged at their new home (the engine forwards it); drop the hold here.
  if st[1] then rcall('HDEL', KEYS[2], field) end
  rcall('HSET', KEYS[3], id, 'f ' .. fmt(now) .. ' ' .. attempt .. ' ' .. away .. ' ' .. tconcat(fired, '|'))
  keep(hz, 'd', 'dn', bucket, KEYS[3], now, doneTtl)
  -- The horizons written may have created the window hash: make sure it expires too.
  keep(hz, 'w', nil, nil, KEYS[2], now, doneTtl)
  saveHorizons(KEYS[2], hz)
  local reply = { 'forward', now, now, away, out[3] }
  for i = 4, #out do reply[#reply + 1] = out[i] end
  return reply
end
local expiry, shares, readable, shareCount = hold(st[1] or '')
local set, found = charge(rules, wins, shares, 0, 'user', out, fired, st[1] and expiry <= now)
if found < shareCount then dropStrayShares(KEYS[2], rules, shares, set) end
if set[1] then rcall('HSET', KEYS[2], unpack(set)) end
if st[1] then rcall('HDEL', KEYS[2], field) end
if st[1] and not readable then recount(KEYS[2]) end
local kept = tconcat(fired, '|')
if done then
  -- Here 'f' (the share came back forwarded, see above): the alerts its attempt fired here stay in
  -- the outcome, so that a replay of this attempt (a lost reply) still gives them out.
  local first, stored = smatch(done, '^f %d+ (%S+) %S* ?(.*)$')
  if first == attempt and stored ~= '' then kept = kept == '' and stored or stored .. '|' .. kept end
end
local nowText = fmt(now)
rcall('HSET', KEYS[3], id, 'c ' .. nowText .. ' ' .. attempt .. ' ' .. kept)
keep(hz, 'd', 'dn', bucket, KEYS[3], now, doneTtl)
keep(hz, 'w', nil, nil, KEYS[2], now, mmax(maxEnd - now, doneTtl))

rcall('ZADD', KEYS[4], nowText, record)
-- Numbers go to redis.call as strings: Redis formats a Lua number with '%.17g', at several times
-- the cost of fmt's integer format.
rcall('ZREMRANGEBYRANK', KEYS[4], '0', fmt(-(logMax + 1)))
keep(hz, 'l', nil, nil, KEYS[4], now, logTtl)
if note then rcall('XADD', KEYS[#KEYS], '*', 't', nowText, 'r', record, 'n', note) end
local prefix = fmt(now - now % 3600000) .. '|' .. model .. '|'
rcall('HINCRBY', KEYS[5], prefix .. 'r', fmt(amounts.r))
rcall('HINCRBY', KEYS[5], prefix .. 'i', fmt(inputTokens))
rcall('HINCRBY', KEYS[5], prefix .. 'o', fmt(outputTokens))
rcall('HINCRBY', KEYS[5], prefix .. 'c', fmt(amounts.c))
keep(hz, 'h', 'hn', month, KEYS[5], now, historyTtl)
saveHorizons(KEYS[2], hz)
-- Holds of crashed callers are dropped once their lease has ended (rarely: see 'm').
local earliest = tonumber(st[2]) or 0
if earliest > 0 and earliest <= now then purge(KEYS[2], now) end
return out
`;

/**
 * Where the user went, for release and renew: the home named by the config at this home (KEYS[1])
 * when the user has left it ('' = on their own), 0 when an account's member config is there but
 * the user has not arrived yet (a number: an account may be called anything), else nil (the user
 * lives here). A process that has not learnt
 * of a move sends these where the call was reserved; the hold went with the user (MOVE_OUT).
 */
const AWAY = `
local function awayFrom(inAccount)
  local cfg = rcall('HMGET', KEYS[1], 'acct', 'moved', 'in')
  if inAccount then
    if cfg[2] then return cfg[2] end
    if not cfg[3] then return 0 end
    return nil
  end
  return cfg[1] or nil
end
`;

/**
 * release: drop a hold (the user's share and, in an account, the account's), once per reservation
 * id (an unknown id is marked too, so that a late replay of its reserve holds nothing).
 * KEYS[1] user config hash, KEYS[2] user window hash, KEYS[3] outcome hash of the reservation's 10
 * minutes; for a member of an account, KEYS[4] account window hash. ARGV: RELEASE_ARGS.
 * Replies: {'released' | 'duplicate' | 'committed', now, home the user moved to ('' = on their
 * own; absent when they live here)} | {'moving', now} (a member config here, the user not arrived:
 * nothing written, so that a release sent again once they have finds their hold).
 */
export const RELEASE = `#!lua
${PRELUDE}
${luaBindings(RELEASE_ARGS)}
${AWAY}
local away = awayFrom(KEYS[4] ~= nil)
local done = rcall('HGET', KEYS[3], id)
if done and ssub(done, 1, 1) == 'r' then return { 'duplicate', now, away } end
if done then return { 'committed', now, away } end
if away == 0 then return { 'moving', now } end
local field = 'x:' .. id
local hz = horizons(rcall('HGET', KEYS[2], 'k'))
dropHoldIn(KEYS[2], field)
if KEYS[4] then dropHoldIn(KEYS[4], field) end
rcall('HSET', KEYS[3], id, 'r ' .. fmt(now))
keep(hz, 'd', 'dn', bucket, KEYS[3], now, doneTtl)
-- The horizons written may have created the window hash: make sure it expires too.
keep(hz, 'w', nil, nil, KEYS[2], now, doneTtl)
saveHorizons(KEYS[2], hz)
return { 'released', now, away }
`;

/**
 * renew: moves the expiry of a live hold (the user's share and, in an account, the account's) to
 * no sooner than now + lease, for a call still running as its lease nears its end. Only the expiry
 * changes (its 8 bytes in the binary form, the leading number in the text form): the amounts stay
 * held in their windows. A hold that is not there (committed, released, or purged), or whose lease
 * has ended (it may still be stored, until a purge), is not made live again: 'gone'. The window
 * hash's earliest expiry ('m') stays a lower bound. The window hash is kept alive at least as long
 * as the hold.
 * KEYS[1] user config hash, KEYS[2] user window hash; for a member of an account, KEYS[3] account
 * window hash. ARGV: RENEW_ARGS.
 * Replies: {'renewed' | 'gone', now, home the user moved to (as for release), or 0 (not arrived)}
 */
export const RENEW = `#!lua
${PRELUDE}
${luaBindings(RENEW_ARGS)}
${AWAY}
local field = 'x:' .. id
local expiry = now + lease
local function renewIn(w)
  local value = rcall('HGET', w, field)
  if not value then return false end
  if sbyte(value, 1) == 1 then
    if #value < 9 then return false end
    local old = sunpack('<d', value, 2)
    if old ~= old or old <= now then return false end
    if old < expiry then rcall('HSET', w, field, ssub(value, 1, 1) .. spack('<d', expiry) .. ssub(value, 10)) end
  else
    local old, rest = smatch(value, '^(%d+) (.*)$')
    if not old or tonumber(old) <= now then return false end
    if tonumber(old) < expiry then rcall('HSET', w, field, fmt(expiry) .. ' ' .. rest) end
  end
  local hz = horizons(rcall('HGET', w, 'k'))
  keep(hz, 'w', nil, nil, w, now, lease)
  saveHorizons(w, hz)
  return true
end
local found = renewIn(KEYS[2])
if KEYS[3] then found = renewIn(KEYS[3]) or found end
return { found and 'renewed' or 'gone', now, awayFrom(KEYS[3] ~= nil) }
`;
