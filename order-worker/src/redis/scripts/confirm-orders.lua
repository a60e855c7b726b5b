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

  For every order: HDEL it from pending, ZREM it from pendingDue, and PUBLISH one event
    {"type":"order:update","saleId":...,"visitorId":...,"orderId":...,"status":...}
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
for i = 2, #ARGV, 3 do
  local orderId = ARGV[i]
  removed = removed + redis.call('HDEL', KEYS[1], orderId)
  redis.call('ZREM', KEYS[2], orderId)
  redis.call('PUBLISH', KEYS[3], cjson.encode({
    type = 'order:update',
    saleId = saleId,
    visitorId = ARGV[i + 1],
    orderId = orderId,
    status = ARGV[i + 2],
  }))
end
return removed
