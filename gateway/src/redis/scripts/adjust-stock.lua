--[[
  adjust-stock: the marketer changed a sale's stock; move the reservable units by the same
  delta, refusing when that would take back units already reserved.

  KEYS[1] stock  string
  ARGV[1] delta  integer (new stock - old stock)

  Returns { 'OK', remaining } | { 'REFUSED', remaining }
]]
local remaining = tonumber(redis.call('GET', KEYS[1]) or '0')
local delta = tonumber(ARGV[1])
if remaining + delta < 0 then return { 'REFUSED', remaining } end
return { 'OK', redis.call('INCRBY', KEYS[1], delta) }
