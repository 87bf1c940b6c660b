import { REFUSAL_PREFIX } from '../../protocol/refusal.js';

/**
 * Lua shared by the scripts: the window steps of stores/protocol (window.ts, charge.ts) in Lua. Its
 * functions are defined once per load of the hot-path library (functions.ts), and on every call of
 * a script run by EVALSHA (the library's fallback, and the scripts off the hot path), so it stays
 * free of work at its top level; argument checks are generated inline from the schema (schema.ts).
 * Over 300 lines: it is one Lua text, whose functions call one another and read the same stored
 * formats, described here once. Every redis.call costs about a microsecond of server time, so
 * the scripts make as few as they can: one HMGET reads a user's windows, the hold and the key
 * expiry horizons, and expiries are refreshed only when a horizon is near.
 *
 * A user's window hash (KEYS 'w') holds:
 *   w:<rule>   the window: fingerprint, start, end, used, held, alerts fired (bitmask)
 *   x:<id>     a live hold: expiry, then per rule: rule id, fingerprint, window start, amount
 * Both are binary (struct; see state and hold below); the text forms the store wrote before,
 * "<fingerprint> <start> <end> <used> <held> <alerts>" and "<expiry> <rule> <fingerprint> <start>
 * <amount>[;<rule> ...]", are still read, so an upgrade keeps every count.
 *   m          the earliest hold expiry recorded since the last purge (a lower bound)
 *   k          the expiry horizons: until when the window hash itself, the outcome key, the log
 *              and the history key are known to live, with the names of the outcome and history
 *              keys they are about (binary, one value: see horizons)
 * An account's window hash has the same fields for the account's rules and its members' holds.
 * Outcomes (committed or released reservation ids) live in a hash per 10 minutes of reservation
 * time (KEYS 'd'), each field "c <time> <attempt> <alerts>", "f <time> <attempt> <home> <alerts>"
 * (charged here, the user's share forwarded to their new home) or "r <time>": the key expires as a
 * whole, so no per-entry expiry is tracked.
 *
 * Where a user lives: on their own (their own hash tag), or in an account (keys under the
 * account's tag). The own config hash's field 'acct' names the account; a member config has 'in'
 * once the user is there and 'moved' ("<home>", '' for their own) once the user has left it.
 */
/**
 * The parsers the bindings call (schema.ts) for values that repeat from call to call (a user's
 * rules, the store's alert thresholds), each named on a line of its own: a Redis Functions library
 * (functions.ts) puts a cache in front of each in its place, so that a value is parsed and checked
 * once per library load rather than on every call. A parser answers nil for a malformed value.
 */
export const CACHED_PARSERS = [
  { name: 'rulesOf', parser: 'readRules' },
  { name: 'thresholdsOf', parser: 'parseThresholds' },
] as const;
/** The line of the prelude that binds a cached parser's name (to the parser itself, outside a library). */
export const parserLine = (p: (typeof CACHED_PARSERS)[number]): string => `local ${p.name} = ${p.parser}`;

/**
 * The Redis and Lua library functions the scripts use, as locals: each use of a global one costs
 * two table lookups ('string', then 'sub'), and reading a window took a third longer that way
 * (bench/lua-ops.ts). Apart from the rest (PRELUDE_BODY) because a Functions library can reach
 * none of them while it loads: it declares these locals at its top and binds them at its first
 * call (functions.ts).
 */
export const LIBRARY_LOCALS = ['rcall', 'spack', 'sunpack', 'ssub', 'sbyte', 'sfind', 'smatch', 'sformat', 'mmax', 'mfloor', 'tconcat'] as const;
const LIBRARY_VALUES = 'redis.call, struct.pack, struct.unpack, string.sub, string.byte, string.find, string.match, string.format, math.max, math.floor, table.concat';
/** Binds {@link LIBRARY_LOCALS} (declared before). */
export const BIND_LIBRARY_LOCALS = `${LIBRARY_LOCALS.join(', ')} = ${LIBRARY_VALUES}`;

/**
 * The prelude's constants and functions, after {@link LIBRARY_LOCALS}. Loops over a scope's rules
 * and windows on the hot path count from 1 to `#t` rather than use `ipairs`, which calls a C
 * function for every step: Redis ran 2.1% fewer instructions per reserve+commit pair at 1 rule and
 * 2.4% fewer at 10 that way (bench/redis-instructions.ts).
 */
export const PRELUDE_BODY = `
local MAXN = 9007199254740991
local SLACK = 3600000
local function fail(message) error({ err = '${REFUSAL_PREFIX}' .. message }) end
local function fmt(n) return sformat('%d', n) end

-- Rules as the store sends them (schema.ts, FieldKinds.rules), each with its window's field name
-- (f) and its four candidate boundaries (b1-b4); nil when a rule is malformed: a metric other than
-- t, r, c; a limit or boundary that is not an integer within 2^53 (NaN and infinities fail the
-- range tests); boundaries not increasing; ids and fingerprints of other characters or lengths, or
-- not filling their text exactly; more than 16 rules. A value cut short makes struct fail (the
-- caller pcalls). The text is checked with one anchored pattern: an unanchored search for a bad
-- character tries every position and took twice as long.
local METRICS = { t = true, r = true, c = true }
-- A scope's rules also carry the set of their ids (ids), for the shares of a hold on rules that
-- are no longer in force (see dropStrayShares).
local function parseRules(v)
  if not v then return nil end
  if #v == 0 then return { ids = {} } end
  local n = sbyte(v, 1)
  if n > 16 then return nil end
  local at = 2 + 43 * n
  if not sfind(v, '^[%w_.-]*$', at) then return nil end
  local rules, ids, pos = { ids = {} }, {}, 2
  rules.ids = ids
  for i = 1, n do
    local m, limit, b1, b2, b3, b4, il, fl
    m, limit, b1, b2, b3, b4, il, fl, pos = sunpack('<c1dddddBB', v, pos)
    if not METRICS[m] or il == 0 or il > 64 or fl == 0 or fl > 80
      or not (limit >= 0 and limit <= MAXN and b1 >= -MAXN and b1 < b2 and b2 < b3 and b3 < b4 and b4 <= MAXN)
      or limit % 1 ~= 0 or b1 % 1 ~= 0 or b2 % 1 ~= 0 or b3 % 1 ~= 0 or b4 % 1 ~= 0 then return nil end
    local id = ssub(v, at, at + il - 1)
    at = at + il + fl
    rules[i] = { id = id, f = 'w:' .. id, m = m, limit = limit, fp = ssub(v, at - fl, at - 1), b1 = b1, b2 = b2, b3 = b3, b4 = b4 }
    ids[id] = true
  end
  if at ~= #v + 1 then return nil end
  return rules
end
-- parseRules, with a value cut short (struct raises an error) answered nil too. Called only where
-- a value is not cached yet (functions.ts): a pcall on every cached value made 4 of them per
-- reserve+commit pair. Those 4 and the 2 of horizons (below) cost Redis 3,400 instructions per
-- pair (bench/redis-instructions.ts), about 570 each.
local function readRules(v)
  local ok, rules = pcall(parseRules, v)
  if ok then return rules end
  return nil
end
${parserLine(CACHED_PARSERS[0])}

-- Alert thresholds (schema.ts, FieldKinds.thresholds): at most 10 per-mille values as doubles,
-- integers within 2^53, increasing; nil when not.
local function parseThresholds(s)
  if not s or #s % 8 ~= 0 or #s > 80 then return nil end
  local t = {}
  for i = 1, #s / 8 do
    local v = sunpack('<d', s, 8 * i - 7)
    if v ~= v or v < 0 or v > MAXN or v % 1 ~= 0 or (i > 1 and v <= t[i - 1]) then return nil end
    t[i] = v
  end
  return t
end
${parserLine(CACHED_PARSERS[1])}

-- A rule's stored window (nil when none): fp, s start, e end, u used, h held, a alerts fired.
-- Written binary: byte 1, then s e u h as little-endian doubles (integers up to 2^53 are exact),
-- a as an unsigned 16-bit integer, then fp. Reading it takes about a third of the time a pattern
-- takes on the text form (bench/lua-ops.ts), which is still read (values written before, and move
-- snapshots).
local function state(value)
  if not value then return nil end
  if sbyte(value, 1) == 1 then
    if #value < 35 then return nil end
    local s, e, u, h, a = sunpack('<ddddH', value, 2)
    if u ~= u or h ~= h or s ~= s or e ~= e or u < 0 or h < 0 then return nil end
    return { fp = ssub(value, 36), s = s, e = e, u = u, h = h, a = a }
  end
  local fp, s, e, u, h, a = smatch(value, '^(%S+) (%-?%d+) (%-?%d+) (%d+) (%d+) (%d+)$')
  if not a then return nil end
  return { fp = fp, s = tonumber(s), e = tonumber(e), u = tonumber(u), h = tonumber(h), a = tonumber(a) }
end

local function packed(w)
  return spack('<BddddHc0', 1, w.s, w.e, w.u, w.h, w.a, w.fp)
end

-- The text form of a window, for values that leave Redis (a move's snapshot crosses the client as
-- a UTF-8 string, which binary would not survive).
local function textWindow(w)
  return sformat('%s %d %d %d %d %d', w.fp, w.s, w.e, w.u, w.h, w.a)
end

-- The current window of rule r: the stored one while 'now' is before its end (never backwards),
-- else the candidate that holds 'now', with fresh counters (rolled over: true); nil when none does.
local function current(r, now, stored)
  if stored and stored.fp == r.fp and now < stored.e then return stored, false end
  local s, e
  if r.b1 <= now and now < r.b2 then s, e = r.b1, r.b2
  elseif r.b2 <= now and now < r.b3 then s, e = r.b2, r.b3
  elseif r.b3 <= now and now < r.b4 then s, e = r.b3, r.b4
  else return nil end
  return { fp = r.fp, s = s, e = e, u = 0, h = 0, a = 0 }, true
end

-- A hold value: its expiry, its shares (rule id -> { fp, s, amount }) and whether it could be
-- read. Written binary: byte 1, the expiry as a double, then per share the rule id and fingerprint
-- (a length byte each) and start and amount as doubles. The text form "<expiry> <rule> <fp>
-- <start> <amount>[;...]" of holds written before is still read. A value that cannot be read has
-- expired and holds nothing of its own; what it held is then found by recount (below).
local function binaryHold(value)
  local expiry, pos = sunpack('<d', value, 2)
  if expiry ~= expiry then error('expiry') end
  local shares, n = {}, 0
  while pos <= #value do
    local rid, fp, s, amount
    rid, fp, s, amount, pos = sunpack('<Bc0Bc0dd', value, pos)
    if s ~= s or amount ~= amount or amount < 0 or amount > MAXN then error('share') end
    shares[rid] = { fp = fp, s = s, amount = amount }
    n = n + 1
  end
  return expiry, shares, n
end

-- A hold value: its expiry, its shares, whether it could be read, and how many shares it has.
local function hold(value)
  if sbyte(value, 1) == 1 then
    local ok, expiry, shares, n = pcall(binaryHold, value)
    if ok then return expiry, shares, true, n end
    return 0, {}, false, 0
  end
  local expiry, rest = smatch(value, '^(%d+) (.*)$')
  local shares, n = {}, 0
  for rid, fp, s, amount in string.gmatch(rest or '', '([^%s;]+) ([^%s;]+) (%-?%d+) (%d+)') do
    shares[rid] = { fp = fp, s = tonumber(s), amount = tonumber(amount) }
    n = n + 1
  end
  return tonumber(expiry) or 0, shares, expiry ~= nil, n
end

-- The text form of a hold, for values that leave Redis (as textWindow); nil for a hold that cannot be read.
local function textHold(value)
  local expiry, shares, readable = hold(value)
  if not readable then return nil end
  local parts = {}
  for rid, share in pairs(shares) do parts[#parts + 1] = sformat('%s %s %d %d', rid, share.fp, share.s, share.amount) end
  return sformat('%d ', expiry) .. tconcat(parts, ';')
end

-- Sets each window's held amount to what the holds left in hash w hold in it. Only after a hold
-- that could not be read was dropped (it never happens unless a value was damaged): its amounts
-- are unknown, so they cannot be taken off one by one, and would otherwise stay held until the
-- window ends.
local function recount(w)
  local all = rcall('HGETALL', w)
  local windows, held = {}, {}
  for i = 1, #all, 2 do
    if ssub(all[i], 1, 2) == 'w:' then windows[ssub(all[i], 3)] = state(all[i + 1]) end
  end
  for i = 1, #all, 2 do
    if ssub(all[i], 1, 2) == 'x:' then
      local _, shares = hold(all[i + 1])
      for rid, share in pairs(shares) do
        local cur = windows[rid]
        if cur and cur.fp == share.fp and cur.s == share.s then held[rid] = (held[rid] or 0) + share.amount end
      end
    end
  end
  local set = {}
  for rid, cur in pairs(windows) do
    if cur.h ~= (held[rid] or 0) then cur.h = held[rid] or 0; set[#set + 1] = 'w:' .. rid; set[#set + 1] = packed(cur) end
  end
  if set[1] then rcall('HSET', w, unpack(set)) end
end

-- Drops every hold whose lease ended: its amounts stop counting in the windows it was made in (if
-- still current). Runs only when the earliest recorded expiry has passed, so rarely. Returns true
-- when something was dropped.
local function purge(w, now)
  local all = rcall('HGETALL', w)
  local windows, expired, earliest, unreadable = {}, {}, nil, false
  for i = 1, #all, 2 do
    local f, v = all[i], all[i + 1]
    if ssub(f, 1, 2) == 'w:' then windows[ssub(f, 3)] = state(v)
    elseif ssub(f, 1, 2) == 'x:' then
      local expiry, shares, readable = hold(v)
      if not readable then unreadable = true end
      if expiry <= now then expired[#expired + 1] = { f, shares }
      elseif not earliest or expiry < earliest then earliest = expiry end
    end
  end
  local set, drop = {}, {}
  for _, x in ipairs(expired) do
    drop[#drop + 1] = x[1]
    for rid, share in pairs(x[2]) do
      local cur = windows[rid]
      if cur and cur.fp == share.fp and cur.s == share.s then cur.h = mmax(0, cur.h - share.amount); cur.dirty = true end
    end
  end
  for rid, cur in pairs(windows) do
    if cur.dirty then set[#set + 1] = 'w:' .. rid; set[#set + 1] = packed(cur) end
  end
  set[#set + 1] = 'm'; set[#set + 1] = earliest and fmt(earliest) or '0'
  rcall('HSET', w, unpack(set))
  if #drop > 0 then rcall('HDEL', w, unpack(drop)) end
  if unreadable then recount(w) end
  return #drop > 0
end

-- Rule r's stored window in value, as state reads it, or nil when there is none or it is another
-- rule's (another fingerprint: current then starts a fresh one, as it would for a stored window of
-- another rule). The binary form's fingerprint is compared where it lies, not cut out: the
-- window keeps the rule's own string, and a call makes one string fewer per rule. Its last three
-- lines repeat state's binary read on purpose: a function shared by the two, called once per
-- rule and scope, cost 1% more Redis instructions per pair at 10 rules (bench/redis-instructions.ts).
local function windowOf(r, value)
  if not value then return nil end
  if sbyte(value, 1) ~= 1 then
    local w = state(value)
    return w and w.fp == r.fp and w or nil
  end
  local fp = r.fp
  if #value ~= 35 + #fp or sfind(value, fp, 36, true) ~= 36 then return nil end
  local s, e, u, h, a = sunpack('<ddddH', value, 2)
  if u ~= u or h ~= h or s ~= s or e ~= e or u < 0 or h < 0 then return nil end
  return { fp = fp, s = s, e = e, u = u, h = h, a = a }
end

-- Reads a scope's windows (fields 'w:<rule>' of hash w, after the fields e1, e2, e3 given, at
-- least one). Returns the HMGET reply, the windows and whether each rolled over, and the latest
-- window end; nil, 'clock' when no candidate window holds 'now'. The rules' field names are
-- listed once per rules table (kept on it: the library keeps parsed rules between calls).
local function scopeWindows(w, rules, now, e1, e2, e3)
  local names = rules.names
  if not names then
    names = {}
    for i, r in ipairs(rules) do names[i] = r.f end
    rules.names = names
  end
  local st, first
  if e3 then st, first = rcall('HMGET', w, e1, e2, e3, unpack(names)), 4
  elseif e2 then st, first = rcall('HMGET', w, e1, e2, unpack(names)), 3
  else st, first = rcall('HMGET', w, e1, unpack(names)), 2 end
  local wins, changed, maxEnd = {}, {}, now
  for i = 1, #rules do
    local r = rules[i]
    local win, rolled = current(r, now, windowOf(r, st[first + i - 1]))
    if not win then return nil, 'clock' end
    wins[i], changed[i] = win, rolled
    if win.e > maxEnd then maxEnd = win.e end
  end
  return st, wins, changed, maxEnd
end

-- A reply's head followed by each window's start, end, used and held: the user's, then the
-- account's.
local function withWindows(head, wins, awins)
  local n = #head
  for i = 1, #wins do
    local w = wins[i]
    head[n + 1], head[n + 2], head[n + 3], head[n + 4] = w.s, w.e, w.u, w.h
    n = n + 4
  end
  for i = 1, #awins do
    local w = awins[i]
    head[n + 1], head[n + 2], head[n + 3], head[n + 4] = w.s, w.e, w.u, w.h
    n = n + 4
  end
  return head
end

-- The index of the first rule the amounts do not fit, or nil.
local function refusing(rules, wins, amounts)
  for i = 1, #rules do
    local r = rules[i]
    local w = wins[i]
    if w.u + w.h + amounts[r.m] > r.limit then return i end
  end
  return nil
end

-- A hold value (see hold): expiry, then each rule's share. Packed by one struct call: each rule's
-- id and fingerprint with their length bytes are packed once per rules table (kept on it, as
-- its field names are), so a call packs the numbers only and makes one string.
local function holdValue(rules, wins, amounts, expiry)
  local format = rules.holdFormat
  if not format then
    for _, r in ipairs(rules) do r.held = spack('<Bc0Bc0', #r.id, r.id, #r.fp, r.fp) end
    format = '<Bd' .. string.rep('c0dd', #rules)
    rules.holdFormat = format
  end
  local args, n = { 1, expiry }, 2
  for i = 1, #rules do
    local r = rules[i]
    args[n + 1], args[n + 2], args[n + 3] = r.held, wins[i].s, amounts[r.m]
    n = n + 3
  end
  return spack(format, unpack(args, 1, n))
end

-- Takes a hold's share of rule rid off its window in hash w, where that is still the window it
-- was held in; appends the field to set to 'set'.
local function takeShareOff(w, rid, share, set)
  local cur = state(rcall('HGET', w, 'w:' .. rid))
  if cur and cur.fp == share.fp and cur.s == share.s then
    cur.h = mmax(0, cur.h - share.amount)
    set[#set + 1] = 'w:' .. rid; set[#set + 1] = packed(cur)
  end
end

-- The shares of a hold on rules of window hash w that are not in 'rules' (the rules changed since
-- the reserve: a plan edited or assigned, a rule removed) are taken off as a release would.
-- A commit charges only the rules in force, then deletes the hold: without this, such shares
-- stayed held until their window ended (no purge finds them).
local function dropStrayShares(w, rules, shares, set)
  for rid, share in pairs(shares) do
    if not rules.ids[rid] then takeShareOff(w, rid, share, set) end
  end
end

-- Drops a hold from a scope's window hash (its amounts stop counting where they were held).
local function dropHoldIn(w, field)
  local value = rcall('HGET', w, field)
  if not value then return end
  local _, shares, readable = hold(value)
  local set = {}
  for rid, share in pairs(shares) do takeShareOff(w, rid, share, set) end
  if set[1] then rcall('HSET', w, unpack(set)) end
  rcall('HDEL', w, field)
  if not readable then recount(w) end
end

-- The expiry horizons a window hash records in its field 'k' (its HMGET value, or nil): until when
-- the hash itself (w), the outcome key named dn (d), the log (l) and the history key named hn (h)
-- are known to live. One binary value (byte 2, four doubles, then each name after a length byte),
-- read with one struct call: a field per horizon took four fields in every commit's HMGET and a
-- parse each. A value in another form (byte 1: one horizon per field, before this build) or that
-- cannot be read counts as no horizon: the expiries are then set again, once, which is always safe,
-- and the fields of that form are dropped (see saveHorizons). Its length is checked against its
-- two length bytes before the read, which then cannot fail: no pcall (see readRules).
local function horizons(value)
  if value and sbyte(value, 1) == 2 and #value >= 35 then
    local hnAt = 35 + sbyte(value, 34)
    if #value >= hnAt and #value == hnAt + sbyte(value, hnAt) then
      local _, w, d, l, h, dn, hn = sunpack('<BddddBc0Bc0', value)
      return { w = w, d = d, l = l, h = h, dn = dn, hn = hn }
    end
  end
  return { w = 0, d = 0, l = 0, h = 0, dn = '', hn = '', old = value ~= nil }
end

-- Makes 'key' live at least until now + ms, unless horizon 'slot' of hz already says so (for the
-- outcome and history keys, only about the key of that name: they change over time): most calls
-- then make no PEXPIRE. The window hash's own expiry (slot 'w') is set by saveHorizons, after the
-- write that may have created the hash.
local function keep(hz, slot, nameSlot, name, key, now, ms)
  if hz[slot] >= now + ms and (not nameSlot or hz[nameSlot] == name) then return end
  hz[slot] = now + ms + SLACK
  if nameSlot then hz[nameSlot] = name end
  if slot == 'w' then hz.wms = ms + SLACK else rcall('PEXPIRE', key, fmt(ms + SLACK)) end
  hz.dirty = true
end

-- Writes the horizons of window hash w when keep changed one, then its own expiry when due.
local function saveHorizons(w, hz)
  if not hz.dirty then return end
  rcall('HSET', w, 'k', spack('<BddddBc0Bc0', 2, hz.w, hz.d, hz.l, hz.h, #hz.dn, hz.dn, #hz.hn, hz.hn))
  if hz.old then rcall('HDEL', w, 'kd', 'kl', 'kh') end
  if hz.wms then rcall('PEXPIRE', w, fmt(hz.wms)) end
end
`;

/** What every script starts with (see the top of this file). */
export const PRELUDE = `
local ${BIND_LIBRARY_LOCALS}
${PRELUDE_BODY}`;
