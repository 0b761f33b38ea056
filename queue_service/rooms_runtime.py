"""The waiting rooms in a running worker: built in the lifespan, swept in the background.

At start-up the regions and their windows are read from PostgreSQL and each
room is created in Redis if missing (settings already there are kept); a room
Redis lost is rebuilt so its visitors keep their places and slots
(``admission.waiting_room.rebuild``).  A
background task then, every ``KEZEK_ROOM_SWEEP_MS``, sweeps every room (ends
expired leases and arrival graces, refills free slots -- whether or not
anyone polls) and records the polls answered from snapshots.  Every sweep is
one atomic Lua call, so several workers sweeping at once is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.exceptions
from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from prometheus_client import Counter, Gauge

from admission import reference
from admission.access import AccessClaims
from admission.db import Pool
from admission.keys import KeySet
from admission.waiting_room.applicants import ApplicantRefs
from admission.waiting_room.portal import PortalIdentity
from admission.waiting_room.rebuild import ensure_room
from admission.waiting_room.room import SlotUse, WaitingRoom
from admission.waiting_room.tickets import TicketSigner, derive_ticket_secret
from admission.waiting_room.visitors import Visitors
from queue_service.settings import Settings

log = logging.getLogger("kezek.rooms")

# Every worker sweeps every room: the gauges show the newest sweep, the counters add up.
WAITING = Gauge("kezek_room_waiting", "Visitors waiting in a room", ["region"], multiprocess_mode="mostrecent")
ACTIVE = Gauge("kezek_room_active", "Admitted visitors holding a slot", ["region"], multiprocess_mode="mostrecent")
ADMITTED = Counter("kezek_room_admitted_by_sweeper", "Visitors admitted by the background sweeper", ["region"])
EXPIRED = Counter("kezek_room_leases_expired", "Slot leases and arrival graces that ended unused", ["region"])
STARTUP_TIMEOUT = 3.0


async def _ensure_rooms(room: WaitingRoom, pool: Pool, recovery_seconds: float) -> None:
    async with pool.acquire() as conn:
        regions = await reference.list_regions(conn)
        for region in regions:
            await ensure_room(
                room, conn, region.slug, region.window_opens_at, region.window_closes_at,
                recovery_seconds=recovery_seconds,
            )  # fmt: skip


async def sweeper(
    visitors: Visitors, pool: Pool, interval: float, stop: asyncio.Event, *, ensured: bool, recovery_seconds: float
) -> None:
    """Until ``stop``: sweep every room, flush poll touches; recreate rooms Redis lost.

    Stopped by an event rather than by cancellation alone: redis-py may swallow a
    cancellation that arrives while a command is in flight.
    """
    while not stop.is_set():
        now = dt.datetime.now(dt.UTC)
        try:
            if not ensured:
                await _ensure_rooms(visitors.room, pool, recovery_seconds)
                ensured = True
            for region in sorted(visitors.regions):
                report = await visitors.room.sweep(region, now)
                if report.expired < 0:
                    ensured = False  # the room is gone (Redis was reset): recreate it next round
                    continue
                WAITING.labels(region).set(report.waiting)
                ACTIVE.labels(region).set(report.active)
                if report.admitted:
                    ADMITTED.labels(region).inc(report.admitted)
                if report.expired:
                    EXPIRED.labels(region).inc(report.expired)
            await visitors.flush_touches(now)
        except (redis.exceptions.RedisError, OSError) as exc:
            log.warning("waiting-room sweep failed: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


def rooms_lifespan(settings: Settings) -> Any:
    """Needs ``app.state.redis`` and ``app.state.db``: list it after their lifespans."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        keyset: KeySet = app.state.keyset
        pool: Pool = app.state.db
        async with pool.acquire() as conn:
            regions = [r.slug for r in await reference.list_regions(conn)]
        room = WaitingRoom(app.state.redis)
        secret = derive_ticket_secret(settings.ticket_secret, keyset.raw_private)
        visitors = Visitors(
            room,
            TicketSigner(secret),
            keyset,
            ApplicantRefs(secret),
            regions=regions,
            apply_url=settings.apply_url,
            snapshot_max_age=settings.room_snapshot_ms / 1000,
        )
        app.state.visitors = visitors
        app.state.portal = PortalIdentity.from_settings(settings.portal_auth, settings.portal_public_key_file)
        ensured = False
        try:  # when Redis is not there yet, the sweeper creates the rooms once it is
            await asyncio.wait_for(_ensure_rooms(room, pool, settings.room_recovery_seconds), STARTUP_TIMEOUT)
            ensured = True
        except (redis.exceptions.RedisError, OSError, TimeoutError) as exc:
            log.warning("waiting rooms not created at start-up: %s", exc)
        stop = asyncio.Event()
        interval = settings.room_sweep_ms / 1000
        task = asyncio.create_task(
            sweeper(visitors, pool, interval, stop, ensured=ensured, recovery_seconds=settings.room_recovery_seconds),
            name="room-sweeper",
        )
        try:
            yield
        finally:
            stop.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), 10)
            except TimeoutError:
                task.cancel()

    return lifespan


def provide_visitors(state: State) -> Visitors:
    visitors: Visitors = state["visitors"]
    return visitors


def provide_portal(state: State) -> PortalIdentity:
    portal: PortalIdentity = state["portal"]
    return portal


def visitors_of(request: Request[Any, Any, Any]) -> Visitors:
    visitors: Visitors = request.app.state["visitors"]
    return visitors


def portal_of(request: Request[Any, Any, Any]) -> PortalIdentity:
    portal: PortalIdentity = request.app.state["portal"]
    return portal


ROOM_DEPENDENCIES = {
    "visitors": Provide(provide_visitors, sync_to_thread=False),
    "portal": Provide(provide_portal, sync_to_thread=False),
}
VisitorsDep = NamedDependency[Visitors]
PortalDep = NamedDependency[PortalIdentity]


async def release_slot(request: Request[Any, Any, Any], claims: AccessClaims) -> None:
    """Free the waiting-room slot an access token holds (its last child is filed).

    A Redis failure is logged, not raised: the application is already decided, and the
    slot's lease (``session_ttl``, 45 s) ends by itself.
    """
    visitors = visitors_of(request)
    try:
        await visitors.room.release(claims.region, visitors.refs.ref(claims.applicant_iin), claims.jti)
    except (redis.exceptions.RedisError, OSError) as exc:
        log.warning("could not release the slot of %s in %s: %s", claims.jti, claims.region, exc)


async def use_slot(request: Request[Any, Any, Any], claims: AccessClaims, child_iin: str, limit: int) -> SlotUse:
    """Filing for ``child_iin`` with the slot ``claims`` holds: checked and counted in one Redis call."""
    visitors = visitors_of(request)
    refs = visitors.refs
    return await visitors.room.use_slot(
        claims.region, refs.ref(claims.applicant_iin), claims.jti, refs.ref(child_iin), limit
    )


async def follow_window(
    request: Request[Any, Any, Any], region: str, opens_at: dt.datetime, closes_at: dt.datetime
) -> None:
    """Make the region's room follow a window an admin changed in PostgreSQL."""
    visitors = visitors_of(request)
    await visitors.room.configure_window(region, opens_at, closes_at)
    visitors.forget_snapshot(region)
