-- heartbeat: ARGV[3] = ИИН, ARGV[4] = slot id (jti).  Renews the lease of the slot this token holds.
local c = load_cfg()
if not c then return {'no_room'} end
local iin, jti = ARGV[3], ARGV[4]
local val = redis.call('HGET', K_V, iin)
if val ~= 'a|' .. jti .. '|0' and val ~= 'a|' .. jti .. '|1' then return {'gone'} end
local deadline = NOW + c.session_ttl * 1000
if tonumber(redis.call('ZSCORE', K_ACT, iin) or 0) <= NOW then return {'gone'} end
redis.call('HSET', K_V, iin, 'a|' .. jti .. '|1')
redis.call('ZADD', K_ACT, deadline, iin)
return {'ok', deadline}
