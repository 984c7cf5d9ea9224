package session

// The Lua scripts run inside Redis, each on the keys of one device (one hash
// slot). Numbers stay below 2^53, which Lua's doubles hold exactly.

// authScript reads what an Access-Request needs.
// KEYS: grant (or remembered, for MAC auth), remembered, today's usage.
// ARGV: mode ("grant" or "mac").
// Returns: password, NAS, accepted terms version, input, output.
const authScript = `
local pw, nas = '', ''
if ARGV[1] == 'grant' then
  local g = redis.call('HMGET', KEYS[1], 'pw', 'nas')
  pw, nas = g[1] or '', g[2] or ''
end
local terms = redis.call('HGET', KEYS[2], 'terms') or ''
local u = redis.call('HMGET', KEYS[3], 'in', 'out')
return {pw, nas, terms, u[1] or '0', u[2] or '0'}
`

// acctScript applies an accounting record.
// KEYS: session, today's usage, the device's open-session set.
// ARGV: status, input, output, now, live TTL, retention TTL, nas, session id,
// mac, ap, ssid, ip, user, session time, nas ip.
// Returns: today's input and output.
const acctScript = `
local cur = redis.call('HMGET', KEYS[1], 'in', 'out', 'state')
local oin, oout = tonumber(cur[1]) or 0, tonumber(cur[2]) or 0
local nin, nout = tonumber(ARGV[2]), tonumber(ARGV[3])
local din, dout = 0, 0
if nin > oin then din = nin - oin; oin = nin end
if nout > oout then dout = nout - oout; oout = nout end
local now = ARGV[4]
if not cur[3] then
  redis.call('HSET', KEYS[1], 'started', now, 'nas', ARGV[7], 'sid', ARGV[8])
end
redis.call('HSET', KEYS[1], 'in', oin, 'out', oout, 'updated', now,
  'ap', ARGV[10], 'ssid', ARGV[11], 'ip', ARGV[12], 'user', ARGV[13], 'time', ARGV[14],
  'nasip', ARGV[15])
if ARGV[1] == 'stop' or cur[3] == 'closed' then
  -- A closed session keeps its counters for the retention period but no
  -- longer the clear MAC; a late interim never reopens it.
  redis.call('HSET', KEYS[1], 'state', 'closed')
  redis.call('HDEL', KEYS[1], 'mac')
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  redis.call('SREM', KEYS[3], KEYS[1])
else
  redis.call('HSET', KEYS[1], 'state', 'active', 'mac', ARGV[9])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  redis.call('SADD', KEYS[3], KEYS[1])
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
if din > 0 then redis.call('HINCRBY', KEYS[2], 'in', din) end
if dout > 0 then redis.call('HINCRBY', KEYS[2], 'out', dout) end
redis.call('EXPIRE', KEYS[2], ARGV[6])
local u = redis.call('HMGET', KEYS[2], 'in', 'out')
return {tonumber(u[1]) or 0, tonumber(u[2]) or 0}
`

// closeScript closes one session after Accounting-On/Off.
// KEYS: session, the device's open-session set. ARGV: now, retention TTL.
// Returns 1 when it closed an open session, else 0.
const closeScript = `
local st = redis.call('HGET', KEYS[1], 'state')
if st ~= 'active' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'closed', 'updated', ARGV[1])
redis.call('HDEL', KEYS[1], 'mac')
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('SREM', KEYS[2], KEYS[1])
return 1
`
