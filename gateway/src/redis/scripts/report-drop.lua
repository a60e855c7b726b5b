--[[
  report-drop: removes a report snapshot that PostgreSQL now holds (see report-snapshot.lua),
  only when it is still that snapshot (another leader may have written and replaced it since).

  KEYS[1] snapshot  hash
  ARGV[1] id        the snapshot id written

  Returns 1 when removed, 0 when the snapshot was another (or gone).
]]
if redis.call('HGET', KEYS[1], '_id') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
