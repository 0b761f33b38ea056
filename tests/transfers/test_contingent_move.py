"""The move reaches the contingent store through the outbox: never two schools, never none, whatever fails.

Failures are real: a PostgreSQL trigger makes one statement fail inside the
transaction under test (the last order's, or the store's), and a reader on its
own connection watches the register the whole time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import pytest
from transfer_world import World, kz

from admission.contingent import Delivery, PostgresContingentStore, Publisher
from admission.contingent.events import EVENT_DECODER
from admission.transfers import service
from admission.transfers.errors import TransferInProgress
from admission.transfers.models import OrderKind, Transfer

NOW = kz(2026, 4, 15, 11)
ORDER_DAY = dt.date(2026, 4, 16)
LATER = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)  # past every retry backoff


@contextlib.asynccontextmanager
async def interrupted(pool: asyncpg.Pool, table: str, when: str = "INSERT OR UPDATE") -> AsyncIterator[None]:
    """Every ``when`` on ``table`` fails while inside the block."""
    await pool.execute(
        "CREATE OR REPLACE FUNCTION kezek_test_interrupt() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'interrupted at %', TG_TABLE_NAME; END $$"
    )
    await pool.execute(
        f"CREATE TRIGGER kezek_test_interrupt BEFORE {when} ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION kezek_test_interrupt()"
    )
    try:
        yield
    finally:
        await pool.execute(f"DROP TRIGGER kezek_test_interrupt ON {table}")


@contextlib.asynccontextmanager
async def watched(pool: asyncpg.Pool, child: str) -> AsyncIterator[set[tuple[str, ...]]]:
    """Every distinct set of current schools a reader sees for ``child`` while the block runs."""
    seen: set[tuple[str, ...]] = set()
    stop, watching = asyncio.Event(), asyncio.Event()

    async def watch() -> None:
        async with pool.acquire() as conn:
            while not stop.is_set():
                rows = await conn.fetch(
                    "SELECT school_bin FROM contingent.enrolments WHERE child_iin = $1 AND ended_on IS NULL", child
                )
                seen.add(tuple(sorted(r["school_bin"] for r in rows)))
                watching.set()
                await asyncio.sleep(0)

    task = asyncio.create_task(watch())
    await watching.wait()  # the block starts once the reader has a connection and a first sample
    try:
        yield seen
    finally:
        stop.set()
        await task


async def _accepted(world: World, child: str, to_school: str | None) -> Transfer:
    ground = "relocation" if to_school else "leaving_country"
    async with world.pool.acquire() as conn:
        t = await service.request_transfer(conn, world.request(child, to_school, ground=ground), NOW)
        return await service.decide(conn, world.school_admin(t.deciding_school), t.id, NOW, accept=True)


async def _order(world: World, t: Transfer, kind: OrderKind) -> Transfer:
    school = t.to_school_bin if kind == "admission" else t.from_school_bin
    assert school is not None
    async with world.pool.acquire() as conn:
        return await service.record_order(
            conn,
            world.school_admin(school),
            t.id,
            kind,
            f"{kind[0].upper()}-{t.id.hex[:6]}",
            ORDER_DAY,
            NOW,
        )


@pytest.mark.parametrize("failing_table", ["contingent_outbox", "transfers", "transfer_events"])
@pytest.mark.parametrize(
    ("store_table", "store_when"),
    [
        ("contingent.applied_events", "INSERT"),  # before the store records the event
        ("contingent.enrolments", "UPDATE"),  # while ending the old enrolment
        ("contingent.enrolments", "INSERT"),  # after ending the old one, starting the new one
    ],
)
async def test_a_pupil_is_never_in_two_schools_or_none_when_a_transfer_is_interrupted(
    world: World, failing_table: str, store_table: str, store_when: str
) -> None:
    child, school_from, school_to = await world.moving_pupil()
    publisher = Publisher(world.pool, PostgresContingentStore(world.pool), Delivery(backoff_seconds=0.001))

    async with watched(world.pool, child) as seen:
        t = await _accepted(world, child, school_to)
        t = await _order(world, t, "expulsion")

        # 1. The last order's transaction fails at one of its statements: nothing of it stays.
        async with interrupted(world.pool, failing_table):
            with pytest.raises(asyncpg.RaiseError):
                await _order(world, t, "admission")
        stored = await world.pool.fetchrow("SELECT status, admission_order_number FROM transfers WHERE id = $1", t.id)
        assert tuple(stored) == ("accepted", None)
        assert await world.pool.fetchval("SELECT count(*) FROM contingent_outbox WHERE child_iin = $1", child) == 0

        # Retried, it completes and the move waits in the outbox; the register is unchanged so far.
        t = await _order(world, t, "admission")
        assert t.status == "completed"
        assert await world.current_schools(child) == [school_from]
        async with world.pool.acquire() as conn:  # no new transfer while the register is about to change
            with pytest.raises(TransferInProgress):
                await service.request_transfer(conn, world.request(child, world.schools["astana"][2]), NOW)

        # 2. The store fails inside its transaction: the old enrolment's end is rolled back with it.
        async with interrupted(world.pool, store_table, store_when):
            result = await publisher.publish_once(LATER)
        assert (result.claimed, result.delivered, result.failed) == (1, 0, 1)
        assert await world.current_schools(child) == [school_from]

        # 3. The store applies it but the publisher dies before its bookkeeping commits:
        #    delivered again, the store applies nothing twice.
        row = await world.pool.fetchrow(
            "SELECT id, event::text AS event FROM contingent_outbox WHERE child_iin = $1", child
        )
        await PostgresContingentStore(world.pool).apply(row["id"], EVENT_DECODER.decode(row["event"]))
        assert await world.current_schools(child) == [school_to]
        result = await publisher.publish_once(LATER)
        assert result.delivered == 1
        assert await world.current_schools(child) == [school_to]

    assert (school_from,) in seen
    assert seen <= {(school_from,), (school_to,)}, f"a reader saw the pupil in {seen}"
    history = await world.pool.fetch(
        "SELECT school_bin, order_number, end_reason FROM contingent.enrolments WHERE child_iin = $1 ORDER BY id", child
    )
    assert [(r["school_bin"], r["end_reason"]) for r in history] == [(school_from, "moved"), (school_to, None)]
    assert history[1]["order_number"] == t.admission_order_number
    assert await world.pool.fetchval("SELECT count(*) FROM contingent.applied_events WHERE child_iin = $1", child) == 1


async def test_a_pupil_leaving_the_country_leaves_the_contingent_once(world: World) -> None:
    school_from = world.schools["abai"][0]
    child = await world.enrolled_child(school_from)
    publisher = Publisher(world.pool, PostgresContingentStore(world.pool), Delivery(backoff_seconds=0.001))
    t = await _accepted(world, child, None)
    assert t.notification_jws, "the departing school signs the notification"
    async with interrupted(world.pool, "contingent_outbox"):
        with pytest.raises(asyncpg.RaiseError):
            await _order(world, t, "expulsion")
    assert await world.current_schools(child) == [school_from]
    t = await _order(world, t, "expulsion")
    assert t.status == "completed"
    async with interrupted(world.pool, "contingent.enrolments", "UPDATE"):
        await publisher.publish_once(LATER)
    assert await world.current_schools(child) == [school_from]
    await publisher.drain()
    await publisher.publish_once(LATER)
    assert await world.current_schools(child) == []
    ended = await world.pool.fetchval("SELECT end_reason FROM contingent.enrolments WHERE child_iin = $1", child)
    assert ended == service.LEFT_COUNTRY


async def test_the_seat_held_by_a_completed_transfer_passes_to_the_enrolment_without_double_counting(
    world: World,
) -> None:
    target, source = world.schools["astana"][4], world.schools["astana"][5]
    await world.set_capacity(target, 5, "kk", classes=1, seats=3)
    await world.enrolled_child(target)
    movers = [await world.enrolled_child(source) for _ in range(2)]
    publisher = Publisher(world.pool, PostgresContingentStore(world.pool))
    for child in movers:
        t = await _accepted(world, child, target)
        t = await _order(world, t, "expulsion")
        await _order(world, t, "admission")
    async with world.pool.acquire() as conn:
        late = await service.request_transfer(conn, world.request(await world.enrolled_child(source), target), NOW)
    assert late.refusal_ground == 7, "held by completed transfers not yet in the register"
    await publisher.drain()
    async with world.pool.acquire() as conn:
        again = await service.request_transfer(conn, world.request(await world.enrolled_child(source), target), NOW)
    assert again.refusal_ground == 7, "now held by the enrolments themselves, counted once"
    await world.set_capacity(target, 5, "kk", classes=1, seats=4)
    async with world.pool.acquire() as conn:
        fits = await service.request_transfer(conn, world.request(await world.enrolled_child(source), target), NOW)
    assert fits.status == "pending"
