-- Shared by every frontier script (prepended when loaded).
-- KEYS[1] is the shard's config hash, so a Redis Cluster client routes the call to the
-- node holding the shard: every key of a shard carries its hash tag, {JOB} or {JOB:k}
-- (one slot), and a script touches no other shard's keys.
-- ARGV[1] is the shard's key prefix, "linkindex:{JOB}:" or "linkindex:{JOB:k}:".
local P = ARGV[1]
local JOB = KEYS[1]
local STATS = P .. 'stats'

local function now_ms()
  -- Redis's clock, not the workers': ready times mean the same on every machine.
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function number(key, field)
  local v = redis.call('HGET', key, field)
  if v then return tonumber(v) end
  return nil
end

-- Put a request back at the front of its domain's queue (a returned lease goes first).
local function requeue(req, domain)
  redis.call('LPUSH', P .. 'q:' .. domain, req)
  redis.call('ZADD', P .. 'ready', 'NX', now_ms(), domain)
  redis.call('HINCRBY', STATS, 'queued', 1)
end

-- A failed request's reason, kept up to the shard's cap (failed_max); past it the request
-- is only counted: its page row, with the error, is in the raw parts either way.
local function record_failed(url, reason)
  local cap = number(JOB, 'failed_max')
  local failed = P .. 'failed'
  if cap and redis.call('HLEN', failed) >= cap and redis.call('HEXISTS', failed, url) == 0 then
    redis.call('HINCRBY', STATS, 'failed_unrecorded', 1)
    return
  end
  redis.call('HSET', failed, url, reason)
end

-- The seen filter. mode 'exact': a = bucket, b = member (an integer, so the set stays an
-- intset); 'bloom': a = comma-separated bit positions, b = ''; 'scalable': a, b = the
-- fingerprint's two 32-bit halves, positions worked out here for each layer.
-- A scalable filter (Almeida et al. 2007) starts with one layer sized for the shard's
-- expected URLs at half the target error rate; when a layer is full the next holds
-- bloom_growth (2) times as many at bloom_tightening (0.5) times its error rate, so the
-- rates sum to under the target whatever the count. A layer is one bitmap of at most 2^32 bits (a Redis string's limit);
-- `sbf` holds the layers' sizes and the newest layer's count.
local SBF = P .. 'sbf'
local layers = nil  -- {m, k} per layer, read once per script call

local function layer_params(i)
  local cap = number(JOB, 'bloom_cap') * number(JOB, 'bloom_growth') ^ i
  local p = number(JOB, 'bloom_p') * number(JOB, 'bloom_tightening') ^ i
  local ln2sq = math.log(2) ^ 2
  local m = math.ceil(cap * -math.log(p) / ln2sq)
  if m > 4294967296 then
    m = 4294967296
    cap = math.floor(m * ln2sq / -math.log(p))
  end
  local k = math.max(1, math.ceil(-math.log(p) / math.log(2)))
  return m, k, cap
end

local function read_layers()
  if layers then return layers end
  layers = {}
  local n = tonumber(redis.call('HGET', SBF, 'layers') or '0')
  for i = 0, n - 1 do
    layers[i + 1] = {tonumber(redis.call('HGET', SBF, 'm' .. i)),
                     tonumber(redis.call('HGET', SBF, 'k' .. i))}
  end
  return layers
end

local function add_layer()
  local i = #read_layers()
  local m, k, cap = layer_params(i)
  redis.call('HSET', SBF, 'layers', i + 1, 'm' .. i, m, 'k' .. i, k, 'c' .. i, cap, 'n', 0)
  -- the whole bitmap at once: grown bit by bit, the allocator's rounding costs ~10% more
  redis.call('SETBIT', P .. 'bloom:' .. i, m - 1, 0)
  layers[i + 1] = {m, k}
end

local function in_layer(i, h1, h2)
  local m, k = layers[i][1], layers[i][2]
  local key = P .. 'bloom:' .. (i - 1)
  for j = 0, k - 1 do
    if redis.call('GETBIT', key, (h1 + j * h2) % m) == 0 then return false end
  end
  return true
end

local function seen(mode, a, b)
  if mode == 'exact' then
    return redis.call('SISMEMBER', P .. 'seen:' .. a, b) == 1
  elseif mode == 'bloom' then
    for pos in string.gmatch(a, '[^,]+') do
      if redis.call('GETBIT', P .. 'bloom', pos) == 0 then return false end
    end
    return true
  end
  local h1, h2 = tonumber(a), tonumber(b)
  for i = 1, #read_layers() do
    if in_layer(i, h1, h2) then return true end
  end
  return false
end

local function mark(mode, a, b)
  if mode == 'exact' then
    redis.call('SADD', P .. 'seen:' .. a, b)
  elseif mode == 'bloom' then
    for pos in string.gmatch(a, '[^,]+') do redis.call('SETBIT', P .. 'bloom', pos, 1) end
  else
    local h1, h2 = tonumber(a), tonumber(b)
    local newest = #read_layers()
    if newest == 0 or tonumber(redis.call('HGET', SBF, 'n')) >=
        tonumber(redis.call('HGET', SBF, 'c' .. (newest - 1))) then
      add_layer()
      newest = newest + 1
    end
    local m, k = layers[newest][1], layers[newest][2]
    local key = P .. 'bloom:' .. (newest - 1)
    for j = 0, k - 1 do redis.call('SETBIT', key, (h1 + j * h2) % m, 1) end
    redis.call('HINCRBY', SBF, 'n', 1)
  end
end
