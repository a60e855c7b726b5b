--[[
  new-places: counts the joins that may create a new place in a queue, per sender address and
  minute, across every sale of the deployment (a per-sale count let identities made on one sale
  join another with their sealed cookie past a spent budget). The gateway sends the joins of
  one event-loop turn together (new-place-limit.ts); each is counted one after the other, and
  those over the limit are refused before the join script runs, so a refused join changes
  nothing in any sale.

  The counter is `<KEYS[1]>:rl:join:<window>`, a hash with a field per address (rate_limited in
  includes/common.lua), in KEYS[1]'s own hash slot: a Lua script may touch only one slot, so
  this cannot live in the sale's join script on a Redis Cluster.

  KEYS[1] base      the deployment's new-place counter base (`<prefix>:{new-places}`)
  ARGV[1] limit     new places per address and minute (> 0)
  ARGV[2..] caller  the address bucket of each join ('ip:<address>')

  Returns one number per caller: 0 when counted, else the ms until the window ends (refused).
]]
--@include "common"

local base, limit = KEYS[1], tonumber(ARGV[1])
local now = now_ms()
local out = {}
for i = 2, #ARGV do
  out[i - 1] = rate_limited(base, 'join', ARGV[i], limit, now) or 0
end
return out
