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
// Key layout (P = limits.redis.prefix). Each scope's keys share a hash
// tag, but one decision touches several scopes (a key and its team, an end
// user): Sluice needs one Redis (a primary, with replicas if wanted), not
// a Redis Cluster.
//
//	P{k:ID}:r  P{k:ID}:t            a key's requests and tokens buckets
//	P{k:ID}:m:r:MODEL  P{k:ID}:m:t:MODEL   a key's per-model buckets
//	P{k:ID}:c                       a key's concurrency slots (sorted set: member → lease end, µs)
//	P{k:ID}:$:d:YYYYMMDD  :$:m:YYYYMM  :$:t   a key's spend in its budget period
//	P{k:ID}:$h  P{k:ID}:$hs         a key's held costs (sorted set: member|USD → lease end, µs) and their sum
//	P{T:ID}:…                       a team's buckets, slots, spend and held costs, named as a key's
//	P{ku:ID:USER}:…  P{tu:ID:USER}:…  an end user's of a key or of a team: buckets, spend, held costs
//	P{t:PROVIDER/MODEL}:r  :t        a target's buckets

// admitScript decides one admission: every bucket, every concurrency set
// and every budget is checked first; then all or nothing is applied. A
// budget holds the request's estimated cost as a member of its scope's
// held set (its amount after the last '|'), leased like a concurrency
// slot: a hold whose settlement never arrives (its instance died) expires
// with its lease and is then subtracted from the held sum.
//
//	KEYS: the buckets (nb), the concurrency sets (nc), then per budget
//	(nd): spend counter, held set, held sum
//	ARGV[1] Period (µs); ARGV[2] slot and hold lease (µs); ARGV[3] nb;
//	ARGV[4] nc; ARGV[5] nd; then per bucket: limit, cost (0: report only);
//	per set: max concurrent, slot member; per budget: budget USD, spend
//	the caller knows of (a floor), estimated cost to hold (0: none), hold
//	member
//
// Returns {ok, failing (0 none, i > 0 bucket i, -j concurrency set j,
// -(100+j) budget j), retry µs, then per set: slots in use; per budget:
// spend, held; per bucket: remaining, µs until full}.
var admitScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local P, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local nb, nc, nd = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local ab, ac, ad = 5, 5 + 2 * nb, 5 + 2 * nb + 2 * nc
local ok, fail, retry = 1, 0, 0
local function refuse(i, wait)
  if ok == 1 or wait > retry then fail, retry = i, wait end
  ok = 0
end
local d = {}
for i = 1, nb do
  local L, n = tonumber(ARGV[ab + 2 * i - 1]), tonumber(ARGV[ab + 2 * i])
  local v = redis.call('HMGET', KEYS[i], 'd', 't')
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
local inuse = {}
for j = 1, nc do
  local K = KEYS[nb + j]
  redis.call('ZREMRANGEBYSCORE', K, '-inf', now)
  inuse[j] = redis.call('ZCARD', K)
  if inuse[j] >= tonumber(ARGV[ac + 2 * j - 1]) then refuse(-j, 1000000) end
end
local spend, held = {}, {}
for j = 1, nd do
  local kb = nb + nc + 3 * (j - 1)
  local a = ad + 4 * (j - 1)
  local budget, known, est = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local s = tonumber(redis.call('GET', KEYS[kb + 1]) or '0') or 0
  if known > s then s = known end
  local gone = redis.call('ZRANGEBYSCORE', KEYS[kb + 2], '-inf', now)
  if #gone > 0 then
    local sub = 0
    for _, m in ipairs(gone) do sub = sub + (tonumber(string.match(m, '|([^|]*)$')) or 0) end
    redis.call('ZREMRANGEBYSCORE', KEYS[kb + 2], '-inf', now)
    if redis.call('ZCARD', KEYS[kb + 2]) == 0 then
      redis.call('DEL', KEYS[kb + 3])
    else
      redis.call('INCRBYFLOAT', KEYS[kb + 3], string.format('%.17g', -sub))
    end
  end
  local h = tonumber(redis.call('GET', KEYS[kb + 3]) or '0') or 0
  if h < 0 then h = 0 end
  spend[j], held[j] = s, h
  if ok == 1 and (s >= budget - 1e-9 or s + h + est > budget + 1e-9) then refuse(-(100 + j), 0) end
end
if ok == 1 then
  for i = 1, nb do
    local L, n = tonumber(ARGV[ab + 2 * i - 1]), tonumber(ARGV[ab + 2 * i])
    if n > 0 then
      d[i] = d[i] + n
      redis.call('HSET', KEYS[i], 'd', string.format('%.17g', d[i]), 't', string.format('%.0f', now))
      redis.call('PEXPIRE', KEYS[i], math.ceil(d[i] * P / L / 1000) + 1000)
    end
  end
  for j = 1, nc do
    local K = KEYS[nb + j]
    redis.call('ZADD', K, string.format('%.0f', now + lease), ARGV[ac + 2 * j])
    redis.call('PEXPIRE', K, math.ceil(lease / 1000) + 1000)
    inuse[j] = inuse[j] + 1
  end
  for j = 1, nd do
    local kb = nb + nc + 3 * (j - 1)
    local a = ad + 4 * (j - 1)
    if tonumber(ARGV[a + 3]) > 0 then
      redis.call('ZADD', KEYS[kb + 2], string.format('%.0f', now + lease), ARGV[a + 4])
      redis.call('INCRBYFLOAT', KEYS[kb + 3], ARGV[a + 3])
      redis.call('PEXPIRE', KEYS[kb + 2], math.ceil(lease / 1000) + 1000)
      redis.call('PEXPIRE', KEYS[kb + 3], math.ceil(lease / 1000) + 1000)
    end
  end
end
local out = {ok, fail, retry}
for j = 1, nc do out[#out + 1] = inuse[j] end
for j = 1, nd do
  out[#out + 1] = string.format('%.17g', spend[j])
  out[#out + 1] = string.format('%.17g', held[j])
end
for i = 1, nb do
  local L = tonumber(ARGV[ab + 2 * i - 1])
  local rem = math.floor(L - d[i])
  if rem < 0 then rem = 0 end
  out[#out + 1] = rem
  out[#out + 1] = math.ceil(d[i] * P / L)
end
return out
`)

// settleScript reconciles reservations, releases slots and held costs
// (when their lease has not already dropped them) and adds spend.
//
//	KEYS: the buckets (nb), the concurrency sets (nc), then per budget
//	(nd): spend counter, held set, held sum
//	ARGV[1] Period (µs); ARGV[2] nb; ARGV[3] nc; ARGV[4] nd; then per
//	bucket: limit, delta (actual − reserved); per set: slot member; per
//	budget: cost USD ("0" none), spend counter expiry (unix ms; 0 never),
//	hold member ("" none)
var settleScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local P = tonumber(ARGV[1])
local nb, nc, nd = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local ab, ac, ad = 4, 4 + 2 * nb, 4 + 2 * nb + nc
for j = 1, nc do redis.call('ZREM', KEYS[nb + j], ARGV[ac + j]) end
for j = 1, nd do
  local kb = nb + nc + 3 * (j - 1)
  local a = ad + 3 * (j - 1)
  if tonumber(ARGV[a + 1]) > 0 then
    redis.call('INCRBYFLOAT', KEYS[kb + 1], ARGV[a + 1])
    local exp = tonumber(ARGV[a + 2])
    if exp > 0 then redis.call('PEXPIREAT', KEYS[kb + 1], exp) end
  end
  local m = ARGV[a + 3]
  if m ~= '' and redis.call('ZREM', KEYS[kb + 2], m) == 1 then
    if redis.call('ZCARD', KEYS[kb + 2]) == 0 then
      redis.call('DEL', KEYS[kb + 3])
    else
      local amt = tonumber(string.match(m, '|([^|]*)$')) or 0
      redis.call('INCRBYFLOAT', KEYS[kb + 3], string.format('%.17g', -amt))
    end
  end
end
for i = 1, nb do
  local L, delta = tonumber(ARGV[ab + 2 * i - 1]), tonumber(ARGV[ab + 2 * i])
  if delta ~= 0 then
    local v = redis.call('HMGET', KEYS[i], 'd', 't')
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
      redis.call('DEL', KEYS[i])
    else
      redis.call('HSET', KEYS[i], 'd', string.format('%.17g', x), 't', string.format('%.0f', now))
      redis.call('PEXPIRE', KEYS[i], math.ceil(x * P / L / 1000) + 1000)
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
