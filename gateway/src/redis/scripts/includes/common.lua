-- Shared helpers, pasted into a script where it says --@include "common".

-- Redis's own clock, in ms: one clock for every gateway.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function hash_map(key)
  local flat = redis.call('HGETALL', key)
  local m = {}
  for i = 1, #flat, 2 do m[flat[i]] = flat[i + 1] end
  return m
end

-- The sale's status from its configuration, remaining stock and the time.
-- One of: scheduled, prequeue, open, paused, sold_out, ended.
local function sale_status(cfg, remaining, now)
  local ends = tonumber(cfg.endsAt)
  if ends and now >= ends then return 'ended' end
  if remaining <= 0 then return 'sold_out' end
  local starts = tonumber(cfg.startsAt)
  if now < starts then
    local opens = tonumber(cfg.prequeueOpensAt)
    if opens and now < opens then return 'scheduled' end
    return 'prequeue'
  end
  -- after a Redis data loss, until the orders in flight are committed: no admission
  if cfg.paused == '1' or cfg.recovering == '1' then return 'paused' end
  return 'open'
end

-- Visitor records in the `visitors` hash, fields separated by '|':
--   q|score                       queued
--   a|score|jti|expiresAt|seq     admitted (seq: admission sequence number)
--   x|score                       admission expired unused
--   o|orderId|score               ordered (the score stays for the fairness audit)
local function split(s)
  local out = {}
  local start = 1
  while true do
    local i = string.find(s, '|', start, true)
    if not i then
      out[#out + 1] = string.sub(s, start)
      return out
    end
    out[#out + 1] = string.sub(s, start, i - 1)
    start = i + 1
  end
end

-- Rate limits on the shopper routes, counted inside the route's own script (one round trip,
-- not two): a fixed one-minute window per caller, counted in one hash per sale, route group
-- and window (`<base>:rl:<group>:<window>`, a field per caller: far less memory than a key
-- each, and in the sale's hash slot). `caller` is '' or `max` <= 0: not counted.
-- Returns the ms until the window ends when the caller is over `max` (the call is refused
-- and must change nothing), else nil (the call is counted).
local RATE_WINDOW_MS = 60000
local function rate_limited(base, group, caller, max, now)
  if caller == '' or max <= 0 then return nil end
  local window = math.floor(now / RATE_WINDOW_MS)
  local key = base .. ':rl:' .. group .. ':' .. window
  local n = redis.call('HINCRBY', key, caller, 1)
  if n == 1 then redis.call('PEXPIRE', key, 2 * RATE_WINDOW_MS) end
  if n > max then return (window + 1) * RATE_WINDOW_MS - now end
  return nil
end

-- How long buyers take from admission to purchase, counted in buckets (ms, upper edges):
-- reserve.lua adds each purchase to field 'h<i>' of `<config>:buys`; admit.lua reads what
-- share of buyers took at least a holder's age. Bucket i holds ages from edge i-1 (0 for the
-- first) up to edge i; the last one everything from the last edge on.
local BUY_AGE_EDGES = { 1000, 1500, 2000, 3000, 4000, 6000, 8000, 12000, 16000, 24000, 32000, 48000, 64000, 96000, 128000 }

local function buy_age_bucket(ageMs)
  for i, edge in ipairs(BUY_AGE_EDGES) do
    if ageMs < edge then return i end
  end
  return #BUY_AGE_EDGES + 1
end
