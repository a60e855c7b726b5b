--[[
  settle-units: the shop's answer about an order reaches Redis (contracts' order-lifecycle.ts).

  KEYS[1] stock     string  units that can still be reserved
  KEYS[2] returned  set     ids of cancelled orders whose units are back in stock
  KEYS[3] state     hash    the sale's live state; field `paidUnits`

  ARGV[1] 'return': ARGV[2] orderId, ARGV[3] quantity. Puts the units back in stock, once per
          order id (a retry, or the gateway and a worker's sweeper both trying, adds nothing).
          Returns { 'RETURNED', remaining } | { 'ALREADY', remaining }
                | { 'MISSING', 0 }: Redis lost the sale's stock; its rebuild from PostgreSQL
                  (stock - sold, where the cancel already took the units off `sold`) counts them
  ARGV[1] 'paid':   ARGV[2] the sale's paid units as PostgreSQL counts them after the change.
          `paidUnits` only grows, so answers applied out of order leave the largest.
          Returns { 'PAID', paidUnits }
]]
local mode = ARGV[1]
if mode == 'return' then
  local held = redis.call('GET', KEYS[1])
  if not held then return { 'MISSING', 0 } end
  if redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return { 'ALREADY', tonumber(held) } end
  return { 'RETURNED', redis.call('INCRBY', KEYS[1], tonumber(ARGV[3])) }
elseif mode == 'paid' then
  local paid = tonumber(ARGV[2])
  local before = tonumber(redis.call('HGET', KEYS[3], 'paidUnits') or '0')
  if paid > before then
    redis.call('HSET', KEYS[3], 'paidUnits', paid)
    return { 'PAID', paid }
  end
  return { 'PAID', before }
end
return redis.error_reply('ERR settle-units: mode must be return or paid')
