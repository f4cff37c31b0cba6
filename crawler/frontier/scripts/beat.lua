-- A worker's heartbeat: record it alive with its counters, then return the leases of
-- workers silent for longer than the lease time to the queue (any live worker does
-- this, so a dead worker's pages are fetched by the others). A request whose lease
-- has lapsed max_attempts times is recorded as failed instead of queued again.
-- The worker's page rows made since its last beat go to the job's live 'fetched' counter.
-- ARGV: P, worker, worker_stats_json (or '' on shards other than the home), lease_ms,
-- fetched. Returns the number of leases reclaimed.
local worker, lease_ms, fetched = ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[5] or 0)
local now = now_ms()
local workers = P .. 'workers'
redis.call('ZADD', workers, now, worker)
if ARGV[3] ~= '' then redis.call('HSET', P .. 'wstats', worker, ARGV[3]) end
if fetched > 0 then redis.call('HINCRBY', STATS, 'fetched', fetched) end
local max_attempts = number(JOB, 'max_attempts') or 3
local reclaimed = 0
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', workers, '-inf', now - lease_ms)) do
  local leases = P .. 'lw:' .. dead
  local held = redis.call('HGETALL', leases)
  for i = 1, #held, 2 do
    local r = cjson.decode(held[i + 1])
    r['a'] = (r['a'] or 0) + 1
    if r['a'] >= max_attempts then
      redis.call('HINCRBY', STATS, 'failed', 1)
      record_failed(held[i], 'lease lapsed ' .. r['a'] .. ' times')
    else
      requeue(cjson.encode(r), r['q'])
    end
  end
  local n = #held / 2
  if n > 0 then redis.call('HINCRBY', STATS, 'leased', -n) end
  reclaimed = reclaimed + n
  redis.call('DEL', leases)
  redis.call('ZREM', workers, dead)
  redis.call('HDEL', P .. 'wstats', dead)
end
return reclaimed
