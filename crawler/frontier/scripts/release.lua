-- Hand leases back to the queue at once (a worker stopping, or a request it cannot
-- take now). With no URLs given: all of the worker's leases, and the worker leaves.
-- ARGV: P, worker, url...   Returns the number handed back.
local worker = ARGV[2]
local leases = P .. 'lw:' .. worker
local urls = {}
for i = 3, #ARGV do urls[#urls + 1] = ARGV[i] end
local all = #urls == 0
if all then urls = redis.call('HKEYS', leases) end
local back = 0
for _, url in ipairs(urls) do
  local req = redis.call('HGET', leases, url)
  if req then
    redis.call('HDEL', leases, url)
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
