--[[
  finish-recovery: after Redis lost its data and the orders in flight were committed, set
  the sale's remaining stock from PostgreSQL's figures, mark every shopper who has an order
  as ordered (so a restored ticket cannot buy twice), and let admission resume.

  KEYS[1] config    hash    (its `recovering` flag is cleared)
  KEYS[2] stock     string
  KEYS[3] visitors  hash
  KEYS[4] queue     zset
  KEYS[5] admitted  zset

  ARGV[1]     remaining units (stock - sold, from PostgreSQL)
  ARGV[2..n]  pairs: visitorId, orderId of every order PostgreSQL holds for the sale

  Returns the number of visitors marked ordered.
]]
local cfgKey, stockKey, visitorsKey, queueKey, admittedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local marked = 0
for i = 2, #ARGV, 2 do
  local visitor, orderId = ARGV[i], ARGV[i + 1]
  local record = redis.call('HGET', visitorsKey, visitor)
  local score = ''
  if record then
    local bar = string.find(record, '|', 1, true)
    if string.sub(record, 1, 1) ~= 'o' and bar then
      local rest = string.sub(record, bar + 1)
      local bar2 = string.find(rest, '|', 1, true)
      score = bar2 and string.sub(rest, 1, bar2 - 1) or rest
    end
  end
  redis.call('HSET', visitorsKey, visitor, 'o|' .. orderId .. '|' .. score)
  redis.call('ZREM', queueKey, visitor)
  redis.call('ZREM', admittedKey, visitor)
  marked = marked + 1
end
redis.call('SET', stockKey, ARGV[1])
redis.call('HDEL', cfgKey, 'recovering')
return marked
