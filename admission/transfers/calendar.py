"""The academic calendar: school holidays per school year, kept by the ministry admin.

Model rules para 17: transfers on the ``holidays`` ground are accepted only
during school holidays.  The migration ships the Kazakhstan defaults (autumn,
winter, spring and summer holidays, and grade 1's extra week in February); the
ministry admin replaces a year's periods with ``PUT /v1/admin/calendar/{year}``.
A school year runs 1 September - 31 August and is named ``"2025-2026"``.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from admission import audit
from admission.db import QUERIES, Connection
from admission.signing_keys import AdminPrincipal
from admission.transfers.errors import InvalidTransfer, MinistryOnly


class HolidayPeriod(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    starts_on: dt.date
    ends_on: dt.date
    grade_from: int = 1
    grade_to: int = 12


def school_year_of(day: dt.date) -> str:
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}-{start + 1}"


def school_year_bounds(school_year: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``school_year`` (``"2025-2026"``); InvalidTransfer when malformed."""
    first, sep, second = school_year.partition("-")
    if not (sep and first.isdigit() and second.isdigit() and len(first) == 4 and int(second) == int(first) + 1):
        raise InvalidTransfer(problem=f"school year must look like 2025-2026, not {school_year!r}")
    return dt.date(int(first), 9, 1), dt.date(int(second), 8, 31)


async def holiday_on(conn: Connection, day: dt.date, grade: int) -> HolidayPeriod | None:
    """The school-holiday period of ``grade`` that contains ``day``, if any."""
    row = await conn.fetchrow(QUERIES["holiday_on"], day, grade)
    return None if row is None else HolidayPeriod(**dict(row))


async def periods(conn: Connection, school_year: str) -> list[HolidayPeriod]:
    school_year_bounds(school_year)
    return [HolidayPeriod(**dict(r)) for r in await conn.fetch(QUERIES["list_school_holidays"], school_year)]


async def replace_periods(
    conn: Connection, admin: AdminPrincipal, school_year: str, new: list[HolidayPeriod]
) -> list[HolidayPeriod]:
    """Replace the holidays of ``school_year`` (ministry admins only; audited)."""
    if admin.role != "ministry":
        raise MinistryOnly()
    first, last = school_year_bounds(school_year)
    for period in new:
        if not (first <= period.starts_on <= period.ends_on <= last):
            raise InvalidTransfer(problem=f"period {period.name!r} must lie within {first}..{last}, start <= end")
        if not (1 <= period.grade_from <= period.grade_to <= 12):
            raise InvalidTransfer(problem=f"period {period.name!r} needs 1 <= grade_from <= grade_to <= 12")
    async with conn.transaction():
        old = await periods(conn, school_year)
        await conn.execute(QUERIES["delete_school_holidays"], school_year)
        await conn.executemany(
            QUERIES["insert_school_holiday"],
            [(school_year, p.name, p.starts_on, p.ends_on, p.grade_from, p.grade_to) for p in new],
        )
        await audit.record(conn, admin, "calendar.replace", school_year, region=None, old=old, new=new)
    return await periods(conn, school_year)
