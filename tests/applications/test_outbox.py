"""The push to the contingent store: exactly once, in per-child order, through store outages."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random

import asyncpg
import pytest
from admission_helpers import OTHER_SCHOOL, SCHOOL, apply, child_iin, until_delivered

from admission.access import AccessClaims
from admission.applications import confirm, withdraw
from admission.applications.models import NotConfirmable
from admission.contingent import ContingentEvent, ContingentStoreError, Delivery, PostgresContingentStore, Publisher
from admission.signing_keys import AdminPrincipal

SCHOOL_ADMIN = AdminPrincipal(subject="director", role="region", region="astana")


class FlakyStore:
    """The real PostgreSQL store behind a switch: down for stretches of calls, and sometimes
    applying an event but losing the answer (the publisher must not apply it twice)."""

    def __init__(self, store: PostgresContingentStore) -> None:
        self.store = store
        self.calls = 0
        self.refused = 0
        self.lost_answers = 0

    async def apply(self, event_id: int, event: ContingentEvent) -> None:
        self.calls += 1
        call = self.calls
        if (call // 5) % 2 == 1:
            self.refused += 1
            raise ContingentStoreError("ҰБДҚ is down")
        await self.store.apply(event_id, event)
        if call % 7 == 0:
            self.lost_answers += 1
            raise TimeoutError("the store's answer was lost")


async def test_confirmed_admissions_reach_the_store_exactly_once_and_revocations_after_enrolments(
    db_pool: asyncpg.Pool, claims: AccessClaims, schools: None
) -> None:
    filed = [await apply(db_pool, claims, child_iin(), school=OTHER_SCHOOL) for _ in range(40)]
    filed += [await apply(db_pool, claims, child_iin()) for _ in range(20)]
    assert all(f.application.status == "accepted" for f in filed)
    rng = random.Random(4)
    order_date = dt.date(2026, 6, 15)
    flaky = FlakyStore(PostgresContingentStore(db_pool))
    publishers = [
        Publisher(db_pool, flaky, Delivery(batch=8, backoff_seconds=0.005, max_backoff_seconds=0.02)) for _ in range(2)
    ]
    stop = asyncio.Event()
    running = [asyncio.create_task(p.run(stop, poll_seconds=0.005)) for p in publishers]

    async def confirm_one(application_id: object) -> None:
        async with db_pool.acquire() as conn:
            with contextlib.suppress(NotConfirmable):  # a withdrawal may get there first
                await confirm(
                    conn, SCHOOL_ADMIN, OTHER_SCHOOL, order_number="12-Б", order_date=order_date,
                    application_id=application_id, now=dt.datetime.now(dt.UTC),
                )  # fmt: skip

    async def confirm_all(school: str) -> None:
        async with db_pool.acquire() as conn:
            await confirm(
                conn, SCHOOL_ADMIN, school, order_number="13-Б", order_date=order_date, application_id=None,
                now=dt.datetime.now(dt.UTC),
            )  # fmt: skip

    async def withdraw_later(index: int) -> None:
        await asyncio.sleep(rng.random() * 0.2)
        async with db_pool.acquire() as conn:
            await withdraw(conn, filed[index].application.id, filed[index].withdraw_token, dt.datetime.now(dt.UTC))

    work = [confirm_one(f.application.id) for f in filed[:40]]
    work += [confirm_all(SCHOOL), confirm_all(SCHOOL)]
    work += [withdraw_later(i) for i in rng.sample(range(60), 25)]
    rng.shuffle(work)
    try:
        await asyncio.gather(*work)
        await confirm_all(SCHOOL)  # what a withdrawal left accepted
        await until_delivered(db_pool, 10)
    finally:
        stop.set()
        await asyncio.gather(*running)
    lag = await publishers[0].measure_lag()
    assert (lag.pending, lag.seconds) == (0, 0)
    assert flaky.refused > 0
    assert flaky.lost_answers > 0

    # Every event took effect exactly once.
    events = await db_pool.fetchval("SELECT count(*) FROM contingent_outbox")
    applied = await db_pool.fetchval("SELECT count(*) FROM contingent.applied_events")
    assert events == applied > 0

    apps = await db_pool.fetch("SELECT id, child_iin, school_bin, status, confirmed_at FROM applications")
    enrolments = await db_pool.fetch(
        "SELECT child_iin, school_bin, order_number, ended_on, end_reason FROM contingent.enrolments"
    )
    by_child: dict[str, list[asyncpg.Record]] = {}
    for e in enrolments:
        by_child.setdefault(e["child_iin"], []).append(e)
    seen = {"confirmed": 0, "revoked": 0, "never": 0}
    for a in apps:
        rows = by_child.get(a["child_iin"], [])
        if a["status"] == "confirmed":
            assert len(rows) == 1
            assert rows[0]["school_bin"] == a["school_bin"]
            assert rows[0]["ended_on"] is None
            seen["confirmed"] += 1
        elif a["confirmed_at"] is not None:  # confirmed, then withdrawn: enrolled once, then revoked
            assert len(rows) == 1
            assert rows[0]["end_reason"] == "withdrawn"
            kinds = await db_pool.fetch(
                "SELECT kind FROM contingent.applied_events WHERE child_iin = $1 ORDER BY seq", a["child_iin"]
            )
            assert [k["kind"] for k in kinds] == ["enrol", "revoke"]
            seen["revoked"] += 1
        else:  # withdrawn before any confirmation: the store never heard of it
            assert rows == []
            seen["never"] += 1
    assert seen["confirmed"] >= 20
    assert seen["revoked"] + seen["never"] == 25


async def test_a_withdrawal_of_a_confirmed_admission_waits_behind_its_undelivered_enrolment(
    db_pool: asyncpg.Pool, claims: AccessClaims, schools: None
) -> None:
    filed = await apply(db_pool, claims, child_iin())
    async with db_pool.acquire() as conn:
        await confirm(
            conn, SCHOOL_ADMIN, SCHOOL, order_number="1", order_date=dt.date(2026, 6, 2), application_id=None,
            now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        await withdraw(conn, filed.application.id, filed.withdraw_token, dt.datetime.now(dt.UTC))

    class Down:
        async def apply(self, event_id: int, event: ContingentEvent) -> None:
            raise ContingentStoreError("down")

    # The Enrol fails; the Revoke behind it must not be tried at all.
    first = await Publisher(db_pool, Down(), Delivery(backoff_seconds=0)).publish_once()
    assert (first.claimed, first.failed) == (1, 1)
    store = PostgresContingentStore(db_pool)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    rounds = [await Publisher(db_pool, store).publish_once(later) for _ in range(3)]
    assert [r.delivered for r in rounds] == [1, 1, 0]
    row = await db_pool.fetchrow(
        "SELECT ended_on, end_reason FROM contingent.enrolments WHERE child_iin = $1", filed.application.child_iin
    )
    assert row is not None
    assert row["end_reason"] == "withdrawn"


@pytest.mark.parametrize("kind", ["move", "leave"])
async def test_store_moves_and_leaves_keep_one_current_enrolment(db_pool: asyncpg.Pool, kind: str) -> None:
    from admission.contingent import Enrol, Leave, Move

    store = PostgresContingentStore(db_pool)
    child = child_iin(dt.date(2015, 3, 3))
    await store.apply(1, Enrol(child_iin=child, school_bin="A", grade=4, language="kk", order_number="1",
                               order_date=dt.date(2025, 8, 20), since=dt.date(2025, 9, 1)))  # fmt: skip
    if kind == "move":
        event: ContingentEvent = Move(
            child_iin=child, from_school_bin="A", to_school_bin="B", grade=4, language="kk",
            order_number="2", order_date=dt.date(2026, 1, 5), since=dt.date(2026, 1, 8),
        )  # fmt: skip
    else:
        event = Leave(child_iin=child, school_bin="A", reason="left_country", on=dt.date(2026, 1, 8))
    await store.apply(2, event)
    await store.apply(2, event)  # delivered twice: applied once
    rows = await db_pool.fetch(
        "SELECT school_bin, ended_on, end_reason FROM contingent.enrolments WHERE child_iin = $1 ORDER BY id", child
    )
    expected = [("A", dt.date(2026, 1, 8), "moved" if kind == "move" else "left_country")]
    if kind == "move":
        expected.append(("B", None, None))
    assert [tuple(r) for r in rows] == expected
