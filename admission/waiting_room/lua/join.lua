-- join: ARGV[3] = ИИН.  One place per ИИН: joining again returns the place already held.
local c = load_cfg()
if not c then return {'no_room'} end
local iin = ARGV[3]
expire()
admit(c)
if redis.call('HEXISTS', K_V, iin) == 1 then return describe(c, iin) end
local p = phase(c)
if p == 'not_open' or p == 'closed' then return {p} end
local waiting = redis.call('LLEN', K_Q)
if waiting >= c.max_waiting then return {'full', waiting, tostring(free_rate())} end
c.tail = redis.call('HINCRBY', K_CFG, 'tail', 1)
redis.call('RPUSH', K_Q, iin)
redis.call('HSET', K_V, iin, 'w|' .. c.tail .. '|' .. math.floor(NOW / 1000))
admit(c)
return describe(c, iin)
