-- sweep: ends expired leases and refills free slots, whether or not anyone polls.
-- Returns {expired, admitted, waiting, active} ({-1, 0, 0, 0} when the room does not exist).
local c = load_cfg()
if not c then return {-1, 0, 0, 0} end
local expired = expire()
local admitted = admit(c)
return {expired, admitted, waiting_count(), redis.call('ZCARD', K_ACT)}
