-- visit (a poll that needs Redis): ARGV[3] = ref, ARGV[4], ARGV[5] = the epoch and place the visitor's
-- ticket carries.  A ticket of a lost room (an older epoch) re-seats its holder among the survivors, in
-- the order of their places, ahead of everyone who joined the rebuilt room.  Notes that the visitor is
-- still there; an admitted visitor who comes for the access token has arrived: the lease starts.
local c = load_cfg()
if not c then return {'no_room'} end
local ref = ARGV[3]
local epoch, seq = tonumber(ARGV[4]), tonumber(ARGV[5])
expire()
local seen = math.floor(NOW / 1000)
local val = redis.call('HGET', K_V, ref)
if epoch and seq and seq >= 1 and epoch < c.epoch_n and phase(c) ~= 'closed' then
  local k = val and string.sub(val, 1, 2)
  if not val or k == 'w|' or k == 'p|' then
    redis.call('ZREM', K_PRE, ref)
    redis.call('ZADD', K_OLD, epoch * SEQ_SPAN + math.min(seq, SEQ_SPAN - 1), ref)
    redis.call('HSET', K_V, ref, 's|' .. seen)
  end
end
admit(c)
val = redis.call('HGET', K_V, ref)
if val then
  if seen_of(val) then
    redis.call('HSET', K_V, ref, reseen(val, seen))
  elseif string.sub(val, -2) == '|0' then
    redis.call('HSET', K_V, ref, string.sub(val, 1, -2) .. '1')
    redis.call('ZADD', K_ACT, NOW + c.session_ttl * 1000, ref)
  end
end
return describe(c, ref)
