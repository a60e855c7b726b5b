--[[
  claim-due-pending: the reconciler's step. Returns the pending orders whose publish is due
  (the worker has not confirmed them in time) and pushes their next due time forward, so a
  crash between claim and publish only delays them, and two reconcilers never spin on the same
  entries.

  KEYS[1] pending      hash  orderId -> message
  KEYS[2] pendingDue   zset  orderId -> due time (ms)

  ARGV[1] limit         at most this many per call
  ARGV[2] retryAfterMs  next due time = now + this

  Returns a flat array { orderId1, message1, orderId2, message2, ... }; entries whose order
  left `pending` (already confirmed) are dropped from `pendingDue`.
]]
--@include "common"

local pendingKey, dueKey = KEYS[1], KEYS[2]
local limit, retryAfter = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', dueKey, '-inf', now, 'LIMIT', 0, limit)
local out = {}
for _, id in ipairs(due) do
  local message = redis.call('HGET', pendingKey, id)
  if message then
    redis.call('ZADD', dueKey, now + retryAfter, id)
    out[#out + 1] = id
    out[#out + 1] = message
  else
    redis.call('ZREM', dueKey, id)
  end
end
return out
