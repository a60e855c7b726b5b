--[[
  admit: one tick of a sale's admission loop. Run only by the sale's leader.

  1. drops expired entries from `admitted` (their unused share returns to the budget);
  2. budget = min(rate credit, maxActive - active, stock term);
     the stock term follows the abandonment seen so far in this sale: when a share p of
     admissions lapses unused, 1 / (1 - p) admissions are needed per unit (between the
     configured floor and ceiling; only once 20 admissions give a first estimate):
     ceil(remaining * oversubscription) - active.
     Once 20 purchases tell how long buyers take, the holders are weighed instead of counted.
     A holder who has not bought after t ms is a buyer who takes longer, or one who walked
     away: with S(t) the share of buyers so far who took at least t (counted in age buckets by
     reserve.lua; a holder is weighed at the start of its bucket, which rounds in favour of
     buying, and S never reaches 0: (n + 1) / (N + 1)), Bayes gives
     w(t) = S(t) (1 - p) / (S(t) (1 - p) + p). Under a second, every holder counts 1 - p (a
     page's first poll). So a holder older than nearly every buyer counts for almost nothing,
     at whatever age this sale's buyers take. (A sale whose purchases were counted before the
     buckets existed keeps the earlier rule: within `grace`, 2.5 x the mean time to buy, 1 - p;
     after it w = 0.1 (1 - p) / (0.1 (1 - p) + p).) The stock term is then
     floor((remaining * floor - E + sd) / (1 - p)), never more than
     floor(remaining * ceiling - E - sd), where E is the number of buyers expected among the
     holders and sd its standard deviation (each holder buys with probability w or not): the
     ceiling bounds the plausible competitors for the units left, newcomers counted whole. Without it, the holders who walked away (they hold
     their unit for the whole checkout window, buyers only for seconds) crowd out the last
     units' admissions, and the sale's tail waits for their windows to lapse, several times;
     With the sale's flow `passthrough` neither the rate nor maxActive bounds it: only the stock,
     remaining - active (and maxBatch); `suspended` is a status that admits nobody (as paused);
  3. moves the `budget` lowest-scored visitors from `queue` to `admitted`;
  4. returns the figures for the tick event.

  The leader check is inside the script, so a gateway that lost the lock between taking it and
  running the tick admits nobody: two leaders can never both admit.

  KEYS[1] config    hash
  KEYS[2] state     hash    lastTick, credit, admittedTotal (paidUnits: `held` or sold out)
  KEYS[3] queue     zset
  KEYS[4] admitted  zset    visitor -> expiry (ms)
  KEYS[5] stock     string
  KEYS[6] visitors  hash
  KEYS[7] leader    string  owner id of the current leader
  KEYS[8] tickLog   stream  capped log of ticks: epoch, owner, admitted (audit of who admitted when)
  KEYS[9] presence      hash  visitor -> open sockets (presence.lua): a visitor admitted while
  KEYS[10] presenceGone zset  all their pages are closed goes (back) into presenceGone at the
                              admission's time, so release-gone.lua frees the turn a grace later
  KEYS[11] report   hash    the sale report's counters: admitted, lapsed (admissions swept here
                            unused), the time-in-queue histogram of this tick's admissions
                            (report_wait_field in includes/common.lua), and once per sale, when
                            it is first seen sold out or ended, toldSoldOut (the shoppers still
                            in the queue then) and soldOutAt / endedAt (ms)

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
  ARGV[8] mode            '' (or absent): the sale's own `queue`, as always. A sale over
                          several shards (admission/sharded-admission.ts) waits in sub-queues
                          on other slots, and its leader runs this script twice per tick:
                          'peek' answers { 'BUDGET', budget } after steps 1 and 2, writing
                          nothing but step 1's sweep; 'given' takes the places from ARGV[10..]
                          instead of `queue` in step 3
  ARGV[9] waitingElsewhere   ('given') the places in the sub-queues: the tick's `waiting` and
                          toldSoldOut count them
  ARGV[10..] ('given') the candidates, lowest score first (the K sub-queues' heads merged by
                          score): visitor, score, joinedAt, after, rounds each. They are taken
                          in order, up to the budget; one already admitted (a live admission,
                          or this very place: same joinedAt, or same score) or ordered is not
                          admitted again but answered as settled (same score: only for a place
                          without earlier rounds; a rejoin has them, and may score as its lapsed
                          place did, in the same window), so a tick cut short between
                          the main tag and a sub-queue is finished by the next, and a place put
                          back from its ticket in a sub-queue that restarted empty is not let in
                          twice (lapsed: the visitor may join again at the back, as on one tag)

  Returns:
    { 'NOT_LEADER' } | { 'NOT_FOUND' }
    { 'RECOVERING' }  Redis lost its data; the leader must finish the recovery first
    { 'OK', status, waiting, active, remaining, admittedTotal, ratePerMinute, expiredCount,
      admittedCount, maxPerShopper, adaptive (0|1), minRate, maxRate,
      visitor1, jti1, expiresAt1, seq1, visitor2, ...,
      ('given' only) settledVisitor1, settledSeq1, ... }
    ratePerMinute is the rate in force: the closed loop's (state.effectiveRate) when the sale's
    `adaptive` flag is on, else the marketer's
]]
--@include "common"

local cfgKey, stateKey, queueKey, admittedKey, stockKey, visitorsKey, leaderKey, tickLogKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local presenceKey, presenceGoneKey, reportKey = KEYS[9], KEYS[10], KEYS[11]
local owner, jtiKey = ARGV[1], ARGV[2]
local oversub, maxBatch, maxElapsed = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local oversubFloor = oversub
local maxOversub = tonumber(ARGV[7])
local mode = ARGV[8] or ''
local peek, given = mode == 'peek', mode == 'given'
local waitingElsewhere = given and tonumber(ARGV[9]) or 0

if redis.call('GET', leaderKey) ~= owner then return { 'NOT_LEADER' } end
local cfg = hash_map(cfgKey)
if cfg.startsAt == nil then return { 'NOT_FOUND' } end

if cfg.recovering == '1' then return { 'RECOVERING' } end

local now = now_ms()

-- 1. expired admissions give their share back
local expired = redis.call('ZRANGEBYSCORE', admittedKey, '-inf', now)
local lapsed = 0
for _, v in ipairs(expired) do
  local record = redis.call('HGET', visitorsKey, v)
  if record and string.sub(record, 1, 2) == 'a|' then
    redis.call('HSET', visitorsKey, v, visitor_expired(visitor_decode(record)))
    lapsed = lapsed + 1
  end
end
if lapsed > 0 then redis.call('HINCRBY', reportKey, 'lapsed', lapsed) end
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', admittedKey, '-inf', now)
  redis.call('HINCRBY', stateKey, 'expiredTotal', #expired)
end

local remaining = tonumber(redis.call('GET', stockKey) or '0')
local status = sale_status(cfg, remaining, now, stateKey)
local state = hash_map(stateKey)
local rate = tonumber(cfg.rate)
local adaptive = cfg.adaptive == '1'
if adaptive then rate = math.min(rate, tonumber(state.effectiveRate or cfg.rate)) end
local credit = tonumber(state.credit or '0')
local lastTick = tonumber(state.lastTick or now)
local active = redis.call('ZCARD', admittedKey)
local admitted = {}
-- 'given': candidates found admitted or ordered already (visitor, seq), and each taken place's record fields
local settled, places = {}, {}
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
    local buckets = #BUY_AGE_EDGES + 1
    local fields = {}
    for i = 1, buckets do fields[i] = 'h' .. i end
    local hist = redis.call('HMGET', cfgKey .. ':buys', unpack(fields))
    local counted = 0
    for i = 1, buckets do counted = counted + tonumber(hist[i] or '0') end
    -- the buyers expected among the holders, and the variance of that count (each holder
    -- buys or not: w (1 - w))
    local expectedBuyers, variance = 0, 0
    if counted >= 20 then
      local atLeast, lower = counted, 0
      for i = 1, buckets do
        local upper = BUY_AGE_EDGES[i]
        -- holders admitted lower..upper ms ago: expiry in (now + checkout - upper, now + checkout - lower]
        local from = upper and ('(' .. math.floor(now + checkoutMs - upper)) or '-inf'
        local holders = redis.call('ZCOUNT', admittedKey, from, math.floor(now + checkoutMs - lower))
        if holders > 0 then
          local s = lower < 1000 and 1 or (atLeast + 1) / (counted + 1)
          local w = s * (1 - p) / (s * (1 - p) + p)
          expectedBuyers = expectedBuyers + holders * w
          variance = variance + holders * w * (1 - w)
        end
        atLeast = atLeast - tonumber(hist[i] or '0')
        lower = upper
      end
    else
      local grace = math.min(checkoutMs, math.max(1000, 2.5 * tonumber(buys[2]) / buyCount))
      -- admitted less than `grace` ago: expiry after now + checkout - grace
      local fresh = redis.call('ZCOUNT', admittedKey, '(' .. math.floor(now + checkoutMs - grace), '+inf')
      local w = 0.1 * (1 - p) / (0.1 * (1 - p) + p)
      expectedBuyers = fresh * (1 - p) + (active - fresh) * w
      variance = fresh * (1 - p) * p + (active - fresh) * w * (1 - w)
    end
    -- one standard deviation more than the mean: at the tail, many holders who each probably
    -- walked away add up to a few expected buyers who may well not exist, and waiting for all
    -- their windows to lapse held the last units (and every shopper still in line) for seconds;
    -- the cost is about one deviation's worth of shoppers let in who may find it sold out
    -- The ceiling bounds who can still compete for the units left: the plausible buyers among
    -- the holders (mean plus a deviation) and the newcomers, at most `ceiling` per unit. A
    -- holder who has almost surely walked away competes for nothing; counting every holder
    -- whole let 80 such holders shut the door on the last 15 units until their windows lapsed.
    local sd = math.sqrt(variance)
    stockTerm = math.min(math.floor((remaining * oversubFloor - expectedBuyers + sd) / (1 - p)),
      math.floor(remaining * maxOversub - expectedBuyers - sd))
  end
  local budget = math.min(
    math.floor(credit),
    tonumber(cfg.maxActive) - active,
    stockTerm,
    maxBatch)
  -- passthrough: everyone through, never beyond the stock
  if cfg.flow == 'passthrough' then budget = math.min(remaining - active, maxBatch) end
  if peek then return { 'BUDGET', math.max(0, budget) } end
  if budget > 0 then
    -- 3. lowest scores first
    local popped
    if given then
      popped = {}
      local i = 10
      while i + 4 <= #ARGV and #popped / 2 < budget do
        local v, joinedAt = ARGV[i], ARGV[i + 2]
        local record = redis.call('HGET', visitorsKey, v)
        local held = record and visitor_decode(record)
        if held and (held.kind == 'o' or (held.kind == 'a' and tonumber(held.expiresAt) > now)
            or (held.joinedAt ~= '' and held.joinedAt == joinedAt) or (ARGV[i + 4] == '' and tonumber(held.score) == tonumber(ARGV[i + 1]))) then
          settled[#settled + 1] = v
          settled[#settled + 1] = held.seq
        else
          popped[#popped + 1] = v
          popped[#popped + 1] = ARGV[i + 1]
          places[v] = { joinedAt = joinedAt, after = ARGV[i + 3], rounds = ARGV[i + 4] }
        end
        i = i + 5
      end
    else
      popped = redis.call('ZPOPMIN', queueKey, budget)
    end
    local checkoutMs = tonumber(cfg.checkoutMs)
    local expiresAt = now + checkoutMs
    local starts = tonumber(cfg.startsAt)
    local waits = {}
    for i = 1, #popped, 2 do
      local v, score = popped[i], popped[i + 1]
      local seq = redis.call('HINCRBY', stateKey, 'admittedTotal', 1)
      local jti = seq .. '.' .. string.sub(redis.sha1hex(jtiKey .. ':' .. seq .. ':' .. v), 1, 24)
      redis.call('ZADD', admittedKey, expiresAt, v)
      -- the place's audit fields (arrival, earlier rounds) go along into the admitted record
      local r = places[v]
      if not r then
        local record = redis.call('HGET', visitorsKey, v)
        r = record and visitor_decode(record) or { joinedAt = '', after = '', rounds = '' }
      end
      r.score = score
      redis.call('HSET', visitorsKey, v, visitor_admitted(r, jti, tostring(expiresAt), tostring(seq)))
      -- the page is gone already (walked away while waiting): the grace counts from now
      local presence = redis.call('HGET', presenceKey, v)
      if presence and (tonumber(string.match(presence, '^%-?%d+')) or 0) <= 0 then
        redis.call('ZADD', presenceGoneKey, now, v)
      end
      local joinedAt = tonumber(r.joinedAt)
      if joinedAt then
        local field = report_wait_field(joinedAt, now, starts)
        waits[field] = (waits[field] or 0) + 1
      end
      admitted[#admitted + 1] = v
      admitted[#admitted + 1] = jti
      admitted[#admitted + 1] = tostring(expiresAt)
      admitted[#admitted + 1] = tostring(seq)
    end
    credit = credit - #popped / 2
    active = active + #popped / 2
    if #popped > 0 then redis.call('HINCRBY', reportKey, 'admitted', #popped / 2) end
    for field, count in pairs(waits) do redis.call('HINCRBY', reportKey, field, count) end
  end
else
  if peek then return { 'BUDGET', 0 } end
  -- nothing accrues while the sale is not open: no burst after a pause
  credit = 0
end

redis.call('HSET', stateKey, 'lastTick', now, 'credit', tostring(credit))
-- the shoppers still waiting when the sale is first seen sold out or ended are told so: counted
-- once per sale (a sale that reopens when units come back does not count its queue again)
if (status == 'sold_out' or status == 'ended') and redis.call('HSETNX', stateKey, 'reportClosedAt', now) == 1 then
  local told = redis.call('ZCARD', queueKey) + waitingElsewhere
  if told > 0 then redis.call('HINCRBY', reportKey, 'toldSoldOut', told) end
  redis.call('HSET', reportKey, status == 'sold_out' and 'soldOutAt' or 'endedAt', now)
end
redis.call('XADD', tickLogKey, 'MAXLEN', '~', 10000, '*', 'epoch', ARGV[6], 'owner', owner, 'admitted', #admitted / 4, 'status', status)
local result = { 'OK', status, redis.call('ZCARD', queueKey) + waitingElsewhere, active, remaining,
                 tonumber(redis.call('HGET', stateKey, 'admittedTotal') or '0'), rate, #expired, #admitted / 4,
                 tonumber(cfg.maxPerShopper), adaptive and 1 or 0, tonumber(cfg.minRate or '0'), tonumber(cfg.rate) }
for _, x in ipairs(admitted) do result[#result + 1] = x end
for _, x in ipairs(settled) do result[#result + 1] = x end
return result
