-- Hand leases back to the front of their queues at once: a worker stopping, or a
-- retry, which must wait for its domain's next slot like any fetch.
-- With no pairs given: all of the worker's leases, and the worker leaves.
-- ARGV: P, worker, then pairs (url, request to queue instead, or '' for the leased one).
-- Returns the number handed back.
local worker = ARGV[2]
local leases = P .. 'lw:' .. worker
local pairs_ = {}
for i = 3, #ARGV, 2 do pairs_[#pairs_ + 1] = {ARGV[i], ARGV[i + 1]} end
local all = #pairs_ == 0
if all then
  for _, url in ipairs(redis.call('HKEYS', leases)) do pairs_[#pairs_ + 1] = {url, ''} end
end
local back = 0
for _, pair in ipairs(pairs_) do
  local req = redis.call('HGET', leases, pair[1])
  if req then
    redis.call('HDEL', leases, pair[1])
    if pair[2] ~= '' then req = pair[2] end
    requeue(req, cjson.decode(req)['q'])
    back = back + 1
  end
end
if back > 0 then redis.call('HINCRBY', STATS, 'leased', -back) end
if all then
  redis.call('ZREM', P .. 'workers', worker)
  redis.call('HDEL', P .. 'wstats', worker)
end
return back
