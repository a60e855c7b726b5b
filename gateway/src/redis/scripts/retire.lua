--[[
  retire: remove every Redis key of a sale that PostgreSQL has taken over (sales/retirement.ts:
  the sale is over, its orders committed, its audit archived and `retired_at` set). Atomic: a
  sale is either all there or all gone, never half.

  KEYS[1]  pending        hash   must be empty: an order still in the outbox is not committed
  KEYS[2]  report         hash   must be empty: its counters must be in PostgreSQL first
  KEYS[3]  reportSnapshot hash   must be empty: a snapshot not written to PostgreSQL yet
  KEYS[4]  config         hash   (and the keys derived from its name: `:buys`, the rate-limit
                                 windows `:rl:<join|status|purchase>:<minute>` current and last)
  KEYS[5..] every other key of the sale (RedisCommands.retiringKeys: all of saleKeys but the
            pub/sub channel), removed with the rest

  Returns { 'OK', keys removed } | { 'PENDING', outbox entries } | { 'REPORT', counters not flushed }
  (the proof-of-work nonce keys `:pow:<nonce>` cannot be named here: they expire by themselves
  within minutes, and the retirer SCANs for what is left)
]]
local pending = redis.call('HLEN', KEYS[1])
if pending > 0 then return { 'PENDING', pending } end
local report = redis.call('HLEN', KEYS[2]) + redis.call('HLEN', KEYS[3])
if report > 0 then return { 'REPORT', report } end

local t = redis.call('TIME')
local minute = math.floor((tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) / 60000)
local removed = 0
for i = 1, #KEYS do removed = removed + redis.call('DEL', KEYS[i]) end
local cfg = KEYS[4]
removed = removed + redis.call('DEL', cfg .. ':buys')
for _, group in ipairs({ 'join', 'status', 'purchase' }) do
  for w = minute - 2, minute do removed = removed + redis.call('DEL', cfg .. ':rl:' .. group .. ':' .. w) end
end
return { 'OK', removed }
