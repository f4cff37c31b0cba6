-- Lease the next pending file. ARGV: P, worker, lease_ms, token.
-- Returns {state, file, attempt, failed files...}: state 'leased' with a file; else the
-- job's state ('paused', 'stopped'), 'waiting' (nothing pending, files still leased:
-- one may come back), 'finished' (nothing pending or leased) or 'gone' (no such job).
local worker, lease_ms, token = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local now = now_ms()
local state = redis.call('HGET', JOB, 'state')
if not state then return {'gone', '', ''} end
redis.call('ZADD', P .. 'workers', now, worker)
local out = {state, '', ''}
local failed = reclaim(now, lease_ms)
if state == 'running' then
  local file = redis.call('LPOP', FILES)
  if file then
    local attempt = redis.call('HINCRBY', ATTEMPTS, file, 1)
    redis.call('HSET', LEASES, file, cjson.encode({w = worker, t = token, a = attempt}))
    out = {'leased', file, tostring(attempt)}
  elseif redis.call('HLEN', LEASES) > 0 then
    out = {'waiting', '', ''}
  else
    out = {'finished', '', ''}
  end
end
for _, file in ipairs(failed) do out[#out + 1] = file end
return out
