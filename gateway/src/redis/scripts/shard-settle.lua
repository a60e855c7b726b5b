--[[
  shard-settle: the places of one sub-queue (a sale over several shards) that the main tag has
  admitted, or found admitted or ordered already, leave the sub-queue: each queued record
  becomes 'h' (handed over, with the admission's sequence number), so a join or status asks
  the main tag what became of it (join.lua answers HANDED). A visitor whose record is not
  queued any more (settled already) is left alone: settling twice changes nothing.

  KEYS[1] queue     zset
  KEYS[2] visitors  hash
  ARGV[1] n; then n pairs: visitor, seq (the admission's sequence number, '' when unknown)

  Returns the sub-queue's length afterwards.
]]
--@include "common"

local queueKey, visitorsKey = KEYS[1], KEYS[2]
local n = tonumber(ARGV[1])
for i = 1, n do
  local v, seq = ARGV[2 * i], ARGV[2 * i + 1]
  redis.call('ZREM', queueKey, v)
  local record = redis.call('HGET', visitorsKey, v)
  if record and string.sub(record, 1, 2) == 'q|' then
    redis.call('HSET', visitorsKey, v, visitor_handed(visitor_decode(record), seq))
  end
end
return redis.call('ZCARD', queueKey)
