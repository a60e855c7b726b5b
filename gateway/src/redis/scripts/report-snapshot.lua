--[[
  report-snapshot: takes a sale's report counters out of Redis for one write to PostgreSQL.
  The counters (every script HINCRBYs `report` where a funnel step happens) are moved whole into
  `snapshot`, stamped with an id and the time, in one step: counts made after this go to a new
  `report` hash. The snapshot stays until report-drop.lua removes it once PostgreSQL holds it
  (rows keyed by the snapshot id, ON CONFLICT DO NOTHING), so a crash between the steps loses
  nothing and counts nothing twice: the next call (any gateway leading the sale) finds the same
  snapshot and writes it again, which PostgreSQL ignores.

  KEYS[1] report    hash
  KEYS[2] snapshot  hash    the counters being written (`_id`, `_at` and the counters)

  ARGV[1] id        a fresh snapshot id (used only when a new snapshot is taken)

  Returns {} when there is nothing to write, else the snapshot's HGETALL (field, value, ...):
  the one left over from an earlier call when there is one, otherwise a new one.
]]
local reportKey, snapKey = KEYS[1], KEYS[2]
if redis.call('EXISTS', snapKey) == 0 then
  if redis.call('EXISTS', reportKey) == 0 then return {} end
  redis.call('RENAME', reportKey, snapKey)
  local t = redis.call('TIME')
  redis.call('HSET', snapKey, '_id', ARGV[1], '_at', t[1] * 1000 + math.floor(t[2] / 1000))
end
return redis.call('HGETALL', snapKey)
