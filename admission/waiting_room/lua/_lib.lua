-- Shared by every waiting-room script (prepended to each one when loaded).
--
-- KEYS (all of one room, one {hash tag}):
--   1 cfg   hash:  settings, window (ms), counters head/tail/epoch/gen/jseq/opened, hold_until (ms)
--   2 q     list:  ИИНs waiting, in admission order (LPOP = head)
--   3 v     hash:  ИИН -> "w|<seq>|<last seen, s>" (waiting) or "a|<jti>|<arrived 0/1>" (admitted)
--   4 act   zset:  admitted ИИНs scored by the end of their lease or arrival grace (ms)
--   5 frees list:  times (ms) of the last slot releases/expiries, newest first (the rate estimate)
-- ARGV[1] is always "now" in ms, ARGV[2] a random seed (used only to shuffle the pre-queue).
local K_CFG, K_Q, K_V, K_ACT, K_FREES = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local NOW = tonumber(ARGV[1])
local SEED = tonumber(ARGV[2])
local FREES_KEPT = 200
local RATE_WINDOW_MS = 600000
local SKIP_LIMIT = 20000

local CFG_FIELDS = {
  'epoch', 'max_active', 'session_ttl', 'arrival_grace', 'abandon_after', 'max_waiting', 'prequeue_minutes',
  'queue_policy', 'opens', 'closes', 'head', 'tail', 'gen', 'jseq', 'opened',
  'paused', 'pause_message', 'challenge', 'hold_until',
}
local TEXT_FIELDS = {epoch = true, queue_policy = true, pause_message = true}

local function load_cfg()
  local raw = redis.call('HMGET', K_CFG, unpack(CFG_FIELDS))
  if not raw[1] then return nil end
  local c = {}
  for i, name in ipairs(CFG_FIELDS) do
    if TEXT_FIELDS[name] then c[name] = raw[i] or '' else c[name] = tonumber(raw[i]) or 0 end
  end
  return c
end

local function phase(c)
  if NOW < c.opens - c.prequeue_minutes * 60000 then return 'not_open' end
  if NOW < c.opens then return 'prequeue' end
  if NOW < c.closes then return 'open' end
  return 'closed'
end

local function parse_waiting(val)
  local seq, seen = string.match(val, '^w|(%d+)|(%d+)$')
  return tonumber(seq), tonumber(seen)
end

local RATE = nil  -- free_rate() of this call, computed once

local function note_frees(count)
  RATE = nil
  for _ = 1, count do redis.call('LPUSH', K_FREES, NOW) end
  if count > 0 then redis.call('LTRIM', K_FREES, 0, FREES_KEPT - 1) end
end

-- Slots freed per second over the last ten minutes (0 when none were seen).
local function free_rate()
  if RATE then return RATE end
  local times = redis.call('LRANGE', K_FREES, 0, -1)
  local n, oldest = 0, NOW
  for _, t in ipairs(times) do
    local ms = tonumber(t)
    if ms < NOW - RATE_WINDOW_MS then break end
    n = n + 1
    oldest = ms
  end
  if n == 0 then RATE = 0 return RATE end
  RATE = n * 1000 / math.max(NOW - oldest, 1000)
  return RATE
end

-- At the first moment the window is open: shuffle everyone who joined before (shuffle_prequeue).
local function open_if_due(c)
  if c.opened == 1 or NOW < c.opens then return end
  c.opened = 1
  redis.call('HSET', K_CFG, 'opened', 1)
  if c.queue_policy ~= 'shuffle_prequeue' then return end
  local items = redis.call('LRANGE', K_Q, 0, -1)
  local n = #items
  if n == 0 then return end
  math.randomseed(SEED)
  for i = n, 2, -1 do
    local j = math.random(i)
    items[i], items[j] = items[j], items[i]
  end
  redis.call('DEL', K_Q)
  for i = 1, n, 1000 do
    redis.call('RPUSH', K_Q, unpack(items, i, math.min(i + 999, n)))
  end
  for i, iin in ipairs(items) do
    local val = redis.call('HGET', K_V, iin)
    local _, seen = parse_waiting(val or '')
    redis.call('HSET', K_V, iin, 'w|' .. (c.head + i) .. '|' .. (seen or math.floor(NOW / 1000)))
  end
  c.tail = c.head + n
  c.gen = c.gen + 1
  redis.call('HSET', K_CFG, 'tail', c.tail, 'gen', c.gen)
end

-- Leases and arrival graces that ended free their slots.
local function expire()
  local gone = redis.call('ZRANGEBYSCORE', K_ACT, '-inf', NOW, 'LIMIT', 0, 1000)
  for _, iin in ipairs(gone) do
    redis.call('ZREM', K_ACT, iin)
    local val = redis.call('HGET', K_V, iin)
    if val and string.sub(val, 1, 2) == 'a|' then redis.call('HDEL', K_V, iin) end
  end
  note_frees(#gone)
  return #gone
end

-- Admissions stop while an admin paused the room or the service holds it (e.g. PostgreSQL is down):
-- the queue keeps its order, slots already given keep their leases.
local function admitting(c)
  return c.paused ~= 1 and c.hold_until <= NOW
end

-- Admit from the head while slots are free and the window is open; skip who stopped polling.
local function admit(c)
  if phase(c) ~= 'open' or not admitting(c) then return 0 end
  open_if_due(c)
  local active = redis.call('ZCARD', K_ACT)
  local admitted, skipped = 0, 0
  local abandoned_before = math.floor(NOW / 1000) - c.abandon_after
  while active < c.max_active and skipped < SKIP_LIMIT do
    local iin = redis.call('LPOP', K_Q)
    if not iin then break end
    c.head = c.head + 1
    local val = redis.call('HGET', K_V, iin)
    local seq, seen = parse_waiting(val or '')
    if seq == nil then
      skipped = skipped + 1
    elseif seen < abandoned_before then
      redis.call('HDEL', K_V, iin)
      skipped = skipped + 1
    else
      c.jseq = c.jseq + 1
      redis.call('HSET', K_V, iin, 'a|' .. c.epoch .. '.' .. c.jseq .. '|0')
      redis.call('ZADD', K_ACT, NOW + c.arrival_grace * 1000, iin)
      active = active + 1
      admitted = admitted + 1
    end
  end
  if admitted + skipped > 0 then redis.call('HSET', K_CFG, 'head', c.head, 'jseq', c.jseq) end
  return admitted
end

-- What a visitor's record says, for the caller: {kind, ...}.
local function describe(c, iin)
  local val = redis.call('HGET', K_V, iin)
  if not val then return {'gone', c.epoch, c.gen} end
  if string.sub(val, 1, 2) == 'a|' then
    local jti, arrived = string.match(val, '^a|([^|]+)|(%d)$')
    local deadline = redis.call('ZSCORE', K_ACT, iin)
    return {'admitted', c.epoch, c.gen, jti, tonumber(arrived), tonumber(deadline) or NOW}
  end
  local seq = parse_waiting(val)
  return {'waiting', c.epoch, c.gen, seq, c.head, redis.call('LLEN', K_Q), redis.call('ZCARD', K_ACT),
          tostring(free_rate())}
end
