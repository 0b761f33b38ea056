-- session: what admitted and waiting visitors do to their places, several in one call (a worker gathers
-- the ones that arrive together, as it gathers joins).  ARGV[3..] = one group of SESSION_ARGS per
-- operation: kind, ref, then the kind's own:
--   visit      the epoch and place the visitor's ticket carries (a poll that needs Redis);
--   heartbeat  the slot id (jti): renew the lease of the slot this token holds;
--   release    the slot id: free it (idempotent) and admit the next;
--   file       the slot id, the child's reference, children per slot, seconds the slot's children
--              are remembered, the KEYS index of the slot's filed set (the slot is the right to file).
-- Each operation runs as its own script would, in order; one result each (below).  A room that does
-- not exist answers {'no_room'} to every operation but a release (0): nothing was done, the caller may
-- rebuild the room and send them all again.
local SESSION_ARGS = 7

-- visit: a ticket of a lost room (an older epoch) re-seats its holder among the survivors, in the order
-- of their places, ahead of everyone who joined the rebuilt room.  Notes that the visitor is still
-- there; an admitted visitor who comes for the access token has arrived: the lease starts.
local function visit(ref, ticket_epoch, ticket_seq)
  local c = load_cfg()
  if not c then return {'no_room'} end
  local epoch, seq = tonumber(ticket_epoch), tonumber(ticket_seq)
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
end

-- heartbeat: renews the lease of the slot this token holds (or takes back a slot a lost room gave it).
-- The usual heartbeat (the slot is held) reads only the lease length: it frees no other slot (it
-- admits nobody, so others' ended leases wait for the next join, visit, filing or sweep, which all
-- expire first) and needs nothing else of the room.  The room's settings are loaded only to take a
-- slot back.  {'ok', lease end}, {'gone'} or {'no_room'}.
local function heartbeat(ref, jti)
  if holds(ref, jti) then
    local ttl = tonumber(redis.call('HGET', K_CFG, 'session_ttl'))
    if ttl then return {'ok', renew({session_ttl = ttl}, ref, jti)} end  -- (no ttl: the room is gone)
  end
  local c = load_cfg()
  if not c then return {'no_room'} end
  expire()
  if not reclaim(c, ref, jti) then return {'gone'} end
  return {'ok', renew(c, ref, jti)}
end

-- release: frees the slot (idempotent) and admits the next; 1 when this call freed it.
local function release(ref, jti)
  local c = load_cfg()
  if not c then return 0 end
  local val = redis.call('HGET', K_V, ref)
  local released = 0
  if val == 'a|' .. jti .. '|0' or val == 'a|' .. jti .. '|1' then
    redis.call('HDEL', K_V, ref)
    redis.call('ZREM', K_ACT, ref)
    note_frees(1)
    released = 1
  end
  expire()
  admit(c)
  return released
end

-- file: a child this slot already filed for passes again without counting (a re-sent form); a new child
-- needs the slot held now and fewer than the limit filed.  {'ok', children filed, lease end},
-- {'repeat'}, {'ended'} or {'no_room'}.
local function file(ref, jti, child, limit, remembered, k_filed)
  local c = load_cfg()
  if not c then return {'no_room'} end
  expire()
  if redis.call('SISMEMBER', k_filed, child) == 1 then return {'repeat'} end
  if not holds(ref, jti) and not reclaim(c, ref, jti) then return {'ended'} end
  local filed = redis.call('SCARD', k_filed)
  if filed >= limit then return {'ended'} end
  redis.call('SADD', k_filed, child)
  redis.call('EXPIRE', k_filed, remembered)
  return {'ok', filed + 1, renew(c, ref, jti)}
end

local out = {}
for i = 3, #ARGV, SESSION_ARGS do
  COUNTS = nil  -- describe() counts the room after this operation's changes
  local kind, ref = ARGV[i], ARGV[i + 1]
  local result
  if kind == 'visit' then
    result = visit(ref, ARGV[i + 2], ARGV[i + 3])
  elseif kind == 'heartbeat' then
    result = heartbeat(ref, ARGV[i + 2])
  elseif kind == 'release' then
    result = release(ref, ARGV[i + 2])
  else  -- 'file'
    result = file(ref, ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]),
                  KEYS[tonumber(ARGV[i + 6])])
  end
  out[#out + 1] = result
end
return out
