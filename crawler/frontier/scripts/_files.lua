-- Shared by the file-job scripts (an import job's units are files, not URLs).
-- Keys under P: files (list: pending, front first), fleases (hash: file -> lease JSON
-- {w: worker, t: token, a: attempt}), fattempts (hash: file -> attempts begun),
-- fdone (set), ffailed (hash: file -> reason), workers (zset: last beat, ms), wstats.

local FILES, LEASES, ATTEMPTS = P .. 'files', P .. 'fleases', P .. 'fattempts'
local DONE, FAILED = P .. 'fdone', P .. 'ffailed'

-- The lease of `file` if `token` still holds it, else nil (it lapsed and was handed on).
local function held(file, token)
  local raw = redis.call('HGET', LEASES, file)
  if not raw then return nil end
  local lease = cjson.decode(raw)
  if lease['t'] ~= token then return nil end
  return lease
end

-- Workers silent for longer than lease_ms are dead: their files go back to the front
-- of the queue, or are failed once leased max_attempts times (a file that kills its
-- worker every time must not stall the job). Returns the files failed now: their
-- attempts' parts are to be removed by the caller.
local function reclaim(now, lease_ms)
  local dead = {}
  local any = false
  for _, w in ipairs(redis.call('ZRANGEBYSCORE', P .. 'workers', '-inf', now - lease_ms)) do
    dead[w] = true
    any = true
    redis.call('ZREM', P .. 'workers', w)
    redis.call('HDEL', P .. 'wstats', w)
  end
  local failed = {}
  if not any then return failed end
  local max_attempts = number(JOB, 'max_attempts') or 3
  local leases = redis.call('HGETALL', LEASES)
  for i = 1, #leases, 2 do
    local file, lease = leases[i], cjson.decode(leases[i + 1])
    if dead[lease['w']] then
      redis.call('HDEL', LEASES, file)
      if lease['a'] >= max_attempts then
        redis.call('HSET', FAILED, file, 'lease lapsed ' .. lease['a'] .. ' times')
        failed[#failed + 1] = file
      else
        redis.call('LPUSH', FILES, file)
      end
    end
  end
  return failed
end
