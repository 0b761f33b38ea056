"""The waiting rooms in a running worker: built in the lifespan, swept and kept in the background.

At start-up each room in Redis is brought in step with PostgreSQL, the truth
for its window and settings (``admission.room_truth``); a room Redis lost is
rebuilt so its visitors keep their places and slots
(``admission.waiting_room.rebuild``).  Two background tasks
follow: the sweeper, every ``KEZEK_ROOM_SWEEP_MS``, sweeps every room (ends
expired leases and arrival graces, refills free slots -- whether or not
anyone polls), records the polls answered from snapshots and rebuilds a room
Redis lost; the keeper (``RoomKeeper``) applies what admins change in
PostgreSQL (notifications, and a reconciliation every
``KEZEK_ROOM_RECONCILE_SECONDS``) and holds admissions while PostgreSQL is
unhealthy.  Every sweep is one atomic Lua call, so several workers sweeping at
once is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import redis.exceptions
from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from prometheus_client import Counter, Gauge

from admission import reference, room_truth
from admission.access import AccessClaims
from admission.db import Pool
from admission.errors import UnknownRegion
from admission.signing_keys import KeySet
from admission.waiting_room.applicants import ApplicantRefs
from admission.waiting_room.portal import PortalIdentity
from admission.waiting_room.room import SlotUse, file_op, release_op
from admission.waiting_room.tickets import TicketSigner, derive_ticket_secret
from admission.waiting_room.visitors import Visitors
from queue_service.resources import from_state
from queue_service.settings import Settings

log = logging.getLogger("kezek.rooms")

# Every worker sweeps every room: the gauges show the newest sweep, the counters add up.
WAITING = Gauge("kezek_room_waiting", "Visitors waiting in a room", ["region"], multiprocess_mode="mostrecent")
ACTIVE = Gauge("kezek_room_active", "Admitted visitors holding a slot", ["region"], multiprocess_mode="mostrecent")
ADMITTED = Counter("kezek_room_admitted_by_sweeper", "Visitors admitted by the background sweeper", ["region"])
EXPIRED = Counter("kezek_room_leases_expired", "Slot leases and arrival graces that ended unused", ["region"])
STARTUP_TIMEOUT = 3.0
REBUILD_ERRORS: tuple[type[BaseException], ...] = (*room_truth.DATABASE_ERRORS, UnknownRegion)


async def _reconcile(keeper: room_truth.RoomKeeper, pool: Pool) -> None:
    async with pool.acquire() as conn:
        await keeper.reconcile(conn)


async def sweeper(visitors: Visitors, room: room_truth.TruthfulRoom, interval: float, stop: asyncio.Event) -> None:
    """Until ``stop``: sweep every room, flush poll touches; rebuild rooms Redis lost from PostgreSQL.

    Stopped by an event rather than by cancellation alone: redis-py may swallow a
    cancellation that arrives while a command is in flight.
    """
    while not stop.is_set():
        now = dt.datetime.now(dt.UTC)
        try:
            for region in sorted(visitors.regions):
                report = await room.sweep(region, now)
                if report.expired < 0:  # the room is gone (Redis was reset): rebuilt at once
                    try:
                        await room.restore(region)
                    except REBUILD_ERRORS as exc:
                        log.warning("waiting room %s not rebuilt: %s", region, exc)
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
        except Exception:  # the sweeper must outlive any surprise: it is what frees slots
            log.exception("waiting-room sweep failed")
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
        room = room_truth.TruthfulRoom(app.state.redis, pool, settings.room_recovery_seconds)
        secret = derive_ticket_secret(settings.ticket_secret, keyset.raw_private)
        visitors = Visitors(
            room,
            TicketSigner(secret),
            keyset,
            ApplicantRefs(secret),
            regions=regions,
            apply_url=settings.apply_url,
            snapshot_max_age=settings.room_snapshot_ms / 1000,
            join_window=settings.room_join_window_ms / 1000,
        )
        app.state.visitors = visitors
        app.state.portal = PortalIdentity.from_settings(settings.portal_auth, settings.portal_public_key_file)
        keeper = room_truth.RoomKeeper(
            room,
            settings.database_url,
            regions,
            pool=pool,
            on_applied=visitors.forget_snapshot,
            reconcile_seconds=settings.room_reconcile_seconds,
            hold_seconds=settings.room_hold_seconds,
        )
        try:  # when Redis is not there yet, the keeper brings the rooms in step once it is
            await asyncio.wait_for(_reconcile(keeper, pool), STARTUP_TIMEOUT)
        except (*room_truth.REDIS_ERRORS, *room_truth.DATABASE_ERRORS) as exc:
            log.warning("waiting rooms not brought in step with PostgreSQL at start-up: %s", exc)
        stop = asyncio.Event()
        interval = settings.room_sweep_ms / 1000
        tasks = [
            asyncio.create_task(sweeper(visitors, room, interval, stop), name="room-sweeper"),
            asyncio.create_task(keeper.run(stop), name="room-keeper"),
        ]
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                try:
                    await asyncio.wait_for(asyncio.shield(task), 10)
                except TimeoutError:
                    task.cancel()

    return lifespan


provide_visitors: Callable[[State], Visitors] = from_state("visitors")
provide_portal: Callable[[State], PortalIdentity] = from_state("portal")


def visitors_of(request: Request[Any, Any, Any]) -> Visitors:
    return provide_visitors(request.app.state)


def portal_of(request: Request[Any, Any, Any]) -> PortalIdentity:
    return provide_portal(request.app.state)


VISITORS_DEPENDENCY = {"visitors": Provide(provide_visitors, sync_to_thread=False)}
ROOM_DEPENDENCIES = {**VISITORS_DEPENDENCY, "portal": Provide(provide_portal, sync_to_thread=False)}
VisitorsDep = NamedDependency[Visitors]
PortalDep = NamedDependency[PortalIdentity]


async def release_slot(request: Request[Any, Any, Any], claims: AccessClaims) -> None:
    """Free the waiting-room slot an access token holds (its last child is filed).

    A Redis failure is logged, not raised: the application is already decided, and the
    slot's lease (``session_ttl``, 45 s) ends by itself.
    """
    visitors = visitors_of(request)
    try:
        op = release_op(visitors.refs.ref(claims.applicant_iin), claims.jti)
        await visitors.slot_op(claims.region, op, dt.datetime.now(dt.UTC))
    except (redis.exceptions.RedisError, OSError) as exc:
        log.warning("could not release the slot of %s in %s: %s", claims.jti, claims.region, exc)


async def use_slot(request: Request[Any, Any, Any], claims: AccessClaims, child_iin: str, limit: int) -> SlotUse:
    """Filing for ``child_iin`` with the slot ``claims`` holds: checked and counted in one Redis call (gathered
    with the worker's other slot operations of the region)."""
    visitors = visitors_of(request)
    refs = visitors.refs
    op = file_op(claims.region, refs.ref(claims.applicant_iin), claims.jti, refs.ref(child_iin), limit)
    return await visitors.slot_op(claims.region, op, dt.datetime.now(dt.UTC))


async def follow_truth(visitors: Visitors, region: str) -> None:
    """Apply what an admin just changed in PostgreSQL to this worker's room at once (read-your-write).

    Every other worker follows the change's notification; a Redis failure here is logged, not
    raised: the change is committed, and the keepers apply it once Redis answers.
    """
    room = visitors.room
    try:
        if isinstance(room, room_truth.TruthfulRoom):
            await room.follow(region)
    except room_truth.REDIS_ERRORS as exc:
        log.warning("room %s follows its new settings once Redis answers: %s", region, exc)
    visitors.forget_snapshot(region)
