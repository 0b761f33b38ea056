"""Helpers of the intra-school registration tests: schools, pupils, admins, a council, sittings, cases.

The ``world`` fixture is in this folder's ``conftest.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import contingent_helpers
from admin_helpers import Admins

from admission.census.formats import ATTENDANCE_COLUMNS, BBAZH_COLUMNS, PERSONS_COLUMNS
from admission.iin import make_iin
from admission.prevention import service
from admission.prevention.models import (
    AssessmentIn,
    Case,
    CaseIn,
    CouncilIn,
    CouncilMember,
    DecisionIn,
    Participant,
    PlanIn,
    PlanRowIn,
    Sitting,
    SittingIn,
)
from admission.reference import KZ
from admission.signing_keys import AdminPrincipal, KeySet

REGION = "astana"
SCHOOL = "150645269256"  # №1, Астана (reference data)
OTHER_SCHOOL = "290246571117"  # №2, Астана
FAR_SCHOOL = "380445395737"  # №1, Аягөз (abai)
PUPIL_NAME = "Серікбаев Әлихан Бауыржанұлы"
PARENT = make_iin(dt.date(1988, 4, 2), False, 1200)


def kz(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    """A Kazakhstan-time instant."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=KZ)


MONDAY = kz(2026, 4, 13, 10)  # an ordinary working Monday


def council(members: int = 5, *, chairs: int = 1, secretaries: int = 1) -> CouncilIn:
    roles = ["chair"] * chairs + ["secretary"] * secretaries
    roles += ["member"] * max(0, members - len(roles))
    posts = {"chair": "директор", "secretary": "әлеуметтік педагог", "member": "мұғалім"}
    return CouncilIn(
        order_number="12-Ө",
        order_date=dt.date(2026, 1, 10),
        members=[
            CouncilMember(full_name=f"Қызметкер {i} Нұрланұлы", post=posts[role], role=role)  # type: ignore[arg-type]
            for i, role in enumerate(roles[:members])
        ],
    )


def assessment() -> AssessmentIn:
    return AssessmentIn(
        class_teacher_reference="Сабаққа жиі кешігеді, үй тапсырмасын орындамайды.",
        psychologist_conclusion="Мазасыздық деңгейі жоғары.",
        work_summary="Ата-анамен екі рет әңгіме өткізілді.",
        submitted_to="Тәрбие ісі жөніндегі орынбасар Ахметова Г.",
        submitted_on=dt.date(2026, 4, 14),
    )


def plan(row_count: int = 2, **overrides: Any) -> PlanIn:
    values: dict[str, Any] = {
        "period_from": dt.date(2026, 4, 20),
        "period_to": dt.date(2026, 12, 25),
        "situation": "Сабаққа жүйелі түрде қатыспайды; отбасында бақылау жоқ.",
        "approved_by": "Директор Жұмабаев Е.",
        "approved_on": dt.date(2026, 4, 17),
        "rows": [
            PlanRowIn(
                kind_of_help=f"Көмек түрі {i}",
                responsible="педагог-психолог",
                period_volume="аптасына 1 рет",
                deadline=dt.date(2026, 5, 10 + i),
                quality_indicator="сабаққа қатысу 95 %",
            )
            for i in range(1, row_count + 1)
        ],
    }
    values.update(overrides)
    return PlanIn(**values)


class World(Admins):
    """The reference schools, pupils enrolled in the contingent store, admins and the council's steps."""

    def __init__(self, pool: asyncpg.Pool, keys: KeySet) -> None:
        self.pool = pool
        self.keys = keys
        self._serial = itertools.count(11)
        self._sittings = itertools.count(1)

    def pupil(self, born: dt.date = dt.date(2014, 3, 1)) -> str:
        return make_iin(born, True, next(self._serial) * 3)

    async def enrol(self, pupil: str, school: str = SCHOOL, grade: int = 5) -> str:
        return await contingent_helpers.enrol(self.pool, pupil, school, grade)

    async def enrolled_pupil(self, school: str = SCHOOL, grade: int = 5) -> str:
        return await self.enrol(self.pupil(), school, grade)

    def school_admin(self, school: str = SCHOOL) -> AdminPrincipal:
        region = "abai" if school == FAR_SCHOOL else REGION
        return AdminPrincipal(subject=f"head-{school}", role="school", region=region, school=school)

    def request_case(self, pupil: str, **overrides: Any) -> CaseIn:
        values: dict[str, Any] = {
            "source": "request",
            "pupil_iin": pupil,
            "pupil_full_name": PUPIL_NAME,
            "situation": "Бір айда 12 сабақ себепсіз босатылды.",
            "address": "Астана, Абай даңғылы 10, 5-пәтер",
            "registered_address": "Астана, Абай даңғылы 10, 5-пәтер",
            "requested_by_role": "class_teacher",
            "requested_by_name": "Омарова Сәуле",
            "proposed_by_name": "Ахметова Гүлнар",
        }
        values.update(overrides)
        return CaseIn(**values)

    def outside_case(self, pupil: str, received_at: dt.datetime, **overrides: Any) -> CaseIn:
        values: dict[str, Any] = {
            "source": "outside",
            "pupil_iin": pupil,
            "pupil_full_name": PUPIL_NAME,
            "situation": "Кәмелетке толмағандар ісі жөніндегі инспектордың хабарламасы.",
            "received_at": received_at,
            "outside_body": "police",
            "outside_body_name": "Алматы ауданының ПБ",
            "outside_reference": "ИК-17/204",
        }
        values.update(overrides)
        return CaseIn(**values)

    async def council(self, school: str = SCHOOL) -> None:
        async with self.pool.acquire() as conn:
            await service.put_council(conn, self.school_admin(school), school, council(6), MONDAY)

    async def sitting(self, school: str = SCHOOL, held_on: dt.date = dt.date(2026, 4, 16)) -> Sitting:
        data = SittingIn(
            number=f"{next(self._sittings)}",
            held_on=held_on,
            agenda=["Оқушыларды мектепішілік есепке қою туралы"],
            participants=[
                Participant(full_name="Қызметкер 0 Нұрланұлы", post="директор"),
                Participant(full_name="Қызметкер 1 Нұрланұлы", post="әлеуметтік педагог"),
                Participant(full_name="Серікбаева Дана", post="ана", kind="parent"),
                Participant(full_name="Қасымов Бауыржан", post="ювеналдық полиция инспекторы", kind="invited"),
            ],
            heard="Сынып жетекшісі Омарова С. оқушының сабаққа қатысуы туралы баяндады.",
        )
        async with self.pool.acquire() as conn:
            return await service.create_sitting(conn, self.school_admin(school), school, data, MONDAY)

    async def open_case(self, school: str = SCHOOL, pupil: str | None = None, now: dt.datetime = MONDAY) -> Case:
        pupil = pupil or await self.enrolled_pupil(school)
        async with self.pool.acquire() as conn:
            return await service.open_case(conn, self.school_admin(school), school, self.request_case(pupil), now)

    async def case_before_council(self, school: str = SCHOOL, pupil: str | None = None) -> tuple[Case, Sitting]:
        """An open case at ``school`` and a sitting of its council: all a decision needs but the materials."""
        await self.council(school)
        return await self.open_case(school, pupil), await self.sitting(school)

    async def registered_case(
        self, school: str = SCHOOL, grounds: Sequence[int] = (5,), pupil: str | None = None
    ) -> tuple[Case, Sitting]:
        """A case through council, assessment and a decision to register; with a plan."""
        case, sitting = await self.case_before_council(school, pupil)
        admin = self.school_admin(school)
        async with self.pool.acquire() as conn:
            await service.set_assessment(conn, admin, school, case.id, assessment(), MONDAY)
            decision = DecisionIn(sitting_id=sitting.id, register=True, grounds=list(grounds))
            await service.decide(conn, admin, school, case.id, decision, MONDAY)
            case = await service.set_plan(conn, admin, school, case.id, plan(), MONDAY)
        return case, sitting

    async def audit(self, action: str | None = None) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT * FROM audit_log WHERE action LIKE 'prevention.%'"
            " AND ($1::text IS NULL OR action = $1) ORDER BY id",
            action,
        )


# ---------------------------------------------------------------- tiny census extracts


def _dmy(iin: str) -> str:
    century = {"5": "20", "6": "20", "3": "19", "4": "19"}[iin[6]]
    return f"{iin[4:6]}.{iin[2:4]}.{century}{iin[0:2]}"


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def census_files(directory: Path, pupils: dict[str, tuple[str, str]], school: str = SCHOOL) -> tuple[Path, Path]:
    """Persons and ББАЖ extracts of ``pupils`` (ИИН -> (surname, name)), all attending ``school`` in grade 5."""
    persons = [
        [iin, s, n, "", _dmy(iin), "M", "KZ", "0", "Астана", "", "Астана, 5-үй", "1"] for iin, (s, n) in pupils.items()
    ]
    bbazh = [
        [iin, s, n, "", _dmy(iin), school, "Мектеп", "school", "state", "5", "0"] for iin, (s, n) in pupils.items()
    ]
    return _write(directory / "persons.csv", PERSONS_COLUMNS, persons), _write(
        directory / "bbazh.csv", BBAZH_COLUMNS, bbazh
    )


def attendance_file(directory: Path, rows: Iterable[tuple[str, str, int]], month: str) -> Path:
    """A month's attendance feed: (ИИН, school, unexcused days missed) rows."""
    return _write(
        directory / f"attendance-{month}.csv",
        ATTENDANCE_COLUMNS,
        [[iin, school, month, str(days)] for iin, school, days in rows],
    )
