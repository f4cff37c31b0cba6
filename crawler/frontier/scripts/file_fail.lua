-- A file's import failed (its attempt's parts are removed). A final failure (the file
-- is missing, or not an archive) or the last attempt records it failed; otherwise it
-- goes to the back of the queue. ARGV: P, worker, file, token, reason, final (1/0).
-- Returns 'failed', 'retry' or 'lost' (the lease had lapsed: nothing changed).
local file, token, reason, final = ARGV[3], ARGV[4], ARGV[5], ARGV[6] == '1'
local lease = held(file, token)
if not lease then return 'lost' end
redis.call('HDEL', LEASES, file)
if final or lease['a'] >= (number(JOB, 'max_attempts') or 3) then
  redis.call('HSET', FAILED, file, reason)
  return 'failed'
end
redis.call('RPUSH', FILES, file)
return 'retry'
