-- visit (a poll that needs Redis): ARGV[3] = ИИН.  Notes that the visitor is still there;
-- an admitted visitor who comes for the access token has arrived: the lease (session_ttl) starts.
local c = load_cfg()
if not c then return {'no_room'} end
local iin = ARGV[3]
expire()
admit(c)
local val = redis.call('HGET', K_V, iin)
if val then
  local seq = parse_waiting(val)
  if seq then
    redis.call('HSET', K_V, iin, 'w|' .. seq .. '|' .. math.floor(NOW / 1000))
  elseif string.sub(val, -2) == '|0' then
    redis.call('HSET', K_V, iin, string.sub(val, 1, -2) .. '1')
    redis.call('ZADD', K_ACT, NOW + c.session_ttl * 1000, iin)
  end
end
return describe(c, iin)
