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

-- The sale's status from its configuration, remaining stock, its state hash and the time.
-- One of: scheduled, prequeue, open, paused, suspended, held, sold_out, ended. `suspended`: the
-- marketer switched the sale's flow to maintenance (cfg.flow); it outranks all but the end. `held`: no unit left to
-- reserve, but the sale hands orders to a shop (cfg.checkoutUrl) and fewer units are paid
-- (the state's `paidUnits`, written by contracts' settle-units.lua) than it has: unpaid ones
-- come back, so shoppers keep their places and joins are taken.
local function sale_status(cfg, remaining, now, stateKey)
  local ends = tonumber(cfg.endsAt)
  if ends and now >= ends then return 'ended' end
  if cfg.flow == 'suspended' then return 'suspended' end
  if remaining <= 0 then
    if cfg.checkoutUrl and cfg.checkoutUrl ~= '' and
       tonumber(redis.call('HGET', stateKey, 'paidUnits') or '0') < tonumber(cfg.stock) then
      return 'held'
    end
    return 'sold_out'
  end
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

-- Visitor records in the `visitors` hash, fields separated by '|'. The TypeScript twin of this
-- codec, the one every gateway module that reads a record uses, is
-- gateway/src/redis/visitor-record.ts: change both together:
--   q|score|joinedAt|after|rounds                         queued
--   a|score|jti|expiresAt|seq|joinedAt|after|rounds       admitted (seq: admission sequence number)
--   x|score|seq|joinedAt|after|rounds                     admission expired unused
--   o|orderId|score|seq|joinedAt|after|rounds             ordered (seq '' when never admitted here)
--   h|score|seq|joinedAt|after|rounds                     handed over: only in a sub-queue's
--                                                         `visitors` (a sale over several shards):
--                                                         the main tag admitted this place (its
--                                                         record there says what became of it)
-- The score and the rest stay in every state for the fairness audit: joinedAt is when this
-- place was taken (Redis ms), after the admissions made before it (the sale's admittedTotal
-- then: the place competed for admissions after+1 onwards), rounds the visitor's earlier
-- places (a rejoin after a lapsed admission), ';'-separated, each `score,joinedAt,after,seq`.
-- Records written before these fields existed end early; every reader takes a missing field
-- as ''.
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

-- The decoded record: kind, score, jti, expiresAt, seq, orderId, joinedAt, after, rounds
-- (each a string, '' when absent).
local function visitor_decode(s)
  local f = split(s)
  local r = { kind = f[1] }
  local at
  if r.kind == 'q' then r.score, at = f[2], 3
  elseif r.kind == 'a' then r.score, r.jti, r.expiresAt, r.seq, at = f[2], f[3], f[4], f[5], 6
  elseif r.kind == 'x' or r.kind == 'h' then r.score, r.seq, at = f[2], f[3], 4
  else r.orderId, r.score, r.seq, at = f[2], f[3], f[4], 5 end
  r.joinedAt, r.after, r.rounds = f[at], f[at + 1], f[at + 2]
  for _, k in ipairs({ 'score', 'jti', 'expiresAt', 'seq', 'orderId', 'joinedAt', 'after', 'rounds' }) do
    r[k] = r[k] or ''
  end
  return r
end

local function visitor_meta(r)
  return r.joinedAt .. '|' .. r.after .. '|' .. r.rounds
end

local function visitor_queued(r)
  return 'q|' .. r.score .. '|' .. visitor_meta(r)
end

local function visitor_admitted(r, jti, expiresAt, seq)
  return 'a|' .. r.score .. '|' .. jti .. '|' .. expiresAt .. '|' .. seq .. '|' .. visitor_meta(r)
end

local function visitor_expired(r)
  return 'x|' .. r.score .. '|' .. r.seq .. '|' .. visitor_meta(r)
end

local function visitor_handed(r, seq)
  return 'h|' .. r.score .. '|' .. seq .. '|' .. visitor_meta(r)
end

local function visitor_ordered(r, orderId)
  return 'o|' .. orderId .. '|' .. r.score .. '|' .. r.seq .. '|' .. visitor_meta(r)
end

-- The earlier places of a visitor who takes a new one: `r`'s rounds and `r` itself.
local function visitor_rounds_with(r)
  local this = r.score .. ',' .. r.joinedAt .. ',' .. r.after .. ',' .. r.seq
  if r.rounds == '' then return this end
  return r.rounds .. ';' .. this
end

-- What PostgreSQL knows of a visitor Redis had forgotten and put back in the queue from their
-- ticket (`r`, a 'q' record): an order makes them ordered; an admission that lapsed makes them
-- expired (they may join again, at the back, like anyone whose turn lapsed); one still live
-- makes them admitted again with the same jti, so the token they hold keeps working; but not
-- while the sale is recovering (nobody may buy before the stock is known again: they stay
-- queued, and finish-recovery.lua admits them). Returns the new record, or nil for no change.
local function visitor_known(r, orderId, jti, expiresAt, seq, now, recovering)
  if orderId ~= '' then
    if seq ~= '' then r.seq = seq end
    return visitor_ordered(r, orderId)
  end
  if seq == '' then return nil end
  r.seq = seq
  if tonumber(expiresAt) <= now then return visitor_expired(r) end
  if recovering then return nil end
  return visitor_admitted(r, jti, expiresAt, seq)
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

-- The sale report's time-in-queue histogram, counted where admissions are made (admit.lua).
-- Its TypeScript twin is gateway/src/report/log-histogram.ts: change both together. Bucket 0
-- holds waits under 1 ms, bucket i >= 1 holds [2^((i-1)/8), 2^(i/8)) ms (each about 9 % wide).
-- The field is 'w:<arrival window>:<bucket>', the window the minute of arrival counted from the
-- sale's start, 'p' for everyone who arrived in the pre-queue.
local function report_wait_field(joinedAt, now, startsAt)
  local wait = now - joinedAt
  local bucket = 0
  if wait >= 1 then bucket = 1 + math.floor(8 * math.log(wait) / math.log(2)) end
  local window = 'p'
  if joinedAt >= startsAt then window = math.floor((joinedAt - startsAt) / 60000) end
  return 'w:' .. window .. ':' .. bucket
end
