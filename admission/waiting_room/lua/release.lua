-- release: ARGV[3] = ref, ARGV[4] = slot id (jti).  Frees that slot (idempotent) and admits the next.
local c = load_cfg()
if not c then return 0 end
local ref, jti = ARGV[3], ARGV[4]
local val = redis.call('HGET', K_V, ref)
local released = 0
if val == 'a|' .. jti .. '|0' or val == 'a|' .. jti .. '|1' then
  redis.call('HDEL', K_V, ref)
  redis.call('ZREM', K_ACT, ref)
  note_frees(1)
  released = 1
end
expire()
admit(c)
return released
