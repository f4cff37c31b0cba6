-- Politeness when a request is sent, not only when it is popped: a worker slow to send
-- what it popped (or starved of CPU) must not bunch its fetches with another worker's.
-- Grants the domain's send slot when its delay has passed since the last send (by any
-- worker), else says how long to wait. The delay is the job's, or the site's longer
-- robots.txt Crawl-delay, plus the margin, as pop.lua spaces them: the time from here
-- to the wire varies by a few milliseconds, and the margin keeps that off the delay.
-- ARGV: P, domain. Returns 0 (send now; recorded) or the milliseconds to wait.
local domain = ARGV[2]
local wait = math.max(number(JOB, 'delay_ms') or 0, number(P .. 'delay', domain) or 0)
if wait <= 0 then return 0 end
wait = wait + (number(JOB, 'margin_ms') or 0)
local now = now_ms()
local last = number(P .. 'sent', domain)
if last and now < last + wait then return math.ceil(last + wait - now) end
redis.call('HSET', P .. 'sent', domain, now)
return 0
