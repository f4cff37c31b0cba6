-- A file worker's heartbeat: alive, with its counters; dead workers' files reclaimed.
-- ARGV: P, worker, stats_json, lease_ms, file, token (file '' when it holds none).
-- Returns {held (1 or 0), failed files...}: held 0 means the file's lease lapsed and
-- was handed on, so this worker must drop what it made of it.
local worker, lease_ms, file, token = ARGV[2], tonumber(ARGV[4]), ARGV[5], ARGV[6]
local now = now_ms()
redis.call('ZADD', P .. 'workers', now, worker)
redis.call('HSET', P .. 'wstats', worker, ARGV[3])
local out = {0}
if file ~= '' and held(file, token) then out[1] = 1 end
for _, f in ipairs(reclaim(now, lease_ms)) do out[#out + 1] = f end
return out
