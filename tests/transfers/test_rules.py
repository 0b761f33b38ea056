"""What the rules decide at once: grounds vs school holidays, class capacity (issue 18: see test_model_rules.py)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from transfer_world import HEAD, World, kz

from admission.transfers import calendar, service
from admission.transfers.calendar import HolidayPeriod
from admission.transfers.errors import InvalidTransfer, MinistryOnly, PupilNotEnrolled, TransferInProgress

SPRING_HOLIDAYS = kz(2026, 3, 19, 11)  # Thursday, first day of the 2025-2026 spring holidays
TERM_TIME = kz(2026, 4, 15, 11)  # a Wednesday in the fourth term
DOCUMENTS = {
    "holidays": None,
    "court_decision": "court decision 2-1234/2026",
    "relocation": "housing certificate 77/2026",
    "leaving_country": "exit certificate 55/2026",
    "bullying": None,
}


@pytest.mark.parametrize("ground", sorted(DOCUMENTS))
@pytest.mark.parametrize(("when", "label"), [(SPRING_HOLIDAYS, "holidays"), (TERM_TIME, "term")])
async def test_every_ground_inside_and_outside_school_holidays(
    world: World, ground: str, when: dt.datetime, label: str
) -> None:
    child, school_from, school_to = await world.moving_pupil()
    to_school = None if ground == "leaving_country" else school_to
    request = world.request(child, to_school, ground=ground, document_ref=DOCUMENTS[ground])
    async with world.pool.acquire() as conn:
        t = await service.request_transfer(conn, request, when)

    if ground == "holidays" and label == "term":
        assert t.status == "refused"
        assert (t.refusal_ground, t.refusal_code) == (2, "not_school_holidays")
        assert t.notification_jws  # the refusal is a signed, motivated notification
    else:
        assert t.status == "pending", "the exceptions of para 17 are allowed at any time"
        assert t.decision_due_at == kz(when.year, when.month, when.day + 1, 11)
    assert await world.current_schools(child) == [school_from], "a request moves nobody"


async def test_grounds_needing_proof_are_rejected_without_it(world: World) -> None:
    child, _, school_to = await world.moving_pupil()
    async with world.pool.acquire() as conn:
        for ground in ("court_decision", "relocation", "leaving_country"):
            to_school = None if ground == "leaving_country" else school_to
            with pytest.raises(InvalidTransfer):
                await service.request_transfer(
                    conn, world.request(child, to_school, ground=ground, document_ref=None), TERM_TIME
                )
        with pytest.raises(InvalidTransfer):  # leaving the country names no receiving school
            await service.request_transfer(conn, world.request(child, school_to, ground="leaving_country"), TERM_TIME)


async def test_only_pupils_enrolled_per_the_contingent_store_and_one_transfer_at_a_time(world: World) -> None:
    school_from, school_to = world.schools["astana"][:2]
    stranger = world.child()
    async with world.pool.acquire() as conn:
        with pytest.raises(PupilNotEnrolled):
            await service.request_transfer(conn, world.request(stranger, school_to), TERM_TIME)
        child = await world.enrolled_child(school_from, grade=5)
        for wrong_grade in (3, 4, 7):  # their own grade, or the next one over the summer
            with pytest.raises(InvalidTransfer):
                await service.request_transfer(conn, world.request(child, school_to, grade=wrong_grade), TERM_TIME)
        with pytest.raises(InvalidTransfer):
            await service.request_transfer(conn, world.request(child, school_from), TERM_TIME)
        await service.request_transfer(conn, world.request(child, school_to), TERM_TIME)
        with pytest.raises(TransferInProgress):
            await service.request_transfer(conn, world.request(child, world.schools["astana"][2]), TERM_TIME)


async def test_a_grade_5_class_set_is_never_overfilled_by_concurrent_requests(world: World) -> None:
    """2 classes x 24 seats, 45 pupils already there: of 30 concurrent requests exactly 3 get a seat."""
    target = world.schools["astana"][3]
    await world.set_capacity(target, 5, "kk", classes=2, seats=24)
    for _ in range(45):
        await world.enrolled_child(target, grade=5)
    sources = [s for s in world.schools["astana"] if s != target]
    children = [await world.enrolled_child(sources[i % len(sources)]) for i in range(30)]

    async def ask(child: str) -> str:
        async with world.pool.acquire() as conn:
            t = await service.request_transfer(conn, world.request(child, target), TERM_TIME)
        return t.status if t.status != "refused" else f"refused:{t.refusal_ground}"

    outcomes = await asyncio.gather(*(ask(c) for c in children))
    assert sorted(outcomes).count("pending") == 3
    assert outcomes.count("refused:7") == 27


async def test_a_refused_or_finished_hold_frees_the_seat_and_enrolled_pupils_count(world: World) -> None:
    target, source = world.schools["astana"][4], world.schools["astana"][5]
    await world.set_capacity(target, 7, "ru", classes=1, seats=2)
    await world.enrolled_child(target, grade=7, language="ru")
    first, second, third = [await world.enrolled_child(source, grade=6, language="ru") for _ in range(3)]
    head = world.school_admin(target)
    async with world.pool.acquire() as conn:
        held = await service.request_transfer(conn, world.request(first, target, grade=7, language="ru"), TERM_TIME)
        assert held.status == "pending"
        full = await service.request_transfer(conn, world.request(second, target, grade=7, language="ru"), TERM_TIME)
        assert (full.status, full.refusal_ground) == ("refused", 7)
        await service.decide(
            conn, head, held.id, TERM_TIME, accept=False, refusal_ground=1, reason="forged certificate", employee=HEAD
        )
        freed = await service.request_transfer(conn, world.request(third, target, grade=7, language="ru"), TERM_TIME)
        assert freed.status == "pending"


async def test_capacity_binds_grades_2_to_9_not_grade_1(world: World) -> None:
    target, source = world.schools["astana"][6], world.schools["astana"][7]
    await world.fill(target, 1, "kk", await world.capacity(target, 1, "kk") + 5)
    child = await world.enrolled_child(source, grade=1)
    async with world.pool.acquire() as conn:
        t = await service.request_transfer(conn, world.request(child, target, grade=1), TERM_TIME)
    assert t.status == "pending", "para 25 caps grades 2-9 only"
    await world.pool.execute("DELETE FROM transfer_events; DELETE FROM transfers")
    for grade in (2, 9):
        await world.set_capacity(target, grade, "kk", classes=0, seats=0)
        child = await world.enrolled_child(source, grade=grade - 1)
        async with world.pool.acquire() as conn:
            t = await service.request_transfer(conn, world.request(child, target, grade=grade), TERM_TIME)
        assert (t.status, t.refusal_ground) == ("refused", 7)
        await world.pool.execute("DELETE FROM transfer_events; DELETE FROM transfers")


async def test_the_ministry_keeps_the_calendar_and_the_holidays_ground_follows_it(world: World) -> None:
    school_from, school_to = world.schools["zhetisu"][:2]
    extra = HolidayPeriod(name="quarantine", starts_on=dt.date(2026, 4, 13), ends_on=dt.date(2026, 4, 19))
    async with world.pool.acquire() as conn:
        with pytest.raises(MinistryOnly):
            await calendar.replace_periods(conn, world.region_admin("zhetisu"), "2025-2026", [extra])
        year = await calendar.periods(conn, "2025-2026")
        assert {p.name for p in year} >= {"autumn", "winter", "spring", "summer"}
        await calendar.replace_periods(conn, world.ministry(), "2025-2026", [*year, extra])
        child = await world.enrolled_child(school_from)
        t = await service.request_transfer(conn, world.request(child, school_to, ground="holidays"), TERM_TIME)
        assert t.status == "pending"
        audit = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'calendar.replace'")
        assert audit == 1
        bad = HolidayPeriod(name="x", starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 9, 2))
        with pytest.raises(InvalidTransfer):  # outside its school year
            await calendar.replace_periods(conn, world.ministry(), "2025-2026", [bad])


async def test_grade_1_has_its_extra_february_week(world: World) -> None:
    school_from, school_to = world.schools["kyzylorda"][:2]
    february = kz(2026, 2, 11, 10)
    async with world.pool.acquire() as conn:
        first_grader = await world.enrolled_child(school_from, grade=1)
        t1 = await service.request_transfer(
            conn, world.request(first_grader, school_to, grade=1, ground="holidays"), february
        )
        fifth_grader = await world.enrolled_child(school_from, grade=5)
        t5 = await service.request_transfer(conn, world.request(fifth_grader, school_to, ground="holidays"), february)
    assert t1.status == "pending"
    assert (t5.status, t5.refusal_code) == ("refused", "not_school_holidays")
