"""The room keeper on real PostgreSQL and Redis: a change nobody was notified of is caught up by the
periodic reconciliation; while PostgreSQL does not answer every room is held, and the hold is lifted
when it answers again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import asyncpg
import pytest
import redis.asyncio as aioredis

from admission import reference
from admission.room_truth import RoomKeeper, fingerprint_key, load
from admission.waiting_room import WaitingRoom
from devservices import free_port

REGIONS = ["astana", "zhetisu"]


async def _until(check: object, what: str) -> None:
    deadline = time.monotonic() + 15
    while not await check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


@pytest.fixture
async def keeper_parts(database_url: str, redis_client: aioredis.Redis) -> tuple[WaitingRoom, asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield WaitingRoom(redis_client), conn  # type: ignore[misc]
    await conn.close()


async def test_a_change_nobody_was_notified_of_is_caught_up_by_the_reconciliation(
    database_url: str, keeper_parts: tuple[WaitingRoom, asyncpg.Connection]
) -> None:
    room, conn = keeper_parts
    keeper = RoomKeeper(room, database_url, REGIONS, interval=0.1, reconcile_seconds=0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(keeper.run(stop))
    try:
        await _until(lambda: room.redis.exists(fingerprint_key("zhetisu")), "the rooms were never brought in step")
        opens = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")  # no trigger, no notification
            await reference.set_window(conn, "zhetisu", opens, opens + dt.timedelta(days=3))

        async def follows() -> bool:
            return (await room.state("zhetisu")).opens_at == opens

        await _until(follows, "the room never followed the window")
        truth = await load(conn, "zhetisu")
        assert truth is not None
        assert (await room.redis.get(fingerprint_key("zhetisu"))).decode() == truth.fingerprint
    finally:
        stop.set()
        await task


async def test_rooms_are_held_while_postgresql_does_not_answer_and_released_when_it_does(
    database_url: str, keeper_parts: tuple[WaitingRoom, asyncpg.Connection]
) -> None:
    room, _ = keeper_parts
    healthy = RoomKeeper(room, database_url, REGIONS)
    await healthy.round()  # the rooms exist, in step
    now = dt.datetime.now(dt.UTC)
    assert (await room.state("astana")).admitting_at(now.timestamp())

    nowhere = f"postgresql://kezek@127.0.0.1:{free_port()}/kezek"
    away = RoomKeeper(room, nowhere, REGIONS, hold_seconds=5, timeout=1)
    await away.round()
    held = await room.state("astana")
    assert not held.admitting_at(time.time())
    assert held.held_until > time.time() + 3
    assert away.holding

    # the same worker's keeper sees PostgreSQL answer again: the hold is lifted at once
    away.database_url = database_url
    await away.round()
    assert (await room.state("astana")).admitting_at(time.time())
    assert not away.holding
    await away.close()
    await healthy.close()
