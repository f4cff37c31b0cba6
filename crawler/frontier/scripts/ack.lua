-- Acknowledge leases: their pages' rows are in a renamed Parquet part (done), the
-- fetch failed for good and its error row is in a part (failed: REASON; "failed:
-- skipped: …" for a domain skipped for its Crawl-delay), it was not fetched at all
-- (ignored: refused by robots.txt or the private-address guard; the page limits get the
-- slot back), or a robots.txt was answered and stored in Redis (robots: done, no row).
-- done and failed rows count in 'stored'. A lease no longer held (reclaimed after a
-- heartbeat lapse) is skipped.
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
      redis.call('HINCRBY', STATS, 'stored', 1)
    elseif outcome == 'robots' then
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
      redis.call('HINCRBY', STATS, 'stored', 1)
      if string.sub(outcome, 1, 17) == 'failed: skipped: ' then
        redis.call('HINCRBY', STATS, 'skipped', 1)
      end
      record_failed(url, outcome)
    end
  end
end
if acked > 0 then redis.call('HINCRBY', STATS, 'leased', -acked) end
return acked
