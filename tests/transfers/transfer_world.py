"""Helpers of the transfer tests: schools, pupils enrolled in the contingent store, admins."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import asyncpg
import contingent_helpers
from admin_helpers import Admins

from admission.iin import make_iin
from admission.reference import KZ
from admission.signing_keys import AdminPrincipal, KeySet
from admission.transfers import service
from admission.transfers.models import Employee, Transfer, TransferRequest

PARENT = make_iin(dt.date(1988, 4, 2), False, 1200)
# The rest of the annex 2 request form: the applicant, the registered address, the consent line.
FORM = {
    "applicant_full_name": "Серікбаева Айгүл Маратқызы",
    "applicant_phone": "+7 701 555 12 34",
    "registered_address": "Астана, Есіл ауданы, Сынақ көшесі, 5",
    "consent": True,
}


def kz(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    """A Kazakhstan-time instant."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=KZ)


HEAD = Employee(full_name="Қасымова Гүлнар Ерланқызы", position="директордың оқу ісі жөніндегі орынбасары")


class World(Admins):
    """The reference schools plus helpers to enrol pupils and speak as admins."""

    def __init__(self, pool: asyncpg.Pool, keys: KeySet, schools: dict[str, list[str]]) -> None:
        self.pool = pool
        self.keys = keys
        self.schools = schools  # region -> school BINs
        self._serial = itertools.count(1)

    def region_of(self, school: str) -> str:
        return next(r for r, bins in self.schools.items() if school in bins)

    def child(self, born: dt.date = dt.date(2015, 3, 1)) -> str:
        return make_iin(born, True, next(self._serial) * 7)

    async def enrol(self, child: str, school: str, grade: int = 5, language: str = "kk") -> str:
        return await contingent_helpers.enrol(self.pool, child, school, grade, language=language)

    async def enrolled_child(self, school: str, grade: int = 5, language: str = "kk") -> str:
        return await self.enrol(self.child(), school, grade, language)

    async def moving_pupil(self, region: str = "astana") -> tuple[str, str, str]:
        """A pupil enrolled at ``region``'s first school, that school, and the second one (where it may move)."""
        school_from, school_to = self.schools[region][:2]
        return await self.enrolled_child(school_from), school_from, school_to

    async def fill(self, school: str, grade: int, language: str, count: int) -> None:
        """Enrol ``count`` filler pupils (their ИИН only match the format)."""
        await self.pool.execute(
            "INSERT INTO contingent.enrolments"
            " (child_iin, school_bin, grade, language, order_number, order_date, since)"
            " SELECT '77' || lpad(g::text, 10, '0'), $1, $2, $3, 'seed', '2025-09-01', '2025-09-01'"
            " FROM generate_series(1, $4) AS g",
            school,
            grade,
            language,
            count,
        )

    async def capacity(self, school: str, grade: int, language: str) -> int:
        seats: int = await self.pool.fetchval(
            "SELECT classes * seats_per_class FROM school_classes"
            " WHERE school_bin = $1 AND grade = $2 AND language = $3",
            school,
            grade,
            language,
        )
        return seats

    async def current_schools(self, child: str) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT school_bin FROM contingent.enrolments WHERE child_iin = $1 AND ended_on IS NULL", child
        )
        return [r["school_bin"] for r in rows]

    async def set_capacity(self, school: str, grade: int, language: str, classes: int, seats: int) -> None:
        await self.pool.execute(
            "UPDATE school_classes SET classes = $4, seats_per_class = $5"
            " WHERE school_bin = $1 AND grade = $2 AND language = $3",
            school,
            grade,
            language,
            classes,
            seats,
        )

    def school_admin(self, school: str) -> AdminPrincipal:
        return AdminPrincipal(subject=f"head-{school}", role="school", region=self.region_of(school), school=school)

    async def accepted_paper_transfer(self, region: str, at: dt.datetime) -> tuple[Transfer, str, str, str]:
        """A pupil of ``region``'s first school whose paper request the second one accepted at ``at`` (a talon)."""
        child, school_from, school_to = await self.moving_pupil(region)
        async with self.pool.acquire() as conn:
            t = await service.request_transfer(
                conn,
                self.request(child, school_to, path="paper"),
                at,
                actor="registrar",
                registrar=self.school_admin(school_to),
            )
            t = await service.decide(conn, self.school_admin(school_to), t.id, at, accept=True)
        return t, child, school_from, school_to

    def portal_body(self, child: str, to_school: str, ground: str) -> dict[str, Any]:
        """The JSON a parent's portal sends for a grade-5 transfer on ``ground``."""
        return {
            "applicant_iin": PARENT,
            **FORM,
            "child_iin": child,
            "child_full_name": "Серікбаева Аружан",
            "to_school_bin": to_school,
            "grade": 5,
            "language": "kk",
            "ground": ground,
        }

    def request(self, child: str, to_school: str | None, **overrides: Any) -> TransferRequest:
        values: dict[str, Any] = {
            "applicant_iin": PARENT,
            **FORM,
            "child_iin": child,
            "child_full_name": "Серікбаев Әлихан Бауыржанұлы",
            "to_school_bin": to_school,
            "grade": 5,
            "language": "kk",
            "ground": "relocation",
            "document_ref": "housing-certificate-77/2026",
        }
        values.update(overrides)
        return TransferRequest(**values)
