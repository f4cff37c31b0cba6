-- Enqueue the new links of one page in one round trip.
-- For each link: skip it if the seen filter has it; stop at the job's page limits;
-- otherwise mark it seen and push it on its domain's queue. The first link of a host
-- never seen before also queues that host's robots.txt, at the front: it decides what
-- may be fetched, and it is fetched once per job, not once per worker.
-- ARGV: P, mode ('exact'|'bloom'), depth, n_hosts, then n_hosts × (host, robots_request
--       or ''), then per link (host_index, domain, seen_a, seen_b, url).
--   (seen_a, seen_b) as the seen filter's mode takes them (_common.lua)
-- Returns the number of pages queued, or -1 when the job does not exist.
if not redis.call('HGET', JOB, 'state') then return -1 end
local mode, depth = ARGV[2], tonumber(ARGV[3])
local max_pages = number(JOB, 'max_pages')
local max_per_domain = number(JOB, 'max_per_domain')
local enqueued = number(STATS, 'enqueued') or 0
local now = now_ms()

local hosts = {}
local i = 5
for h = 1, tonumber(ARGV[4]) do
  hosts[h] = {ARGV[i], ARGV[i + 1], false}
  i = i + 2
end

local pages, robots = 0, 0
while i <= #ARGV do
  local host, domain, a, b, url = hosts[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2],
    ARGV[i + 3], ARGV[i + 4]
  i = i + 5
  if not seen(mode, a, b) then
    if max_pages and enqueued >= max_pages then break end
    if not max_per_domain or (number(P .. 'pd', domain) or 0) < max_per_domain then
      mark(mode, a, b)
      local queue = P .. 'q:' .. domain
      -- the request document (crawler/frontier/requests.py), built here: a link already
      -- seen never costs the worker a JSON encoding. Without its domain ("q"): the queue's
      -- key names it, and pop.lua adds it back (a fifth of a queued request's bytes).
      redis.call('RPUSH', queue, cjson.encode({u = url, d = depth}))
      if not host[3] then
        host[3] = true
        if host[2] ~= '' and redis.call('SADD', P .. 'hosts', host[1]) == 1 then
          redis.call('LPUSH', queue, host[2])
          robots = robots + 1
        end
      end
      redis.call('ZADD', P .. 'ready', 'NX', now, domain)
      redis.call('HINCRBY', P .. 'pd', domain, 1)
      enqueued = enqueued + 1
      pages = pages + 1
    end
  end
end
if pages > 0 then
  redis.call('HINCRBY', STATS, 'queued', pages + robots)
  redis.call('HINCRBY', STATS, 'robots', robots)
  redis.call('HSET', STATS, 'enqueued', enqueued)
end
return pages
