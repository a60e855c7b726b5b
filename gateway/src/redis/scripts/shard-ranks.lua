--[[
  shard-ranks: what one sub-queue (a sale over several shards) adds to positions answered from
  another: its length, and for each score how many of its places score lower. A shopper's
  exact position is their rank in their own sub-queue plus these counts from every other one
  (ties between sub-queues, two equal scores, are counted as lower in no sub-queue but the
  shopper's own: the later of two equal places in one queue, ZRANK's rule, needs the member).

  KEYS[1] queue  zset
  ARGV scores (decimal strings, as join.lua answers them)

  Returns { waiting, lower1, lower2, ... }
]]
local out = { redis.call('ZCARD', KEYS[1]) }
for i = 1, #ARGV do
  out[i + 1] = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[i])
end
return out
