--[[
  bypass: staff and monitoring skip the room (the gateway matched BYPASS_KEYS or BYPASS_CIDRS,
  http/bypass.ts). The visitor gets an admission at once, kept in the sale's `bypass` hash,
  never in `visitors`, `queue` or `admitted`: no queue figure, report counter, admission
  sequence or fairness audit line counts it. Its purchase still goes through reserve.lua
  (which finds the record here by the jti's 'b.' prefix), so the stock is never oversold.
  Asking again answers the same admission while it lasts, the order once bought, a new
  admission once it lapsed.

  Records: the visitor record's codec (includes/common.lua) with score '' and seq '0':
  `a||jti|expiresAt|0|joinedAt||`, then `o|orderId||0|...` once bought.

  KEYS[1] config   hash
  KEYS[2] bypass   hash    visitor -> record
  KEYS[3] stock    string
  KEYS[4] state    hash    (paidUnits, for the sale's status)

  ARGV[1] visitorId
  ARGV[2] jtiKey   fresh random secret of this call, never revealed: jti = 'b.' tag, tag = the
                   first 24 hex digits of SHA1(jtiKey ':b:' visitor)

  Returns { 'NOT_FOUND' } | { 'REFUSED', status } (sold out or ended) |
    { 'OK', state ('admitted' | 'ordered'), jti, expiresAt, orderId, maxPerShopper }
]]
--@include "common"

local cfgKey, bypassKey, stockKey, stateKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local visitor, jtiKey = ARGV[1], ARGV[2]

local cfg = hash_map(cfgKey)
if cfg.startsAt == nil then return { 'NOT_FOUND' } end
local now = now_ms()
local remaining = tonumber(redis.call('GET', stockKey) or '0')
local status = sale_status(cfg, remaining, now, stateKey)

local record = redis.call('HGET', bypassKey, visitor)
if record then
  local r = visitor_decode(record)
  if r.kind == 'o' then return { 'OK', 'ordered', '', '', r.orderId, cfg.maxPerShopper } end
  if r.kind == 'a' and tonumber(r.expiresAt) > now then
    return { 'OK', 'admitted', r.jti, r.expiresAt, '', cfg.maxPerShopper }
  end
end
if status == 'sold_out' or status == 'ended' then return { 'REFUSED', status } end

local jti = 'b.' .. string.sub(redis.sha1hex(jtiKey .. ':b:' .. visitor), 1, 24)
local expiresAt = now + tonumber(cfg.checkoutMs)
redis.call('HSET', bypassKey, visitor,
  visitor_admitted({ score = '', joinedAt = tostring(now), after = '', rounds = '' }, jti, tostring(expiresAt), '0'))
return { 'OK', 'admitted', jti, tostring(expiresAt), '', cfg.maxPerShopper }
