--[[
  join: put a visitor in a sale's queue, or tell where they already stand.

  One script for join and status: both answer the visitor's state; join also places a new
  visitor, and both put a visitor that Redis has forgotten (after a restart) back at the
  score their signed ticket carries.

  KEYS[1] config    hash    the sale's configuration
  KEYS[2] queue     zset    waiting visitors by fairness score
  KEYS[3] visitors  hash    visitor -> record (see includes/common.lua)
  KEYS[4] seq       string  arrival sequence
  KEYS[5] stock     string  units still reservable
  KEYS[6] admitted  zset    admitted visitors by expiry
  KEYS[7] state     hash    admission loop state (admittedTotal)

  ARGV[1] visitorId
  ARGV[2] fraction     the visitor's random part in [0, 1), as a decimal string
  ARGV[3] ticketScore  the score from the visitor's valid ticket, or '' when none
  ARGV[4] op           'join' (may place a new visitor) or 'status' (only restores from a ticket)
  ARGV[5] powNonce     the nonce of a verified proof-of-work challenge, or '' when none
  ARGV[6] powBits      the leading zero bits that proof has

  Returns an array:
    { 'NOT_FOUND' }                               no such sale
    { 'UNKNOWN', saleStatus, ... }                'status' for a visitor never seen, no ticket
    { 'REFUSED', saleStatus, ... }                'join' while scheduled, sold out or ended
    { 'POW_REQUIRED', difficulty } | { 'POW_REUSED' }   a new place needs a fresh, sufficient proof of work
    { outcome, saleStatus, state, score, rank, waiting, remaining, startsAt, rate, jti, expiresAt, admSeq, orderId,
      maxPerShopper, admittedTotal }
      admittedTotal  shoppers admitted so far: position + admittedTotal stays about constant while
                     one waits, so a page can move its position on each tick without asking
      outcome    'NEW' (placed now), 'RESTORED' (placed again at the ticket's score), 'EXISTING'
      state      'queued' | 'admitted' | 'expired' | 'ordered'
      rank       0-based place in the queue, -1 when not queued or while the pre-queue is unordered
]]
--@include "common"

local cfgKey, queueKey, visitorsKey, seqKey, stockKey, admittedKey, stateKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local visitor, fraction, ticketScore, op, powNonce = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local cfg = hash_map(cfgKey)
if cfg.startsAt == nil then return { 'NOT_FOUND' } end

local now = now_ms()
local remaining = tonumber(redis.call('GET', stockKey) or '0')
local status = sale_status(cfg, remaining, now)
local waiting = redis.call('ZCARD', queueKey)

local function answer(outcome, state, score, extra)
  extra = extra or {}
  local rank = -1
  if state == 'queued' then
    rank = redis.call('ZRANK', queueKey, visitor) or -1
    -- in the pre-queue the order is not drawn yet, unless the sale is strict FIFO
    if status == 'prequeue' and cfg.mode ~= 'fifo' then rank = -1 end
  end
  return { outcome, status, state, score or '', rank, waiting, remaining, cfg.startsAt, cfg.rate,
           extra.jti or '', extra.expiresAt or '', extra.admSeq or '', extra.orderId or '', cfg.maxPerShopper,
           tonumber(redis.call('HGET', stateKey, 'admittedTotal') or '0') }
end

local record = redis.call('HGET', visitorsKey, visitor)
local rejoin = false
if record then
  local f = split(record)
  local kind = f[1]
  if kind == 'q' then return answer('EXISTING', 'queued', f[2]) end
  if kind == 'a' then
    if tonumber(f[4]) > now then
      return answer('EXISTING', 'admitted', f[2], { jti = f[3], expiresAt = f[4], admSeq = f[5] })
    end
    -- expired but not swept yet by the admission loop: it is expired all the same
    redis.call('ZREM', admittedKey, visitor)
    redis.call('HSET', visitorsKey, visitor, 'x|' .. f[2])
    record = 'x|' .. f[2]
    f = split(record)
    kind = 'x'
  end
  if kind == 'o' then return answer('EXISTING', 'ordered', nil, { orderId = f[2] }) end
  if kind == 'x' then
    if op ~= 'join' then return answer('EXISTING', 'expired', f[2]) end
    -- a visitor whose checkout window lapsed may join again, at the back
    rejoin = true
  end
end

local score
local outcome = 'NEW'
if not rejoin and ticketScore ~= '' then
  -- Redis forgot this visitor (restarted empty): the signed ticket says where they stood
  score = tonumber(ticketScore)
  outcome = 'RESTORED'
elseif op ~= 'join' then
  return { 'UNKNOWN', status }
else
  if status == 'scheduled' or status == 'sold_out' or status == 'ended' then return { 'REFUSED', status } end
  local difficulty = tonumber(cfg.powDifficulty or '0')
  if difficulty > 0 then
    -- one solved challenge buys one place: its nonce is spent here (the key lives as long as
    -- the challenge could, and shares the sale's hash tag)
    if powNonce == '' or tonumber(ARGV[6]) < difficulty then return { 'POW_REQUIRED', difficulty } end
    local spent = redis.call('SET', KEYS[1] .. ':pow:' .. powNonce, '1', 'NX', 'PX', 180000)
    if not spent then return { 'POW_REUSED' } end
  end
  local mode = cfg.mode
  if mode == 'fifo' then
    score = redis.call('INCR', seqKey)
  elseif mode == 'random' then
    score = tonumber(fraction)
  else
    local starts = tonumber(cfg.startsAt)
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
redis.call('ZADD', queueKey, scoreText, visitor)
redis.call('HSET', visitorsKey, visitor, 'q|' .. scoreText)
waiting = redis.call('ZCARD', queueKey)
return answer(outcome, 'queued', scoreText)
