-- touch: ARGV[3..] = refs whose polls were answered from a worker's cached snapshot; they are still there.
local seen = math.floor(NOW / 1000)
local touched = 0
for i = 3, #ARGV do
  local val = redis.call('HGET', K_V, ARGV[i])
  if val and seen_of(val) then
    redis.call('HSET', K_V, ARGV[i], reseen(val, seen))
    touched = touched + 1
  end
end
return touched
