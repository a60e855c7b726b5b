--[[
  join: put visitors in a sale's queue, or tell where they already stand. Several at once:
  the gateway gathers the joins and status requests of one event-loop turn for a sale and
  sends them here together, so the sale's configuration, stock, queue length and the Lua
  call itself are paid once per batch, not once per shopper (one round trip per request
  still: each request waits for exactly one script call).

  One script for join and status: both answer the visitor's state; join also places a new
  visitor, and both put a visitor that Redis has forgotten (after a restart) back at the
  score their signed ticket carries. Each request is first counted against its rate limit
  (rate_limited in includes/common.lua); a limited request changes nothing else.

  KEYS[1] config    hash    the sale's configuration
  KEYS[2] queue     zset    waiting visitors by fairness score
  KEYS[3] visitors  hash    visitor -> record (see includes/common.lua)
  KEYS[4] seq       string  arrival sequence
  KEYS[5] stock     string  units still reservable
  KEYS[6] admitted  zset    admitted visitors by expiry
  KEYS[7] state     hash    admission loop state (admittedTotal; paidUnits for `held`; credit, lastTick)
  KEYS[8] report    hash    the sale report's counters (HINCRBY once per batch): joined (new
                            places), admitted (turns given at join: standby, passthrough), refused
                            (joins refused by a rate limit, a full queue, or a proof of work short
                            of the difficulty or spent; not a join asked for its first proof),
                            lapsed (an admission found expired before the loop swept it)
  KEYS[9] invites   set     visitor ids of the invited accounts: while cfg.inviteOnly is '1', a new
                            place is refused (NOT_INVITED) to anyone not in it; places held stay

  ARGV[1] n, the number of requests; then 8 arguments for each request i (base = 1 + 8(i-1)):
    +1 visitorId
    +2 fraction     the visitor's random part in [0, 1), as a decimal string
    +3 ticketScore  the score from the visitor's valid ticket, or '' when none
    +4 op           'join' (may place a new visitor) or 'status' (only restores from a ticket);
                    in a sub-queue of a sale over several shards also 'rejoin': a join whose
                    place was handed over and lapsed (the gateway read the main tag's record)
    +5 powNonce     the nonce of a verified proof-of-work challenge, or '' when none
    +6 powBits      the leading zero bits that proof has
    +7 caller       the rate-limit bucket ('v:<visitor>' or 'ip:<address>'), '' for none
    +8 limit        requests per minute for that bucket (the op's route), 0 for none
  ARGV[2 + 8n] jtiKey  fresh random secret of this call, never revealed, for the jti of an
                       admission made at join (standby, passthrough; as admit.lua's ARGV[2])

  The sale's flow (cfg.flow, sales/sale.ts): `queue` places every new visitor in the queue.
  `standby` and `passthrough` admit a new visitor at once, with the same record, sequence and
  jti as admit.lua would (the report counts it joined and admitted; the gateway records it in
  PostgreSQL), while nobody waits (a join never skips the queue) and the sale is open, and
  active < remaining stock; standby also only while active < maxActive and the rate credit (the
  one admit.lua accrues, state.credit and lastTick) holds a whole admission: so arrivals above
  the rate or beyond maxActive start the queue, and the queue stops once it has drained.
  `suspended`: every 'join' answers SUSPENDED; 'status' answers as always (places are kept).
  cfg.maxQueue ('' for none): a new place beyond it answers QUEUE_FULL, placing nobody.

  Returns { 'NOT_FOUND' } when there is no such sale, else
    { 'OK', saleStatus, remaining, startsAt, rate, maxPerShopper, admittedTotal, answer_1, ..., answer_n }
  the sale's figures once, then one answer per request, in order, each a string of fields
  separated by '|' (a string each, not a nested array: converting and parsing 15-field
  arrays cost about as much as the rest of a join):
    'RATE_LIMITED|msUntilTheWindowEnds'
    'UNKNOWN'                              'status' for a visitor never seen, no ticket
    'REFUSED'                              'join' while scheduled, sold out or ended (not while
                                           held: unpaid units come back to those in line)
    'POW_REQUIRED|difficulty' | 'POW_REUSED'   a new place needs a fresh, sufficient proof of work
    'SUSPENDED'                            'join' while the sale's flow is suspended
    'NOT_INVITED'                          a new place in an invite-only sale for a visitor not invited
    'QUEUE_FULL|waiting|maxQueue'          a new place would make the queue longer than maxQueue
    'HANDED|score'                         a sub-queue's place the main tag admitted (an 'h' record,
                                           any op but 'rejoin'): the main tag's record says the rest
    'outcome|state|score|rank|waiting|jti|expiresAt|admSeq|orderId'
      outcome    'NEW' (placed now, or admitted at once: state 'admitted'), 'RESTORED' (placed
                 again at the ticket's score), 'EXISTING'
      state      'queued' | 'admitted' | 'expired' | 'ordered'
      rank       0-based place in the queue, -1 when not queued or while the pre-queue is unordered
      waiting    the queue's length once this request is done
  admittedTotal: shoppers admitted so far: position + admittedTotal stays about constant while
  one waits, so a page can move its position on each tick without asking
]]
--@include "common"

local cfgKey, queueKey, visitorsKey, seqKey, stockKey, admittedKey, stateKey, reportKey, invitesKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]

local cfg = hash_map(cfgKey)
if cfg.startsAt == nil then return { 'NOT_FOUND' } end

local now = now_ms()
local remaining = tonumber(redis.call('GET', stockKey) or '0')
local status = sale_status(cfg, remaining, now, stateKey)
local waiting = redis.call('ZCARD', queueKey)
local admittedTotal = tonumber(redis.call('HGET', stateKey, 'admittedTotal') or '0')
local difficulty = tonumber(cfg.powDifficulty or '0')
local unordered = status == 'prequeue' and cfg.mode ~= 'fifo'
local flow = cfg.flow or 'queue'
local maxQueue = tonumber(cfg.maxQueue or '')
local jtiKey = ARGV[2 + 8 * tonumber(ARGV[1])] or ''

-- standby and passthrough: may the visitor joining now go straight to their turn? Only while
-- nobody waits (nobody skips the line) and the stock covers every holder; standby also under
-- maxActive and within the rate credit, of which it takes one admission (shared with admit.lua).
local function admit_at_join()
  if (flow ~= 'standby' and flow ~= 'passthrough') or status ~= 'open' or waiting > 0 or jtiKey == '' then return false end
  local active = redis.call('ZCARD', admittedKey)
  if active >= remaining then return false end
  if flow == 'passthrough' then return true end
  if active >= tonumber(cfg.maxActive) then return false end
  local st = redis.call('HMGET', stateKey, 'credit', 'lastTick', 'effectiveRate')
  local rate = tonumber(cfg.rate)
  if cfg.adaptive == '1' then rate = math.min(rate, tonumber(st[3] or cfg.rate)) end
  local last = tonumber(st[2] or now)
  local credit = math.min(tonumber(st[1] or '0') + rate * math.max(0, now - last) / 60000, math.max(1, rate / 60))
  if credit < 1 then
    redis.call('HSET', stateKey, 'credit', tostring(credit), 'lastTick', now)
    return false
  end
  redis.call('HSET', stateKey, 'credit', tostring(credit - 1), 'lastTick', now)
  return true
end
-- the report's counts of this batch, written once at the end
local joinedN, refusedN, lapsedN, admittedN = 0, 0, 0, 0

local function one(visitor, fraction, ticketScore, op, powNonce, powBits)
  local afterHandOver = op == 'rejoin'
  if afterHandOver then op = 'join' end
  if op == 'join' and status == 'suspended' then return 'SUSPENDED' end
  local function answer(outcome, state, score, extra)
    extra = extra or {}
    local rank = -1
    -- in the pre-queue the order is not drawn yet, unless the sale is strict FIFO
    if state == 'queued' and not unordered then rank = redis.call('ZRANK', queueKey, visitor) or -1 end
    return outcome .. '|' .. state .. '|' .. (score or '') .. '|' .. rank .. '|' .. waiting .. '|' .. (extra.jti or '') .. '|'
      .. (extra.expiresAt or '') .. '|' .. (extra.admSeq or '') .. '|' .. (extra.orderId or '')
  end

  local record = redis.call('HGET', visitorsKey, visitor)
  local rejoin = false
  local rounds = ''
  if record then
    local r = visitor_decode(record)
    local kind = r.kind
    if kind == 'q' then return answer('EXISTING', 'queued', r.score) end
    if kind == 'a' then
      if tonumber(r.expiresAt) > now then
        return answer('EXISTING', 'admitted', r.score, { jti = r.jti, expiresAt = r.expiresAt, admSeq = r.seq })
      end
      -- expired but not swept yet by the admission loop: it is expired all the same
      redis.call('ZREM', admittedKey, visitor)
      redis.call('HSET', visitorsKey, visitor, visitor_expired(r))
      lapsedN = lapsedN + 1
      kind = 'x'
    end
    if kind == 'o' then return answer('EXISTING', 'ordered', nil, { orderId = r.orderId }) end
    if kind == 'h' then
      if not afterHandOver then return 'HANDED|' .. r.score end
      kind = 'x'
    end
    if kind == 'x' then
      if op ~= 'join' then return answer('EXISTING', 'expired', r.score) end
      -- a visitor whose checkout window lapsed may join again, at the back; the lapsed place
      -- stays in the record for the audit
      rejoin = true
      rounds = visitor_rounds_with(r)
    end
  end

  local score
  local outcome = 'NEW'
  if not rejoin and ticketScore ~= '' then
    -- Redis forgot this visitor (restarted empty): the signed ticket says where they stood
    score = tonumber(ticketScore)
    outcome = 'RESTORED'
  elseif op ~= 'join' then
    return 'UNKNOWN'
  else
    if status == 'scheduled' or status == 'sold_out' or status == 'ended' then return 'REFUSED' end
    if cfg.inviteOnly == '1' and redis.call('SISMEMBER', invitesKey, visitor) == 0 then
      refusedN = refusedN + 1
      return 'NOT_INVITED'
    end
    -- a full queue refuses before a proof of work is spent (a join that would go straight to its
    -- turn finds nobody waiting: it is not refused, whatever the cap)
    if maxQueue and waiting >= maxQueue and not (waiting == 0 and (flow == 'standby' or flow == 'passthrough')) then
      refusedN = refusedN + 1
      return 'QUEUE_FULL|' .. waiting .. '|' .. maxQueue
    end
    if difficulty > 0 then
      -- one solved challenge buys one place: its nonce is spent here (the key lives as long as
      -- the challenge could, and shares the sale's hash tag)
      if powNonce == '' or tonumber(powBits) < difficulty then
        -- a join without a proof is asked for one, not refused: the page always tries first
        -- without; a proof short of the difficulty is refused
        if powNonce ~= '' then refusedN = refusedN + 1 end
        return 'POW_REQUIRED|' .. difficulty
      end
      local spent = redis.call('SET', cfgKey .. ':pow:' .. powNonce, '1', 'NX', 'PX', 180000)
      if not spent then
        refusedN = refusedN + 1
        return 'POW_REUSED'
      end
    end
    local mode = cfg.mode
    local starts = tonumber(cfg.startsAt)
    if mode == 'fifo' then
      score = redis.call('INCR', seqKey)
    elseif rejoin and (mode == 'random' or now < starts) then
      -- a rejoin where a first place would be the bare fraction (a lottery): behind every place
      -- now in the queue. First places score below 1; a rejoin scores 1 + the admissions made
      -- so far + the fraction, so it ranks behind every first place and every rejoin made
      -- before the last admission, and is drawn at random among the rejoins made since.
      -- (In the pre-queue nobody can have lapsed yet: admission starts at startsAt, which
      -- cannot move once reached.) Capped like a window (fairness-score.ts).
      score = math.min(2097151, 1 + admittedTotal) + tonumber(fraction)
    elseif mode == 'random' then
      score = tonumber(fraction)
    else
      local windowMs = tonumber(cfg.windowMs)
      if now < starts then
        score = tonumber(fraction)
      elseif windowMs <= 0 then
        score = 1 + redis.call('INCR', seqKey)
      else
        -- capped so that window + 32-bit fraction stays exact in a double (fairness-score.ts)
        score = math.min(2097151, 1 + math.floor((now - starts) / windowMs)) + tonumber(fraction)
      end
    end
  end

  local scoreText = string.format('%.17g', score)
  if outcome == 'NEW' then
    if admit_at_join() then
      joinedN = joinedN + 1
      admittedN = admittedN + 1
      -- exactly what admit.lua does for the lowest score: this visitor is the only one waiting
      local seq = redis.call('HINCRBY', stateKey, 'admittedTotal', 1)
      local jti = seq .. '.' .. string.sub(redis.sha1hex(jtiKey .. ':' .. seq .. ':' .. visitor), 1, 24)
      local expiresAt = now + tonumber(cfg.checkoutMs)
      redis.call('ZADD', admittedKey, expiresAt, visitor)
      redis.call('HSET', visitorsKey, visitor, visitor_admitted(
        { score = scoreText, joinedAt = tostring(now), after = tostring(admittedTotal), rounds = rounds },
        jti, tostring(expiresAt), tostring(seq)))
      admittedTotal = seq
      return answer('NEW', 'admitted', scoreText, { jti = jti, expiresAt = tostring(expiresAt), admSeq = tostring(seq) })
    end
    if maxQueue and waiting >= maxQueue then
      -- standby with a cap of 0, or the rate passed at an empty queue: there is no room to queue
      refusedN = refusedN + 1
      return 'QUEUE_FULL|' .. waiting .. '|' .. maxQueue
    end
  end
  waiting = waiting + redis.call('ZADD', queueKey, scoreText, visitor)
  redis.call('HSET', visitorsKey, visitor,
    visitor_queued({ score = scoreText, joinedAt = tostring(now), after = tostring(admittedTotal), rounds = rounds }))
  if outcome == 'NEW' then joinedN = joinedN + 1 end
  return answer(outcome, 'queued', scoreText)
end

local n = tonumber(ARGV[1])
local out = { 'OK', status, remaining, cfg.startsAt, cfg.rate, cfg.maxPerShopper, admittedTotal }
for i = 1, n do
  local b = 1 + 8 * (i - 1)
  local op = ARGV[b + 4]
  local wait = rate_limited(cfgKey, op, ARGV[b + 7], tonumber(ARGV[b + 8]), now)
  if wait then
    if op == 'join' then refusedN = refusedN + 1 end
    out[7 + i] = 'RATE_LIMITED|' .. wait
  else
    out[7 + i] = one(ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], op, ARGV[b + 5], ARGV[b + 6])
  end
end
-- admissions made at join moved the count on
out[7] = admittedTotal
if joinedN > 0 then redis.call('HINCRBY', reportKey, 'joined', joinedN) end
if refusedN > 0 then redis.call('HINCRBY', reportKey, 'refused', refusedN) end
if lapsedN > 0 then redis.call('HINCRBY', reportKey, 'lapsed', lapsedN) end
if admittedN > 0 then redis.call('HINCRBY', reportKey, 'admitted', admittedN) end
return out
