"""The outbox against a real HTTP register (a receiver process of its own that fails and hangs on
command): exactly once, per-child order, no transaction held across the remote call, leases that
lapse when a publisher dies, and delivered events pruned after the retention period."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from admission_helpers import child_iin, until_delivered

from admission.contingent import Delivery, Enrol, Leave, Publisher, enqueue_many
from admission.contingent.http_store import HttpContingentStore
from devservices import free_port

RECEIVER = Path(__file__).with_name("contingent_receiver.py")


@pytest.fixture
def receiver() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(RECEIVER), str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"{url}/state", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.kill()
        process.wait()


@pytest.fixture
async def register(receiver: str) -> AsyncIterator[HttpContingentStore]:
    store = HttpContingentStore(receiver, timeout_seconds=0.5, attempts=2, backoff_seconds=0.01)
    try:
        yield store
    finally:
        await store.aclose()


def set_mode(url: str, mode: str) -> None:
    httpx.put(f"{url}/mode/{mode}").raise_for_status()


def state(url: str) -> dict[str, object]:
    answer: dict[str, object] = httpx.get(f"{url}/state").json()
    return answer


def life_events(child: str, school: str) -> list[Enrol | Leave]:
    """Enrolled, left, enrolled again: the order matters to the register."""
    enrol = Enrol(
        child_iin=child, school_bin=school, grade=1, language="kk", order_number="1",
        order_date=dt.date(2026, 8, 20), since=dt.date(2026, 9, 1),
    )  # fmt: skip
    leave = Leave(child_iin=child, school_bin=school, reason="moved", on=dt.date(2026, 10, 1))
    return [enrol, leave, enrol]


async def enqueue_lives(pool: asyncpg.Pool, children: int) -> list[str]:
    """Three events for each of ``children`` new children, in one transaction."""
    kids = [child_iin() for _ in range(children)]
    async with pool.acquire() as conn, conn.transaction():
        for i, kid in enumerate(kids):
            await enqueue_many(conn, life_events(kid, f"{100000000000 + i % 3}"))
    return kids


async def open_transactions(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND state LIKE 'idle in transaction%'"
    )
    return count


async def test_every_event_reaches_a_flaky_and_hanging_register_once_in_per_child_order(
    db_pool: asyncpg.Pool, receiver: str, register: HttpContingentStore
) -> None:
    kids = await enqueue_lives(db_pool, 20)
    set_mode(receiver, "flaky")
    publishers = [
        Publisher(
            db_pool, register, Delivery(batch=8, backoff_seconds=0.01, max_backoff_seconds=0.05, timeout_seconds=1.5)
        )
        for _ in range(2)
    ]
    stop = asyncio.Event()
    running = [asyncio.create_task(p.run(stop, poll_seconds=0.01)) for p in publishers]
    try:
        await asyncio.sleep(0.3)
        set_mode(receiver, "hang")  # the register stops answering for a while
        await asyncio.sleep(0.8)
        assert await open_transactions(db_pool) == 0  # nothing waits on the register inside a transaction
        set_mode(receiver, "flaky")
        await until_delivered(db_pool, 30)
    finally:
        stop.set()
        await asyncio.gather(*running)

    seen = state(receiver)
    applied = [(int(event_id), child) for event_id, child in seen["applied"]]  # type: ignore[attr-defined]
    ids = [event_id for event_id, _ in applied]
    outbox = {r["id"]: r["child_iin"] for r in await db_pool.fetch("SELECT id, child_iin FROM contingent_outbox")}
    assert sorted(ids) == sorted(outbox)  # each event applied ...
    assert len(ids) == len(set(ids)) == 60  # ... exactly once
    for kid in kids:  # and each child's events in the order they were written
        mine = [event_id for event_id, child in applied if child == kid]
        assert mine == sorted(mine)
        assert len(mine) == 3
    assert int(seen["requests"]) > 60  # type: ignore[call-overload] # failures and lost answers were retried


async def test_a_hung_register_holds_no_lock_and_a_dead_publishers_claim_lapses(
    db_pool: asyncpg.Pool, receiver: str, register: HttpContingentStore
) -> None:
    [kid] = await enqueue_lives(db_pool, 1)
    set_mode(receiver, "hang")
    stuck = Publisher(db_pool, register, Delivery(batch=1, timeout_seconds=30, lease_seconds=2))
    task = asyncio.create_task(stuck.publish_once())
    for _ in range(200):
        if state(receiver)["in_flight"]:
            break
        await asyncio.sleep(0.02)
    assert state(receiver)["in_flight"] == 1
    # mid-delivery: no transaction open, the claimed row not locked, and nobody else claims it
    assert await open_transactions(db_pool) == 0
    async with db_pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL lock_timeout = '200ms'")
        await conn.execute("SELECT id FROM contingent_outbox FOR UPDATE")
    other = Publisher(db_pool, register, Delivery(batch=10))
    assert (await other.publish_once()).claimed == 0
    task.cancel()  # the publisher dies mid-delivery
    with pytest.raises(asyncio.CancelledError):
        await task
    set_mode(receiver, "ok")
    assert (await other.publish_once()).claimed == 0  # its claim still holds ...
    await asyncio.sleep(2.1)
    assert await other.drain() == 3  # ... until it lapses: then everything goes out, once, in order
    applied = [tuple(x) for x in state(receiver)["applied"]]  # type: ignore[attr-defined]
    assert [child for _, child in applied] == [kid] * 3
    assert [event_id for event_id, _ in applied] == sorted(event_id for event_id, _ in applied)


async def test_delivered_events_are_pruned_after_the_retention_period(
    db_pool: asyncpg.Pool, receiver: str, register: HttpContingentStore
) -> None:
    await enqueue_lives(db_pool, 2)
    publisher = Publisher(db_pool, register, Delivery(retention=dt.timedelta(days=30)))
    assert await publisher.drain() == 6
    await enqueue_lives(db_pool, 1)  # three more, not delivered
    old = await db_pool.fetch("SELECT id FROM contingent_outbox WHERE delivered_at IS NOT NULL ORDER BY id LIMIT 4")
    await db_pool.execute(
        "UPDATE contingent_outbox SET delivered_at = now() - interval '31 days' WHERE id = ANY($1::bigint[])",
        [r["id"] for r in old],
    )
    assert await publisher.prune() == 4
    left = await db_pool.fetch("SELECT delivered_at IS NULL AS pending FROM contingent_outbox")
    assert sorted(r["pending"] for r in left) == [False, False, True, True, True]
