"""Hand-made census extracts: a few children whose categories are known by construction.

The ``conn`` fixture is in this folder's ``conftest.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path

import asyncpg

from admission.census.formats import ATTENDANCE_COLUMNS, BBAZH_COLUMNS, PERSONS_COLUMNS
from admission.iin import check_digit, make_iin
from admission.reference import KZ

AS_OF = dt.date(2026, 9, 10)  # a September census, school year 2026/27
NOW = dt.datetime(2026, 9, 10, 12, 0, tzinfo=KZ)
REGION = "astana"
SCHOOL = "150645269256"  # №1, Астана (reference data)
OTHER_SCHOOL = "290246571117"  # №2, Астана


def org_bin(seed: int) -> str:
    """A valid БСН that is not a school of the reference data (a preschool or a college)."""
    for serial in range(seed, seed + 100):
        first11 = f"0{serial:010d}"
        digit = check_digit(first11)
        if digit is not None:
            return first11 + str(digit)
    raise AssertionError("unreachable")


PRESCHOOL = org_bin(1000)
COLLEGE = org_bin(2000)

_serials: dict[tuple[dt.date, bool], int] = {}


def iin(born: dt.date, male: bool = True) -> str:
    """A fresh valid ИИН for a child born on ``born``."""
    key = (born, male)
    value = make_iin(born, male, _serials.get(key, 100))
    _serials[key] = int(value[7:11]) + 1
    return value


def dmy(value: str) -> str:
    """The DD.MM.YYYY birth date an individual's ИИН encodes."""
    century = {"1": "18", "2": "18", "3": "19", "4": "19", "5": "20", "6": "20"}[value[6]]
    return f"{value[4:6]}.{value[2:4]}.{century}{value[0:2]}"


def person(
    child: str,
    *,
    surname: str = "Ахметов",
    name: str = "Ерлан",
    citizenship: str = "KZ",
    kandas: bool = False,
    locality: str = "Астана",
    district: str = "1-шағын аудан",
    registered: bool = True,
) -> list[str]:
    sex = "M" if int(child[6]) % 2 else "F"
    return [
        child, surname, name, "", dmy(child), sex, citizenship, "1" if kandas else "0", locality, district,
        f"{locality}, {district}, 5-үй", "1" if registered else "0",
    ]  # fmt: skip


def pupil(
    child: str,
    *,
    org: str = SCHOOL,
    kind: str = "school",
    ownership: str = "state",
    grade: str = "3",
    exempt: bool = False,
    surname: str = "Ахметов",
    name: str = "Ерлан",
) -> list[str]:
    return [
        child, surname, name, "", dmy(child), org, "Ұйым", kind, ownership, grade if kind == "school" else "",
        "1" if exempt else "0",
    ]  # fmt: skip


def exempt_child(child: str) -> list[str]:
    """Known to the education system, not subject to schooling on health grounds, attends nothing."""
    return [child, "Ахметов", "Ерлан", "", dmy(child), "", "", "", "", "", "1"]


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]], *, bom: bool = True) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_extracts(
    directory: Path, persons: Iterable[Sequence[str]], bbazh: Iterable[Sequence[str]], tag: str = ""
) -> tuple[Path, Path]:
    return (
        write_csv(directory / f"persons{tag}.csv", PERSONS_COLUMNS, persons),
        write_csv(directory / f"bbazh{tag}.csv", BBAZH_COLUMNS, bbazh),
    )


def write_attendance(path: Path, rows: Iterable[Sequence[str | int]]) -> Path:
    return write_csv(path, ATTENDANCE_COLUMNS, [[str(v) for v in row] for row in rows])


async def enrol(conn: asyncpg.Connection, child: str, school: str, grade: int = 1) -> None:
    """What the contingent store does for an Enrol event."""
    await conn.execute(
        "INSERT INTO contingent.enrolments (child_iin, school_bin, grade, language, order_number, order_date, since)"
        " VALUES ($1, $2, $3, 'kk', '1-Б', $4, $4)",
        child,
        school,
        grade,
        AS_OF,
    )


async def end_enrolment(conn: asyncpg.Connection, child: str, reason: str) -> None:
    """What the contingent store does for a Revoke or Leave event."""
    await conn.execute(
        "UPDATE contingent.enrolments SET ended_on = $2, end_reason = $3 WHERE child_iin = $1 AND ended_on IS NULL",
        child,
        AS_OF,
        reason,
    )
