-- touch: ARGV[3..] = ИИНs whose polls were answered from a worker's cached snapshot; they are still there.
local seen = math.floor(NOW / 1000)
local touched = 0
for i = 3, #ARGV do
  local val = redis.call('HGET', K_V, ARGV[i])
  if val then
    local seq = parse_waiting(val)
    if seq then
      redis.call('HSET', K_V, ARGV[i], 'w|' .. seq .. '|' .. seen)
      touched = touched + 1
    end
  end
end
return touched
