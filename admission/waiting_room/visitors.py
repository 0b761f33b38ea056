"""The waiting room as the HTTP edge uses it: join, poll, heartbeat, leave, the public view.

Polls are the hottest path of the system.  A waiting visitor's poll is
answered from a per-worker snapshot of the room (one Redis call refreshes it
at most every ``snapshot_max_age`` seconds, single-flight), using the
``seq`` its ticket carries: position = ``survivors + seq - head``.  Only a
visitor whose situation may have changed -- the head has reached it, the
pre-queue took its places, its ticket is old or from a room Redis lost (the
visit re-seats it) -- costs a Redis call.  The room knows visitors by their
applicant reference (``applicants.py``), never by ИИН.  That the visitor is still
polling is recorded in batches (``flush_touches``, one script call per room
per sweep) so ``abandon_after`` can skip those who left.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Generic, Literal, TypeVar

import msgspec

from admission.access import mint_access_token, verify_access_token
from admission.errors import UnknownRegion
from admission.signing_keys import KeySet
from admission.waiting_room.applicants import ApplicantRefs
from admission.waiting_room.errors import (
    ChallengeFailed,
    QueueFull,
    SessionEnded,
    TooManyJoins,
    WindowClosed,
    WindowNotOpen,
)
from admission.waiting_room.room import (
    NO_DOOR,
    DoorRefusal,
    JoinDoor,
    JoinResult,
    Place,
    RoomState,
    SessionOp,
    WaitingRoom,
    WindowRefusal,
    heartbeat_op,
    release_op,
    visit_op,
)
from admission.waiting_room.tickets import TICKET_REFRESH_SECONDS, TicketSigner

log = logging.getLogger("kezek.waiting_room")

VisitorStatus = Literal["waiting", "admitted", "expired", "closed"]
MIN_POLL_SECONDS = 2.0
MAX_POLL_SECONDS = 30.0


class VisitorView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What a visitor sees after joining or polling."""

    ticket: str
    status: VisitorStatus
    """``waiting``; ``admitted`` (go to ``redirect_url`` with ``access_token``); ``expired`` (the place is gone:
    skipped after not polling, lease over or released -- join again); ``closed`` (the window closed)."""
    position: int
    """1 = next to be admitted; 0 when not waiting."""
    ahead: int
    eta_seconds: int
    poll_after_seconds: float
    opens_at: dt.datetime | None = None
    """Set while the pre-queue is open and admission has not begun."""
    access_token: str | None = None
    redirect_url: str | None = None
    lease_expires_at: dt.datetime | None = None
    paused: bool = False
    """Admissions are paused (by an admin, while the service cannot file applications, or while a room Redis
    lost is rebuilt): the place is kept."""
    pause_message: str | None = None
    """The admin's message to waiting parents while paused."""


class SessionView(msgspec.Struct, kw_only=True):
    """An admitted visitor's slot after a heartbeat: the lease end and a token that lasts as long."""

    status: Literal["active"]
    lease_expires_at: dt.datetime
    access_token: str


class RoomView(msgspec.Struct, kw_only=True):
    """A room's public state."""

    region: str
    phase: Literal["not_open", "prequeue", "open", "closed"]
    opens_at: dt.datetime
    closes_at: dt.datetime
    prequeue_opens_at: dt.datetime
    waiting: int
    active: int
    max_active: int
    queue_policy: str
    eta_seconds: int
    """Estimated wait for someone joining now."""
    free_rate_per_minute: float
    paused: bool = False
    """Admissions are paused (by an admin, or held while the service cannot file applications)."""
    pause_message: str = ""


def _waiting(ticket: str, position: int, eta: int, state: RoomState, phase: str, ts: float) -> VisitorView:
    """A waiting visitor's view; ``eta`` from the caller (the poll path computes it from a float clock)."""
    paused = not state.admitting_at(ts)
    return VisitorView(
        ticket=ticket,
        status="waiting",
        position=position,
        ahead=position - 1,
        eta_seconds=eta,
        poll_after_seconds=poll_after(eta, position),
        opens_at=state.opens_at if phase == "prequeue" else None,
        paused=paused,
        pause_message=(state.settings.pause_message or None) if paused else None,
    )


def poll_after(eta_seconds: float, position: int) -> float:
    """Seconds until the next poll, growing with distance from the front, 2-30 s, with ±20 % jitter.

    ~1/10 of the expected wait, but never more than ``2 + position / 20`` s, so the first few
    hundred poll often even when the rate estimate is pessimistic; the jitter keeps polls from
    arriving in waves.
    """
    base = min(max(min(eta_seconds / 10, 2 + position / 20), MIN_POLL_SECONDS), MAX_POLL_SECONDS)
    return round(base * random.uniform(0.8, 1.2), 1)  # noqa: S311 - jitter, not a secret


class _Snapshot:
    __slots__ = ("at", "state")

    def __init__(self, state: RoomState, at: float) -> None:
        self.state = state
        self.at = at


Item = TypeVar("Item")
Answer = TypeVar("Answer")
T = TypeVar("T")


EARLY = 8
"""A gathering window holding this many calls closes early (or more: as many as the region's last call
carried).  At 4, a 10 ms window of joins at a wave's rate mostly closed at 4; at 8 the mix at rate cost ~4 %
less CPU per request."""


class _Gather(Generic[Item, Answer]):
    """Calls of one kind go to Redis in batches: ONE script call for every such call a worker has waiting.

    Joins gather this way, and so do the slot's operations (an admitted visitor's poll, heartbeat,
    filing and release: ``session.lua``).  A region has at most one call of the kind in flight per
    worker (a group commit): what arrives while it is out waits for it and goes together in the next
    call, sent the moment it returns; with nothing in flight an item waits ``window`` seconds for others
    (0: to the end of the event-loop tick it arrived in), or until as many items as the last call
    carried (at least ``EARLY``) are there: clients that call again only once answered (a closed loop,
    ``scripts/bench rooms``' wrk) are not kept waiting for the window.  A call costs the worker ~130 µs
    of CPU whatever it carries (redis-py's round trip, a task, the script's shared prelude in Redis) and
    each item in it ~30 µs, so under a surge the batches grow with the load instead of the calls: 2
    joins per call when every join went at the end of its own tick (``scripts/bench rooms``).  The
    window makes them grow below saturation too: a wave's ~360 joins/s per worker come ~3.5 to a 10 ms
    window (arithmetic; without one: ~1.3 a call, measured), for at most 10 ms more on an answer, which
    a family does not notice.  Each item is still applied atomically and in arrival order (a batch is
    one Lua call); a batch of ``max_batch`` goes at once, in flight or not.  ``send(region, items,
    now)`` makes the call (``now``: the latest item's clock) and answers one result per item.
    """

    def __init__(
        self,
        send: Callable[[str, list[Item], dt.datetime], Awaitable[list[Answer]]],
        max_batch: int = 256,
        window: float = 0.0,
    ) -> None:
        self.send = send
        self.max_batch = max_batch
        self.window = window
        self._pending: dict[str, list[tuple[Item, dt.datetime, asyncio.Future[Answer]]]] = {}
        self._in_flight: dict[str, int] = {}
        self._windows: dict[str, asyncio.TimerHandle] = {}
        self._last: dict[str, int] = {}
        self._running: set[asyncio.Task[None]] = set()

    async def add(self, region: str, item: Item, now: dt.datetime) -> Answer:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        batch = self._pending.get(region)
        if batch is None:
            batch = self._pending[region] = []
            if region not in self._in_flight:  # else the call in flight sends this batch when it returns
                if self.window > 0:
                    self._windows[region] = loop.call_later(self.window, self._send, region)
                else:
                    loop.call_soon(self._send, region)
        batch.append((item, now, future))
        # a window closes early once it holds as many items as the last call carried (at least EARLY): clients
        # that wait for their answers before calling again (a closed loop) all came back, none waits for it
        if len(batch) >= self.max_batch or (region in self._windows and len(batch) >= self._last.get(region, EARLY)):
            self._send(region)
        return await future

    def _send(self, region: str) -> None:
        window = self._windows.pop(region, None)
        if window is not None:
            window.cancel()
        batch = self._pending.pop(region, None)
        if batch:
            self._last[region] = max(len(batch), EARLY)
            self._in_flight[region] = self._in_flight.get(region, 0) + 1
            task = asyncio.get_running_loop().create_task(self._run(region, batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, region: str, batch: list[tuple[Item, dt.datetime, asyncio.Future[Answer]]]) -> None:
        try:
            results = await self.send(region, [item for item, _, _ in batch], max(now for _, now, _ in batch))
        except Exception as exc:  # noqa: BLE001 - handed to every waiting request, which raises it
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        finally:
            left = self._in_flight.pop(region) - 1
            if left:
                self._in_flight[region] = left
            elif region in self._pending:
                self._send(region)  # the items that came while this call was out
        for (_, _, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


class Visitors:
    """One per worker process."""

    def __init__(
        self,
        room: WaitingRoom,
        tickets: TicketSigner,
        keys: KeySet,
        refs: ApplicantRefs,
        *,
        regions: Iterable[str],
        apply_url: str = "/apply/{region}",
        snapshot_max_age: float = 0.3,
        join_window: float = 0.0,
    ) -> None:
        self.room = room
        self.tickets = tickets
        self.keys = keys
        self.refs = refs
        self.regions = frozenset(regions)
        self.apply_url = apply_url
        self.snapshot_max_age = snapshot_max_age
        self._snapshots: dict[str, _Snapshot] = {}
        self._refreshing: dict[str, asyncio.Task[RoomState]] = {}
        self._touched: dict[str, set[str]] = {}
        self._joins: _Gather[tuple[str, JoinDoor], JoinResult] = _Gather(self._join_many, window=join_window)
        self._slots: _Gather[SessionOp[Any], Any] = _Gather(room.session_many, window=join_window)

    def check_region(self, region: str) -> None:
        if region not in self.regions:
            raise UnknownRegion(region=region)

    async def snapshot(self, region: str) -> RoomState:
        """The room as seen at most ``snapshot_max_age`` ago; concurrent callers share one refresh."""
        self.check_region(region)
        cached = self._snapshots.get(region)
        clock = time.monotonic()
        if cached is not None and clock - cached.at < self.snapshot_max_age:
            return cached.state
        pending = self._refreshing.get(region)
        if pending is None:
            # a task of its own: a request that is cancelled does not cancel the others' refresh
            pending = asyncio.get_running_loop().create_task(self._refresh(region))
            self._refreshing[region] = pending
            pending.add_done_callback(lambda task: self._refresh_done(region, task))
        return await asyncio.shield(pending)

    async def _refresh(self, region: str) -> RoomState:
        clock = time.monotonic()
        state = await self.room.state(region)
        self._snapshots[region] = _Snapshot(state, clock)
        return state

    def _refresh_done(self, region: str, task: asyncio.Task[RoomState]) -> None:
        self._refreshing.pop(region, None)
        if not task.cancelled():
            task.exception()  # retrieved: the waiting requests raise it; the loop need not warn

    def forget_snapshot(self, region: str) -> None:
        self._snapshots.pop(region, None)

    # -- visitors ---------------------------------------------------------------------------

    async def join(self, region: str, applicant_iin: str, now: dt.datetime, door: JoinDoor = NO_DOOR) -> VisitorView:
        """Take a place or get back the one this applicant holds (the ИИН is already vouched for), if
        the door (the client's allowance, a proof of work) lets the join through."""
        self.check_region(region)
        applicant = self.refs.ref(applicant_iin)
        result = await self._joins.add(region, (applicant, door), now)
        if isinstance(result, DoorRefusal):
            if result.reason == "too_many":
                raise TooManyJoins(retry_after=result.retry_after)
            raise ChallengeFailed("this challenge was already used")
        if isinstance(result, WindowRefusal):
            state = await self.snapshot(region)  # refusals come in floods: no extra Redis call each
            if result.reason == "not_open":
                raise WindowNotOpen(
                    opens_at=state.opens_at.isoformat(), prequeue_opens_at=state.prequeue_opens_at.isoformat()
                )
            if result.reason == "closed":
                raise WindowClosed(closes_at=state.closes_at.isoformat())
            ahead_to_clear = max(result.waiting - state.settings.max_waiting + 1, 1)
            retry_after = min(max(math.ceil(ahead_to_clear / state.rate()), 10), 600)
            raise QueueFull(retry_after=retry_after, waiting=result.waiting)
        return await self._view(region, applicant, result, now, iin=applicant_iin)

    async def _join_many(self, region: str, joins: list[tuple[str, JoinDoor]], now: dt.datetime) -> list[JoinResult]:
        return await self.room.join_many(region, [ref for ref, _ in joins], now, [door for _, door in joins])

    async def slot_op(self, region: str, op: SessionOp[T], now: dt.datetime) -> T:
        """A visit, heartbeat, release or filing of this region's room, gathered with the others this worker
        has waiting into one script call, as joins are."""
        return op.read(await self._slots.add(region, op, now))

    async def poll(self, region: str, ticket_text: str, now: dt.datetime) -> VisitorView:
        """Where the ticket's holder stands; from the worker's snapshot when nothing changed for it."""
        self.check_region(region)
        ts = now.timestamp()
        ticket = self.tickets.verify(ticket_text, region, ts)
        state = await self.snapshot(region)
        fresh = ts - ticket.issued_at < TICKET_REFRESH_SECONDS
        if fresh and ticket.epoch == state.epoch and ticket.gen == state.gen and ticket.seq > state.head:
            phase = state.phase_at(ts)
            if phase == "open" or phase == "prequeue":  # noqa: PLR1714 - the hot path avoids building a tuple
                touched = self._touched.get(region)
                if touched is None:
                    touched = self._touched[region] = set()
                touched.add(ticket.applicant)
                position = state.survivors + ticket.seq - state.head
                return _waiting(ticket_text, position, state.eta_at(position, ts), state, phase, ts)
        place = await self.slot_op(region, visit_op(ticket.applicant, ticket.epoch, ticket.seq), now)
        return await self._view(region, ticket.applicant, place, now)

    async def heartbeat(self, region: str, access_token: str, now: dt.datetime) -> SessionView:
        self.check_region(region)
        claims = verify_access_token(self.keys, access_token, region)
        lease_end = await self.slot_op(region, heartbeat_op(self.refs.ref(claims.applicant_iin), claims.jti), now)
        if lease_end is None:
            raise SessionEnded()
        token = mint_access_token(self.keys, region, claims.applicant_iin, lease_end - now, jti=claims.jti, now=now)
        return SessionView(status="active", lease_expires_at=lease_end, access_token=token)

    async def leave(self, region: str, access_token: str, now: dt.datetime) -> bool:
        """Free the slot the access token holds (idempotent); True when this call freed it."""
        self.check_region(region)
        claims = verify_access_token(self.keys, access_token, region)
        return await self.slot_op(region, release_op(self.refs.ref(claims.applicant_iin), claims.jti), now)

    async def room_view(self, region: str, now: dt.datetime) -> RoomView:
        state = await self.snapshot(region)
        position = state.waiting + 1
        return RoomView(
            region=region,
            phase=state.phase(now),
            opens_at=state.opens_at,
            closes_at=state.closes_at,
            prequeue_opens_at=state.prequeue_opens_at,
            waiting=state.waiting,
            active=state.active,
            max_active=state.settings.max_active,
            queue_policy=state.settings.queue_policy,
            eta_seconds=state.eta_seconds(position, now),
            free_rate_per_minute=round(state.free_rate * 60, 2),
            paused=not state.admitting_at(now.timestamp()),
            pause_message=state.settings.pause_message,
        )

    # -- background work (the app's sweeper task) -------------------------------------------

    async def flush_touches(self, now: dt.datetime, batch: int = 5000) -> int:
        """Record in Redis that the visitors answered from snapshots are still polling."""
        touched, self._touched = self._touched, {}
        count = 0
        for region, iins in touched.items():
            listed = list(iins)
            for start in range(0, len(listed), batch):
                count += await self.room.touch(region, listed[start : start + batch], now)
        return count

    # -- views ------------------------------------------------------------------------------

    def _waiting_view(self, ticket: str, position: int, state: RoomState, now: dt.datetime) -> VisitorView:
        phase = state.phase(now)
        if phase == "closed":
            return VisitorView(ticket=ticket, status="closed", position=0, ahead=0, eta_seconds=0,
                               poll_after_seconds=0)  # fmt: skip
        return _waiting(ticket, position, state.eta_seconds(position, now), state, phase, now.timestamp())

    async def _view(
        self, region: str, applicant: str, place: Place, now: dt.datetime, iin: str | None = None
    ) -> VisitorView:
        """``applicant`` is the reference; ``iin`` the ИИН when the caller has it (a join)."""
        if place.status == "admitted":
            lease_end = place.lease_ends_at or now
            token = mint_access_token(
                self.keys,
                region,
                iin or self.refs.iin(applicant),
                max(lease_end - now, dt.timedelta(seconds=1)),
                jti=place.jti,
                now=now,
            )
            redirect = f"{self.apply_url.format(region=region)}#access_token={token}"
            return VisitorView(
                ticket=self.tickets.mint(region, applicant, 0, place.epoch, place.gen),
                status="admitted",
                position=0,
                ahead=0,
                eta_seconds=0,
                poll_after_seconds=0,
                access_token=token,
                redirect_url=redirect,
                lease_expires_at=lease_end,
            )
        if place.status == "gone":
            return VisitorView(ticket="", status="expired", position=0, ahead=0, eta_seconds=0,
                               poll_after_seconds=0)  # fmt: skip
        state = await self.snapshot(region)
        # a survivor's place is the lost room's (epoch, seq): its ticket keeps them for another loss
        new_ticket = self.tickets.mint(region, applicant, place.seq, place.epoch, place.gen)
        # the place's own counters are newer than the snapshot's
        current = msgspec.structs.replace(state, active=place.active, waiting=place.waiting)
        return self._waiting_view(new_ticket, place.position, current, now)
