"""The council's composition (paras 6-7) and the 1- and 2-working-day deadlines (paras 11, 12, 20)."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prevention_helpers import (
    MONDAY,
    SCHOOL,
    World,
    assessment,
    council,
    kz,
)

from admission.prevention import deadlines, service
from admission.prevention.errors import InvalidCouncil, NoCouncil
from admission.prevention.models import CouncilMember, DecisionIn, FamilyMember, InitialDataIn, ReportBackIn


@pytest.mark.parametrize(
    ("members", "chairs", "secretaries", "problem"),
    [
        (4, 1, 1, "at least 5"),
        (5, 0, 1, "exactly one chair"),
        (5, 2, 1, "exactly one chair"),
        (5, 1, 0, "exactly one secretary"),
        (6, 1, 2, "exactly one secretary"),
    ],
)
def test_paras_6_7_a_council_needs_five_staff_one_chair_and_one_secretary(
    members: int, chairs: int, secretaries: int, problem: str
) -> None:
    with pytest.raises(InvalidCouncil) as refused:
        service.validate_council(council(members, chairs=chairs, secretaries=secretaries))
    assert problem in refused.value.message("en")


def test_a_valid_council_passes_and_a_person_cannot_sit_twice() -> None:
    service.validate_council(council(5))
    six = council(6)
    again = CouncilMember(full_name=f"  {six.members[0].full_name.upper()} ", post="мұғалім")
    with pytest.raises(InvalidCouncil) as refused:
        service.validate_council(msgspec.structs.replace(six, members=[*six.members[:-1], again]))
    assert "listed twice" in refused.value.message("en")


async def test_the_council_over_http_refused_with_a_clear_problem_then_recorded(
    world: World, client: AsyncTestClient[Litestar]
) -> None:
    url = f"/v1/admin/schools/{SCHOOL}/prevention/council"
    headers = {**world.bearer(world.school_admin()), "Accept-Language": "ru"}
    assert (await client.get(url, headers=headers)).json()["code"] == "prevention_no_council"
    four = {
        "order_number": "12-Ө",
        "order_date": "2026-01-10",
        "members": [{"full_name": f"Сотрудник {i}", "post": "учитель", "role": "member"} for i in range(4)],
    }
    refused = await client.put(url, json=four, headers=headers)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "prevention_invalid_council"
    assert refused.json()["title"].startswith("Неверный состав Совета профилактики")
    five = {
        **four,
        "members": [
            {"full_name": "Жұмабаев Ерлан", "post": "директор", "role": "chair"},
            {"full_name": "Сейітова Айгүл", "post": "социальный педагог", "role": "secretary"},
            *four["members"][:3],
        ],
    }
    recorded = await client.put(url, json=five, headers=headers)
    assert recorded.status_code == 200, recorded.text
    assert len((await client.get(url, headers=headers)).json()["members"]) == 5


async def test_para_5_no_sitting_without_a_council(world: World) -> None:
    with pytest.raises(NoCouncil):
        await world.sitting()


@pytest.mark.parametrize(
    ("received", "registration_due", "initial_data_due"),
    [
        # An ordinary Friday morning: the weekend does not count.
        (kz(2026, 4, 17, 10), kz(2026, 4, 20, 10), kz(2026, 4, 21, 10)),
        # Friday after hours counts from Monday 09:00: a whole working day, to 18:30.
        (kz(2026, 4, 17, 20), kz(2026, 4, 20, 18, 30), kz(2026, 4, 21, 18, 30)),
        # The Friday before Nauryz: 21-23 March and the observed 24-25 are holidays.
        (kz(2026, 3, 20, 10), kz(2026, 3, 26, 10), kz(2026, 3, 27, 10)),
        # Thursday before 1 May (a Friday holiday) and the weekend.
        (kz(2026, 4, 30, 15), kz(2026, 5, 4, 15), kz(2026, 5, 5, 15)),
        # Saturday 9 May (Victory Day), observed on Monday 11: counting starts Tuesday 09:00.
        (kz(2026, 5, 9, 11), kz(2026, 5, 12, 18, 30), kz(2026, 5, 13, 18, 30)),
    ],
)
async def test_para_11_para_12_outside_information_deadlines_across_weekends_and_holidays(
    world: World, received: dt.datetime, registration_due: dt.datetime, initial_data_due: dt.datetime
) -> None:
    assert deadlines.due("registration", received) == registration_due
    assert deadlines.due("initial_data", received) == initial_data_due
    pupil = await world.enrolled_pupil()
    admin = world.school_admin()
    async with world.pool.acquire() as conn:
        case = await service.open_case(conn, admin, SCHOOL, world.outside_case(pupil, received), received)
        due = {d.kind: (d.due_at, d.state) for d in case.deadlines}
        assert due == {"registration": (registration_due, "due"), "initial_data": (initial_data_due, "due")}
        # A minute past the deadline it shows overdue; registered late it shows done late.
        late = registration_due + dt.timedelta(minutes=1)
        seen = await service.get_case(conn, admin, SCHOOL, case.id, late)
        assert {d.kind: d.state for d in seen.deadlines}["registration"] == "overdue"
        done = await service.register_information(conn, admin, SCHOOL, case.id, "ВХ-88", late)
        assert {d.kind: d.state for d in done.deadlines} == {"registration": "done_late", "initial_data": "due"}


async def test_para_12_a_staff_request_has_only_the_initial_data_deadline_met_on_time(world: World) -> None:
    admin = world.school_admin()
    friday = kz(2026, 4, 17, 10)
    case = await world.open_case(now=friday)
    assert [(d.kind, d.due_at, d.state) for d in case.deadlines] == [("initial_data", kz(2026, 4, 21, 10), "due")]
    data = InitialDataIn(
        family=[FamilyMember(full_name="Серікбаева Дана", relation="ана")],
        location="Астана, Абай даңғылы 10",
        situation="Ана жалғыз тәрбиелейді, жұмыста кеш қайтады.",
    )
    async with world.pool.acquire() as conn:
        done = await service.set_initial_data(conn, admin, SCHOOL, case.id, data, kz(2026, 4, 20, 17))
        assert [(d.kind, d.state) for d in done.deadlines] == [("initial_data", "done")]
        assert done.initial_data is not None
        assert done.initial_data["family"] == [{"full_name": "Серікбаева Дана", "relation": "ана"}]


async def test_para_20_the_decision_is_reported_back_to_the_outside_body_within_one_working_day(world: World) -> None:
    await world.council()
    sitting = await world.sitting()
    pupil = await world.enrolled_pupil()
    admin = world.school_admin()
    received = kz(2026, 5, 4, 9, 30)
    decided = kz(2026, 5, 6, 16)  # Wednesday; Thursday 7 May is a holiday
    async with world.pool.acquire() as conn:
        case = await service.open_case(conn, admin, SCHOOL, world.outside_case(pupil, received), received)
        await service.set_assessment(conn, admin, SCHOOL, case.id, assessment(), decided)
        case = await service.decide(
            conn, admin, SCHOOL, case.id, DecisionIn(sitting_id=sitting.id, register=False), decided
        )
        report = next(d for d in case.deadlines if d.kind == "report_back")
        assert (report.due_at, report.state) == (kz(2026, 5, 8, 16), "due")
        seen = await service.get_case(conn, admin, SCHOOL, case.id, kz(2026, 5, 11, 9))
        assert next(d for d in seen.deadlines if d.kind == "report_back").state == "overdue"
        reported = await service.report_back(conn, admin, SCHOOL, case.id, ReportBackIn(), kz(2026, 5, 8, 12))
        assert next(d for d in reported.deadlines if d.kind == "report_back").state == "done"


def test_a_plan_row_is_due_through_its_deadline_day_then_overdue_unless_done() -> None:
    day = dt.date(2026, 5, 11)
    assert deadlines.row_state(day, None, kz(2026, 5, 11, 23, 59)) == "due"
    assert deadlines.row_state(day, None, kz(2026, 5, 12, 0, 1)) == "overdue"
    assert deadlines.row_state(day, dt.date(2026, 5, 20), kz(2026, 6, 1)) == "done"
    assert MONDAY.weekday() == 0
