-- file (the slot is the right to file): ARGV[3] = ref, ARGV[4] = slot id (jti), ARGV[5] = the child's
-- reference, ARGV[6] = children per slot, ARGV[7] = seconds the slot's children are remembered.
-- A child this slot already filed for passes again without counting (a re-sent form); a new child
-- needs the slot held now and fewer than the limit filed.  Returns {'ok', children filed, lease end},
-- {'repeat'}, {'ended'} or {'no_room'}.
local c = load_cfg()
if not c then return {'no_room'} end
expire()
local ref, jti, child, limit = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
if redis.call('SISMEMBER', K_FILED, child) == 1 then return {'repeat'} end
if not holds(ref, jti) and not reclaim(c, ref, jti) then return {'ended'} end
local filed = redis.call('SCARD', K_FILED)
if filed >= limit then return {'ended'} end
redis.call('SADD', K_FILED, child)
redis.call('EXPIRE', K_FILED, tonumber(ARGV[7]))
return {'ok', filed + 1, renew(c, ref, jti)}
