-- heartbeat: ARGV[3] = ref, ARGV[4] = slot id (jti).  Renews the lease of the slot this token holds
-- (or takes back a slot a lost room gave it).
--
-- The usual heartbeat (the slot is held) reads only the lease length: it frees no other slot (it
-- admits nobody, so others' ended leases wait for the next join, visit, filing or sweep, which all
-- expire first) and needs nothing else of the room.  The room's settings are loaded only to take a
-- slot back.
local ref, jti = ARGV[3], ARGV[4]
if holds(ref, jti) then
  local ttl = tonumber(redis.call('HGET', K_CFG, 'session_ttl'))
  if ttl then return {'ok', renew({session_ttl = ttl}, ref, jti)} end  -- (no ttl: the room is gone)
end
local c = load_cfg()
if not c then return {'no_room'} end
expire()
if not reclaim(c, ref, jti) then return {'gone'} end
return {'ok', renew(c, ref, jti)}
