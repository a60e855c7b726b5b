--[[
  sale-info: a sale's configuration and live figures in one round trip.

  KEYS[1] config   hash
  KEYS[2] state    hash
  KEYS[3] queue    zset
  KEYS[4] admitted zset
  KEYS[5] stock    string
  KEYS[6] pending  hash

  Returns { 'NOT_FOUND' } or
    { 'OK', status, now, waiting, admitted, remaining, pending, admittedTotal, effectiveRate, configField1, value1, ... }
]]
--@include "common"

local cfgFlat = redis.call('HGETALL', KEYS[1])
if #cfgFlat == 0 then return { 'NOT_FOUND' } end
local cfg = {}
for i = 1, #cfgFlat, 2 do cfg[cfgFlat[i]] = cfgFlat[i + 1] end
local now = now_ms()
local remaining = tonumber(redis.call('GET', KEYS[5]) or '0')
local out = { 'OK', sale_status(cfg, remaining, now, KEYS[2]), now, redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]),
              remaining, redis.call('HLEN', KEYS[6]), tonumber(redis.call('HGET', KEYS[2], 'admittedTotal') or '0') }
local effective = tonumber(cfg.rate)
if cfg.adaptive == '1' then effective = tonumber(redis.call('HGET', KEYS[2], 'effectiveRate') or cfg.rate) end
out[#out + 1] = effective
for _, x in ipairs(cfgFlat) do out[#out + 1] = x end
return out
