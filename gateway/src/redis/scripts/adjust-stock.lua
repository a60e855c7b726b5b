--[[
  adjust-stock: the marketer changed a sale's stock; move the reservable units by the same
  delta, refusing when that would take back units already reserved. The caller holds the
  sale's row lock in PostgreSQL, so the delta is exact (sale-store.ts: a lowering is applied
  before its COMMIT, a raise after it).

  KEYS[1] stock  string
  ARGV[1] delta  integer (new stock - old stock)

  Returns { 'OK', remaining } | { 'REFUSED', remaining }
        | { 'MISSING', 0 }: Redis lost the sale's stock; its rebuild from PostgreSQL counts the change
]]
local held = redis.call('GET', KEYS[1])
if not held then return { 'MISSING', 0 } end
local remaining = tonumber(held)
local delta = tonumber(ARGV[1])
if remaining + delta < 0 then return { 'REFUSED', remaining } end
return { 'OK', redis.call('INCRBY', KEYS[1], delta) }
