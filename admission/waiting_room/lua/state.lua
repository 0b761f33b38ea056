-- state (read-only): the room as a worker caches it for polls and the public view.
local c = load_cfg()
if not c then return nil end
local out = {}
for i, name in ipairs(CFG_FIELDS) do out[i] = tostring(c[name]) end
out[#out + 1] = waiting_count()
out[#out + 1] = redis.call('ZCARD', K_OLD)
out[#out + 1] = redis.call('ZCARD', K_ACT)
out[#out + 1] = tostring(free_rate())
return out
