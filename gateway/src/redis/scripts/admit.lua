--[[
  admit: one tick of a sale's admission loop. Run only by the sale's leader.

  1. drops expired entries from `admitted` (their unused share returns to the budget);
  2. budget = min(rate credit, maxActive - active, stock term);
     the stock term follows the abandonment seen so far in this sale: when a share p of
     admissions lapses unused, 1 / (1 - p) admissions are needed per unit (between the
     configured floor and ceiling; only once 20 admissions give a first estimate):
     ceil(remaining * oversubscription) - active.
     Once 20 purchases tell how long buyers take, the holders are weighed instead of counted:
     a holder admitted within `grace` (2.5 x the mean time to buy: most buyers have bought by
     then) buys with probability 1 - p; one admitted earlier who has not bought is most likely
     one who walked away: with ~90 % of buyers done by then, Bayes gives
     w = 0.1 (1 - p) / (0.1 (1 - p) + p). The stock term is then
     ceil((remaining * floor - expected buyers among the holders) / (1 - p)), never more than
     ceil(remaining * ceiling) - active. Without it, the holders who walked away (they hold
     their unit for the whole checkout window, buyers only for seconds) crowd out the last
     units' admissions, and the sale's tail waits for their windows to lapse, several times;
  3. moves the `budget` lowest-scored visitors from `queue` to `admitted`;
  4. returns the figures for the tick event.

  The leader check is inside the script, so a gateway that lost the lock between taking it and
  running the tick admits nobody: two leaders can never both admit.

  KEYS[1] config    hash
  KEYS[2] state     hash    lastTick, credit, admittedTotal
  KEYS[3] queue     zset
  KEYS[4] admitted  zset    visitor -> expiry (ms)
  KEYS[5] stock     string
  KEYS[6] visitors  hash
  KEYS[7] leader    string  owner id of the current leader
  KEYS[8] tickLog   stream  capped log of ticks: epoch, owner, admitted (audit of who admitted when)

  ARGV[1] owner           this gateway's owner id
  ARGV[2] jtiKey          fresh random secret of this tick, never revealed: jti = seq '.' tag,
                          tag = the first 24 hex digits of SHA1(jtiKey ':' seq ':' visitor). Each
                          jti is unguessable on its own (a shopper admitted in the same tick
                          cannot derive another's), which is what lets the purchase script take
                          a jti as proof of admission (see reserve.lua)
  ARGV[3] oversubscription      the floor
  ARGV[7] maxOversubscription   the ceiling of the abandonment-matched oversubscription
  ARGV[4] maxBatch        at most this many admitted in one tick
  ARGV[5] maxElapsedMs    the rate credit accrues for at most this long between ticks
  ARGV[6] epoch           the leader's fencing token, recorded in the tick log

  Returns:
    { 'NOT_LEADER' } | { 'NOT_FOUND' }
    { 'RECOVERING' }  Redis lost its data; the leader must finish the recovery first
    { 'OK', status, waiting, active, remaining, admittedTotal, ratePerMinute, expiredCount,
      admittedCount, maxPerShopper, adaptive (0|1), minRate, maxRate,
      visitor1, jti1, expiresAt1, seq1, visitor2, ... }
    ratePerMinute is the rate in force: the closed loop's (state.effectiveRate) when the sale's
    `adaptive` flag is on, else the marketer's
]]
--@include "common"

local cfgKey, stateKey, queueKey, admittedKey, stockKey, visitorsKey, leaderKey, tickLogKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local owner, jtiKey = ARGV[1], ARGV[2]
local oversub, maxBatch, maxElapsed = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local oversubFloor = oversub
local maxOversub = tonumber(ARGV[7])

if redis.call('GET', leaderKey) ~= owner then return { 'NOT_LEADER' } end
local cfg = hash_map(cfgKey)
if cfg.startsAt == nil then return { 'NOT_FOUND' } end

if cfg.recovering == '1' then return { 'RECOVERING' } end

local now = now_ms()

-- 1. expired admissions give their share back
local expired = redis.call('ZRANGEBYSCORE', admittedKey, '-inf', now)
for _, v in ipairs(expired) do
  local record = redis.call('HGET', visitorsKey, v)
  if record and string.sub(record, 1, 2) == 'a|' then
    redis.call('HSET', visitorsKey, v, 'x|' .. split(record)[2])
  end
end
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', admittedKey, '-inf', now)
  redis.call('HINCRBY', stateKey, 'expiredTotal', #expired)
end

local remaining = tonumber(redis.call('GET', stockKey) or '0')
local status = sale_status(cfg, remaining, now)
local state = hash_map(stateKey)
local rate = tonumber(cfg.rate)
local adaptive = cfg.adaptive == '1'
if adaptive then rate = math.min(rate, tonumber(state.effectiveRate or cfg.rate)) end
local credit = tonumber(state.credit or '0')
local lastTick = tonumber(state.lastTick or now)
local active = redis.call('ZCARD', admittedKey)
local admitted = {}
local admittedSoFar = tonumber(state.admittedTotal or '0')
if admittedSoFar >= 20 and maxOversub > oversub then
  local lapsed = tonumber(redis.call('HGET', stateKey, 'expiredTotal') or '0') / admittedSoFar
  oversub = math.max(oversub, math.min(maxOversub, 1 / math.max(1 - lapsed, 1 / maxOversub)))
end

if status == 'open' then
  -- 2. the budget: rate credit, capacity, and stock still sellable
  local elapsed = math.max(0, math.min(now - lastTick, maxElapsed))
  credit = math.min(credit + rate * elapsed / 60000, math.max(1, rate / 60))
  local stockTerm = math.ceil(remaining * oversub) - active
  local buys = redis.call('HMGET', cfgKey .. ':buys', 'count', 'ageMs')
  local buyCount = tonumber(buys[1] or '0')
  if admittedSoFar >= 20 and buyCount >= 20 and active > 0 then
    local checkoutMs = tonumber(cfg.checkoutMs)
    local p = math.min(1 - 1 / maxOversub, tonumber(redis.call('HGET', stateKey, 'expiredTotal') or '0') / admittedSoFar)
    local grace = math.min(checkoutMs, math.max(1000, 2.5 * tonumber(buys[2]) / buyCount))
    -- admitted less than `grace` ago: expiry after now + checkout - grace
    local fresh = redis.call('ZCOUNT', admittedKey, '(' .. math.floor(now + checkoutMs - grace), '+inf')
    local w = 0.1 * (1 - p) / (0.1 * (1 - p) + p)
    local expectedBuyers = fresh * (1 - p) + (active - fresh) * w
    stockTerm = math.min(math.ceil((remaining * oversubFloor - expectedBuyers) / (1 - p)),
      math.ceil(remaining * maxOversub) - active)
  end
  local budget = math.min(
    math.floor(credit),
    tonumber(cfg.maxActive) - active,
    stockTerm,
    maxBatch)
  if budget > 0 then
    -- 3. lowest scores first
    local popped = redis.call('ZPOPMIN', queueKey, budget)
    local checkoutMs = tonumber(cfg.checkoutMs)
    local expiresAt = now + checkoutMs
    for i = 1, #popped, 2 do
      local v, score = popped[i], popped[i + 1]
      local seq = redis.call('HINCRBY', stateKey, 'admittedTotal', 1)
      local jti = seq .. '.' .. string.sub(redis.sha1hex(jtiKey .. ':' .. seq .. ':' .. v), 1, 24)
      redis.call('ZADD', admittedKey, expiresAt, v)
      redis.call('HSET', visitorsKey, v, 'a|' .. score .. '|' .. jti .. '|' .. expiresAt .. '|' .. seq)
      admitted[#admitted + 1] = v
      admitted[#admitted + 1] = jti
      admitted[#admitted + 1] = tostring(expiresAt)
      admitted[#admitted + 1] = tostring(seq)
    end
    credit = credit - #popped / 2
    active = active + #popped / 2
  end
else
  -- nothing accrues while the sale is not open: no burst after a pause
  credit = 0
end

redis.call('HSET', stateKey, 'lastTick', now, 'credit', tostring(credit))
redis.call('XADD', tickLogKey, 'MAXLEN', '~', 10000, '*', 'epoch', ARGV[6], 'owner', owner, 'admitted', #admitted / 4, 'status', status)
local result = { 'OK', status, redis.call('ZCARD', queueKey), active, remaining,
                 tonumber(redis.call('HGET', stateKey, 'admittedTotal') or '0'), rate, #expired, #admitted / 4,
                 tonumber(cfg.maxPerShopper), adaptive and 1 or 0, tonumber(cfg.minRate or '0'), tonumber(cfg.rate) }
for _, x in ipairs(admitted) do result[#result + 1] = x end
return result
