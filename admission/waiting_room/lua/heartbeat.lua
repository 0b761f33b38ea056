-- heartbeat: ARGV[3] = ref, ARGV[4] = slot id (jti).  Renews the lease of the slot this token holds
-- (or takes back a slot a lost room gave it).
local c = load_cfg()
if not c then return {'no_room'} end
expire()
local ref, jti = ARGV[3], ARGV[4]
if not holds(ref, jti) and not reclaim(c, ref, jti) then return {'gone'} end
return {'ok', renew(c, ref, jti)}
