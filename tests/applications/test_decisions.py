"""Deciding grade-1 applications: capacity under concurrency, roster priority, refusals, withdrawal."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pytest
from admission_helpers import (
    GENERAL_SEATS,
    OTHER_SCHOOL,
    ROSTER,
    ROSTER_SIZE,
    SCHOOL,
    access,
    apply,
    child_iin,
    seat_counters,
)

from admission.access import AccessClaims
from admission.applications import Filed, get_application, withdraw
from admission.applications.models import NotWithdrawable, WrongWithdrawToken
from admission.errors import InvalidIin
from admission.reference import KZ, set_window
from admission.signing_keys import KeySet

pytestmark = pytest.mark.usefixtures("schools")


async def test_500_concurrent_applications_take_exactly_the_general_seats_and_roster_children_still_get_in(
    db_pool: asyncpg.Pool, keys: KeySet
) -> None:
    general = [child_iin() for _ in range(500)]
    applicants = [access(keys, child_iin(dt.date(1991, 1, 1))) for _ in range(50)]
    calls = [apply(db_pool, applicants[i % 50], c) for i, c in enumerate(general)]
    calls[250:250] = [apply(db_pool, applicants[0], c) for c in ROSTER]  # roster children apply in the thick of it
    filed = await asyncio.gather(*calls)

    by_child = {f.application.child_iin: f.application for f in filed}
    accepted_general = [c for c in general if by_child[c].status == "accepted"]
    assert len(accepted_general) == GENERAL_SEATS
    refused = [by_child[c] for c in general if by_child[c].status == "refused"]
    assert len(refused) == 500 - GENERAL_SEATS
    assert {(a.refusal.ground, a.refusal.code) for a in refused if a.refusal} == {(7, "class_full")}
    assert all(by_child[c].status == "accepted" and by_child[c].priority for c in ROSTER)
    counters = await seat_counters(db_pool)
    assert (counters["general_taken"], counters["roster_taken"]) == (GENERAL_SEATS, ROSTER_SIZE)
    live = await db_pool.fetchval("SELECT count(*) FROM applications WHERE status = 'accepted'")
    assert live == GENERAL_SEATS + ROSTER_SIZE == counters["capacity"]

    # Withdrawing one accepted application lets exactly one more in, however many try at once.
    winner = next(f for f in filed if f.application.child_iin == accepted_general[0])
    async with db_pool.acquire() as conn:
        await withdraw(conn, winner.application.id, winner.withdraw_token, dt.datetime.now(dt.UTC))
    second_wave = await asyncio.gather(*(apply(db_pool, applicants[i % 50], child_iin()) for i in range(60)))
    assert sorted(f.application.status for f in second_wave).count("accepted") == 1
    assert (await seat_counters(db_pool))["general_taken"] == GENERAL_SEATS


async def test_a_roster_child_is_admitted_when_general_seats_are_full_but_not_in_another_language(
    db_pool: asyncpg.Pool, claims: AccessClaims
) -> None:
    await asyncio.gather(*(apply(db_pool, claims, child_iin()) for _ in range(GENERAL_SEATS)))
    late = await apply(db_pool, claims, child_iin())
    assert late.application.status == "refused"
    roster_child = await apply(db_pool, claims, ROSTER[0])
    assert (roster_child.application.status, roster_child.application.priority) == ("accepted", True)
    # Roster seats are for the school's own roster: another school's general applicants never take them.
    other = await apply(db_pool, claims, ROSTER[1], school=OTHER_SCHOOL, language="ru")
    assert (other.application.status, other.application.priority) == ("accepted", False)


async def test_one_live_application_per_child_nationwide_even_when_filed_at_once(
    db_pool: asyncpg.Pool, keys: KeySet
) -> None:
    child = child_iin()
    # 20 slots (the same slot filing the same child again is a repeat: see test_idempotent_filing.py)
    filed = await asyncio.gather(
        *(apply(db_pool, access(keys), child, school=OTHER_SCHOOL if i % 2 else SCHOOL) for i in range(20))
    )
    accepted = [f.application for f in filed if f.application.status == "accepted"]
    assert len(accepted) == 1
    duplicates = [f.application for f in filed if f.application.status == "refused"]
    assert len(duplicates) == 19
    for d in duplicates:
        assert d.refusal is not None
        assert (d.refusal.ground, d.refusal.code, d.refusal.first_application_id) == (
            2,
            "duplicate_application",
            accepted[0].id,
        )
    seats_taken = sum([(await seat_counters(db_pool, s, "kk"))["general_taken"] for s in (SCHOOL, OTHER_SCHOOL)])
    assert seats_taken == 1


async def test_twins_get_one_application_each_in_the_same_session(db_pool: asyncpg.Pool, claims: AccessClaims) -> None:
    twins = [child_iin(dt.date(2020, 2, 2)), child_iin(dt.date(2020, 2, 2))]
    filed = await asyncio.gather(*(apply(db_pool, claims, t) for t in twins))
    assert [f.application.status for f in filed] == ["accepted", "accepted"]


async def test_no_consent_is_ground_6_with_a_receipt(db_pool: asyncpg.Pool, claims: AccessClaims) -> None:
    child = child_iin()
    filed = await apply(db_pool, claims, child, consent=False)
    refusal = filed.application.refusal
    assert filed.application.status == "refused"
    assert refusal is not None
    assert (refusal.ground, refusal.code) == (6, "no_consent")
    receipt = refusal.receipt
    assert (receipt.applicant_iin, receipt.child_iin, receipt.ground) == (claims.applicant_iin, child, 6)
    assert receipt.date == dt.date(2026, 6, 1)
    assert receipt.reason["ru"].startswith("отсутствие согласия")
    assert receipt.documents  # the documents handed in are listed
    assert (await seat_counters(db_pool))["general_taken"] == 0


async def test_window_edges_are_in_kazakhstan_time(db_pool: asyncpg.Pool, claims: AccessClaims) -> None:
    opens = dt.datetime(2026, 6, 10, tzinfo=KZ)
    closes = dt.datetime(2026, 9, 1, tzinfo=KZ)
    async with db_pool.acquire() as conn:
        await set_window(conn, "astana", opens, closes)
    second = dt.timedelta(seconds=1)
    cases = [
        (dt.datetime(2026, 6, 9, 18, 59, 59, tzinfo=dt.UTC), "window_not_open"),
        (dt.datetime(2026, 6, 9, 19, 0, 0, tzinfo=dt.UTC), None),  # 00:00 on 10 June in Astana
        (dt.datetime(2026, 8, 31, 19, 0, 0, tzinfo=dt.UTC) - second, None),  # 23:59:59 on 31 August
        (dt.datetime(2026, 8, 31, 19, 0, 0, tzinfo=dt.UTC), "window_closed"),
    ]
    for now, code in cases:
        filed = await apply(db_pool, claims, child_iin(), now=now)
        got = filed.application.refusal.code if filed.application.refusal else None
        assert got == code, now
        if code:
            assert filed.application.refusal is not None
            assert filed.application.refusal.ground is None  # a window refusal is not an annex-2 ground


async def test_a_child_iin_with_a_bad_check_digit_is_rejected(db_pool: asyncpg.Pool, claims: AccessClaims) -> None:
    good = child_iin()
    bad = good[:11] + str((int(good[11]) + 1) % 10)
    with pytest.raises(InvalidIin):
        await apply(db_pool, claims, bad)


async def test_withdrawal_frees_the_seat_at_once_keeps_history_and_allows_a_new_application(
    db_pool: asyncpg.Pool, claims: AccessClaims, keys: KeySet
) -> None:
    child = child_iin()
    first = await apply(db_pool, claims, child)
    assert (await seat_counters(db_pool))["general_taken"] == 1
    async with db_pool.acquire() as conn:
        with pytest.raises(WrongWithdrawToken):
            await withdraw(conn, first.application.id, "someone-elses-token", dt.datetime.now(dt.UTC))
        done = await withdraw(conn, first.application.id, first.withdraw_token, dt.datetime.now(dt.UTC))
        again = await withdraw(conn, first.application.id, first.withdraw_token, dt.datetime.now(dt.UTC))
    assert done.status == again.status == "withdrawn"
    assert done.withdrawn_at is not None
    assert (await seat_counters(db_pool))["general_taken"] == 0

    second = await apply(db_pool, access(keys), child)  # a new slot
    assert second.application.status == "accepted"
    async with db_pool.acquire() as conn:
        history = await get_application(conn, first.application.id, first.withdraw_token)
    assert history.status == "withdrawn"

    refused = await apply(db_pool, claims, child_iin(), consent=False)
    async with db_pool.acquire() as conn:
        with pytest.raises(NotWithdrawable):
            await withdraw(conn, refused.application.id, refused.withdraw_token, dt.datetime.now(dt.UTC))


async def test_withdrawing_at_once_from_several_devices_frees_exactly_one_seat(
    db_pool: asyncpg.Pool, claims: AccessClaims
) -> None:
    general = await apply(db_pool, claims, child_iin())
    roster = await apply(db_pool, claims, ROSTER[2])
    assert roster.application.priority

    async def withdraw_it(filed: Filed) -> str:
        async with db_pool.acquire() as conn:
            return (await withdraw(conn, filed.application.id, filed.withdraw_token, dt.datetime.now(dt.UTC))).status

    statuses = await asyncio.gather(*(withdraw_it(f) for f in [general, roster] * 10))
    assert set(statuses) == {"withdrawn"}
    counters = await seat_counters(db_pool)
    assert (counters["general_taken"], counters["roster_taken"]) == (0, 0)
