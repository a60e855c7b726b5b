--[[
  shard-heads: one sub-queue of a sale over several shards, at the start of the leader's tick
  (admission/sharded-admission.ts). Writes the sub-queue's copy of what a join reads from the
  main tag (the configuration, the remaining stock, the admissions so far, the paid units), then
  answers the queue's length and its `n` lowest places, with what the admission records of
  each (arrival, admissions before it, earlier rounds). Reads only: no place leaves the
  sub-queue here (shard-settle.lua does, once the main tag admitted it).

  The copy replaces the whole hash, unless the sub-queue holds a later configVersion (as
  write-config.lua: a publish of a newer change may arrive before an older tick's copy).

  KEYS[1] config    hash    the sub-queue's copy of the sale's configuration
  KEYS[2] stock     string  copy of the units still reservable (join.lua's sold-out check)
  KEYS[3] state     hash    copy: admittedTotal, paidUnits
  KEYS[4] queue     zset    the sub-queue
  KEYS[5] visitors  hash    the sub-queue's visitor records (includes/common.lua)
  KEYS[6] report    hash    the report counters join.lua counted here (joined, refused): handed
                            to the leader and emptied, for the main tag's report hash

  ARGV[1] remaining, ARGV[2] admittedTotal, ARGV[3] paidUnits ('' to leave as they are)
  ARGV[4] n, the places to answer
  ARGV[5..] field, value, ... of the configuration (none: the copy is left as it is)

  Returns { waiting, m, field1, count1, ..., field_m, count_m, visitor1, score1, joinedAt1,
            after1, rounds1, visitor2, ... }: the m report counters taken out, then the places
]]
--@include "common"

local cfgKey, stockKey, stateKey, queueKey, visitorsKey, reportKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

if #ARGV > 4 then
  local version = 0
  for i = 5, #ARGV - 1, 2 do
    if ARGV[i] == 'configVersion' then version = tonumber(ARGV[i + 1]) or 0 end
  end
  local held = tonumber(redis.call('HGET', cfgKey, 'configVersion') or '0')
  if held <= version then
    redis.call('DEL', cfgKey)
    redis.call('HSET', cfgKey, unpack(ARGV, 5))
  end
end
if ARGV[1] ~= '' then redis.call('SET', stockKey, ARGV[1]) end
if ARGV[2] ~= '' then redis.call('HSET', stateKey, 'admittedTotal', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', stateKey, 'paidUnits', ARGV[3]) end

local counters = redis.call('HGETALL', reportKey)
if #counters > 0 then redis.call('DEL', reportKey) end
local out = { redis.call('ZCARD', queueKey), #counters / 2 }
for _, x in ipairs(counters) do out[#out + 1] = x end
local n = tonumber(ARGV[4])
if n > 0 then
  local heads = redis.call('ZRANGE', queueKey, 0, n - 1, 'WITHSCORES')
  for i = 1, #heads, 2 do
    local v = heads[i]
    local record = redis.call('HGET', visitorsKey, v)
    local r = record and visitor_decode(record) or { joinedAt = '', after = '', rounds = '' }
    out[#out + 1] = v
    out[#out + 1] = heads[i + 1]
    out[#out + 1] = r.joinedAt
    out[#out + 1] = r.after
    out[#out + 1] = r.rounds
  end
end
return out
