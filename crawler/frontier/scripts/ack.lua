-- Acknowledge leases: their pages' rows are in a renamed Parquet part (done), the
-- fetch failed for good (failed: REASON), or it was not fetched at all (ignored:
-- refused by robots.txt or the private-address guard; the page limits get the slot back).
-- A lease no longer held (reclaimed after a heartbeat lapse) is skipped.
-- ARGV: P, worker, then pairs (url, outcome). Returns the number acknowledged.
local leases = P .. 'lw:' .. ARGV[2]
local acked = 0
for i = 3, #ARGV, 2 do
  local url, outcome = ARGV[i], ARGV[i + 1]
  local req = redis.call('HGET', leases, url)
  if req then
    redis.call('HDEL', leases, url)
    acked = acked + 1
    if outcome == 'done' then
      redis.call('HINCRBY', STATS, 'done', 1)
    elseif outcome == 'ignored' then
      redis.call('HINCRBY', STATS, 'ignored', 1)
      local r = cjson.decode(req)
      if not r['r'] then
        redis.call('HINCRBY', STATS, 'enqueued', -1)
        redis.call('HINCRBY', P .. 'pd', r['q'], -1)
      end
    else
      redis.call('HINCRBY', STATS, 'failed', 1)
      redis.call('HSET', P .. 'failed', url, outcome)
    end
  end
end
if acked > 0 then redis.call('HINCRBY', STATS, 'leased', -acked) end
return acked
