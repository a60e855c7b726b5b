--[[
  retire: remove every Redis key of a sale that PostgreSQL has taken over (sales/retirement.ts:
  the sale is over, its orders committed, its audit archived and `retired_at` set). Atomic: a
  sale is either all there or all gone, never half.

  KEYS[1]  config       hash     (and the keys derived from its name: `:buys`, the rate-limit
                                  windows `:rl:<join|status|purchase>:<minute>` current and last)
  KEYS[2]  state        hash
  KEYS[3]  queue        zset
  KEYS[4]  admitted     zset
  KEYS[5]  stock        string
  KEYS[6]  pending      hash     must be empty: an order still in the outbox is not committed
  KEYS[7]  pendingDue   zset
  KEYS[8]  visitors     hash
  KEYS[9]  seq          string
  KEYS[10] leader       string
  KEYS[11] leaderEpoch  string
  KEYS[12] tickLog      stream
  KEYS[13] returned     set
  KEYS[14] report       hash     must be empty: its counters must be in PostgreSQL first

  Returns { 'OK', keys removed } | { 'PENDING', outbox entries } | { 'REPORT', counters not flushed }
  (the proof-of-work nonce keys `:pow:<nonce>` cannot be named here: they expire by themselves
  within minutes, and the retirer SCANs for what is left)
]]
local pending = redis.call('HLEN', KEYS[6])
if pending > 0 then return { 'PENDING', pending } end
local report = redis.call('HLEN', KEYS[14])
if report > 0 then return { 'REPORT', report } end

local t = redis.call('TIME')
local minute = math.floor((tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) / 60000)
local removed = 0
for i = 1, #KEYS do removed = removed + redis.call('DEL', KEYS[i]) end
local cfg = KEYS[1]
removed = removed + redis.call('DEL', cfg .. ':buys')
for _, group in ipairs({ 'join', 'status', 'purchase' }) do
  for w = minute - 2, minute do removed = removed + redis.call('DEL', cfg .. ':rl:' .. group .. ':' .. w) end
end
return { 'OK', removed }
