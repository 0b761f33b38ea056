-- sweep: ends expired leases and refills free slots, whether or not anyone polls.  {expired, admitted}
local c = load_cfg()
if not c then return {-1, 0} end
local expired = expire()
return {expired, admit(c)}
