--[[
  presence: the sockets of one sale's shoppers opened and closed, counted across every gateway
  (issue 16: turns freed when the page is gone). The gateway sends the socket events of one
  event-loop turn for a sale together; they are applied one after the other.

  A visitor's field in `presence` is `<n>` (sockets open now, on any gateway) or `<n>w` once the
  admission loop counted the visitor as walked away (counted once per visitor, whatever comes
  after). When n reaches 0 the visitor enters `presenceGone` at the time; a socket opening takes
  them out again. Only visitors who ever opened a socket have a field: a shopper who only polls
  is never "gone" (their turn lasts the checkout window, as before).

  A gateway that crashes never sends its sockets' closes: their counts stay above 0, and those
  shoppers keep the whole checkout window (never freed by mistake).

  KEYS[1] presence      hash   visitor -> open sockets (`<n>` or `<n>w`)
  KEYS[2] presenceGone  zset   visitor -> since when all their pages are closed (ms)
  KEYS[3] config        hash   the sale's hot copy: none (a retired sale, whose keys are gone), and
                               nothing is written, so a page opened on it brings no key back

  ARGV[1] n, then per event: ARGV[2i] op ('+' opened, '-' closed), ARGV[2i+1] visitorId

  Returns the number of events applied (0 for a sale Redis does not hold).
]]
--@include "common"

local presenceKey, goneKey = KEYS[1], KEYS[2]
local n = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
local now

for i = 1, n do
  local op, v = ARGV[2 * i], ARGV[2 * i + 1]
  local count, flag = 0, ''
  local p = redis.call('HGET', presenceKey, v)
  if p then
    local c, f = string.match(p, '^(%-?%d+)(w?)$')
    count, flag = tonumber(c) or 0, f or ''
  end
  if op == '+' then
    redis.call('HSET', presenceKey, v, (math.max(0, count) + 1) .. flag)
    if count <= 0 and p then redis.call('ZREM', goneKey, v) end
  elseif count > 0 then
    -- a close never counted as an open (the gateway sends '-' only for an open it counted)
    -- cannot drive the count below 0
    count = count - 1
    redis.call('HSET', presenceKey, v, count .. flag)
    if count == 0 then
      now = now or now_ms()
      redis.call('ZADD', goneKey, now, v)
    end
  end
end
return n
