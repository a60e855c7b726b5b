--[[
  write-config: writes a sale's hot copy (its config hash) unless Redis holds a later one.
  PostgreSQL commits a sale's changes in one order; their hot copies can arrive in another
  (two gateways answering two PATCHes, a boot's re-publish of a row it read a moment ago).
  Each committed change has a higher `config_version`, so the hash follows the committed
  order whichever write comes last.

  KEYS[1] config   hash
  ARGV[1] version  integer (sales.config_version of the row written)
  ARGV[2..] field, value, ... (the hash's fields)

  Returns 1 when written, 0 when Redis holds a later version (nothing written)
]]
local held = tonumber(redis.call('HGET', KEYS[1], 'configVersion') or '0')
if held > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'configVersion', ARGV[1], unpack(ARGV, 2))
return 1
