-- Shared by every waiting-room script (prepended to each one when loaded).
--
-- KEYS (all of one room, one {hash tag}); members are applicant references (never ИИНs):
--   1 cfg   hash: settings, window (ms), counters head/tail/epoch/gen/jseq/opened/pre_base,
--                 hold_until and recover_until (ms: nobody is admitted before them)
--   2 q     list: refs waiting in arrival order (LPOP = head); the k-th pop is place head + 1
--   3 v     hash: ref -> 'w|<seq>|<seen s>' (in q), 'p|<seen>' (in pre), 's|<seen>' (in old),
--                 'a|<jti>|<arrived 0/1>' (holds a slot)
--   4 act   zset: refs holding a slot, by the end of their lease or arrival grace (ms)
--   5 frees list: times (ms) of the last slot releases/expiries, newest first (the rate estimate)
--   6 pre   zset: shuffle_prequeue: who joined before opening, by a random draw made at the join
--   7 old   zset: survivors of a lost room, by (their epoch, their place): admitted before anyone else
--   8.. the keys of one call's own: join.lua's door keys, session.lua's filed sets (the children one
--         slot filed for), each named by its index in ARGV
-- ARGV[1] is always "now" in ms, ARGV[2] a random seed.
--
-- Places: the pre-queue (shuffled) takes the places pre_base+1 .. pre_base+#pre at the opening,
-- so a visitor's position is survivors + seq - head for everyone, O(1) for a cached ticket.
local K_CFG, K_Q, K_V, K_ACT, K_FREES, K_PRE, K_OLD =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local NOW = tonumber(ARGV[1])
local SEED = tonumber(ARGV[2])
local FREES_KEPT = 200
local RATE_WINDOW_MS = 600000
local SKIP_LIMIT = 2000
local SEQ_SPAN = 16777216  -- 2^24: a survivor's score is epoch * 2^24 + seq (exact below 2^53)

local CFG_FIELDS = {
  'epoch', 'max_active', 'session_ttl', 'arrival_grace', 'abandon_after', 'max_waiting', 'prequeue_minutes',
  'queue_policy', 'opens', 'closes', 'head', 'tail', 'gen', 'jseq', 'opened',
  'paused', 'pause_message', 'challenge', 'hold_until', 'recover_until', 'pre_base',
}
local TEXT_FIELDS = {epoch = true, queue_policy = true, pause_message = true}

local function load_cfg()
  local raw = redis.call('HMGET', K_CFG, unpack(CFG_FIELDS))
  if not raw[1] then return nil end
  local c = {}
  for i, name in ipairs(CFG_FIELDS) do
    if TEXT_FIELDS[name] then c[name] = raw[i] or '' else c[name] = tonumber(raw[i]) or 0 end
  end
  c.epoch_n = tonumber(c.epoch) or 0
  return c
end

local function phase(c)
  if NOW < c.opens - c.prequeue_minutes * 60000 then return 'not_open' end
  if NOW < c.opens then return 'prequeue' end
  if NOW < c.closes then return 'open' end
  return 'closed'
end

local function waiting_count()
  return redis.call('LLEN', K_Q) + redis.call('ZCARD', K_PRE) + redis.call('ZCARD', K_OLD)
end

-- The last time a waiting visitor was seen polling (nil when the record is not a waiting one).
local function seen_of(val)
  local k = string.sub(val, 1, 2)
  if k == 'w|' then return tonumber(string.match(val, '|(%d+)$')) end
  if k == 'p|' or k == 's|' then return tonumber(string.sub(val, 3)) end
  return nil
end

local function reseen(val, seen)
  local k = string.sub(val, 1, 2)
  if k == 'w|' then return string.match(val, '^(w|%d+|)') .. seen end
  return k .. seen
end

local RATE = nil  -- free_rate() of this call, computed once

local function note_frees(count)
  RATE = nil
  for _ = 1, count do redis.call('LPUSH', K_FREES, NOW) end
  if count > 0 then redis.call('LTRIM', K_FREES, 0, FREES_KEPT - 1) end
end

-- Slots freed per second over the last ten minutes (0 when none were seen).  The times are kept
-- newest first, so the ones inside the window are a prefix of the list, found with a few LINDEX
-- (a busy room: the oldest kept is inside, two reads; else a binary search).  A scan of the 200
-- kept times cost ~25-45 µs of Redis CPU in every join, visit and snapshot refresh of a busy room.
local function free_rate()
  if RATE then return RATE end
  local since = NOW - RATE_WINDOW_MS
  local kept = redis.call('LLEN', K_FREES)
  local lo, hi = 0, kept
  if kept > 0 and tonumber(redis.call('LINDEX', K_FREES, -1)) >= since then lo = kept end  -- a busy room: all
  while lo < hi do  -- invariant: the first lo are inside, those from hi on are not (or do not exist)
    local mid = math.floor((lo + hi) / 2)
    if tonumber(redis.call('LINDEX', K_FREES, mid)) >= since then lo = mid + 1 else hi = mid end
  end
  if lo == 0 then RATE = 0 return RATE end
  local oldest = tonumber(redis.call('LINDEX', K_FREES, lo - 1))
  RATE = lo * 1000 / math.max(NOW - oldest, 1000)
  return RATE
end

-- The first moment the window is open: the pre-queue (random draws fixed at each join) takes the
-- places after everyone queued so far.  O(1): nobody is moved; the draws already are the order.
local function open_if_due(c)
  if c.opened == 1 or NOW < c.opens then return end
  local shuffled = redis.call('ZCARD', K_PRE)
  c.opened = 1
  c.pre_base = c.tail
  c.tail = c.tail + shuffled
  if shuffled > 0 then c.gen = c.gen + 1 end
  redis.call('HSET', K_CFG, 'opened', 1, 'pre_base', c.pre_base, 'tail', c.tail, 'gen', c.gen)
end

-- Leases and arrival graces that ended free their slots.
local function expire()
  local gone = redis.call('ZRANGEBYSCORE', K_ACT, '-inf', NOW, 'LIMIT', 0, 1000)
  for _, ref in ipairs(gone) do
    redis.call('ZREM', K_ACT, ref)
    local val = redis.call('HGET', K_V, ref)
    if val and string.sub(val, 1, 2) == 'a|' then redis.call('HDEL', K_V, ref) end
  end
  note_frees(#gone)
  return #gone
end

-- Admissions stop while an admin paused the room, the service holds it (e.g. PostgreSQL is down)
-- or a lost room is being rebuilt (its survivors come back with their tickets and tokens first).
local function admitting(c)
  return c.paused ~= 1 and c.hold_until <= NOW and c.recover_until <= NOW
end

-- The next place off the queue: survivors of a lost room, then the places in order (the pre-queue's
-- after the places before pre_base).  Returns the ref and the record kind it must have.
local function pop_next(c)
  local got = redis.call('ZPOPMIN', K_OLD)
  if got[1] then return got[1], 's|' end
  if c.head >= c.pre_base then
    got = redis.call('ZPOPMIN', K_PRE)
    if got[1] then c.head = c.head + 1 return got[1], 'p|' end
  end
  local ref = redis.call('LPOP', K_Q)
  if ref then c.head = c.head + 1 return ref, 'w|' end
  got = redis.call('ZPOPMIN', K_PRE)
  if got[1] then c.head = c.head + 1 return got[1], 'p|' end
  return nil
end

-- Admit from the head while slots are free and the window is open; skip who stopped polling.
local function admit(c)
  if phase(c) ~= 'open' or not admitting(c) then return 0 end
  open_if_due(c)
  local active = redis.call('ZCARD', K_ACT)
  local admitted, skipped = 0, 0
  local abandoned_before = math.floor(NOW / 1000) - c.abandon_after
  while active < c.max_active and skipped < SKIP_LIMIT do
    local ref, kind = pop_next(c)
    if not ref then break end
    local val = redis.call('HGET', K_V, ref) or ''
    local current = string.sub(val, 1, 2) == kind
    if current and kind == 'w|' then current = tonumber(string.match(val, '^w|(%d+)|')) == c.head end
    if not current then
      skipped = skipped + 1  -- a stale entry: the visitor's record moved on (admitted, re-seated)
    elseif seen_of(val) < abandoned_before then
      redis.call('HDEL', K_V, ref)
      skipped = skipped + 1
    else
      c.jseq = c.jseq + 1
      redis.call('HSET', K_V, ref, 'a|' .. c.epoch .. '.' .. c.jseq .. '|0')
      redis.call('ZADD', K_ACT, NOW + c.arrival_grace * 1000, ref)
      active = active + 1
      admitted = admitted + 1
    end
  end
  if admitted + skipped > 0 then redis.call('HSET', K_CFG, 'head', c.head, 'jseq', c.jseq) end
  return admitted
end

-- Does ref hold the slot jti now?
local function holds(ref, jti)
  local val = redis.call('HGET', K_V, ref)
  if val ~= 'a|' .. jti .. '|0' and val ~= 'a|' .. jti .. '|1' then return false end
  return tonumber(redis.call('ZSCORE', K_ACT, ref) or 0) > NOW
end

-- A slot given by a lost room (its jti names an older epoch) is taken back by the token that holds it,
-- while slots are free (the rebuilt room admits nobody new during its recovery grace, so they are).
local function reclaim(c, ref, jti)
  local epoch = tonumber(string.match(jti, '^(%d+)%.'))
  if not epoch or epoch >= c.epoch_n then return false end
  local val = redis.call('HGET', K_V, ref)
  if val and string.sub(val, 1, 2) == 'a|' then return false end
  if redis.call('ZCARD', K_ACT) >= c.max_active then return false end
  redis.call('ZREM', K_PRE, ref)
  redis.call('ZREM', K_OLD, ref)
  redis.call('HSET', K_V, ref, 'a|' .. jti .. '|1')
  redis.call('ZADD', K_ACT, NOW + c.session_ttl * 1000, ref)
  return true
end

-- Renew the lease of a slot that is held (or reclaimed); the new end of the lease.
local function renew(c, ref, jti)
  local deadline = NOW + c.session_ttl * 1000
  redis.call('HSET', K_V, ref, 'a|' .. jti .. '|1')
  redis.call('ZADD', K_ACT, deadline, ref)
  return deadline
end

local COUNTS = nil  -- the room's counts for describe(), taken once per call (after its changes)

local function counts()
  if not COUNTS then
    COUNTS = {waiting_count(), redis.call('ZCARD', K_ACT), tostring(free_rate()), redis.call('ZCARD', K_OLD)}
  end
  return COUNTS
end

-- What a visitor's record says, for the caller: {kind, epoch, gen, ...}.  Called last in a script.
local function describe(c, ref)
  local val = redis.call('HGET', K_V, ref)
  if not val then return {'gone', c.epoch, c.gen} end
  local k = string.sub(val, 1, 2)
  if k == 'a|' then
    local jti, arrived = string.match(val, '^a|([^|]+)|(%d)$')
    local deadline = redis.call('ZSCORE', K_ACT, ref)
    return {'admitted', c.epoch, c.gen, jti, tonumber(arrived), tonumber(deadline) or NOW}
  end
  local n = counts()
  local waiting, active, rate = n[1], n[2], n[3]
  if k == 's|' then
    local rank = redis.call('ZRANK', K_OLD, ref)
    if not rank then return {'gone', c.epoch, c.gen} end
    local score = tonumber(redis.call('ZSCORE', K_OLD, ref))
    local epoch = math.floor(score / SEQ_SPAN)
    -- the place it keeps is the lost room's: its ticket stays that room's
    return {'survivor', string.format('%d', epoch), 0, score - epoch * SEQ_SPAN, rank + 1, waiting, active, rate}
  end
  local seq
  if k == 'p|' then
    local rank = redis.call('ZRANK', K_PRE, ref)
    if not rank then return {'gone', c.epoch, c.gen} end
    local base = c.tail
    if c.opened == 1 then base = c.pre_base end
    seq = math.max(c.head, base) + rank + 1
  else
    seq = tonumber(string.match(val, '^w|(%d+)|'))
  end
  local position = n[4] + seq - c.head
  return {'waiting', c.epoch, c.gen, seq, math.max(position, 1), waiting, active, rate}
end
