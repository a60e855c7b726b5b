--[[
  restore: what PostgreSQL knows of visitors that Redis had forgotten and join.lua put back in
  the queue from their tickets ('RESTORED'): an order, or the last admission the admission
  loop recorded (see visitor_known in includes/common.lua). Only a record still queued is
  changed: whatever happened to it since (admitted, ordered) stands.

  KEYS[1] config    hash    (`recovering`: a live admission is not restored while it is set)
  KEYS[2] visitors  hash
  KEYS[3] queue     zset
  KEYS[4] admitted  zset

  ARGV: quintuples, one per visitor: visitorId, orderId or '', jti, expiresAt, seq ('' when
  PostgreSQL holds no admission)

  Returns one answer per visitor: 'queued' (unchanged), 'ordered', 'expired' or 'admitted';
  for 'admitted' also the jti, expiresAt and seq: { state1, jti1, expiresAt1, seq1, ... }
]]
--@include "common"

local cfgKey, visitorsKey, queueKey, admittedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = now_ms()
local recovering = redis.call('HGET', cfgKey, 'recovering') == '1'
local out = {}
for i = 1, #ARGV, 5 do
  local visitor, orderId, jti, expiresAt, seq = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local record = redis.call('HGET', visitorsKey, visitor)
  local state = 'queued'
  if record and string.sub(record, 1, 2) == 'q|' then
    local updated = visitor_known(visitor_decode(record), orderId, jti, expiresAt, seq, now, recovering)
    if updated then
      redis.call('HSET', visitorsKey, visitor, updated)
      redis.call('ZREM', queueKey, visitor)
      local kind = string.sub(updated, 1, 1)
      if kind == 'a' then
        redis.call('ZADD', admittedKey, expiresAt, visitor)
        state = 'admitted'
      elseif kind == 'x' then
        state = 'expired'
      else
        state = 'ordered'
      end
    end
  end
  out[#out + 1] = state
  out[#out + 1] = jti
  out[#out + 1] = expiresAt
  out[#out + 1] = seq
end
return out
