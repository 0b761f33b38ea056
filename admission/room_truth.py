"""PostgreSQL is the truth for every waiting room's settings and window; Redis holds a copy.

A room's *truth* is its region's window (``regions``) and its settings
(``room_settings``; no row = the defaults).  Admins change it here, in one
transaction with the audit entry (:func:`change_settings`; windows through
``admission.applications.admin.set_window`` and the CLI).  A trigger notifies
the channel ``kezek_rooms`` with the region when such a change commits.

Each worker keeps Redis in step (:class:`RoomKeeper`, run by the app):

* it LISTENs on a connection of its own and applies a notified region at once;
* every ``reconcile_seconds`` it compares each room's *fingerprint* (a hash of
  its truth, stored in Redis beside the room when the truth was applied) with
  PostgreSQL and applies the rooms that differ, so a missed notification, a
  Redis restored from an older append-only file or a room Redis lost is caught
  up within that time;
* the same connection is its health check: while PostgreSQL does not answer
  (or answers as a read-only standby, after a failover to an unpromoted one),
  it holds every room (``WaitingRoom.hold``, a lease a few seconds ahead that
  lapses by itself when no worker renews it), so nobody is admitted to a form
  that cannot be filed; when PostgreSQL answers again it lifts the hold, drops
  the pool's connections (stale after a restart or failover) and reconciles.

A request that finds its room missing in Redis does not wait for any of this:
:class:`TruthfulRoom` rebuilds the room from PostgreSQL and retries, so a real
region never answers 404 and never runs on default caps after a Redis loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import asyncpg
import msgspec
import redis.asyncio as aioredis
import redis.exceptions

from admission import audit
from admission import db as database
from admission.db import QUERIES, Connection, Pool
from admission.errors import UnknownRegion
from admission.signing_keys import AdminPrincipal
from admission.waiting_room.errors import RoomMissing
from admission.waiting_room.keys import PREFIX
from admission.waiting_room.rebuild import RECOVERY_SECONDS, ensure_room
from admission.waiting_room.room import JoinDoor, JoinResult, RoomSettings, RoomState, SessionOp, WaitingRoom

log = logging.getLogger("kezek.rooms.truth")

CHANNEL = "kezek_rooms"
"""The PostgreSQL notification channel; the payload is the region's slug."""

DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.InterfaceError,
)
"""PostgreSQL unreachable, shutting down, restarting or out of connections."""
APPLICATION_NAME = "kezek-room-keeper"
"""How each worker's keeper connection shows in ``pg_stat_activity``."""
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)


class ReadOnly(Exception):
    """The database answers but is a standby: nothing can be filed."""


UNHEALTHY: tuple[type[BaseException], ...] = (*DATABASE_ERRORS, ReadOnly)


class RoomTruth(msgspec.Struct, frozen=True, kw_only=True):
    """One room as PostgreSQL has it."""

    region: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    settings: RoomSettings

    @property
    def fingerprint(self) -> str:
        """Changes whenever the window or a setting does (stored in Redis beside the room)."""
        window = (round(self.opens_at.timestamp() * 1000), round(self.closes_at.timestamp() * 1000))
        return hashlib.blake2b(msgspec.json.encode((window, self.settings)), digest_size=12).hexdigest()


def fingerprint_key(region: str) -> str:
    """The Redis key holding the fingerprint of the truth last applied to ``region``'s room (its hash tag)."""
    return f"{PREFIX}:{{{region}}}:truth"


def _settings(raw: Any) -> RoomSettings:
    return RoomSettings() if raw is None else msgspec.convert(raw, RoomSettings)


def _truth(row: asyncpg.Record) -> RoomTruth:
    return RoomTruth(
        region=row["slug"],
        opens_at=row["window_opens_at"],
        closes_at=row["window_closes_at"],
        settings=_settings(row["settings"]),
    )


async def load_all(conn: Connection) -> list[RoomTruth]:
    return [_truth(r) for r in await conn.fetch(QUERIES["room_truth_all"])]


async def load(conn: Connection, region: str) -> RoomTruth | None:
    row = await conn.fetchrow(QUERIES["room_truth"], region)
    return None if row is None else _truth(row)


async def change_settings(
    conn: Connection, admin: AdminPrincipal, region: str, changes: Mapping[str, Any]
) -> tuple[RoomSettings, RoomSettings]:
    """Change some of a room's settings in PostgreSQL, audited; ``(old, new)``.

    Workers apply them to the room when the transaction commits (notification); the
    caller may apply them at once with :func:`apply` for a read-your-write answer.
    """
    admin.require_region(region)
    async with conn.transaction():
        row = await conn.fetchrow(QUERIES["lock_room_settings"], region)
        if row is None:
            raise UnknownRegion(region=region)
        old = _settings(row["settings"])
        new = msgspec.structs.replace(old, **changes)
        if new == old and row["settings"] is not None:
            return old, new  # nothing changed: nothing to write or audit
        await conn.execute(QUERIES["upsert_room_settings"], region, msgspec.to_builtins(new))
        await audit.record(conn, admin, "room.settings", f"room:{region}", region=region, old=old, new=new)
    return old, new


async def apply(
    room: WaitingRoom,
    conn: Connection,
    truth: RoomTruth,
    now: dt.datetime | None = None,
    recovery_seconds: float = RECOVERY_SECONDS,
) -> None:
    """Make ``truth.region``'s room in Redis match ``truth``; create it (with those settings) when missing.

    The room is created atomically with its window and settings, so no request ever sees a
    half-made room; a room Redis lost is rebuilt as such (``rebuild.ensure_room``: an epoch above
    the lost one's, so its tickets and tokens come back, and a recovery grace).  The fingerprint is
    written last, so a failure half-way is applied again.
    """
    await ensure_room(
        room, conn, truth.region, truth.opens_at, truth.closes_at,
        defaults=truth.settings, now=now, recovery_seconds=recovery_seconds,
    )  # fmt: skip
    await room.configure(truth.region, msgspec.structs.asdict(truth.settings), now)
    await room.redis.set(fingerprint_key(truth.region), truth.fingerprint)


class TruthfulRoom(WaitingRoom):
    """A :class:`WaitingRoom` that rebuilds a room Redis lost from PostgreSQL at once and retries the call.

    So a real region never answers 404 ``unknown_region`` and never falls back to default caps
    after Redis restarted empty.  Concurrent requests for one lost room share one rebuild.
    """

    def __init__(self, redis: aioredis.Redis, pool: Pool, recovery_seconds: float = RECOVERY_SECONDS) -> None:
        super().__init__(redis)
        self.pool = pool
        self.recovery_seconds = recovery_seconds
        self._restoring: dict[str, asyncio.Task[None]] = {}

    async def restore(self, region: str) -> None:
        """Rebuild ``region``'s room from PostgreSQL (UnknownRegion when it is no region)."""
        pending = self._restoring.get(region)
        if pending is not None and pending is asyncio.current_task():
            raise UnknownRegion(region=region)  # lost again while being rebuilt: the caller retries later
        if pending is None:
            pending = asyncio.get_running_loop().create_task(self._restore(region))
            self._restoring[region] = pending
            pending.add_done_callback(lambda _: self._restoring.pop(region, None))
        await asyncio.shield(pending)

    async def _restore(self, region: str) -> None:
        await self.follow(region)
        log.warning("waiting room %s was missing in Redis: rebuilt from PostgreSQL", region)

    async def follow(self, region: str) -> RoomTruth:
        """Apply ``region``'s truth from PostgreSQL now (after a change, for a read-your-write answer)."""
        async with self.pool.acquire() as conn:
            truth = await load(conn, region)
            if truth is None:
                raise UnknownRegion(region=region)
            await apply(self, conn, truth, recovery_seconds=self.recovery_seconds)
        return truth

    async def state(self, region: str, now: dt.datetime | None = None) -> RoomState:
        try:
            return await super().state(region, now)
        except (UnknownRegion, RoomMissing):
            await self.restore(region)
            return await super().state(region, now)

    async def join_many(
        self, region: str, applicants: list[str], now: dt.datetime, doors: Sequence[JoinDoor] | None = None
    ) -> list[JoinResult]:
        try:  # a missing room counts no join at the door: the retry counts it once
            return await super().join_many(region, applicants, now, doors)
        except (UnknownRegion, RoomMissing):
            await self.restore(region)
            return await super().join_many(region, applicants, now, doors)

    async def session_many(self, region: str, ops: Sequence[SessionOp[Any]], now: dt.datetime) -> list[Any]:
        try:  # a missing room did none of them: the retry does each once
            return await super().session_many(region, ops, now)
        except (UnknownRegion, RoomMissing):
            await self.restore(region)
            return await super().session_many(region, ops, now)


class RoomKeeper:
    """One per worker: follows PostgreSQL's notifications, reconciles, holds rooms while it is unhealthy.

    ``run`` owns a connection of its own (never the pool's: a busy pool must not look like an
    unhealthy database, nor delay a notification).  ``on_applied(region)`` is called after a
    region's truth may have changed (the worker drops its cached view of that room).
    """

    def __init__(
        self,
        room: WaitingRoom,
        database_url: str,
        regions: Iterable[str],
        *,
        pool: Pool | None = None,
        on_applied: Callable[[str], None] | None = None,
        interval: float = 0.5,
        reconcile_seconds: float = 2.0,
        hold_seconds: float = 5.0,
        timeout: float = 2.0,
    ) -> None:
        self.room = room
        self.database_url = database_url
        self.regions = sorted(regions)
        self.pool = pool
        self.on_applied = on_applied or (lambda _region: None)
        self.interval = interval
        self.reconcile_seconds = reconcile_seconds
        self.hold_seconds = hold_seconds
        self.timeout = timeout
        self.holding = False
        self.healthy = True
        self._conn: asyncpg.Connection[asyncpg.Record] | None = None
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._reconcile_due = 0.0
        self._stale_pool = False

    # -- notifications -----------------------------------------------------------------------

    def _notified(self, _conn: Connection, _pid: int, _channel: str, region: object) -> None:
        self._dirty.add(str(region))
        self._wake.set()

    async def _connection(self) -> asyncpg.Connection[asyncpg.Record]:
        conn = self._conn
        if conn is not None and not conn.is_closed():
            return conn
        self._conn = None
        conn = await database.connect(
            self.database_url, timeout=self.timeout, server_settings={"application_name": APPLICATION_NAME}
        )
        try:
            await conn.add_listener(CHANNEL, self._notified)
        except BaseException:
            conn.terminate()
            raise
        self._conn = conn
        self._reconcile_due = 0.0  # notifications may have been missed while not listening
        return conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), self.timeout)
            except DATABASE_ERRORS:
                conn.terminate()

    # -- one round -----------------------------------------------------------------------------

    async def round(self, now: dt.datetime | None = None) -> None:
        """Check PostgreSQL's health; hold or release the rooms; apply notified or drifted truth."""
        now = now or dt.datetime.now(dt.UTC)
        try:
            conn = await self._healthy_connection()
        except UNHEALTHY as exc:
            if self.healthy:
                log.warning("PostgreSQL cannot file applications (%s): holding admissions in every room", exc)
            self.healthy = False
            await self._drop_connection()
            # from now, not from the round's start: trying to connect may have taken a while
            now = dt.datetime.now(dt.UTC)
            await self._hold(now + dt.timedelta(seconds=self.hold_seconds), now)
            return
        if not self.healthy:
            log.warning("PostgreSQL answers again: admissions resume")
            self.healthy = True
            self._stale_pool = True
        if self._stale_pool:
            self._stale_pool = False
            if self.pool is not None:
                await self.pool.expire_connections()  # stale after a restart or failover: replaced on next use
        if self.holding:
            await self._hold(now, now)  # lifted at once (free slots are refilled)
        loop = asyncio.get_running_loop()
        if loop.time() >= self._reconcile_due:
            self._reconcile_due = loop.time() + self.reconcile_seconds
            self._dirty.clear()
            await self.reconcile(conn, None, now)
        elif self._dirty:
            regions, self._dirty = self._dirty, set()
            await self.reconcile(conn, regions, now)

    async def _healthy_connection(self) -> asyncpg.Connection[asyncpg.Record]:
        """The keeper's connection to a primary that answers; one fresh try when the old one broke."""
        while True:
            had_one = self._conn is not None
            try:
                conn = await self._connection()
                if await conn.fetchval("SELECT pg_is_in_recovery()", timeout=self.timeout):
                    raise ReadOnly("connected to a standby (read-only)")
            except DATABASE_ERRORS:
                await self._drop_connection()
                if not had_one:  # a fresh connection failed: PostgreSQL is away
                    raise
                # the old one broke but PostgreSQL answers (a quick restart, a failover, a terminated
                # connection): the pool's connections may be as stale
                self._stale_pool = True
            else:
                return conn

    async def reconcile(
        self, conn: Connection, regions: set[str] | None = None, now: dt.datetime | None = None
    ) -> list[str]:
        """Apply the truth of the rooms (``regions``, or all) whose Redis copy differs; the regions applied."""
        truths = await load_all(conn)
        if regions is not None:
            truths = [t for t in truths if t.region in regions]
            for region in regions:
                self.on_applied(region)
        if not truths:
            return []
        async with self.room.redis.pipeline(transaction=False) as pipe:
            for truth in truths:
                pipe.get(fingerprint_key(truth.region))
            stored = await pipe.execute()
        applied = []
        for truth, fingerprint in zip(truths, stored, strict=True):
            if fingerprint is not None and fingerprint.decode() == truth.fingerprint:
                continue
            recovery = self.room.recovery_seconds if isinstance(self.room, TruthfulRoom) else RECOVERY_SECONDS
            await apply(self.room, conn, truth, now, recovery)
            self.on_applied(truth.region)
            applied.append(truth.region)
        if applied:
            log.info("waiting rooms brought in step with PostgreSQL: %s", ", ".join(applied))
        return applied

    async def _hold(self, until: dt.datetime, now: dt.datetime) -> None:
        """Hold every room that exists until ``until`` (``until <= now`` lifts the hold)."""
        try:
            # A hold never creates a room: a room Redis lost is rebuilt from PostgreSQL, with its window.
            async with self.room.redis.pipeline(transaction=False) as pipe:
                for region in self.regions:
                    pipe.exists(fingerprint_key(region))
                present = await pipe.execute()
            for region, exists in zip(self.regions, present, strict=True):
                if exists:
                    await self.room.hold(region, until, now)
                    self.on_applied(region)
        except REDIS_ERRORS as exc:
            log.warning("could not hold or release the waiting rooms: %s", exc)
            return
        self.holding = until > now

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until ``stop``; a notification wakes it early."""
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    await self.round()
                except REDIS_ERRORS as exc:
                    log.warning("waiting rooms not brought in step with PostgreSQL: %s", exc)
                except DATABASE_ERRORS as exc:
                    log.warning("room truth not read: %s", exc)
                    await self._drop_connection()
                except Exception:  # the keeper must outlive any surprise: it is what holds the rooms
                    log.exception("room keeper round failed")
                    await self._drop_connection()
                stopped = asyncio.ensure_future(stop.wait())
                woken = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait({stopped, woken}, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for waiter in (stopped, woken):
                        waiter.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await waiter
        finally:
            await self.close()
