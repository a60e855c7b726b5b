--[[
  generation: the marker that tells the gateways whether this is still the Redis dataset they
  published the sales to. It holds `<id>/<replid>`: the id of the re-publish that set it and the
  replication id of the server it was written on (INFO replication, master_replid).

  A primary that dies and is replaced by a replica (a Sentinel failover) hands over a dataset
  that may lack the last writes the old primary acknowledged (replication is asynchronous),
  and the new primary has a replication id of its own. So a marker whose replication id is not
  the server's is removed here: to the gateways, the dataset is then one that lost its data,
  and they recover it from PostgreSQL exactly as after a restart empty (admission/recovery.ts):
  orders in flight committed, stock rebuilt from PostgreSQL, admissions restored.

  KEYS[1] generation marker (string)
  ARGV[1] 'check': answers the marker's id, or false when there is none (or it was just
          removed: { false, 'FAILOVER' } then)
          'set': writes ARGV[2] (the id) with this server's replication id; answers 'OK'
]]
local info = redis.call('INFO', 'replication')
local replid = string.match(info, 'master_replid:(%x+)') or ''
if ARGV[1] == 'set' then
  redis.call('SET', KEYS[1], ARGV[2] .. '/' .. replid)
  return 'OK'
end
local marker = redis.call('GET', KEYS[1])
if not marker then return { false } end
local id, written = string.match(marker, '^(.*)/(%x*)$')
-- a marker of an older gateway (no replication id) is taken as it is
if not id then return { marker } end
if written ~= replid then
  redis.call('DEL', KEYS[1])
  return { false, 'FAILOVER', written, replid }
end
return { id }
