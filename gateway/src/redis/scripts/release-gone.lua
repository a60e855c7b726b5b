--[[
  release-gone: the admission loop's look at pages that are gone (issue 16). Run by the sale's
  leader each tick, before admit.lua, so that a turn freed here goes to the next shopper in the
  same tick.

  For each visitor whose pages have all been closed for at least the grace (in `presenceGone`
  with a score <= now - grace; presence.lua keeps it; admit.lua re-scores a visitor admitted
  while gone to the admission's time, so the grace counts from the admission):
  - admitted, not bought: the turn is released exactly as an expiry would release it
    (admit.lua step 1): the record becomes expired (`x|...`: reserve.lua refuses its jti with
    EXPIRED, as for any lapsed admission; a purchase that came first made it `o|...` and it is
    left alone: both are scripts on one slot, so exactly one of them wins), it leaves
    `admitted` (its share returns to the budget) and counts in `expiredTotal` (the abandonment
    the oversubscription follows), in the state's `freedTotal` and the report's `freed`;
  - still waiting (queued), while the sale is not over: walked away. Counted once per visitor
    (the state's `walkedAwayTotal`, the report's `walkedAway`; the presence field is marked
    `w`); the place stays, and should the turn come while they are still gone, admit.lua puts
    them back here and the turn is freed a grace later;
  - anything else (ordered, expired, unknown): nothing to do.
  Each is then taken out of `presenceGone`; a visitor whose page came back meanwhile (count > 0:
  should not happen, presence.lua removes them) too.

  KEYS[1] config        hash
  KEYS[2] state         hash   expiredTotal, freedTotal, walkedAwayTotal
  KEYS[3] admitted      zset
  KEYS[4] visitors      hash
  KEYS[5] stock         string
  KEYS[6] presence      hash
  KEYS[7] presenceGone  zset
  KEYS[8] report        hash   the report's counters: freed, walkedAway

  ARGV[1] graceMs   > 0
  ARGV[2] limit     at most this many visitors looked at in one call

  Returns { 'NOT_FOUND' } | { 'OK', freed, walkedAway, looked }
]]
--@include "common"

local cfgKey, stateKey, admittedKey, visitorsKey, stockKey, presenceKey, goneKey, reportKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local graceMs, limit = tonumber(ARGV[1]), tonumber(ARGV[2])

local cfg = hash_map(cfgKey)
if cfg.startsAt == nil then return { 'NOT_FOUND' } end
local now = now_ms()

local due = redis.call('ZRANGEBYSCORE', goneKey, '-inf', now - graceMs, 'LIMIT', 0, limit)
if #due == 0 then return { 'OK', 0, 0, 0 } end

local status = sale_status(cfg, tonumber(redis.call('GET', stockKey) or '0'), now, stateKey)
local waitingCounts = status == 'prequeue' or status == 'open' or status == 'paused' or status == 'held'
local freed, walked = 0, 0
for _, v in ipairs(due) do
  local p = redis.call('HGET', presenceKey, v) or '0'
  local c, flag = string.match(p, '^(%-?%d+)(w?)$')
  if (tonumber(c) or 0) <= 0 then
    local record = redis.call('HGET', visitorsKey, v)
    local kind = record and string.sub(record, 1, 2)
    if kind == 'a|' then
      redis.call('HSET', visitorsKey, v, visitor_expired(visitor_decode(record)))
      redis.call('ZREM', admittedKey, v)
      freed = freed + 1
    elseif kind == 'q|' and waitingCounts and flag ~= 'w' then
      redis.call('HSET', presenceKey, v, '0w')
      walked = walked + 1
    end
  end
  redis.call('ZREM', goneKey, v)
end
if freed > 0 then
  redis.call('HINCRBY', stateKey, 'expiredTotal', freed)
  redis.call('HINCRBY', stateKey, 'freedTotal', freed)
  redis.call('HINCRBY', reportKey, 'freed', freed)
end
if walked > 0 then
  redis.call('HINCRBY', stateKey, 'walkedAwayTotal', walked)
  redis.call('HINCRBY', reportKey, 'walkedAway', walked)
end
return { 'OK', freed, walked, #due }
