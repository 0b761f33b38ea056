-- configure: ARGV[3] = the epoch of a room created by this call, ARGV[4] = 1 to keep settings already
-- set (start-up defaults), ARGV[5] = recovery grace (ms) when this call creates the room (a rebuild:
-- nobody new is admitted until the survivors are back), ARGV[6..] = field, value pairs.
-- Then refills slots.  Returns {1 when this call created the room, the room's epoch}.
local created = 0
if redis.call('HEXISTS', K_CFG, 'epoch') == 0 then
  created = 1
  redis.call('HSET', K_CFG, 'epoch', ARGV[3], 'head', 0, 'tail', 0, 'gen', 0, 'jseq', 0, 'opened', 0,
             'pre_base', 0, 'recover_until', NOW + tonumber(ARGV[5]))
end
local keep = ARGV[4] == '1'
for i = 6, #ARGV, 2 do
  local field, value = ARGV[i], ARGV[i + 1]
  if field == 'opens' or field == 'closes' or not keep then
    if field == 'opens' and tonumber(value) > NOW then redis.call('HSET', K_CFG, 'opened', 0) end
    redis.call('HSET', K_CFG, field, value)
  else
    redis.call('HSETNX', K_CFG, field, value)
  end
end
local c = load_cfg()
expire()
admit(c)
return {created, c.epoch}
