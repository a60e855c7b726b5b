--[[
  finish-recovery: after Redis lost its data and the orders in flight were committed, set
  the sale's remaining stock from PostgreSQL's figures, mark every shopper who has an order
  as ordered (so a restored ticket cannot buy twice), put every shopper restored from a ticket
  whose admission PostgreSQL recorded back in that admission's state (lapsed: expired, so
  they are not admitted a second time ahead of those waiting; still live: admitted, with the
  same jti), carry the admission sequence on past every recorded admission, and let
  admission resume. A sale that hands orders to a shop also gets back its paid units (what
  tells `held` from `sold_out`) and the cancelled orders whose units the stock now counts
  (their `returned` mark: a return still on its way adds nothing; contracts' settle-units.lua).
  The gateway calls it while it holds the sale's PostgreSQL row locked (sale-store.ts
  `rebuildStock`), so no cancel changes `sold` between its read and this write.

  KEYS[1] config    hash    (its `recovering` flag is cleared)
  KEYS[2] stock     string
  KEYS[3] visitors  hash
  KEYS[4] queue     zset
  KEYS[5] admitted  zset
  KEYS[6] state     hash    admittedTotal, paidUnits
  KEYS[7] returned  set     ids of cancelled orders whose units are in the stock

  ARGV[1]     remaining units (stock - sold, from PostgreSQL)
  ARGV[2]     the highest admission sequence PostgreSQL recorded for the sale (0: none)
  ARGV[3]     paid units (sales.paid), only ever raised in `paidUnits`
  ARGV[4]     r, the number of cancelled orders counted by the remaining units; then their r ids
  ARGV[5 + r] n, the number of orders; then n pairs: visitorId, orderId of every order
              PostgreSQL holds for the sale; then quadruples to the end: visitorId, jti,
              expiresAt, seq of each visitor's last recorded admission (visitors without order)

  Returns the number of visitors marked ordered.
]]
--@include "common"

local cfgKey, stockKey, visitorsKey, queueKey, admittedKey, stateKey, returnedKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local now = now_ms()
local r = tonumber(ARGV[4])
for i = 5, 4 + r do redis.call('SADD', returnedKey, ARGV[i]) end
local at = 5 + r
local n = tonumber(ARGV[at])
local marked = 0
for i = at + 1, at + 2 * n, 2 do
  local visitor, orderId = ARGV[i], ARGV[i + 1]
  local record = redis.call('HGET', visitorsKey, visitor)
  local r = record and visitor_decode(record) or visitor_decode('o||')
  redis.call('HSET', visitorsKey, visitor, visitor_ordered(r, orderId))
  redis.call('ZREM', queueKey, visitor)
  redis.call('ZREM', admittedKey, visitor)
  marked = marked + 1
end
for i = at + 1 + 2 * n, #ARGV, 4 do
  local visitor = ARGV[i]
  local record = redis.call('HGET', visitorsKey, visitor)
  -- only those back in the queue from their ticket; the rest are restored when they return
  if record and string.sub(record, 1, 2) == 'q|' then
    local updated = visitor_known(visitor_decode(record), '', ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], now, false)
    if updated then
      redis.call('HSET', visitorsKey, visitor, updated)
      redis.call('ZREM', queueKey, visitor)
      if string.sub(updated, 1, 2) == 'a|' then redis.call('ZADD', admittedKey, ARGV[i + 2], visitor) end
    end
  end
end
local total = tonumber(redis.call('HGET', stateKey, 'admittedTotal') or '0')
if tonumber(ARGV[2]) > total then redis.call('HSET', stateKey, 'admittedTotal', ARGV[2]) end
local paid = tonumber(ARGV[3])
if paid > tonumber(redis.call('HGET', stateKey, 'paidUnits') or '0') then redis.call('HSET', stateKey, 'paidUnits', paid) end
redis.call('SET', stockKey, ARGV[1])
redis.call('HDEL', cfgKey, 'recovering')
return marked
