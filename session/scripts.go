package session

// The Lua scripts run inside Redis, each on the keys of one device (one hash
// slot), except ipSetScript, which runs on one hash of the client-address
// index. Numbers stay below 2^53 (MaxCounter, checked before a script
// runs), which Lua's doubles hold exactly.
//
// The keys of a device d = "{d:<pseudonym>}":
//
//	d:g:<user>        grant: pw, nas                       TTL grant_ttl
//	d:rem             remembered: terms, until             TTL remember_for
//	d:s:<nas>:<sid>   session: where (ap, ssid, ip, ip6    TTL 3 interims + 1m while
//	                  of a dual-stack client, nasip),      open, retention once closed
//	                  started, state, the clear
//	                  MAC while open, enforcement state
//	                  (enf, enfp, dyn, dynat); once
//	                  closed, its counters (in, out,
//	                  time) and last record (updated).
//	                  <sid> is the Acct-Session-Id
//	                  without the device's MAC in it
//	                  (MaskMAC); when that differs, the
//	                  open session keeps it (asid)
//	d:use             the device's use, one hash:          TTL retention from the
//	                  - the ledger of the current day,     device's last record (at
//	                    the day's ID ("d20261126") →       least to the day's end),
//	                    "in out t"; a day's ledger is      and up to an hour more
//	                    dropped when a later day's
//	                    begins
//	                  - the sessions not closed yet, open
//	                    or expired while silent,
//	                    "<nas>:<sid>" → "in out t updated
//	                    ipx where": what was counted of
//	                    it and its last record, so that a
//	                    session that expired while silent
//	                    is not counted again when it
//	                    reports later (dropped a retention
//	                    period after updated); when its
//	                    client-address entry expires; and
//	                    the fingerprint of where it is
//	                  - "x": when the hash expires
//	                  - "w", "wo": the spans of online
//	                    time counted lately, and which
//	                    session extended the last, where
//	                    a policy limits online time
//	d:use:<window>    ledger of a week ("w20261123") or    TTL window end + retention
//	                  a month ("m202611"): in, out, t (s)
//	d:closed          the device's closed sessions, a      TTL retention from the
//	                  sorted set of "<nas>:<sid>" scored   last session closed
//	                  by the session's last record, for
//	                  listing a device's sessions
//
// The day's ledger field holds no colon and session fields always do (NAS
// names hold none). A day's ledger and the sessions share the device's
// last record as the start of their retention period, so they share a
// key, which saves Redis a key, with its TTL, per device; a week's or a
// month's ledger must outlive that, and has a key of its own. An open
// session's counters are in the use hash only: an interim reads the hash
// it writes anyway, not the session's key too (see acctScript).

// closedLua defines noteClosed, which the scripts that close a session run:
// it puts the session ("<nas>:<sid>") into the device's closed sessions at
// its last record's time (now, Unix s), and drops those last updated a
// retention period (keep, s) ago.
const closedLua = `
local function noteClosed(key, session, now, keep)
  redis.call('ZADD', key, now, session)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('(%d', tonumber(now) - tonumber(keep)))
  redis.call('EXPIRE', key, keep)
end
`

// authScript reads what an Access-Request needs.
// KEYS: the grant (mode "grant") or the remembered device (mode "mac"),
// then where the policy window's ledger is (the use hash for a day, else
// its own key).
// ARGV: mode ("grant" or "mac"), the window's ID, "h" when the ledger is
// a field of the use hash, "k" when it is a key of its own.
// Returns: password and NAS (grant mode, else empty), the accepted terms
// version (mac mode, else empty: a grant is made when they are accepted),
// input, output, online seconds.
const authScript = `
local pw, nas, terms = '', '', ''
if ARGV[1] == 'grant' then
  local g = redis.call('HMGET', KEYS[1], 'pw', 'nas')
  pw, nas = g[1] or '', g[2] or ''
else
  terms = redis.call('HGET', KEYS[1], 'terms') or ''
end
local i, o, t
if ARGV[3] == 'h' then
  local u = redis.call('HGET', KEYS[2], ARGV[2])
  if u then i, o, t = string.match(u, '^(%d+) (%d+) (%d+)') end
else
  local u = redis.call('HMGET', KEYS[2], 'in', 'out', 't')
  i, o, t = u[1], u[2], u[3]
end
return {pw, nas, terms, i or '0', o or '0', t or '0'}
`

// acctScript applies an accounting record: the session's counters rise to
// the new maximum, and only the increase is added to the ledger of every
// window in use. It looks for open sessions to enforce only once the
// policy's window has reached an allowance.
//
// An open session's counters live in the device's use hash (its field
// "<nas>:<sid>", see the key layout), next to the day's ledger, so that
// the interim of a session that is known and has not moved reads one hash
// and writes it, and only renews the session key's TTL: three commands.
// The session key is written when the session is new to the script, or
// when where it is (AP, SSID, client address, NAS address) changed, which
// the fingerprint of those (worked out by the caller) tells. The use
// hash's TTL is renewed once an hour, not with each record: its field "x"
// holds when it expires.
//
// KEYS: session, the device's use hash, its closed sessions, then the keys
// of the week's and month's ledgers in use.
// ARGV: 1 status, 2 input, 3 output, 4 session time, 5 now, 6 live TTL,
// 7 keep TTL (the retention period), 8 the session's field in the use
// hash ("<nas>:<sid>"), 9 the fingerprint of where the session is,
// 10 the session's details, each as "<length>:<value>": mac, user, ap,
// ssid, client address, nas address, "1" when the session was accepted
// throttled, the Acct-Session-Id when the key names it without the MAC
// in it (else empty), the field an earlier build counted the session under
// (else empty), and a dual-stack client's IPv6 address (else empty),
// 11 the position of the policy's window among the windows (from 1),
// 12 the data total at which the policy acts (0: never),
// 13 the online seconds at which it acts (0: never), 14 the use hash's
// TTL, 15 when the record happened (Unix s, its arrival less
// Acct-Delay-Time), 16 "1" to count online time once where sessions
// overlap (a policy limits online time), then for each window in use its
// ID, how long its ledger is kept (its end + retention - now, in s), and
// where it is (0: a field of the use hash, else the position of its key in
// KEYS).
// Returns: the lowest enforcement level among the device's open sessions
// that are not leased (99 when none, or when no allowance is reached),
// flags: 1 when the session's client-address entry must be written (the
// session is new to this script, where it is changed, or the entry
// expires within a live TTL), 2 when the session is closed (a Stop, or a
// late record of a closed session), 4 when a Start began it anew under the
// ID of a closed one; then input, output and online seconds of each
// window.
const acctScript = closedLua + `
local now, live = tonumber(ARGV[5]), tonumber(ARGV[6])
local field, stop = ARGV[8], ARGV[1] == 'stop'
local windows = (#ARGV - 16) / 3
local day = 'x'
for i = 1, windows do
  if ARGV[16 + 3 * i] == '0' then day = ARGV[14 + 3 * i] end
end
local once = ARGV[16] == '1'
local g
if once then
  g = redis.call('HMGET', KEYS[2], field, 'x', day, 'w', 'wo')
else
  g = redis.call('HMGET', KEYS[2], field, 'x', day)
end
-- Counters stay the decimal strings they arrived as: Redis formats a Lua
-- number handed to redis.call with %.17g, which costs more than all the
-- arithmetic here.
local si, so, st, ipx, fp
local fresh, closed, anew = false, false, 0
if g[1] then
  -- Not closed: open, or expired while silent (its key is gone, and what
  -- was counted of it is here).
  local _
  si, so, st, _, ipx, fp = string.match(g[1], '^(%d+) (%d+) (%d+) (%d+) ?(%d*) ?(%w*)')
  local alive
  if stop then alive = redis.call('EXISTS', KEYS[1]) else alive = redis.call('EXPIRE', KEYS[1], live) end
  fresh = alive == 0
else
  local cur = redis.call('HMGET', KEYS[1], 'state', 'updated', 'restart', 'in', 'out', 'time')
  local began = tonumber(ARGV[15])
  if cur[1] == 'closed' and ARGV[1] == 'start' and ((tonumber(cur[2]) or 0) < began - live or began >= (tonumber(cur[3]) or began + 1)) then
    -- A Start for a closed session that happened a live TTL after its
    -- last record (no retransmit comes that late), or after the NAS
    -- restarted and closed it: the NAS uses the session ID again (its
    -- counter began anew). What was kept of the old session (counters,
    -- enforcement state) is not the new one's.
    redis.call('DEL', KEYS[1])
    fresh, anew = true, 4
  elseif cur[1] == 'closed' then
    closed, si, so, st = true, cur[4], cur[5], cur[6]
  elseif cur[1] then
    -- Open, but not in the use hash: written by an earlier version, which
    -- kept the counters in the session, or the use hash was removed.
    si, so, st = cur[4], cur[5], cur[6]
    if not stop then redis.call('EXPIRE', KEYS[1], live) end
  else
    fresh = true
  end
end
-- The prefix of the device's session keys ("{d:…}:s:").
local function sessions()
  return string.sub(KEYS[1], 1, string.find(KEYS[1], '}', 1, true)) .. ':s:'
end
-- The details (ARGV[10]), unpacked when they are needed.
local d
local function details()
  if not d then
    d = {}
    local i = 1
    while i <= #ARGV[10] do
      local c = string.find(ARGV[10], ':', i, true)
      local n = tonumber(string.sub(ARGV[10], i, c - 1))
      d[#d + 1] = string.sub(ARGV[10], c + 1, c + n)
      i = c + n + 1
    end
  end
  return d
end
if fresh and not g[1] and anew == 0 and details()[9] ~= '' then
  -- A session new to this script that an earlier build counted under
  -- its Acct-Session-Id with the MAC in it: go on from there.
  local b = redis.call('HGET', KEYS[2], d[9])
  if b then
    si, so, st = string.match(b, '^(%d+) (%d+) (%d+)')
    redis.call('HDEL', KEYS[2], d[9])
  else
    -- Or one it closed: a late record of it counts only what is new.
    local old = redis.call('HMGET', sessions() .. d[9], 'state', 'in', 'out', 'time')
    if old[1] == 'closed' then closed, si, so, st = true, old[2], old[3], old[4] end
  end
end
si, so, st = si or '0', so or '0', st or '0'
local din = tonumber(ARGV[2]) - tonumber(si)
local dout = tonumber(ARGV[3]) - tonumber(so)
local dtime = tonumber(ARGV[4]) - tonumber(st)
if din > 0 then si = ARGV[2] else din = 0 end
if dout > 0 then so = ARGV[3] else dout = 0 end
if dtime > 0 then st = ARGV[4] else dtime = 0 end
-- Where a policy limits online time (ARGV[16]), online time counts the
-- time the device was online, once; elsewhere the sessions' times add up,
-- which costs nothing here. A device's sessions overlap when it roams and
-- its old session stays open until the NAS's idle timeout; the overlap
-- would otherwise count twice. The use
-- hash's "w" holds the spans of time (from, to) counted lately, at most
-- four, and "wo" the session that extended the last of them and from when
-- ("<from> <nas>:<sid>"). A record covers the time from its session's last
-- record to when it happened; what of that lies in no span counts, and
-- the record's span joins them. For the session that extended the last
-- span, only what others counted before it took over is left out: its
-- records may come out of order, or at once after a NAS queued them.
local online, wspans, wowner = dtime, nil, nil
if once and dtime > 0 then
  local b = tonumber(ARGV[15])
  local a = math.max(0, b - dtime)
  local from
  if g[5] then
    local p = string.find(g[5], ' ', 1, true)
    if p and string.sub(g[5], p + 1) == field then from = tonumber(string.sub(g[5], 1, p - 1)) end
  end
  local s1, e1
  if from then s1, e1 = string.match(g[4] or '', '^(%d+) (%d+)$') end
  s1, e1 = tonumber(s1), tonumber(e1)
  if s1 and from <= s1 and a <= e1 + 60 then
    -- The common case, cheaply: all that was counted lately is this
    -- session's (within a minute: the NAS's clock and ours differ by
    -- that little), so all of its increase counts.
    online = dtime
    wspans = string.format('%d %d', math.min(a, s1), math.max(b, e1))
    if a < from then wowner = string.format('%d', a) .. ' ' .. field end
  else
    local sp, last = {}, 0
    if g[4] then
      for x in string.gmatch(g[4], '%d+') do sp[#sp + 1] = tonumber(x) end
      last = sp[#sp] or 0
    end
    online = dtime
    for i = 1, #sp - 1, 2 do
      local lo, hi = math.max(a, sp[i]), math.min(b, sp[i + 1], from or sp[i + 1])
      if hi > lo then online = online - (hi - lo) end
    end
    if b > last then wowner = string.format('%d', math.max(a, last)) .. ' ' .. field end
    local out, placed = {}, false
    for i = 1, #sp - 1, 2 do
      if sp[i + 1] < a then
        out[#out + 1], out[#out + 2] = sp[i], sp[i + 1]
      elseif sp[i] > b then
        if not placed then out[#out + 1], out[#out + 2], placed = a, b, true end
        out[#out + 1], out[#out + 2] = sp[i], sp[i + 1]
      else
        a, b = math.min(a, sp[i]), math.max(b, sp[i + 1])
      end
    end
    if not placed then out[#out + 1], out[#out + 2] = a, b end
    -- The last four spans, and none that ended long before the last: an
    -- hour, or a live TTL (a record reaches back to its session's last
    -- record, at most that long ago while the session lives).
    local keep = {}
    for i = math.max(1, #out - 7), #out - 1, 2 do
      if out[i + 1] >= out[#out] - math.max(3600, live) then keep[#keep + 1] = string.format('%d %d', out[i], out[i + 1]) end
    end
    wspans = table.concat(keep, ' ')
  end
end
-- The session key is written when the session is new to this script or
-- has moved.
local h, moved = {}, fresh or fp ~= ARGV[9]
if moved then
  details()
  h = {'ap', d[3], 'ssid', d[4], 'ip', d[5], 'nasip', d[6]}
  if fresh then
    h[9], h[10] = 'started', ARGV[5]
    if not (stop or closed) then
      h[11], h[12], h[13], h[14], h[15], h[16] = 'mac', d[1], 'user', d[2], 'state', 'active'
      if d[7] == '1' then h[#h + 1], h[#h + 2] = 'enf', '1' end
      if d[8] ~= '' then h[#h + 1], h[#h + 2] = 'asid', d[8] end
    end
  end
  if (d[10] or '') ~= '' then h[#h + 1], h[#h + 2] = 'ip6', d[10] end
end
-- What the use hash gets: the session's field, the day's ledger, and
-- when the hash expires.
local use = {}
local flags, tidy = 0, false
if stop or closed then
  -- A closed session keeps its counters for the retention period, in its
  -- key, but no longer the clear MAC; a late interim never reopens it.
  flags = 2
  local n = #h
  h[n + 1], h[n + 2], h[n + 3], h[n + 4], h[n + 5], h[n + 6] = 'in', si, 'out', so, 'time', st
  h[n + 7], h[n + 8], h[n + 9], h[n + 10] = 'updated', ARGV[5], 'state', 'closed'
  redis.call('HSET', KEYS[1], unpack(h))
  redis.call('HDEL', KEYS[1], 'mac', 'user', 'asid', 'enfp', 'ipx')
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  if g[1] then redis.call('HDEL', KEYS[2], field) end
  noteClosed(KEYS[3], field, ARGV[5], ARGV[7])
else
  ipx = tonumber(ipx) or 0
  if moved or ipx - now < live then
    flags = 1
    ipx = now + 2 * live
  end
  if moved then
    redis.call('HSET', KEYS[1], unpack(h))
    if fresh then
      redis.call('EXPIRE', KEYS[1], live)
    elseif d[10] == '' then
      -- Moved to where it has no IPv6 address: the old one no longer
      -- finds it.
      redis.call('HDEL', KEYS[1], 'ip6')
    end
  end
  use[1], use[2] = field, string.format('%s %s %s %s %d %s', si, so, st, ARGV[5], ipx, ARGV[9])
end
local res = {99, flags + anew}
local changed = din > 0 or dout > 0 or online > 0
for i = 1, windows do
  local id, k = ARGV[14 + 3 * i], tonumber(ARGV[16 + 3 * i])
  local ui, uo, ut = 0, 0, 0
  if k == 0 then
    -- The day's ledger, a field of the use hash.
    local u = g[3]
    if u then
      local a, b, c = string.match(u, '^(%d+) (%d+) (%d+)')
      ui, uo, ut = tonumber(a) or 0, tonumber(b) or 0, tonumber(c) or 0
    else
      tidy = true -- a new day
    end
    ui, uo, ut = ui + din, uo + dout, ut + online
    if not u or changed then
      use[#use + 1], use[#use + 2] = id, string.format('%d %d %d', ui, uo, ut)
    end
  else
    -- A week's or a month's, a key of its own: a new one gets its TTL
    -- (its window's end plus the retention period).
    local u = redis.call('HMGET', KEYS[k], 'in', 'out', 't')
    ui, uo, ut = (tonumber(u[1]) or 0) + din, (tonumber(u[2]) or 0) + dout, (tonumber(u[3]) or 0) + online
    if not u[1] then
      redis.call('HSET', KEYS[k], 'in', string.format('%d', ui), 'out', string.format('%d', uo), 't', string.format('%d', ut))
      redis.call('EXPIRE', KEYS[k], ARGV[15 + 3 * i])
    elseif changed then
      redis.call('HSET', KEYS[k], 'in', string.format('%d', ui), 'out', string.format('%d', uo), 't', string.format('%d', ut))
    end
  end
  res[#res + 1] = ui
  res[#res + 1] = uo
  res[#res + 1] = ut
end
-- The use hash lives at least the retention period from the device's
-- last record: its TTL is set an hour longer, and set again once less
-- than that is left.
local ttl, renew = tonumber(ARGV[14]), false
if (tonumber(g[2]) or 0) < now + ttl then
  -- Hourly, then, and for a device new to Redis, the hash is tidied too.
  renew, tidy = true, true
  use[#use + 1], use[#use + 2] = 'x', string.format('%d', now + ttl + 3600)
end
if wspans then use[#use + 1], use[#use + 2] = 'w', wspans end
if wowner then use[#use + 1], use[#use + 2] = 'wo', wowner end
if #use > 0 then redis.call('HSET', KEYS[2], unpack(use)) end
if renew then redis.call('EXPIRE', KEYS[2], ttl + 3600) end
if tidy then
  -- Drop what ran out: an earlier day's ledger, and sessions that
  -- expired without a Stop and were last counted a retention period ago.
  -- Only an earlier day: a record stamped by a clock behind another
  -- instance's (or a late one) must not drop the day that has begun
  -- (day IDs, "dYYYYMMDD", sort by date).
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    if string.find(all[i], ':', 1, true) then
      local last = tonumber(string.match(all[i + 1], '^%d+ %d+ %d+ (%d+)'))
      if not last or last < now - tonumber(ARGV[7]) then redis.call('HDEL', KEYS[2], all[i]) end
    elseif all[i] ~= 'x' and all[i] ~= 'w' and all[i] ~= 'wo' and all[i] < day then
      redis.call('HDEL', KEYS[2], all[i])
    end
  end
end
local at = 3 * tonumber(ARGV[11])
local data, online = tonumber(ARGV[12]), tonumber(ARGV[13])
if (data > 0 and res[at] + res[at + 1] >= data) or (online > 0 and res[at + 2] >= online) then
  local prefix = sessions()
  for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
    if string.find(f, ':', 1, true) then
      local e = redis.call('HMGET', prefix .. f, 'state', 'enf', 'enfp')
      if e[1] == 'active' and (tonumber(e[3]) or 0) <= now then
        local l = tonumber(e[2]) or 0
        if l < res[1] then res[1] = l end
      end
    end
  end
end
return res
`

// deviceScript reads a device: what it accepted, its ledgers and its open
// sessions (those in its use hash whose session key still exists).
// KEYS: remembered, the device's use hash, then the keys of the week's and
// month's ledgers in use. ARGV: for each window in use, its ID and where
// its ledger is (0: a field of the use hash, else the position of its key
// in KEYS).
// Returns: accepted terms version, remembered until (Unix s), a list of
// input, output and online seconds per window, then for each open session
// its key, its hash as a flat list, and its field in the use hash.
const deviceScript = `
local r = redis.call('HMGET', KEYS[1], 'terms', 'until')
local all = redis.call('HGETALL', KEYS[2])
local byID = {}
for i = 1, #all, 2 do byID[all[i]] = all[i + 1] end
local use = {}
for i = 1, #ARGV, 2 do
  local a, b, c
  local k = tonumber(ARGV[i + 1])
  if k == 0 then
    if byID[ARGV[i]] then a, b, c = string.match(byID[ARGV[i]], '^(%d+) (%d+) (%d+)') end
  else
    local u = redis.call('HMGET', KEYS[k], 'in', 'out', 't')
    a, b, c = u[1], u[2], u[3]
  end
  use[#use + 1] = a or '0'
  use[#use + 1] = b or '0'
  use[#use + 1] = c or '0'
end
local res = {r[1] or '', r[2] or '', use}
local prefix = string.sub(KEYS[2], 1, string.find(KEYS[2], '}', 1, true)) .. ':s:'
for i = 1, #all, 2 do
  if string.find(all[i], ':', 1, true) then
    local h = redis.call('HGETALL', prefix .. all[i])
    if #h > 0 then
      res[#res + 1] = prefix .. all[i]
      res[#res + 1] = h
      res[#res + 1] = all[i + 1]
    end
  end
end
return res
`

// claimScript leases the sessions that must be acted on, so that one
// instance acts on each: an open session whose acknowledged enforcement
// level is below the one wanted and which is not leased already.
// KEYS: sessions. ARGV: now, lease until, then the level wanted of each.
// Returns: the (1-based) positions of the sessions leased.
const claimScript = `
local now = tonumber(ARGV[1])
local got = {}
for i, k in ipairs(KEYS) do
  local e = redis.call('HMGET', k, 'state', 'enf', 'enfp')
  if e[1] == 'active' and (tonumber(e[2]) or 0) < tonumber(ARGV[i + 2])
      and (tonumber(e[3]) or 0) <= now then
    redis.call('HSET', k, 'enfp', ARGV[2])
    got[#got + 1] = i
  end
end
return got
`

// finishScript records a NAS's answer to enforcement. An acknowledged
// level is kept and the lease dropped; otherwise the lease is extended to
// when it may be tried again.
// KEYS: session. ARGV: level acknowledged (0: none), outcome, now, retry
// not before.
// Returns 1, or 0 when the session no longer exists.
const finishScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local lvl = tonumber(ARGV[1])
if lvl > 0 then
  if lvl > (tonumber(redis.call('HGET', KEYS[1], 'enf')) or 0) then
    redis.call('HSET', KEYS[1], 'enf', lvl)
  end
  redis.call('HDEL', KEYS[1], 'enfp')
elseif redis.call('HGET', KEYS[1], 'state') == 'active' then
  redis.call('HSET', KEYS[1], 'enfp', ARGV[4])
end
redis.call('HSET', KEYS[1], 'dyn', ARGV[2], 'dynat', ARGV[3])
return 1
`

// closeScript closes one open session: after Accounting-On/Off, or when
// its NAS no longer knows it.
// KEYS: session, the device's use, its closed sessions. ARGV: now, keep
// TTL, the NAS address the session must have been reported from ("" for
// any: one NAS entry may cover several controllers, and only the one that
// restarted lost its sessions), and the time (Unix s) the NAS restarted,
// from which a record means the NAS has the session ("" for none; kept as
// "restart" in the closed session, see acctScript).
// Returns the session's NAS when it closed an open session, "=" when the
// session is open but was reported from another address, "+" when it is
// open and had a record since that time, else "".
const closeScript = closedLua + `
local st = redis.call('HMGET', KEYS[1], 'state', 'nasip', 'updated', 'in', 'out', 'time')
if st[1] ~= 'active' then return '' end
if ARGV[3] ~= '' and st[2] ~= ARGV[3] then return '=' end
local rest = string.sub(KEYS[1], string.find(KEYS[1], '}:s:', 1, true) + 4)
-- The counters and the last record's time are in the use hash (in the
-- session when an earlier version wrote it).
local si, so, t, updated = st[4], st[5], st[6], st[3]
local u = redis.call('HGET', KEYS[2], rest)
if u then
  local a, b, c, d = string.match(u, '^(%d+) (%d+) (%d+) (%d+)')
  if a then si, so, t, updated = a, b, c, d end
end
if ARGV[4] ~= '' and (tonumber(updated) or 0) >= tonumber(ARGV[4]) then return '+' end
local h = {'state', 'closed', 'updated', ARGV[1], 'in', si or '0', 'out', so or '0', 'time', t or '0'}
if ARGV[4] ~= '' then h[11], h[12] = 'restart', ARGV[4] end
redis.call('HSET', KEYS[1], unpack(h))
redis.call('HDEL', KEYS[1], 'mac', 'user', 'asid', 'enfp', 'ipx')
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], rest)
noteClosed(KEYS[3], rest, ARGV[1], ARGV[2])
local nas = string.match(rest, '^([^:]*):')
return nas or ''
`

// ipSetScript writes an entry of the client-address index (see
// Store.addressField) and drops the expired entries that share its hash;
// one write in addressTidyEvery runs it, the others are a plain HSET and
// EXPIRE (see Store.setAddress).
// KEYS: the hash. ARGV: field, "<expires> <entry>", TTL the hash needs,
// now, "1" to drop expired entries.
const ipSetScript = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
if ARGV[5] == '1' then
  local all = redis.call('HGETALL', KEYS[1])
  local now = tonumber(ARGV[4])
  for i = 1, #all, 2 do
    local exp = tonumber(string.match(all[i + 1], '^(%d+) '))
    if not exp or exp <= now then redis.call('HDEL', KEYS[1], all[i]) end
  end
end
return 0
`

// unmarkScript undoes acctScript's note that a session's client-address
// entry was written, when writing it failed, so that the next record
// writes it.
// KEYS: the device's use hash. ARGV: the session's field.
const unmarkScript = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local a, b = string.match(v, '^(%d+ %d+ %d+ %d+) %d+ (%w*)$')
if not a then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], a .. ' 0 ' .. b)
return 1
`
