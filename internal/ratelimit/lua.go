package ratelimit

import "github.com/redis/go-redis/v9"

// The Redis scripts. Each runs atomically on the server with the server's
// clock (TIME), so that instances with skewed clocks agree. A bucket is a
// hash {d, t}: its debt d in units (the GCRA TAT minus now, in units of
// Period/limit) as of t (µs); it drains at limit units per Period. It
// expires when it would be full again, so idle scopes cost nothing. Lua
// numbers are doubles: every integer involved stays below 2^53, and the
// debt is exact while no time passes, so N+k requests at once on a fresh
// limit of N get exactly k refusals, as in the memory backend.
//
// Key layout (P = limits.redis.prefix), hash-tagged so that one script's
// keys share a cluster slot:
//
//	P{k:ID}:r  P{k:ID}:t            a key's requests and tokens buckets
//	P{k:ID}:m:r:MODEL  P{k:ID}:m:t:MODEL   a key's per-model buckets
//	P{k:ID}:c                       a key's concurrency slots (sorted set: member → lease end, µs)
//	P{k:ID}:$:d:YYYYMMDD  :$:m:YYYYMM  :$:t   a key's spend in its budget period
//	P{k:ID}:$h  P{k:ID}:$hs         a key's held costs (sorted set: member|USD → lease end, µs) and their sum
//	P{t:PROVIDER/MODEL}:r  :t        a target's buckets

// admitScript decides one admission: every bucket, the concurrency slots
// and the budget are checked first; then all or nothing is applied. The
// budget holds the request's estimated cost as a member of the key's held
// set (its amount after the last '|'), leased like a concurrency slot: a
// hold whose settlement never arrives (its instance died) expires with its
// lease and is then subtracted from the held sum.
//
//	KEYS[1] concurrency set, KEYS[2] spend counter, KEYS[3] held set,
//	KEYS[4] held sum, KEYS[4+i] bucket i
//	ARGV[1] Period (µs); ARGV[2] max concurrent (0: no slot); ARGV[3] slot
//	member; ARGV[4] slot and hold lease (µs); ARGV[5] budget USD (0: none);
//	ARGV[6] spend the caller knows of (a floor); ARGV[7] bucket count;
//	ARGV[8] estimated cost to hold (0: none); ARGV[9] hold member; then
//	per bucket: limit, cost (0: report only)
//
// Returns {ok, failing (0 none, -1 concurrency, -2 budget, else bucket
// index), retry µs, slots in use, spend, held, then per bucket: remaining,
// µs until full}.
var admitScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local P = tonumber(ARGV[1])
local nb = tonumber(ARGV[7])
local ok, fail, retry = 1, 0, 0
local function refuse(i, wait)
  if ok == 1 or wait > retry then fail, retry = i, wait end
  ok = 0
end
local d = {}
for i = 1, nb do
  local L, n = tonumber(ARGV[8 + 2 * i]), tonumber(ARGV[9 + 2 * i])
  local v = redis.call('HMGET', KEYS[4 + i], 'd', 't')
  local x = tonumber(v[1]) or 0
  if x > 0 then
    local el = now - (tonumber(v[2]) or now)
    if el > 0 then
      x = x - el * L / P
      if x < 0 then x = 0 end
    end
  end
  d[i] = x
  if n > 0 and x + n > L then refuse(i, math.ceil((x + n - L) * P / L)) end
end
local maxc = tonumber(ARGV[2])
local inuse = 0
if maxc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  inuse = redis.call('ZCARD', KEYS[1])
  if inuse >= maxc then refuse(-1, 1000000) end
end
local budget = tonumber(ARGV[5])
local est = tonumber(ARGV[8])
local spend, held = 0, 0
if budget > 0 then
  spend = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
  local known = tonumber(ARGV[6])
  if known > spend then spend = known end
  local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
  if #gone > 0 then
    local sub = 0
    for _, m in ipairs(gone) do sub = sub + (tonumber(string.match(m, '|([^|]*)$')) or 0) end
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
    if redis.call('ZCARD', KEYS[3]) == 0 then
      redis.call('DEL', KEYS[4])
    else
      redis.call('INCRBYFLOAT', KEYS[4], string.format('%.17g', -sub))
    end
  end
  held = tonumber(redis.call('GET', KEYS[4]) or '0') or 0
  if held < 0 then held = 0 end
  if ok == 1 and (spend >= budget - 1e-9 or spend + held + est > budget + 1e-9) then refuse(-2, 0) end
end
if ok == 1 then
  for i = 1, nb do
    local L, n = tonumber(ARGV[8 + 2 * i]), tonumber(ARGV[9 + 2 * i])
    if n > 0 then
      d[i] = d[i] + n
      redis.call('HSET', KEYS[4 + i], 'd', string.format('%.17g', d[i]), 't', string.format('%.0f', now))
      redis.call('PEXPIRE', KEYS[4 + i], math.ceil(d[i] * P / L / 1000) + 1000)
    end
  end
  local lease = tonumber(ARGV[4])
  if maxc > 0 then
    redis.call('ZADD', KEYS[1], string.format('%.0f', now + lease), ARGV[3])
    redis.call('PEXPIRE', KEYS[1], math.ceil(lease / 1000) + 1000)
    inuse = inuse + 1
  end
  if budget > 0 and est > 0 then
    redis.call('ZADD', KEYS[3], string.format('%.0f', now + lease), ARGV[9])
    redis.call('INCRBYFLOAT', KEYS[4], ARGV[8])
    redis.call('PEXPIRE', KEYS[3], math.ceil(lease / 1000) + 1000)
    redis.call('PEXPIRE', KEYS[4], math.ceil(lease / 1000) + 1000)
  end
end
local out = {ok, fail, retry, inuse, string.format('%.17g', spend), string.format('%.17g', held)}
for i = 1, nb do
  local L = tonumber(ARGV[8 + 2 * i])
  local rem = math.floor(L - d[i])
  if rem < 0 then rem = 0 end
  out[#out + 1] = rem
  out[#out + 1] = math.ceil(d[i] * P / L)
end
return out
`)

// settleScript reconciles reservations, releases a slot and a held cost
// (when its lease has not already dropped it) and adds spend.
//
//	KEYS[1] concurrency set, KEYS[2] spend counter, KEYS[3] held set,
//	KEYS[4] held sum, KEYS[4+i] bucket i
//	ARGV[1] Period (µs); ARGV[2] slot member ("" none); ARGV[3] cost USD
//	("0" none); ARGV[4] spend counter expiry (unix ms; 0 never); ARGV[5]
//	bucket count; ARGV[6] hold member ("" none); then per bucket: limit,
//	delta (actual − reserved)
var settleScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local P = tonumber(ARGV[1])
if ARGV[2] ~= '' then redis.call('ZREM', KEYS[1], ARGV[2]) end
if tonumber(ARGV[3]) > 0 then
  redis.call('INCRBYFLOAT', KEYS[2], ARGV[3])
  local exp = tonumber(ARGV[4])
  if exp > 0 then redis.call('PEXPIREAT', KEYS[2], exp) end
end
if ARGV[6] ~= '' and redis.call('ZREM', KEYS[3], ARGV[6]) == 1 then
  if redis.call('ZCARD', KEYS[3]) == 0 then
    redis.call('DEL', KEYS[4])
  else
    local amt = tonumber(string.match(ARGV[6], '|([^|]*)$')) or 0
    redis.call('INCRBYFLOAT', KEYS[4], string.format('%.17g', -amt))
  end
end
for i = 1, tonumber(ARGV[5]) do
  local L, delta = tonumber(ARGV[5 + 2 * i]), tonumber(ARGV[6 + 2 * i])
  if delta ~= 0 then
    local v = redis.call('HMGET', KEYS[4 + i], 'd', 't')
    local x = tonumber(v[1]) or 0
    if x > 0 then
      local el = now - (tonumber(v[2]) or now)
      if el > 0 then
        x = x - el * L / P
        if x < 0 then x = 0 end
      end
    end
    x = x + delta
    if x > 60 * L then x = 60 * L end
    if x <= 0 then
      redis.call('DEL', KEYS[4 + i])
    else
      redis.call('HSET', KEYS[4 + i], 'd', string.format('%.17g', x), 't', string.format('%.0f', now))
      redis.call('PEXPIRE', KEYS[4 + i], math.ceil(x * P / L / 1000) + 1000)
    end
  end
end
return 1
`)

// peekScript reads a key's state without changing it (GET /v1/key).
//
//	KEYS[1] concurrency set, KEYS[2] spend counter, KEYS[2+i] bucket i
//	ARGV[1] Period (µs); ARGV[2] bucket count; then
//	per bucket: limit
//
// Returns {slots in use, spend, then per bucket: remaining, µs until full}.
var peekScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local P = tonumber(ARGV[1])
local inuse = redis.call('ZCOUNT', KEYS[1], '(' .. string.format('%.0f', now), '+inf')
local spend = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local out = {inuse, string.format('%.17g', spend)}
for i = 1, tonumber(ARGV[2]) do
  local L = tonumber(ARGV[2 + i])
  local v = redis.call('HMGET', KEYS[2 + i], 'd', 't')
  local x = tonumber(v[1]) or 0
  if x > 0 then
    local el = now - (tonumber(v[2]) or now)
    if el > 0 then
      x = x - el * L / P
      if x < 0 then x = 0 end
    end
  end
  local rem = math.floor(L - x)
  if rem < 0 then rem = 0 end
  out[#out + 1] = rem
  out[#out + 1] = math.ceil(x * P / L)
end
return out
`)
