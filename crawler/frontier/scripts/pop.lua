-- Lease up to N requests from domains whose ready time has
-- come, and move each such domain's ready time on by its delay (the job's delay, or
-- the site's robots.txt Crawl-delay if longer). One script, so the delay holds across
-- any number of workers. The lease is recorded under the worker until acknowledged.
-- A domain skipped for its Crawl-delay (robots.lua) stays ready: its pages are leased
-- at once with the reason ("s"), to be recorded as failed rows, not fetched; its other
-- hosts' robots.txt requests are settled here as ignored (nothing is fetched there).
-- ARGV: P, worker, n
-- Returns {state, wait_ms, request...}: wait_ms is how long until some domain is
-- ready (-1: nothing queued) when no request is returned.
local worker, n = ARGV[2], tonumber(ARGV[3])
local state = redis.call('HGET', JOB, 'state')
if not state then return {'gone', -1} end
local now = now_ms()
redis.call('ZADD', P .. 'workers', now, worker)  -- a pop is a sign of life
if state ~= 'running' then return {state, -1} end

local delay = number(JOB, 'delay_ms') or 0
local margin = number(JOB, 'margin_ms') or 0
local ready = P .. 'ready'
local leases = P .. 'lw:' .. worker
local out = {state, 0}
local got, settled = 0, 0
while got < n do
  local due = redis.call('ZRANGEBYSCORE', ready, '-inf', now, 'LIMIT', 0, n - got)
  if #due == 0 then break end
  for _, domain in ipairs(due) do
    local req = redis.call('LPOP', P .. 'q:' .. domain)
    local r = req and cjson.decode(req)
    if r then
      r['q'] = domain  -- queued without it (add.lua): the lease and the worker need it
    end
    local skip = req and redis.call('HGET', P .. 'skipped', domain)
    if skip then  -- the domain stays ready
      if r['r'] then
        settled = settled + 1
      else
        r['s'] = skip
        req = cjson.encode(r)
        redis.call('HSET', leases, r['u'], req)
        got = got + 1
        out[#out + 1] = req
      end
    elseif req then
      req = cjson.encode(r)
      redis.call('HSET', leases, r['u'], req)
      local wait = math.max(delay, number(P .. 'delay', domain) or 0)
      if wait > 0 then wait = wait + margin end  -- no delay: the domain stays ready
      redis.call('ZADD', ready, now + wait, domain)
      got = got + 1
      out[#out + 1] = req
    else
      -- Empty and its ready time has passed: forgetting it loses nothing.
      redis.call('ZREM', ready, domain)
    end
  end
end
if settled > 0 then
  redis.call('HINCRBY', STATS, 'queued', -settled)
  redis.call('HINCRBY', STATS, 'ignored', settled)
end
if got > 0 then
  redis.call('HINCRBY', STATS, 'queued', -got)
  redis.call('HINCRBY', STATS, 'leased', got)
else
  local first = redis.call('ZRANGE', ready, 0, 0, 'WITHSCORES')
  if #first == 0 then out[2] = -1 else out[2] = math.max(0, tonumber(first[2]) - now) end
end
return out
