-- configure: ARGV[3] = new epoch (used only when the room does not exist yet), ARGV[4] = 1 to keep
-- settings already set (start-up defaults), ARGV[5..] = field, value pairs.  Then refills slots.
local exists = redis.call('HEXISTS', K_CFG, 'epoch') == 1
if not exists then
  redis.call('HSET', K_CFG, 'epoch', ARGV[3], 'head', 0, 'tail', 0, 'gen', 0, 'jseq', 0, 'opened', 0)
end
local keep = ARGV[4] == '1'
for i = 5, #ARGV, 2 do
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
return 1
