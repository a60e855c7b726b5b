--[[
  reserve: an admitted visitor buys. Checks the admission, takes the units from stock, and
  writes the pending order (the outbox) in one step: no unit is ever reserved twice and no
  accepted order exists only in the gateway's memory.

  KEYS[1] config       hash
  KEYS[2] visitors     hash
  KEYS[3] admitted     zset
  KEYS[4] stock        string
  KEYS[5] pending      hash   orderId -> order message
  KEYS[6] pendingDue   zset   orderId -> when to publish again if still pending

  ARGV[1] visitorId
  ARGV[2] jti            from the verified admission token
  ARGV[3] quantity
  ARGV[4] orderId        fresh UUID
  ARGV[5] message        the order message (JSON) to keep in the outbox
  ARGV[6] republishAfterMs

  Returns:
    { 'OK', remainingAfter }
    { 'TOKEN_USED', orderId, pendingMessage or '' }  this visitor already ordered
    { 'NOT_FOUND' } | { 'NOT_ADMITTED' } | { 'EXPIRED' } | { 'SALE_ENDED' }
    { 'LIMIT', maxPerShopper } | { 'SOLD_OUT' } | { 'INSUFFICIENT', remaining }
]]
--@include "common"

local cfgKey, visitorsKey, admittedKey, stockKey, pendingKey, dueKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local visitor, jti, quantity, orderId, message = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local republishAfter = tonumber(ARGV[6])

local cfg = hash_map(cfgKey)
if cfg.startsAt == nil then return { 'NOT_FOUND' } end

local record = redis.call('HGET', visitorsKey, visitor)
if not record then return { 'NOT_ADMITTED' } end
local f = split(record)
if f[1] == 'o' then
  return { 'TOKEN_USED', f[2], redis.call('HGET', pendingKey, f[2]) or '' }
end
if f[1] == 'x' then return { 'EXPIRED' } end
if f[1] ~= 'a' or f[3] ~= jti then return { 'NOT_ADMITTED' } end

local now = now_ms()
if tonumber(f[4]) <= now then return { 'EXPIRED' } end
local ends = tonumber(cfg.endsAt)
if ends and now >= ends then return { 'SALE_ENDED' } end
local maxPer = tonumber(cfg.maxPerShopper)
if quantity > maxPer then return { 'LIMIT', maxPer } end

local remaining = tonumber(redis.call('GET', stockKey) or '0')
if remaining <= 0 then return { 'SOLD_OUT' } end
if remaining < quantity then return { 'INSUFFICIENT', remaining } end

redis.call('DECRBY', stockKey, quantity)
redis.call('ZREM', admittedKey, visitor)
redis.call('HSET', visitorsKey, visitor, 'o|' .. orderId .. '|' .. f[2])
redis.call('HSET', pendingKey, orderId, message)
redis.call('ZADD', dueKey, now + republishAfter, orderId)
return { 'OK', remaining - quantity }
