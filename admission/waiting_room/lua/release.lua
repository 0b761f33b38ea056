-- release: ARGV[3] = ИИН, ARGV[4] = slot id (jti).  Frees that slot (idempotent) and admits the next.
local c = load_cfg()
if not c then return 0 end
local iin, jti = ARGV[3], ARGV[4]
local val = redis.call('HGET', K_V, iin)
local released = 0
if val == 'a|' .. jti .. '|0' or val == 'a|' .. jti .. '|1' then
  redis.call('HDEL', K_V, iin)
  redis.call('ZREM', K_ACT, iin)
  note_frees(1)
  released = 1
end
expire()
admit(c)
return released
