-- A worker stopping hands its file back at once, to the front of the queue; the attempt
-- does not count against max_attempts. ARGV: P, worker, file, token.
local worker, file, token = ARGV[2], ARGV[3], ARGV[4]
redis.call('ZREM', P .. 'workers', worker)
redis.call('HDEL', P .. 'wstats', worker)
if file == '' or not held(file, token) then return 0 end
redis.call('HDEL', LEASES, file)
redis.call('HINCRBY', ATTEMPTS, file, -1)
redis.call('LPUSH', FILES, file)
return 1
