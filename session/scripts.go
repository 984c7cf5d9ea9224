package session

// The Lua scripts run inside Redis, each on the keys of one device (one hash
// slot), except ipScript, which runs on one key of the client-address
// index. Numbers stay below 2^53 (MaxCounter, checked before a script runs),
// which Lua's doubles hold exactly.
//
// The keys of a device d = "{d:<pseudonym>}":
//
//	d:g:<user>        grant: pw, nas                       TTL grant_ttl
//	d:rem             remembered: terms, until             TTL remember_for
//	d:use:<window>    ledger of a window: in, out, t (s)   TTL window end + retention
//	d:s:<nas>:<sid>   session: counters, where, state, the
//	                  clear MAC while open, enforcement    TTL 3 interims + 1m while
//	                  state (enf, enfp, dyn, dynat), and   open, retention once closed
//	                  when its client-address entry
//	                  expires (ipx)
//	d:open            the sessions not closed yet, open or TTL retention from
//	                  expired while silent: "<nas>:<sid>"  the last new entry
//	                  → what was counted of it, "in out t
//	                  updated", so that a session that
//	                  expired while silent is not counted
//	                  again when it reports later

// authScript reads what an Access-Request needs.
// KEYS: grant (or remembered, for MAC auth), remembered, the policy
// window's ledger.
// ARGV: mode ("grant" or "mac").
// Returns: password, NAS, accepted terms version, input, output, online
// seconds.
const authScript = `
local pw, nas = '', ''
if ARGV[1] == 'grant' then
  local g = redis.call('HMGET', KEYS[1], 'pw', 'nas')
  pw, nas = g[1] or '', g[2] or ''
end
local terms = redis.call('HGET', KEYS[2], 'terms') or ''
local u = redis.call('HMGET', KEYS[3], 'in', 'out', 't')
return {pw, nas, terms, u[1] or '0', u[2] or '0', u[3] or '0'}
`

// acctScript applies an accounting record: the session's counters rise to
// the new maximum, and only the increase is added to the ledger of every
// window in use. It looks for open sessions to enforce only once the
// policy's window has reached an allowance.
// KEYS: session, the device's open hash, then the ledger of each window in
// use.
// ARGV: 1 status, 2 input, 3 output, 4 session time, 5 now, 6 live TTL,
// 7 keep TTL, 8 nas, 9 acct session id, 10 mac, 11 ap, 12 ssid, 13 ip,
// 14 user, 15 nas ip, 16 "1" when the session was accepted throttled,
// 17 the position of the policy's window among the ledgers (from 1),
// 18 the data total at which the policy acts (0: never), 19 the online
// seconds at which it acts (0: never), then the TTL of each ledger key.
// Returns: the lowest enforcement level among the device's open sessions
// that are not leased (99 when none, or when no allowance is reached),
// 1 when the session's client-address entry must be written (the session
// is new to this script, its address changed, or the entry expires within
// a live TTL), then input, output and online seconds of each window.
const acctScript = `
local cur = redis.call('HMGET', KEYS[1], 'in', 'out', 'time', 'state', 'ip', 'ipx')
local oin, oout, otime = tonumber(cur[1]), tonumber(cur[2]), tonumber(cur[3])
local now, live = tonumber(ARGV[5]), tonumber(ARGV[6])
local field = ARGV[8] .. ':' .. ARGV[9]
local fresh = not cur[4]
if fresh then
  -- A new session, or one that expired while silent: what was counted
  -- of it before is in the open hash.
  local b = redis.call('HGET', KEYS[2], field)
  if b then
    local i, o, t = string.match(b, '^(%d+) (%d+) (%d+)')
    oin, oout, otime = tonumber(i), tonumber(o), tonumber(t)
  end
end
oin, oout, otime = oin or 0, oout or 0, otime or 0
local nin, nout, ntime = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local din, dout, dtime = 0, 0, 0
if nin > oin then din = nin - oin; oin = nin end
if nout > oout then dout = nout - oout; oout = nout end
if ntime > otime then dtime = ntime - otime; otime = ntime end
local h = {'in', oin, 'out', oout, 'time', otime, 'updated', now,
  'ap', ARGV[11], 'ssid', ARGV[12], 'ip', ARGV[13], 'nasip', ARGV[15]}
if fresh then
  h[#h + 1] = 'started'; h[#h + 1] = now
  if ARGV[16] == '1' then h[#h + 1] = 'enf'; h[#h + 1] = 1 end
end
local ipnew = 0
if ARGV[1] == 'stop' or cur[4] == 'closed' then
  -- A closed session keeps its counters for the retention period but no
  -- longer the clear MAC; a late interim never reopens it.
  h[#h + 1] = 'state'; h[#h + 1] = 'closed'
  redis.call('HSET', KEYS[1], unpack(h))
  redis.call('HDEL', KEYS[1], 'mac', 'user', 'enfp', 'ipx')
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  redis.call('HDEL', KEYS[2], field)
else
  local ipx = tonumber(cur[6]) or 0
  if fresh or cur[5] ~= ARGV[13] or ipx - now < live then
    ipnew, ipx = 1, now + 2 * live
  end
  for _, v in ipairs({'state', 'active', 'mac', ARGV[10], 'user', ARGV[14], 'ipx', ipx}) do
    h[#h + 1] = v
  end
  redis.call('HSET', KEYS[1], unpack(h))
  redis.call('EXPIRE', KEYS[1], live)
  -- The open hash lives the retention period after a session last
  -- started there; a field new to it (a new session, or a hash that
  -- expired under a long session) renews that.
  -- (string.format, not .., which would round counters from 1e14 on.)
  local seen = string.format('%d %d %d %d', oin, oout, otime, now)
  if redis.call('HSET', KEYS[2], field, seen) == 1 then
    redis.call('EXPIRE', KEYS[2], ARGV[7])
  end
  if fresh then
    -- Sessions that expired without a Stop leave their entry behind;
    -- forget those older than the retention period.
    local all = redis.call('HGETALL', KEYS[2])
    local oldest = now - tonumber(ARGV[7])
    for i = 1, #all, 2 do
      local u = tonumber(string.match(all[i + 1], ' (%d+)$'))
      if not u or u < oldest then redis.call('HDEL', KEYS[2], all[i]) end
    end
  end
end
-- The ledgers: a new one gets its TTL (its window's end plus the
-- retention period, fixed when it is made).
local res = {99, ipnew}
for i = 3, #KEYS do
  local u = redis.call('HMGET', KEYS[i], 'in', 'out', 't')
  local uin, uout, ut = (tonumber(u[1]) or 0) + din, (tonumber(u[2]) or 0) + dout, (tonumber(u[3]) or 0) + dtime
  if not u[1] then
    redis.call('HSET', KEYS[i], 'in', uin, 'out', uout, 't', ut)
    redis.call('EXPIRE', KEYS[i], ARGV[i + 17])
  elseif din > 0 or dout > 0 or dtime > 0 then
    redis.call('HSET', KEYS[i], 'in', uin, 'out', uout, 't', ut)
  end
  res[#res + 1] = uin
  res[#res + 1] = uout
  res[#res + 1] = ut
end
local at = 3 * tonumber(ARGV[17])
local data, online = tonumber(ARGV[18]), tonumber(ARGV[19])
if (data > 0 and res[at] + res[at + 1] >= data) or (online > 0 and res[at + 2] >= online) then
  local prefix = string.sub(KEYS[1], 1, string.find(KEYS[1], '}', 1, true)) .. ':s:'
  for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
    local e = redis.call('HMGET', prefix .. f, 'state', 'enf', 'enfp')
    if e[1] == 'active' and (tonumber(e[3]) or 0) <= now then
      local l = tonumber(e[2]) or 0
      if l < res[1] then res[1] = l end
    end
  end
end
return res
`

// deviceScript reads a device: what it accepted, its ledgers and its open
// sessions (those in the open hash whose session key still exists).
// KEYS: remembered, open hash, then the ledger of each window in use.
// Returns: accepted terms version, remembered until (Unix s), a list of
// input, output and online seconds per window, then for each open session
// its key and its hash as a flat list.
const deviceScript = `
local r = redis.call('HMGET', KEYS[1], 'terms', 'until')
local use = {}
for i = 3, #KEYS do
  local u = redis.call('HMGET', KEYS[i], 'in', 'out', 't')
  use[#use + 1] = u[1] or '0'
  use[#use + 1] = u[2] or '0'
  use[#use + 1] = u[3] or '0'
end
local res = {r[1] or '', r[2] or '', use}
local prefix = string.sub(KEYS[2], 1, string.find(KEYS[2], '}', 1, true)) .. ':s:'
for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
  local h = redis.call('HGETALL', prefix .. f)
  if #h > 0 then
    res[#res + 1] = prefix .. f
    res[#res + 1] = h
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
// KEYS: session, the device's open hash. ARGV: now, keep TTL, and the
// NAS address the session must have been reported from ("" for any: one
// NAS entry may cover several controllers, and only the one that restarted
// lost its sessions).
// Returns the session's NAS when it closed an open session, "=" when the
// session is open but was reported from another address, else "".
const closeScript = `
local st = redis.call('HMGET', KEYS[1], 'state', 'nasip')
if st[1] ~= 'active' then return '' end
if ARGV[3] ~= '' and st[2] ~= ARGV[3] then return '=' end
redis.call('HSET', KEYS[1], 'state', 'closed', 'updated', ARGV[1])
redis.call('HDEL', KEYS[1], 'mac', 'user', 'enfp', 'ipx')
redis.call('EXPIRE', KEYS[1], ARGV[2])
local rest = string.sub(KEYS[1], string.find(KEYS[1], '}:s:', 1, true) + 4)
redis.call('HDEL', KEYS[2], rest)
local nas = string.match(rest, '^([^:]*):')
return nas or ''
`

// ipScript removes a session's entry from the client-address index, which
// says which session holds a client IP address on each NAS (Store.
// setAddress writes entries): unless another session took the address
// since. Entries carry their own expiry, "<unix> <session key>", since one
// key holds those of several NASes.
// KEYS: the address's index. ARGV: NAS, session key.
const ipScript = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and string.match(v, '^%d+ (.*)$') == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
`
