-- join: ARGV[3..] = one group of JOIN_ARGS per join (a worker batches the joins that arrive together
-- into one call): ref, draw (a random number: the place in a shuffled pre-queue), then the door's
-- flood defence (issue 12), checked here so that it costs no round trip of its own:
--   rate key  the KEYS index of the client's join counter in this room (0: not counted),
--   limit     joins allowed per window,  window  the window in seconds,
--   used key  the KEYS index of a solved proof-of-work challenge's used-marker (0: none asked),
--   until     unix seconds until which the marker is kept (the challenge's expiry).
-- Door keys (KEYS[8..]) carry the room's hash tag like the room's own.
-- One place per ref: joining again returns the place already held.  Returns one result per ref:
-- a describe() table, or {'not_open'} / {'closed'} / {'full', waiting, rate} / {'too_many', seconds
-- until the client's window ends} / {'replayed'}.
local JOIN_ARGS = 7
if redis.call('EXISTS', K_CFG) == 0 then return {'no_room'} end

-- Count every join against its client first: a join over the limit is refused before any work of
-- the room (a flood of refused joins costs one INCR each).
local refused = {}
local going = 0
for i = 3, #ARGV, JOIN_ARGS do
  local counter = KEYS[tonumber(ARGV[i + 2])]
  if counter then
    local n = redis.call('INCR', counter)
    if n == 1 then redis.call('EXPIRE', counter, ARGV[i + 4]) end
    if n > tonumber(ARGV[i + 3]) then refused[i] = {'too_many', math.max(redis.call('TTL', counter), 1)} end
  end
  if not refused[i] then going = going + 1 end
end
if going == 0 then
  local out = {}
  for i = 3, #ARGV, JOIN_ARGS do out[#out + 1] = refused[i] end
  return out
end

local c = load_cfg()
if not c then return {'no_room'} end
expire()
admit(c)
local p = phase(c)
local shuffled = p == 'prequeue' and c.queue_policy == 'shuffle_prequeue'
local waiting = waiting_count()
local seen = math.floor(NOW / 1000)
for i = 3, #ARGV, JOIN_ARGS do
  local ref = ARGV[i]
  if not refused[i] then
    local new = redis.call('HEXISTS', K_V, ref) == 0
    local marker = KEYS[tonumber(ARGV[i + 5])]
    if new and (p == 'not_open' or p == 'closed') then
      refused[i] = {p}
    elseif new and waiting >= c.max_waiting then
      refused[i] = {'full', waiting, tostring(free_rate())}
    elseif marker and not redis.call('SET', marker, 1, 'NX', 'EXAT', ARGV[i + 6]) then
      refused[i] = {'replayed'}  -- marked only by a join that goes ahead: a refused one may retry with it
    elseif new and shuffled then
      waiting = waiting + 1
      redis.call('ZADD', K_PRE, ARGV[i + 1], ref)
      redis.call('HSET', K_V, ref, 'p|' .. seen)
    elseif new then
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
for i = 3, #ARGV, JOIN_ARGS do
  out[#out + 1] = refused[i] or describe(c, ARGV[i])
end
return out
