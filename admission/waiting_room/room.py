"""One waiting room per region, kept in Redis (pilot algorithm para 5).

Every state change -- join, visit (a poll that needs Redis), touch, heartbeat,
release, filing, sweep, configure -- is ONE Lua script call: check-then-act is
atomic and costs one round trip.  Joins go several to a call (``join_many``), and
so do a slot's visits, heartbeats, releases and filings (``session_many``,
``lua/session.lua``): a worker gathers the ones that arrive together
(``visitors._Gather``), each still applied alone and in order.  The scripts live
in ``lua/*.lua``; ``lua/_lib.lua`` (shared helpers) is prepended to each when it
is loaded, once per process.

Places are numbered: a visitor's ``seq`` is its place in arrival order and
the room's ``head`` counts places taken off the queue, so a waiting visitor's
position is ``survivors + seq - head`` -- O(1), no ZRANK.  Visitors who
stopped polling are skipped when they reach the head (``abandon_after``), so
the position is an upper bound that never grows.

``shuffle_prequeue``: who joins before the opening gets a random draw, fixed at
the join, as its rank in a sorted set; at the opening those ranks take the
places after the ones given so far -- O(1), nobody is moved.

A lost room (Redis restarted empty) is rebuilt with a larger ``epoch``.  The
tickets and access tokens of the lost room still verify: a ticket re-seats its
holder among the *survivors* (a sorted set by the lost room's epoch and place,
admitted before anyone else), an access token takes its slot back.  A rebuilt
room admits nobody new for a recovery grace, so everyone comes back first and
the slots never exceed ``max_active``.  Members are applicant references, never
ИИНs (``applicants.py``).

Time is passed in (``now``) so tests can set the clock; windows are epoch
milliseconds in Redis and aware datetimes here.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Any, Generic, Literal, TypeVar

import msgspec
import redis.asyncio as aioredis

from admission.waiting_room.errors import RoomMissing
from admission.waiting_room.keys import challenge_key, client_key, filed_key, room_keys

QueuePolicy = Literal["fifo", "shuffle_prequeue"]
Phase = Literal["not_open", "prequeue", "open", "closed"]


class RoomSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What an admin may change at runtime (``PATCH /v1/admin/rooms/{region}``)."""

    max_active: int = 200
    """Applications processed at once (admitted visitors holding a slot)."""
    session_ttl: int = 45
    """Seconds of inactivity an admitted visitor's slot survives: each heartbeat (the form sends one every
    quarter of it) and each filing renew the lease, so a closed tab frees its slot within this."""
    arrival_grace: int = 120
    """Seconds an admitted visitor has to come for its access token before the slot goes to the next."""
    abandon_after: int = 180
    """A waiting visitor not seen polling for this many seconds is skipped when it reaches the head."""
    max_waiting: int = 500_000
    """Joins beyond this many waiting visitors are refused with ``queue_full`` and Retry-After."""
    prequeue_minutes: int = 60
    """Visitors may join this many minutes before the window opens (no one is admitted before it opens)."""
    queue_policy: QueuePolicy = "fifo"
    """``fifo``: arrival order; ``shuffle_prequeue``: who joined before opening is shuffled at opening."""
    paused: bool = False
    """An admin paused admissions: visitors still join and keep their places, nobody new is admitted."""
    pause_message: str = ""
    """Shown to waiting parents while the room is paused (the admin's words; may be empty)."""
    challenge: bool = False
    """Joining from the waiting page first needs a proof-of-work solution (flood defence)."""


SETTING_NAMES: tuple[str, ...] = RoomSettings.__struct_fields__
CFG_FIELDS: tuple[str, ...] = (
    "epoch", "max_active", "session_ttl", "arrival_grace", "abandon_after", "max_waiting", "prequeue_minutes",
    "queue_policy", "opens", "closes", "head", "tail", "gen", "jseq", "opened",
    "paused", "pause_message", "challenge", "hold_until", "recover_until", "pre_base",
)  # fmt: skip
"""The fields of a room's ``cfg`` hash in the order ``lua/_lib.lua``'s ``CFG_FIELDS`` lists them."""


class RoomState(msgspec.Struct, frozen=True, kw_only=True):
    """A room as one script call saw it: settings, window, counters and the measured free rate."""

    region: str
    settings: RoomSettings
    opens_at: dt.datetime
    closes_at: dt.datetime
    epoch: str
    gen: int
    head: int
    tail: int
    waiting: int
    active: int
    free_rate: float
    """Slots freed per second over the last ten minutes (0 when none yet)."""
    opens_ts: float
    """``opens_at`` as unix seconds (the poll path compares floats)."""
    closes_ts: float
    held_until: float = 0.0
    """Unix seconds until which the service holds admissions (PostgreSQL unhealthy); 0 when not held."""
    recovering_until: float = 0.0
    """Unix seconds until which a rebuilt room admits nobody new (its survivors come back first)."""
    survivors: int = 0
    """Waiting survivors of a lost room: they are ahead of every place of this epoch."""

    def admitting_at(self, ts: float) -> bool:
        """False while paused, held or recovering: places are kept, nobody is admitted."""
        return not self.settings.paused and self.held_until <= ts and self.recovering_until <= ts

    @property
    def prequeue_opens_at(self) -> dt.datetime:
        return self.opens_at - dt.timedelta(minutes=self.settings.prequeue_minutes)

    def phase(self, now: dt.datetime) -> Phase:
        return self.phase_at(now.timestamp())

    def phase_at(self, ts: float) -> Phase:
        """The phase at unix time ``ts`` (the poll path's cheaper clock)."""
        opens = self.opens_ts
        if ts < opens - self.settings.prequeue_minutes * 60:
            return "not_open"
        if ts < opens:
            return "prequeue"
        if ts < self.closes_ts:
            return "open"
        return "closed"

    def rate(self) -> float:
        """Places expected to free per second: measured, else every slot turning over once per typical visit."""
        fallback = max(self.settings.max_active, 1) / TYPICAL_VISIT_SECONDS
        return self.free_rate if self.free_rate > 0 else fallback

    def eta_seconds(self, position: int, now: dt.datetime) -> int:
        """Estimated seconds until the visitor at ``position`` (1 = next) is admitted."""
        return self.eta_at(position, now.timestamp())

    def eta_at(self, position: int, ts: float) -> int:
        free_now = max(self.settings.max_active - self.active, 0)
        wait = 0.0 if position <= free_now else (position - free_now) / self.rate()
        if ts < self.opens_ts:
            wait += self.opens_ts - ts
        return math.ceil(wait)


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """Where one visitor stands after a join or a visit."""

    status: Literal["waiting", "admitted", "gone"]
    epoch: str
    gen: int
    seq: int = 0
    position: int = 0
    """1 = next; 0 when not waiting."""
    survivor: bool = False
    """Re-seated from a lost room: the visitor keeps the ticket it has (its epoch and place)."""
    waiting: int = 0
    active: int = 0
    free_rate: float = 0.0
    jti: str = ""
    lease_ends_at: dt.datetime | None = None


class SlotUse(msgspec.Struct, frozen=True, kw_only=True):
    """What filing for one child did to the slot (``WaitingRoom.use_slot``)."""

    outcome: Literal["ok", "repeat", "ended"]
    """``ok``: a new child counted; ``repeat``: this slot already filed for the child (not counted);
    ``ended``: the slot is released, expired, never given, or filed for its limit of children."""
    filed: int = 0
    """Children this slot has filed for, this one included (``ok`` only)."""


class RoomCreated(msgspec.Struct, frozen=True, kw_only=True):
    created: bool
    """This call created the room (it was missing)."""
    epoch: str


class WindowRefusal(msgspec.Struct, frozen=True, kw_only=True):
    """A join refused because of the window or the queue's size."""

    reason: Literal["not_open", "closed", "full"]
    waiting: int = 0
    free_rate: float = 0.0


class JoinDoor(msgspec.Struct, frozen=True, kw_only=True, gc=False):  # str and int only: no cycle to collect
    """What the flood defence (issue 12) asks of one join, checked inside the join's own script call
    (no round trip of its own): the client's allowance in this room and a proof of work used once."""

    client: str = ""
    """Count this join against this client's allowance in the room ("": not counted).  Counted per
    room: a client joining two regions' rooms has an allowance in each."""
    per_window: int = 0
    """Joins the client may make in this room per window; the next ones are refused ``too_many``."""
    window_seconds: int = 60
    challenge: str = ""
    """The id of a solved, verified proof-of-work challenge; a join goes ahead with it once ("": none)."""
    challenge_expires: int = 0
    """Unix seconds: when the challenge can no longer be answered (its used-marker is kept until then)."""


NO_DOOR = JoinDoor()


class DoorRefusal(msgspec.Struct, frozen=True, kw_only=True):
    """A join the door refused: the client is over its allowance, or its challenge was used already."""

    reason: Literal["too_many", "replayed"]
    retry_after: int = 0
    """``too_many``: seconds until the client's window ends."""


JoinResult = Place | WindowRefusal | DoorRefusal
"""What one join got: a place, or why not."""


class SweepReport(msgspec.Struct, frozen=True, kw_only=True):
    expired: int
    """Leases and arrival graces ended by this sweep (-1: the room does not exist)."""
    admitted: int
    waiting: int = 0
    active: int = 0


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_ms(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value / 1000, dt.UTC)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _load_scripts() -> dict[str, str]:
    folder = resources.files("admission.waiting_room").joinpath("lua")
    lib = folder.joinpath("_lib.lua").read_text("utf-8")
    names = ("join", "session", "touch", "sweep", "configure", "state")
    return {name: lib + "\n" + folder.joinpath(f"{name}.lua").read_text("utf-8") for name in names}


_SCRIPTS = _load_scripts()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


TYPICAL_VISIT_SECONDS = 300
"""How long a family holds a slot, for the wait estimate until frees are measured."""
EPOCH_ORIGIN = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
FILED_REMEMBERED_SECONDS = 24 * 3600
"""How long the children a slot filed for are remembered (a re-sent form passes again)."""


def epoch_at(now: dt.datetime) -> int:
    """A new room's epoch: whole seconds since 2024 (below 2^29 until 2041: the survivors' scores stay exact)."""
    return max(int((now - EPOCH_ORIGIN).total_seconds()), 1)


def epoch_number(epoch: str) -> int:
    """An epoch as a number (0 for a room of an older release, whose epochs were random)."""
    return int(epoch) if epoch.isdigit() else 0


class WaitingRoom:
    """The rooms of every region in one Redis.  Cheap to construct; scripts are registered once."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._scripts = {name: redis.register_script(source) for name, source in _SCRIPTS.items()}

    async def _call(self, name: str, region: str, now: dt.datetime, *args: str | int) -> Any:
        return await self._scripts[name](keys=room_keys(region), args=[_ms(now), 0, *args])

    # -- configuration ------------------------------------------------------------------------

    async def ensure(
        self,
        region: str,
        opens_at: dt.datetime,
        closes_at: dt.datetime,
        defaults: RoomSettings | None = None,
        now: dt.datetime | None = None,
        *,
        epoch: int | None = None,
        recovery_seconds: float = 0,
    ) -> RoomCreated:
        """Create the room if missing (settings already set are kept) and set its window.

        ``epoch`` (default: from the clock) and ``recovery_seconds`` apply only when this call creates
        the room: a room rebuilt after a loss gets an epoch above the lost one's and admits nobody new
        for the grace (``rebuild.ensure_room`` decides both from PostgreSQL).
        """
        moment = now or _now()
        pairs = _setting_pairs(defaults or RoomSettings())
        created, in_effect = await self._call(
            "configure", region, moment, epoch or epoch_at(moment), 1, int(recovery_seconds * 1000),
            "opens", _ms(opens_at), "closes", _ms(closes_at), *pairs,
        )  # fmt: skip
        return RoomCreated(created=created == 1, epoch=_text(in_effect))

    async def configure_window(
        self, region: str, opens_at: dt.datetime, closes_at: dt.datetime, now: dt.datetime | None = None
    ) -> None:
        """Follow a window an admin changed in PostgreSQL (``regions``)."""
        await self.ensure(region, opens_at, closes_at, now=now)

    async def configure(
        self, region: str, changes: Mapping[str, int | str | bool], now: dt.datetime | None = None
    ) -> RoomState:
        """Change some settings in one atomic call.

        A raised ``max_active`` admits at once; a lowered one evicts no one.
        """
        unknown = set(changes) - set(SETTING_NAMES)
        if unknown:
            raise ValueError(f"not room settings: {sorted(unknown)}")
        pairs: list[str | int] = [item for name, value in changes.items() for item in (name, _redis_value(value))]
        moment = now or _now()
        await self._call("configure", region, moment, epoch_at(moment), 0, 0, *pairs)
        return await self.state(region, now)

    async def state(self, region: str, now: dt.datetime | None = None) -> RoomState:
        raw = await self._call("state", region, now or _now())
        if raw is None:
            raise RoomMissing("the room is being rebuilt", retry_after=1)
        values = [_text(x) for x in raw]
        f = dict(zip(CFG_FIELDS, values, strict=False))
        waiting, survivors, active, free_rate = values[len(CFG_FIELDS) :]
        settings = RoomSettings(
            max_active=int(f["max_active"]),
            session_ttl=int(f["session_ttl"]),
            arrival_grace=int(f["arrival_grace"]),
            abandon_after=int(f["abandon_after"]),
            max_waiting=int(f["max_waiting"]),
            prequeue_minutes=int(f["prequeue_minutes"]),
            queue_policy="shuffle_prequeue" if f["queue_policy"] == "shuffle_prequeue" else "fifo",
            paused=f["paused"] == "1",
            pause_message=f["pause_message"],
            challenge=f["challenge"] == "1",
        )
        return RoomState(
            region=region,
            settings=settings,
            opens_at=_from_ms(float(f["opens"])),
            closes_at=_from_ms(float(f["closes"])),
            opens_ts=float(f["opens"]) / 1000,
            closes_ts=float(f["closes"]) / 1000,
            head=int(f["head"]),
            tail=int(f["tail"]),
            epoch=f["epoch"],
            gen=int(f["gen"]),
            waiting=int(waiting),
            active=int(active),
            free_rate=float(free_rate),
            held_until=float(f["hold_until"]) / 1000,
            recovering_until=float(f["recover_until"]) / 1000,
            survivors=int(survivors),
        )

    async def hold(self, region: str, until: dt.datetime, now: dt.datetime | None = None) -> None:
        """Admit nobody until ``until`` (a lease: whoever holds keeps renewing it; it lapses by itself).

        The service holds a room while PostgreSQL is unhealthy, so nobody burns a slot on a form that
        cannot be filed.  ``until`` in the past lifts the hold at once (and refills free slots).
        """
        moment = now or _now()
        await self._call("configure", region, moment, epoch_at(moment), 0, 0, "hold_until", _ms(until))

    # -- visitors ---------------------------------------------------------------------------

    # A visitor is named by ``applicant``: the opaque reference the room keeps (``applicants.py``).

    async def join(self, region: str, applicant: str, now: dt.datetime, door: JoinDoor = NO_DOOR) -> JoinResult:
        """Take a place (or get back the one this applicant holds), if ``door`` lets the join through."""
        return (await self.join_many(region, [applicant], now, [door]))[0]

    async def join_many(
        self, region: str, applicants: list[str], now: dt.datetime, doors: Sequence[JoinDoor] | None = None
    ) -> list[JoinResult]:
        """Several joins in one atomic script call (in order), one result each; ``doors``: each join's."""
        keys = room_keys(region)  # then the door's keys, named by their index (a key named twice counts twice)
        args: list[str | int] = [_ms(now), 0]
        for applicant, door in zip(applicants, doors or [NO_DOOR] * len(applicants), strict=True):
            counted = used = 0
            if door.client and door.per_window > 0:
                keys.append(client_key(region, door.client))
                counted = len(keys)
            if door.challenge:
                keys.append(challenge_key(region, door.challenge))
                used = len(keys)
            # each with a random draw: its rank if it joins a shuffled pre-queue
            args += (applicant, secrets.randbits(52), counted, door.per_window, door.window_seconds, used,
                     door.challenge_expires)  # fmt: skip
        raw = await self._scripts["join"](keys=keys, args=args)
        if raw and _text(raw[0]) == "no_room":
            raise RoomMissing("the room is being rebuilt", retry_after=1)
        return [_join_result(item) for item in raw]

    async def visit(
        self, region: str, applicant: str, now: dt.datetime, *, ticket_epoch: str = "", ticket_seq: int = 0
    ) -> Place:
        """A poll that needs Redis: where the visitor stands now; an admitted one has now arrived.

        A ticket of a lost room (``ticket_epoch`` older than the room's) re-seats its holder at its place.
        """
        return await self.session_one(region, visit_op(applicant, ticket_epoch, ticket_seq), now)

    async def touch(self, region: str, applicants: list[str], now: dt.datetime) -> int:
        """Note that these waiting visitors still poll (their polls were answered from a cache)."""
        if not applicants:
            return 0
        touched: int = await self._call("touch", region, now, *applicants)
        return touched

    async def heartbeat(self, region: str, applicant: str, jti: str, now: dt.datetime) -> dt.datetime | None:
        """Renew the lease of slot ``jti`` (or take it back from a lost room); None when that slot is gone."""
        return await self.session_one(region, heartbeat_op(applicant, jti), now)

    async def release(self, region: str, applicant: str, jti: str, now: dt.datetime | None = None) -> bool:
        """Free slot ``jti`` and admit the next; False when it was already free."""
        return await self.session_one(region, release_op(applicant, jti), now or _now())

    async def use_slot(
        self, region: str, applicant: str, jti: str, child: str, limit: int, now: dt.datetime | None = None
    ) -> SlotUse:
        """Filing for ``child`` (a reference) with slot ``jti``: check and count it in one atomic call.

        The slot must be held now (a lost room's slot is taken back), with fewer than ``limit`` children
        filed; a child it already filed for passes again uncounted, also after the slot ended.
        """
        return await self.session_one(region, file_op(region, applicant, jti, child, limit), now or _now())

    async def session_one(self, region: str, op: SessionOp[T], now: dt.datetime) -> T:
        """One visit, heartbeat, release or filing alone (a worker's requests gather theirs: ``Visitors.slot_op``)."""
        return op.read((await self.session_many(region, [op], now))[0])

    async def session_many(self, region: str, ops: Sequence[SessionOp[Any]], now: dt.datetime) -> list[Any]:
        """Several visits, heartbeats, releases and filings in one script call (in order): each one's raw
        answer, for its ``read``.  RoomMissing when the room does not exist: nothing was done (releases alone
        answer "already free", as a release of a missing room always did)."""
        keys = room_keys(region)
        args: list[str | int] = [_ms(now), 0]
        for op in ops:
            key = 0
            if op.key:
                keys.append(op.key)
                key = len(keys)
            args += (*op.args, key)
        raw = await self._scripts["session"](keys=keys, args=args)
        if any(isinstance(item, list) and _text(item[0]) == "no_room" for item in raw):
            raise RoomMissing("the room is being rebuilt", retry_after=1)
        return list(raw)

    async def sweep(self, region: str, now: dt.datetime) -> SweepReport:
        """End expired leases and refill free slots (the background sweeper calls this every second)."""
        expired, admitted, waiting, active = await self._call("sweep", region, now)
        return SweepReport(expired=int(expired), admitted=int(admitted), waiting=int(waiting), active=int(active))


T = TypeVar("T")


class SessionOp(Generic[T]):
    """One operation of ``lua/session.lua`` (a visit, heartbeat, release or filing): its arguments, the
    slot's filed set when it files, and how its answer reads.  ``WaitingRoom.session_many`` sends several."""

    __slots__ = ("args", "key", "read")

    def __init__(self, args: tuple[str | int, ...], read: Callable[[Any], T], key: str = "") -> None:
        self.args = args
        """kind, ref and the kind's four own (``session.lua``)."""
        self.key = key
        self.read = read


def visit_op(applicant: str, ticket_epoch: str = "", ticket_seq: int = 0) -> SessionOp[Place]:
    return SessionOp(("visit", applicant, ticket_epoch, ticket_seq, "", ""), _place)


def heartbeat_op(applicant: str, jti: str) -> SessionOp[dt.datetime | None]:
    return SessionOp(("heartbeat", applicant, jti, "", "", ""), _lease_end)


def release_op(applicant: str, jti: str) -> SessionOp[bool]:
    return SessionOp(("release", applicant, jti, "", "", ""), _released)


def file_op(region: str, applicant: str, jti: str, child: str, limit: int) -> SessionOp[SlotUse]:
    return SessionOp(
        ("file", applicant, jti, child, limit, FILED_REMEMBERED_SECONDS), _slot_use, filed_key(region, jti)
    )


def _lease_end(raw: list[Any]) -> dt.datetime | None:
    return _from_ms(float(raw[1])) if _text(raw[0]) == "ok" else None


def _released(raw: Any) -> bool:
    return int(raw) == 1


def _slot_use(raw: list[Any]) -> SlotUse:
    kind = _text(raw[0])
    if kind == "ok":
        return SlotUse(outcome="ok", filed=int(raw[1]))
    return SlotUse(outcome="repeat" if kind == "repeat" else "ended")


def _redis_value(value: int | str | bool) -> int | str:
    return int(value) if isinstance(value, bool) else value


def _setting_pairs(settings: RoomSettings) -> list[str | int]:
    pairs: list[str | int] = []
    for name in SETTING_NAMES:
        pairs += [name, _redis_value(getattr(settings, name))]
    return pairs


def _join_result(raw: list[Any]) -> JoinResult:
    kind = _text(raw[0])
    if kind == "too_many":
        return DoorRefusal(reason="too_many", retry_after=int(raw[1]))
    if kind == "replayed":
        return DoorRefusal(reason="replayed")
    if kind == "full":
        return WindowRefusal(reason="full", waiting=int(raw[1]), free_rate=float(_text(raw[2])))
    if kind == "not_open":
        return WindowRefusal(reason="not_open")
    if kind == "closed":
        return WindowRefusal(reason="closed")
    return _place(raw)


def _place(raw: list[Any]) -> Place:
    kind = _text(raw[0])
    epoch, gen = _text(raw[1]), int(raw[2])
    if kind in ("waiting", "survivor"):
        return Place(
            status="waiting",
            epoch=epoch,
            gen=gen,
            seq=int(raw[3]),
            position=int(raw[4]),
            survivor=kind == "survivor",
            waiting=int(raw[5]),
            active=int(raw[6]),
            free_rate=float(_text(raw[7])),
        )
    if kind == "admitted":
        return Place(
            status="admitted",
            epoch=epoch,
            gen=gen,
            jti=_text(raw[3]),
            lease_ends_at=_from_ms(float(raw[5])),
        )
    return Place(status="gone", epoch=epoch, gen=gen)
