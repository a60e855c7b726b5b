--[[
  reserve: admitted visitors buy. For each purchase, checks the admission, takes the units
  from stock, and writes the pending order (the outbox) in one step: no unit is ever reserved
  twice and no accepted order exists only in the gateway's memory. The gateway sends the
  purchases of one event-loop turn for a sale together; they are handled one after the other,
  exactly as separate calls would be (the same visitor twice: the second finds the order).

  It is also the proof of admission on the gateway's fast path: the gateway may pass the
  claims of a token whose signature it has not checked, because only the record
  `a|score|jti|expiresAt|seq` of that visitor with exactly that jti (an unguessable id only the
  admitted shopper received, see admit.lua), unexpired, reserves anything; and only when the
  token's other claims are what this admission holds (exp = expiresAt in seconds rounded up, adm = seq,
  max_qty = the sale's maxPerShopper), so a token whose claims were changed is not accepted
  unverified ('CLAIMS'). Every other answer changes nothing (but the rate-limit count), and the
  gateway verifies the token before it acts on one or passes it on.

  Who pays for a purchase (the rate limit): the visitor's own budget only when the caller
  proved it holds this admission (a token the gateway verified, or this admission's jti);
  anything unproven (a forged token with someone's sub, an old or used admission) counts
  against its sender, so that nobody can spend a shopper's budget and a flood of forged tokens
  is limited where it comes from.

  KEYS[1] config       hash
  KEYS[2] visitors     hash
  KEYS[3] admitted     zset
  KEYS[4] stock        string
  KEYS[5] pending      hash   orderId -> order message
  KEYS[6] pendingDue   zset   orderId -> when to publish again if still pending
  KEYS[7] bypass       hash   bypassing visitors' records (bypass.lua): a token whose jti starts
                              with 'b.' is looked up here instead of `visitors`, and its order
                              stays here (no queue figure, report counter or audit line sees it)
  KEYS[8] report       hash   the sale report's counters: bought (orders accepted, once per batch)
  (and `<config>:buys`, a hash in the same slot: purchases counted, their summed age (ms from
  admission to purchase) and how many fell in each age bucket, for the admission loop)

  ARGV[1] republishAfterMs
  ARGV[2] purchasesPerMinute   each visitor's purchase rate limit (0: not counted here)
  ARGV[3] perSenderPerMinute   the limit on unproven attempts per sender (0: not counted here)
  ARGV[4] n, the number of purchases; then 9 arguments for each purchase i (b = 4 + 9(i-1)):
    ARGV[b+1] visitorId      '' for an attempt that only counts against its sender (a token
                             the gateway could not verify): answers RATE_LIMITED or NOT_ADMITTED
    ARGV[b+2] jti            from the admission token
    ARGV[b+3] exp            the token's exp, adm and max_qty when it is not verified, else ''
    ARGV[b+4] adm
    ARGV[b+5] maxQty
    ARGV[b+6] quantity
    ARGV[b+7] orderId        fresh UUID
    ARGV[b+8] message        the order message (JSON) to keep in the outbox
    ARGV[b+9] sender         the rate-limit bucket of the sender ('ip:<address>')

  Returns { 'NOT_FOUND' } when the sale does not exist, else one answer per purchase:
    { 'RATE_LIMITED', msUntilWindowEnds, limit }   checked first; nothing else changed
    { 'OK', remainingAfter }
    { 'TOKEN_USED', orderId, pendingMessage or '' }  this visitor already ordered
    { 'NOT_ADMITTED' } | { 'CLAIMS' } | { 'EXPIRED' } | { 'SALE_ENDED' }
    { 'SUSPENDED' }   the sale's flow is suspended (maintenance): nothing reserved, try later
    { 'RECOVERING' }  Redis lost data (restart, failover) and the stock is being rebuilt: try in a moment
    { 'LIMIT', maxPerShopper } | { 'SOLD_OUT' } | { 'INSUFFICIENT', remaining }
]]
--@include "common"

local cfgKey, visitorsKey, admittedKey, stockKey, pendingKey, dueKey, bypassKey, reportKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local republishAfter, perMinute, perSender, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])

local cfg = hash_map(cfgKey)
if cfg.startsAt == nil then return { 'NOT_FOUND' } end

local now = now_ms()
local buysKey = cfgKey .. ':buys'
local checkoutMs = tonumber(cfg.checkoutMs)
local ends = tonumber(cfg.endsAt)
local maxPer = tonumber(cfg.maxPerShopper)

-- orders of the room's shoppers accepted in this batch (a bypass is not counted), for the report
local bought = 0

local function reserve(visitor, jti, exp, adm, maxQty, quantity, orderId, message, sender)
  -- a bypass admission's jti is 'b.<tag>' (bypass.lua): its record is in the bypass hash
  local bypass = string.sub(jti, 1, 2) == 'b.'
  local recordsKey = bypass and bypassKey or visitorsKey
  local record = visitor ~= '' and redis.call('HGET', recordsKey, visitor)
  local f = record and split(record) or {}
  -- the visitor's budget only for a caller that proved this admission; else the sender's
  local proven = record and (exp == '' or (f[1] == 'a' and f[3] == jti))
  local wait
  if proven then
    wait = rate_limited(cfgKey, 'purchase', 'v:' .. visitor, perMinute, now)
    if wait then return { 'RATE_LIMITED', wait, perMinute } end
  else
    wait = rate_limited(cfgKey, 'purchase', sender, perSender, now)
    if wait then return { 'RATE_LIMITED', wait, perSender } end
  end

  -- Redis lost (some of) its data: until the sale is rebuilt from PostgreSQL neither the stock
  -- nor the admissions are known (one the loss forgot is restored then): try again in a moment
  if cfg.recovering == '1' then return { 'RECOVERING' } end
  if not record then return { 'NOT_ADMITTED' } end
  if f[1] == 'o' then
    return { 'TOKEN_USED', f[2], redis.call('HGET', pendingKey, f[2]) or '' }
  end
  if f[1] == 'x' then return { 'EXPIRED' } end
  if f[1] ~= 'a' or f[3] ~= jti then return { 'NOT_ADMITTED' } end
  if exp ~= '' and (tonumber(exp) ~= math.ceil(tonumber(f[4]) / 1000) or tonumber(adm) ~= tonumber(f[5])
      or tonumber(maxQty) ~= maxPer) then
    return { 'CLAIMS' }
  end

  if tonumber(f[4]) <= now then return { 'EXPIRED' } end
  if ends and now >= ends then return { 'SALE_ENDED' } end
  if cfg.flow == 'suspended' then return { 'SUSPENDED' } end
  if quantity > maxPer then return { 'LIMIT', maxPer } end

  local remaining = tonumber(redis.call('GET', stockKey) or '0')
  if remaining <= 0 then return { 'SOLD_OUT' } end
  if remaining < quantity then return { 'INSUFFICIENT', remaining } end

  redis.call('DECRBY', stockKey, quantity)
  if not bypass then redis.call('ZREM', admittedKey, visitor) end
  -- the admission's sequence and audit fields stay in the ordered record (includes/common.lua)
  redis.call('HSET', recordsKey, visitor, visitor_ordered(visitor_decode(record), orderId))
  redis.call('HSET', pendingKey, orderId, message)
  redis.call('ZADD', dueKey, now + republishAfter, orderId)
  -- a bypass is not a shopper of the room: it teaches the admission loop nothing
  if bypass then return { 'OK', remaining - quantity } end
  bought = bought + 1
  -- how long buyers take from admission to purchase: the admission loop uses it to tell the
  -- holders who are still likely to buy from those who probably walked away (admit.lua)
  local ageMs = math.max(0, now - (tonumber(f[4]) - checkoutMs))
  redis.call('HINCRBY', buysKey, 'count', 1)
  redis.call('HINCRBY', buysKey, 'ageMs', ageMs)
  redis.call('HINCRBY', buysKey, 'h' .. buy_age_bucket(ageMs), 1)
  return { 'OK', remaining - quantity }
end

local answers = {}
for i = 1, n do
  local b = 4 + 9 * (i - 1)
  answers[i] = reserve(ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], tonumber(ARGV[b + 6]), ARGV[b + 7],
    ARGV[b + 8], ARGV[b + 9])
end
if bought > 0 then redis.call('HINCRBY', reportKey, 'bought', bought) end
return answers
