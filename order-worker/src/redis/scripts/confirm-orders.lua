--[[
  confirm-orders: the worker committed these orders to PostgreSQL; retire them from the
  sale's outbox and tell their shoppers. Atomic, one round trip per sale and batch.

  KEYS[1]  pending     hash   orderId -> order message (the gateway's outbox)
  KEYS[2]  pendingDue  zset   orderId -> when the reconciler would re-publish it (ms)
  KEYS[3]  events      pub/sub channel of the sale (declared as a key so that a cluster
                       routes the script to the sale's slot)

  ARGV[1]            saleId (carried into each event)
  ARGV[2..n]         a flat list of triples, one per order: orderId, visitorId, status
                     (status: "confirmed" or "rejected", as stored in PostgreSQL)

  For every order: HDEL it from pending and ZREM it from pendingDue; then PUBLISH one event
  for the whole call:
    {"type":"order:updates","saleId":...,"orders":[{"visitorId":...,"orderId":...,"status":...}, ...]}
  (one publish, and one message for every gateway to parse, per batch: per order, at 15,000
  orders a second, the events cost Redis and each gateway more than the outbox itself).
  Every order is published, even one whose pending entry is already gone: after a Redis
  data loss the outbox is empty, and a rejected shopper must still hear of it. Events are
  idempotent status updates, so a re-delivered order publishing again is harmless.

  Returns: the number of pending entries removed (integer).
  Errors:  "ERR confirm-orders: ..." when ARGV is not saleId followed by whole triples.
]]

local saleId = ARGV[1]
if saleId == nil or (#ARGV - 1) % 3 ~= 0 then
  return redis.error_reply('ERR confirm-orders: ARGV must be saleId followed by orderId, visitorId, status triples')
end

local removed = 0
local orders = {}
for i = 2, #ARGV, 3 do
  local orderId = ARGV[i]
  removed = removed + redis.call('HDEL', KEYS[1], orderId)
  redis.call('ZREM', KEYS[2], orderId)
  orders[#orders + 1] = { visitorId = ARGV[i + 1], orderId = orderId, status = ARGV[i + 2] }
end
if #orders > 0 then
  redis.call('PUBLISH', KEYS[3], cjson.encode({ type = 'order:updates', saleId = saleId, orders = orders }))
end
return removed
