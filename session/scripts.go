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
//	d:s:<nas>:<sid>   session: counters, where, state, the
//	                  clear MAC while open, enforcement    TTL 3 interims + 1m while
//	                  state (enf, enfp, dyn, dynat), and   open, retention once closed
//	                  when its client-address entry
//	                  expires (ipx)
//	d:use             the device's use, one hash:          TTL retention from the
//	                  - the ledger of the current day,     device's last record (at
//	                    the day's ID ("d20261126") →       least to the day's end)
//	                    "in out t"; a day's ledger is
//	                    dropped when a later day's
//	                    begins
//	                  - the sessions not closed yet, open
//	                    or expired while silent,
//	                    "<nas>:<sid>" → what was counted
//	                    of it, "in out t updated", so that
//	                    a session that expired while
//	                    silent is not counted again when
//	                    it reports later (dropped a
//	                    retention period after updated)
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
// month's ledger must outlive that, and has a key of its own.

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
// KEYS: session, the device's use hash, its closed sessions, then the keys
// of the week's and month's ledgers in use.
// ARGV: 1 status, 2 input, 3 output, 4 session time, 5 now, 6 live TTL,
// 7 keep TTL (the retention period), 8 nas, 9 acct session id, 10 mac,
// 11 ap, 12 ssid, 13 ip, 14 user, 15 nas ip, 16 "1" when the session was
// accepted throttled, 17 the position of the policy's window among the
// windows (from 1), 18 the data total at which the policy acts (0: never),
// 19 the online seconds at which it acts (0: never), 20 the use hash's
// TTL, 21 for a Start, when it happened (Unix s, its arrival less
// Acct-Delay-Time; 0 for other records), then for each window in use its
// ID, how long its ledger is kept (its end + retention - now, in s), and
// where it is (0: a field of the use hash, else the position of its key in
// KEYS).
// Returns: the lowest enforcement level among the device's open sessions
// that are not leased (99 when none, or when no allowance is reached),
// flags: 1 when the session's client-address entry must be written (the
// session is new to this script, its address changed, or the entry
// expires within a live TTL), 2 when the session is closed (a Stop, or a
// late record of a closed session), 4 when a Start began it anew under the
// ID of a closed one; then input, output and online seconds of each
// window.
const acctScript = closedLua + `
local cur = redis.call('HMGET', KEYS[1], 'in', 'out', 'time', 'state', 'ip', 'ipx', 'ap', 'nasip', 'updated', 'restart')
local now = tonumber(ARGV[5])
local field = ARGV[8] .. ':' .. ARGV[9]
local began, anew = tonumber(ARGV[21]), 0
if began > 0 and cur[4] == 'closed' and ((tonumber(cur[9]) or 0) < began - tonumber(ARGV[6]) or began >= (tonumber(cur[10]) or began + 1)) then
  -- A Start for a closed session that happened a live TTL after its
  -- last record (no retransmit comes that late), or after the NAS
  -- restarted and closed it: the NAS uses the session ID again (its
  -- counter began anew). What was kept of the old session (counters,
  -- enforcement state) is not the new one's.
  redis.call('DEL', KEYS[1])
  cur = {}
  anew = 4
end
local fresh = not cur[4]
-- Counters stay the decimal strings they arrived as: Redis formats a Lua
-- number handed to redis.call with %.17g, which costs more than all the
-- arithmetic here.
local si, so, st = cur[1], cur[2], cur[3]
if fresh then
  -- A new session, or one that expired while silent: what was counted
  -- of it before is in the use hash.
  local b = redis.call('HGET', KEYS[2], field)
  if b then si, so, st = string.match(b, '^(%d+) (%d+) (%d+)') end
end
si, so, st = si or '0', so or '0', st or '0'
local din = tonumber(ARGV[2]) - tonumber(si)
local dout = tonumber(ARGV[3]) - tonumber(so)
local dtime = tonumber(ARGV[4]) - tonumber(st)
if din > 0 then si = ARGV[2] else din = 0 end
if dout > 0 then so = ARGV[3] else dout = 0 end
if dtime > 0 then st = ARGV[4] else dtime = 0 end
-- An open session's fields are written when they change: the counters on
-- every record, the rest when the session is new to this script.
local h = {'in', si, 'out', so, 'time', st, 'updated', ARGV[5]}
local n = #h
if fresh then
  h[n + 1], h[n + 2], h[n + 3], h[n + 4], h[n + 5], h[n + 6] = 'started', ARGV[5], 'mac', ARGV[10], 'user', ARGV[14]
  n = n + 6
  if ARGV[16] == '1' then h[n + 1], h[n + 2] = 'enf', '1'; n = n + 2 end
end
if fresh or cur[7] ~= ARGV[11] then h[n + 1], h[n + 2], h[n + 3], h[n + 4] = 'ap', ARGV[11], 'ssid', ARGV[12]; n = n + 4 end
if fresh or cur[5] ~= ARGV[13] then h[n + 1], h[n + 2] = 'ip', ARGV[13]; n = n + 2 end
if fresh or cur[8] ~= ARGV[15] then h[n + 1], h[n + 2] = 'nasip', ARGV[15]; n = n + 2 end
-- tidy: an old field may have run out (see the end).
local flags, tidy = 0, fresh
if ARGV[1] == 'stop' or cur[4] == 'closed' then
  flags = 2
  -- A closed session keeps its counters for the retention period but no
  -- longer the clear MAC; a late interim never reopens it.
  h[n + 1], h[n + 2] = 'state', 'closed'
  redis.call('HSET', KEYS[1], unpack(h))
  redis.call('HDEL', KEYS[1], 'mac', 'user', 'enfp', 'ipx')
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  redis.call('HDEL', KEYS[2], field)
  noteClosed(KEYS[3], field, ARGV[5], ARGV[7])
else
  local live = tonumber(ARGV[6])
  if fresh or cur[5] ~= ARGV[13] or (tonumber(cur[6]) or 0) - now < live then
    flags = 1
    h[n + 1], h[n + 2] = 'ipx', string.format('%d', now + 2 * live)
    n = n + 2
  end
  if fresh then h[n + 1], h[n + 2] = 'state', 'active' end
  redis.call('HSET', KEYS[1], unpack(h))
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  redis.call('HSET', KEYS[2], field, si .. ' ' .. so .. ' ' .. st .. ' ' .. ARGV[5])
end
local res = {99, flags + anew}
local changed = din > 0 or dout > 0 or dtime > 0
local today = ''
for i = 1, (#ARGV - 21) / 3 do
  local id, k = ARGV[19 + 3 * i], tonumber(ARGV[21 + 3 * i])
  local ui, uo, ut = 0, 0, 0
  if k == 0 then
    -- The day's ledger, a field of the use hash.
    today = id
    local u = redis.call('HGET', KEYS[2], id)
    if u then
      local a, b, c = string.match(u, '^(%d+) (%d+) (%d+)')
      ui, uo, ut = tonumber(a) or 0, tonumber(b) or 0, tonumber(c) or 0
    else
      tidy = true -- a new day
    end
    ui, uo, ut = ui + din, uo + dout, ut + dtime
    if not u or changed then
      redis.call('HSET', KEYS[2], id, string.format('%d %d %d', ui, uo, ut))
    end
  else
    -- A week's or a month's, a key of its own: a new one gets its TTL
    -- (its window's end plus the retention period).
    local u = redis.call('HMGET', KEYS[k], 'in', 'out', 't')
    ui, uo, ut = (tonumber(u[1]) or 0) + din, (tonumber(u[2]) or 0) + dout, (tonumber(u[3]) or 0) + dtime
    if not u[1] then
      redis.call('HSET', KEYS[k], 'in', string.format('%d', ui), 'out', string.format('%d', uo), 't', string.format('%d', ut))
      redis.call('EXPIRE', KEYS[k], ARGV[20 + 3 * i])
    elseif changed then
      redis.call('HSET', KEYS[k], 'in', string.format('%d', ui), 'out', string.format('%d', uo), 't', string.format('%d', ut))
    end
  end
  res[#res + 1] = ui
  res[#res + 1] = uo
  res[#res + 1] = ut
end
-- The use hash lives the retention period from the device's last record.
redis.call('EXPIRE', KEYS[2], ARGV[20])
if tidy then
  -- Drop what ran out: an earlier day's ledger, and sessions that
  -- expired without a Stop and were last counted a retention period ago.
  -- Only an earlier day: a record stamped by a clock behind another
  -- instance's (or a late one) must not drop the day that has begun
  -- (day IDs, "dYYYYMMDD", sort by date).
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    if string.find(all[i], ':', 1, true) then
      local last = tonumber(string.match(all[i + 1], ' (%d+)$'))
      if not last or last < now - tonumber(ARGV[7]) then redis.call('HDEL', KEYS[2], all[i]) end
    elseif all[i] < today then
      redis.call('HDEL', KEYS[2], all[i])
    end
  end
end
local at = 3 * tonumber(ARGV[17])
local data, online = tonumber(ARGV[18]), tonumber(ARGV[19])
if (data > 0 and res[at] + res[at + 1] >= data) or (online > 0 and res[at + 2] >= online) then
  local prefix = string.sub(KEYS[1], 1, string.find(KEYS[1], '}', 1, true)) .. ':s:'
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
// its key and its hash as a flat list.
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
local st = redis.call('HMGET', KEYS[1], 'state', 'nasip', 'updated')
if st[1] ~= 'active' then return '' end
if ARGV[3] ~= '' and st[2] ~= ARGV[3] then return '=' end
if ARGV[4] ~= '' and (tonumber(st[3]) or 0) >= tonumber(ARGV[4]) then return '+' end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'state', 'closed', 'updated', ARGV[1], 'restart', ARGV[4])
else
  redis.call('HSET', KEYS[1], 'state', 'closed', 'updated', ARGV[1])
end
redis.call('HDEL', KEYS[1], 'mac', 'user', 'enfp', 'ipx')
redis.call('EXPIRE', KEYS[1], ARGV[2])
local rest = string.sub(KEYS[1], string.find(KEYS[1], '}:s:', 1, true) + 4)
redis.call('HDEL', KEYS[2], rest)
noteClosed(KEYS[3], rest, ARGV[1], ARGV[2])
local nas = string.match(rest, '^([^:]*):')
return nas or ''
`

// ipSetScript writes an entry of the client-address index (see
// Store.addressField), and now and then drops the expired entries that
// share its hash.
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
