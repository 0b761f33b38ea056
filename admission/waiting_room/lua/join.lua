-- join: ARGV[3..] = ref, draw pairs (a worker batches the joins that arrive together into one call;
-- the draw is a random number, used as the place in a shuffled pre-queue).
-- One place per ref: joining again returns the place already held.  Returns one result per ref:
-- a describe() table, or {'not_open'} / {'closed'} / {'full', waiting, rate}.
local c = load_cfg()
if not c then return {'no_room'} end
expire()
admit(c)
local p = phase(c)
local shuffled = p == 'prequeue' and c.queue_policy == 'shuffle_prequeue'
local waiting = waiting_count()
local seen = math.floor(NOW / 1000)
local refused = {}
for i = 3, #ARGV, 2 do
  local ref = ARGV[i]
  if redis.call('HEXISTS', K_V, ref) == 0 then
    if p == 'not_open' or p == 'closed' then
      refused[i] = {p}
    elseif waiting >= c.max_waiting then
      refused[i] = {'full', waiting, tostring(free_rate())}
    elseif shuffled then
      waiting = waiting + 1
      redis.call('ZADD', K_PRE, ARGV[i + 1], ref)
      redis.call('HSET', K_V, ref, 'p|' .. seen)
    else
      c.tail = c.tail + 1
      waiting = waiting + 1
      redis.call('RPUSH', K_Q, ref)
      redis.call('HSET', K_V, ref, 'w|' .. c.tail .. '|' .. seen)
    end
  end
end
redis.call('HSET', K_CFG, 'tail', c.tail)
admit(c)
local out = {}
for i = 3, #ARGV, 2 do
  out[#out + 1] = refused[i] or describe(c, ARGV[i])
end
return out
