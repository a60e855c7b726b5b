--[[
  leader: take or keep the admission lock of a sale.

  KEYS[1] leader        string  owner id, with an expiry
  KEYS[2] leaderEpoch   string  fencing token, incremented at every change of leader
  KEYS[3] config        hash    the sale's hot copy: a sale Redis does not know (retired, or
                                lost with Redis's data) has no leader, and this call writes nothing

  ARGV[1] owner    this gateway's owner id
  ARGV[2] ttlMs    how long the lock lives without renewal
  ARGV[3] release  '1' to give the lock up (graceful shutdown), else '0'

  Returns { held (1|0), epoch, changed (1 when this call made us leader), missing (1: no such sale) }
]]
local leaderKey, epochKey, cfgKey = KEYS[1], KEYS[2], KEYS[3]
local owner, ttl, release = ARGV[1], ARGV[2], ARGV[3]

local current = redis.call('GET', leaderKey)
if release == '1' then
  if current == owner then redis.call('DEL', leaderKey) end
  return { 0, tonumber(redis.call('GET', epochKey) or '0'), 0 }
end
-- a retired sale's keys are gone: a gateway that still ticks it must not bring the lock back
if redis.call('EXISTS', cfgKey) == 0 then
  if current == owner then redis.call('DEL', leaderKey) end
  return { 0, 0, 0, 1 }
end
if current == owner then
  redis.call('PEXPIRE', leaderKey, ttl)
  return { 1, tonumber(redis.call('GET', epochKey) or '0'), 0 }
end
if current then return { 0, tonumber(redis.call('GET', epochKey) or '0'), 0 } end
redis.call('SET', leaderKey, owner, 'PX', ttl)
return { 1, redis.call('INCR', epochKey), 1 }
