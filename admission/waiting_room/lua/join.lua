-- join: ARGV[3..] = ИИНs (a worker batches the joins that arrive together into one call).
-- One place per ИИН: joining again returns the place already held.  Returns one result per ИИН:
-- a describe() table, or {'not_open'} / {'closed'} / {'full', waiting, rate}.
local c = load_cfg()
if not c then return {'no_room'} end
expire()
admit(c)
local p = phase(c)
local waiting = redis.call('LLEN', K_Q)
local seen = math.floor(NOW / 1000)
local refused = {}
for i = 3, #ARGV do
  local iin = ARGV[i]
  if redis.call('HEXISTS', K_V, iin) == 0 then
    if p == 'not_open' or p == 'closed' then
      refused[i] = {p}
    elseif waiting >= c.max_waiting then
      refused[i] = {'full', waiting, tostring(free_rate())}
    else
      c.tail = c.tail + 1
      waiting = waiting + 1
      redis.call('RPUSH', K_Q, iin)
      redis.call('HSET', K_V, iin, 'w|' .. c.tail .. '|' .. seen)
    end
  end
end
redis.call('HSET', K_CFG, 'tail', c.tail)
admit(c)
local out = {}
for i = 3, #ARGV do
  out[#out + 1] = refused[i] or describe(c, ARGV[i])
end
return out
