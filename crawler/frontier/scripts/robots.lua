-- Store a site's robots.txt, read by every worker, and its Crawl-delay: the longest of
-- a domain's hosts governs the domain's queue. A Crawl-delay over the job's cap (the
-- worker passes the reason) skips the domain instead: pop.lua then hands its pages out
-- at once, marked, and workers record each as a failed page row, fetching nothing.
-- ARGV: P, site, body, domain, delay_ms, skip reason or ''. Returns 1 if skipped.
local site, body, domain, delay_ms, reason = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]),
  ARGV[6]
redis.call('HSET', P .. 'robots', site, body)
if reason ~= '' then
  if redis.call('HSETNX', P .. 'skipped', domain, reason) == 1 then
    -- whatever its ready time was, its queue drains now: nothing of it is fetched
    redis.call('ZADD', P .. 'ready', 'XX', now_ms(), domain)
  end
  return 1
end
if delay_ms > (number(P .. 'delay', domain) or 0) then
  redis.call('HSET', P .. 'delay', domain, ARGV[5])
end
return 0
