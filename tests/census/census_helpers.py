"""The census tests' world: one region's census, built from hand-made extracts of a few children
whose categories are known by construction.

The ``census`` fixture (and ``conn``) are in this folder's ``conftest.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path

import asyncpg
import contingent_helpers
from admin_helpers import Admins

from admission.census import importer
from admission.census.formats import ATTENDANCE_COLUMNS, BBAZH_COLUMNS, PERSONS_COLUMNS
from admission.iin import check_digit, make_iin
from admission.readings import DEFAULT_READINGS, Readings
from admission.reference import KZ
from admission.signing_keys import AdminPrincipal, KeySet


def org_bin(seed: int) -> str:
    """A valid БСН that is not a school of the reference data (a preschool or a college)."""
    for serial in range(seed, seed + 100):
        first11 = f"0{serial:010d}"
        digit = check_digit(first11)
        if digit is not None:
            return first11 + str(digit)
    raise AssertionError("unreachable")


def dmy(value: str) -> str:
    """The DD.MM.YYYY birth date an individual's ИИН encodes."""
    century = {"1": "18", "2": "18", "3": "19", "4": "19", "5": "20", "6": "20"}[value[6]]
    return f"{value[4:6]}.{value[2:4]}.{century}{value[0:2]}"


def row(columns: Sequence[str], child: str, fields: dict[str, str]) -> list[str]:
    """A line of an extract about ``child``, field by field in the file's ``columns``: the ИИН, the name
    every test child has (Ахметов Ерлан) and the birth date its ИИН encodes, unless ``fields`` (by
    column code) says otherwise, as a test does to make a row wrong on purpose."""
    unknown = set(fields) - set(columns)
    assert not unknown, f"no such column: {unknown}"
    values = {"iin": child, "surname": "Ахметов", "name": "Ерлан", "patronymic": "", **fields}
    if "birth_date" not in values:  # a test that writes its own date may give an ИИН that encodes none
        values["birth_date"] = dmy(child)
    return [values[column] for column in columns]


# The organisation a ББАЖ row names by default for its kind (a school's row: grade 3).
ORG_OF_KIND = {"preschool": org_bin(1000), "tvet": org_bin(2000)}
SCHOOL = "150645269256"  # №1, Астана (reference data)


class Census(Admins):
    """Astana's September 2026 census as a test builds it.

    It holds what every census test shares: the region, the census day and the clock, the schools
    and organisations children attend, children born on a given day and the rows of the two extracts
    about them, the contingent store's enrolments (on the test's connection ``conn``, so they can be
    part of the test's transaction), and writing the extracts into the test's folder and importing
    them.  What a test checks (the snapshot, the reports) it reads with ``importer`` and ``reports``.
    """

    region = "astana"
    as_of = dt.date(2026, 9, 10)  # a September census, school year 2026/27
    now = dt.datetime(2026, 9, 10, 12, 0, tzinfo=KZ)
    school = SCHOOL
    other_school = "290246571117"  # №2, Астана
    preschool = ORG_OF_KIND["preschool"]
    college = ORG_OF_KIND["tvet"]

    def __init__(self, pool: asyncpg.Pool, conn: asyncpg.Connection, keys: KeySet, folder: Path) -> None:
        self.pool = pool
        self.conn = conn
        self.keys = keys
        self.folder = folder
        self._serials: dict[tuple[dt.date, bool], int] = {}

    # ------------------------------------------------------------ children and the rows about them

    def child(self, born: dt.date, male: bool = True) -> str:
        """A fresh valid ИИН of a child born on ``born``."""
        key = (born, male)
        value = make_iin(born, male, self._serials.get(key, 100))
        self._serials[key] = int(value[7:11]) + 1
        return value

    def person(self, child: str, **fields: str) -> list[str]:
        """The persons register's row of ``child``: a citizen registered at home in 1-шағын аудан,
        Астана; the address follows ``locality`` and ``district``, the sex the ИИН."""
        where = {"locality": "Астана", "district": "1-шағын аудан", **fields}
        return row(PERSONS_COLUMNS, child, {
            "sex": "M" if int(child[6]) % 2 else "F", "citizenship": "KZ", "kandas": "0",
            "address": f"{where['locality']}, {where['district']}, 5-үй", "registered": "1", **where,
        })  # fmt: skip

    def pupil(self, child: str, **fields: str) -> list[str]:
        """The ББАЖ row of ``child``: grade 3 of school №1, a state school; with ``org_kind`` of
        ``preschool`` or ``tvet``, the preschool's or the college's, with no grade."""
        org = ORG_OF_KIND.get(fields.get("org_kind", "school"))
        return row(BBAZH_COLUMNS, child, {
            "org_bin": org or self.school, "org_name": "Ұйым", "org_kind": "school", "ownership": "state",
            "grade": "" if org else "3", "health_exempt": "0", **fields,
        })  # fmt: skip

    def exempt(self, child: str) -> list[str]:
        """The ББАЖ row of a child not subject to schooling on health grounds, who attends nothing."""
        no_org = dict.fromkeys(("org_bin", "org_name", "org_kind", "ownership", "grade"), "")
        return row(BBAZH_COLUMNS, child, {**no_org, "health_exempt": "1"})

    # ------------------------------------------------------------ the contingent store

    async def enrol(self, child: str, school: str = SCHOOL, grade: int = 1) -> None:
        """What the contingent store does for an Enrol event: by the school's order of the census day."""
        await contingent_helpers.enrol(self.conn, child, school, grade, order_number="1-Б", since=self.as_of)

    async def end_enrolment(self, child: str, reason: str) -> None:
        """What the contingent store does for a Revoke or Leave event."""
        await self.conn.execute(
            "UPDATE contingent.enrolments SET ended_on = $2, end_reason = $3 WHERE child_iin = $1 AND ended_on IS NULL",
            child,
            self.as_of,
            reason,
        )

    # ------------------------------------------------------------ the files and their import

    def write(self, name: str, header: Sequence[str], rows: Iterable[Sequence[str]]) -> Path:
        """``rows`` under ``header`` as the source systems export them: UTF-8 with a BOM, ``;``."""
        path = self.folder / name
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out, delimiter=";")
            writer.writerow(header)
            writer.writerows(rows)
        return path

    def extracts(
        self, persons: Iterable[Sequence[str]], bbazh: Iterable[Sequence[str]], tag: str = ""
    ) -> tuple[Path, Path]:
        """The persons register's extract and the ББАЖ one (``persons{tag}.csv``, ``bbazh{tag}.csv``)."""
        return self.write(f"persons{tag}.csv", PERSONS_COLUMNS, persons), self.write(
            f"bbazh{tag}.csv", BBAZH_COLUMNS, bbazh
        )

    async def import_extracts(
        self,
        persons: Path,
        bbazh: Path,
        *,
        region: str | None = None,
        as_of: dt.date | None = None,
        now: dt.datetime | None = None,
        readings: Readings = DEFAULT_READINGS,
        step: importer.Step | None = None,
    ) -> importer.ImportReport:
        """The import of the two extracts into this census, or ``region``'s, taken on ``as_of``, at ``now``."""
        return await importer.import_extract(
            self.pool, region or self.region, persons, bbazh,
            as_of=as_of or self.as_of, now=now or self.now, readings=readings, step=step,
        )  # fmt: skip

    async def load(
        self,
        persons: Iterable[Sequence[str]],
        bbazh: Iterable[Sequence[str]],
        *,
        as_of: dt.date | None = None,
        now: dt.datetime | None = None,
    ) -> importer.ImportReport:
        """The two extracts of these rows written and imported: a census taken."""
        return await self.import_extracts(*self.extracts(persons, bbazh), as_of=as_of, now=now)

    async def attendance(self, month: dt.date, rows: Iterable[Sequence[str | int]]) -> importer.AttendanceReport:
        """The monthly attendance feed of ``month`` with these (ИИН, organisation, YYYY-MM, days) rows,
        written (``attendance-YYYY-MM.csv``, a corrected feed in place of the first) and imported."""
        path = self.write(f"attendance-{month:%Y-%m}.csv", ATTENDANCE_COLUMNS, [[str(v) for v in r] for r in rows])
        return await importer.import_attendance(self.conn, self.region, month, path, now=self.now)

    async def cross_check(self, readings: Readings = DEFAULT_READINGS) -> int:
        """The cross-check against the contingent store now; how many children's records changed."""
        return await importer.cross_check(self.conn, self.region, now=self.now, readings=readings)

    # ------------------------------------------------------------ admins

    def school_admin(self, school: str = SCHOOL) -> AdminPrincipal:
        return AdminPrincipal(subject=f"head-{school}", role="school", region=self.region, school=school)
