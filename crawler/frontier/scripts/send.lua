-- Politeness when a request is sent, for a request that waited in its worker after its
-- pop (behind Scrapy's per-domain limit, or in a starved process): it must not leave a
-- moment after another worker's request to the same domain. A request sent within half
-- the margin of its pop needs no check (pops are spaced by the delay plus the margin);
-- a late one takes a fresh slot, as a pop would: only once the domain's ready time has
-- come, and it moves that time on by the delay (the job's, or the site's longer
-- Crawl-delay) plus the margin, so the next pop waits for it too.
-- A job paused or stopped since the pop sends nothing more: the request goes back.
-- ARGV: P, domain. Returns 0 (send now; the slot is taken), the milliseconds to wait, or
-- -1 (the job is not running).
if redis.call('HGET', JOB, 'state') ~= 'running' then return -1 end
local domain = ARGV[2]
local wait = math.max(number(JOB, 'delay_ms') or 0, number(P .. 'delay', domain) or 0)
if wait <= 0 then return 0 end
local now = now_ms()
local ready = redis.call('ZSCORE', P .. 'ready', domain)
if ready and now < tonumber(ready) then return math.ceil(tonumber(ready) - now) end
redis.call('ZADD', P .. 'ready', now + wait + (number(JOB, 'margin_ms') or 0), domain)
return 0
