-- A file imported: its parts are whole and published. Counted only if the lease is
-- still this attempt's (a lapsed attempt's parts are removed by its worker instead).
-- ARGV: P, worker, file, token, then pairs (counter, n). Returns 1, or 0 if lost.
local file, token = ARGV[3], ARGV[4]
if not held(file, token) then return 0 end
redis.call('HDEL', LEASES, file)
redis.call('SADD', DONE, file)
for i = 5, #ARGV, 2 do
  redis.call('HINCRBY', STATS, ARGV[i], tonumber(ARGV[i + 1]))
end
return 1
