-- Shared by every frontier script (prepended when loaded).
-- KEYS[1] is the job's config hash, so a Redis Cluster client routes the call to the
-- node holding the job: every key of a job carries the hash tag {job} (one slot).
-- ARGV[1] is the job's key prefix, "linkindex:{JOB}:".
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
