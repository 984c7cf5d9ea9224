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
//	d:open            set of the keys of open sessions     TTL of the longest-lived one
//	d:s:<nas>:<sid>   session: counters, where, state, the
//	                  clear MAC while open, enforcement    TTL 3 interims + 1m while
//	                  state (enf, enfp, dyn, dynat)        open, retention once closed
//	d:seen            what was counted of each open
//	                  session, "<nas>:<sid>" → "in out t
//	                  updated", so that a session that
//	                  expired while silent is not counted
//	                  again when it reports later          TTL retention + 1 day

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
// window in use.
// KEYS: session, open set, seen, then the ledger of each window in use.
// ARGV: 1 status, 2 input, 3 output, 4 session time, 5 now, 6 live TTL,
// 7 keep TTL, 8 nas, 9 acct session id, 10 mac, 11 ap, 12 ssid, 13 ip,
// 14 user, 15 nas ip, 16 "1" when the session was accepted throttled,
// 17 retention (s), then the TTL of each ledger key.
// Returns: the lowest enforcement level among the device's open sessions
// that are not leased (99 when none), then input, output and online
// seconds of each window.
const acctScript = `
local cur = redis.call('HMGET', KEYS[1], 'in', 'out', 'time', 'state')
local oin, oout, otime = tonumber(cur[1]), tonumber(cur[2]), tonumber(cur[3])
local now = tonumber(ARGV[5])
local field = ARGV[8] .. ':' .. ARGV[9]
local fresh = not cur[4]
if fresh then
  -- A new session, or one that expired while silent: what was counted
  -- of it before is in seen.
  local b = redis.call('HGET', KEYS[3], field)
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
if fresh then
  redis.call('HSET', KEYS[1], 'started', now, 'nas', ARGV[8], 'sid', ARGV[9])
  if ARGV[16] == '1' then redis.call('HSET', KEYS[1], 'enf', 1) end
end
redis.call('HSET', KEYS[1], 'in', oin, 'out', oout, 'time', otime, 'updated', now,
  'ap', ARGV[11], 'ssid', ARGV[12], 'ip', ARGV[13], 'user', ARGV[14], 'nasip', ARGV[15])
if ARGV[1] == 'stop' or cur[4] == 'closed' then
  -- A closed session keeps its counters for the retention period but no
  -- longer the clear MAC; a late interim never reopens it.
  redis.call('HSET', KEYS[1], 'state', 'closed')
  redis.call('HDEL', KEYS[1], 'mac', 'user', 'enfp')
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  redis.call('SREM', KEYS[2], KEYS[1])
  redis.call('HDEL', KEYS[3], field)
else
  redis.call('HSET', KEYS[1], 'state', 'active', 'mac', ARGV[10])
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  redis.call('SADD', KEYS[2], KEYS[1])
  if redis.call('TTL', KEYS[2]) < tonumber(ARGV[6]) then
    redis.call('EXPIRE', KEYS[2], ARGV[6])
  end
  redis.call('HSET', KEYS[3], field, oin .. ' ' .. oout .. ' ' .. otime .. ' ' .. now)
  redis.call('EXPIRE', KEYS[3], ARGV[7])
  if fresh then
    -- Sessions that expired without a Stop leave their entry behind;
    -- forget those older than the retention period.
    local all = redis.call('HGETALL', KEYS[3])
    local oldest = now - tonumber(ARGV[17])
    for i = 1, #all, 2 do
      local u = tonumber(string.match(all[i + 1], ' (%d+)$'))
      if not u or u < oldest then redis.call('HDEL', KEYS[3], all[i]) end
    end
  end
end
local res = {99}
for i = 4, #KEYS do
  if din > 0 then redis.call('HINCRBY', KEYS[i], 'in', din) end
  if dout > 0 then redis.call('HINCRBY', KEYS[i], 'out', dout) end
  if dtime > 0 then redis.call('HINCRBY', KEYS[i], 't', dtime) end
  redis.call('EXPIRE', KEYS[i], ARGV[i + 14])
  local u = redis.call('HMGET', KEYS[i], 'in', 'out', 't')
  res[#res + 1] = tonumber(u[1]) or 0
  res[#res + 1] = tonumber(u[2]) or 0
  res[#res + 1] = tonumber(u[3]) or 0
end
for _, k in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local e = redis.call('HMGET', k, 'state', 'enf', 'enfp')
  if not e[1] then
    redis.call('SREM', KEYS[2], k) -- expired while silent
  elseif e[1] == 'active' and (tonumber(e[3]) or 0) <= now then
    local l = tonumber(e[2]) or 0
    if l < res[1] then res[1] = l end
  end
end
return res
`

// deviceScript reads a device: what it accepted, its ledgers and its open
// sessions. It drops sessions that expired from the open set.
// KEYS: remembered, open set, then the ledger of each window in use.
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
for _, k in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local h = redis.call('HGETALL', k)
  if #h == 0 then
    redis.call('SREM', KEYS[2], k)
  else
    res[#res + 1] = k
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
// KEYS: session, the device's open set, seen. ARGV: now, keep TTL, and the
// NAS address the session must have been reported from ("" for any: one
// NAS entry may cover several controllers, and only the one that restarted
// lost its sessions).
// Returns the session's NAS when it closed an open session, "=" when the
// session is open but was reported from another address, else "".
const closeScript = `
local st = redis.call('HMGET', KEYS[1], 'state', 'nas', 'sid', 'nasip')
if st[1] ~= 'active' then return '' end
if ARGV[3] ~= '' and st[4] ~= ARGV[3] then return '=' end
redis.call('HSET', KEYS[1], 'state', 'closed', 'updated', ARGV[1])
redis.call('HDEL', KEYS[1], 'mac', 'user', 'enfp')
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('SREM', KEYS[2], KEYS[1])
redis.call('HDEL', KEYS[3], (st[2] or '') .. ':' .. (st[3] or ''))
return st[2] or ''
`

// ipScript keeps the client-address index: which session holds a client
// IP address on each NAS. Entries carry their own expiry, since one key
// holds those of several NASes.
// KEYS: the address's index. ARGV: "set" or "del", NAS, session key,
// expires (Unix s), TTL.
const ipScript = `
if ARGV[1] == 'set' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[4] .. ' ' .. ARGV[3])
  if redis.call('TTL', KEYS[1]) < tonumber(ARGV[5]) then
    redis.call('EXPIRE', KEYS[1], ARGV[5])
  end
else
  local v = redis.call('HGET', KEYS[1], ARGV[2])
  if v and string.match(v, '^%d+ (.*)$') == ARGV[3] then
    redis.call('HDEL', KEYS[1], ARGV[2])
  end
end
return 0
`
