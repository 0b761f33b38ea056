"""Reference data: the 20 regions with their 2026 windows, and the demo schools.

The windows are pilot annex 2: each opens at 00:00 on its day and closes at
the end of 31 August, in Kazakhstan time (UTC+5 since 2024-03-01).

Kazakhstan time is :data:`KZ`, a fixed UTC+05:00 offset, and the only
place it is defined.  Not ``ZoneInfo("Asia/Almaty")``: that is UTC+5 only
with tzdata 2024a or later, and ``zoneinfo`` prefers the host's own
database, so an old host would shift every window, deadline and date by an
hour (issue 18, point 9).  Every instant this service judges is after
2024-03-01, when the whole country moved to one offset.
"""

from __future__ import annotations

import csv
import datetime as dt
from importlib import resources
from pathlib import Path

import msgspec

from admission.db import QUERIES, Connection
from admission.errors import UnknownRegion, UnknownSchool

KZ = dt.timezone(dt.timedelta(hours=5), "UTC+05:00")  # Kazakhstan, one offset since 2024-03-01


class Region(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    name_kk: str
    name_ru: str
    name_en: str
    window_opens_at: dt.datetime
    window_closes_at: dt.datetime
    window_is_demo: bool = False


class SchoolCard(msgspec.Struct, frozen=True, kw_only=True):
    """A school's names and contacts: what parents see of it, receipts and notices name, its admins change."""

    bin: str
    name_kk: str
    name_ru: str
    locality: str
    address: str
    phone: str
    email: str
    website: str


class LoadReport(msgspec.Struct, frozen=True, kw_only=True):
    regions: int
    schools: int
    school_classes: int
    preschool_roster: int


def _rows(directory: Path | None, name: str) -> list[dict[str, str]]:
    if directory is None:
        text = resources.files("admission.reference").joinpath(f"{name}.csv").read_text("utf-8")
    else:
        text = (directory / f"{name}.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def window_bounds(opens_on: dt.date, closes_on: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[00:00 on ``opens_on``, 00:00 the day after ``closes_on``) in Kazakhstan time."""
    opens = dt.datetime.combine(opens_on, dt.time(), KZ)
    closes = dt.datetime.combine(closes_on + dt.timedelta(days=1), dt.time(), KZ)
    return opens, closes


def regions_from_file(directory: Path | None = None) -> list[Region]:
    regions = []
    for row in _rows(directory, "regions"):
        opens, closes = window_bounds(
            dt.date.fromisoformat(row["window_opens_on"]), dt.date.fromisoformat(row["window_closes_on"])
        )
        regions.append(
            Region(
                slug=row["slug"],
                name_kk=row["name_kk"],
                name_ru=row["name_ru"],
                name_en=row["name_en"],
                window_opens_at=opens,
                window_closes_at=closes,
            )
        )
    return regions


async def load_reference(conn: Connection, directory: Path | None = None) -> LoadReport:
    """Load regions, schools, class sets and rosters (the shipped files, or ``directory``'s)."""
    regions = regions_from_file(directory)
    schools = _rows(directory, "schools")
    classes = _rows(directory, "school_classes")
    roster = _rows(directory, "preschool_roster")
    async with conn.transaction():
        await conn.execute(
            QUERIES["upsert_regions"],
            [r.slug for r in regions],
            [r.name_kk for r in regions],
            [r.name_ru for r in regions],
            [r.name_en for r in regions],
            [r.window_opens_at for r in regions],
            [r.window_closes_at for r in regions],
        )
        school_columns = (
            "bin",
            "region_slug",
            "name_kk",
            "name_ru",
            "locality",
            "address",
            "phone",
            "email",
            "website",
        )
        await conn.execute(QUERIES["upsert_schools"], *([s[c] for s in schools] for c in school_columns))
        await conn.execute(
            QUERIES["insert_school_classes"],
            [c["school_bin"] for c in classes],
            [int(c["grade"]) for c in classes],
            [c["language"] for c in classes],
            [int(c["classes"]) for c in classes],
            [int(c["seats_per_class"]) for c in classes],
        )
        await conn.execute(
            QUERIES["insert_preschool_roster"],
            [r["school_bin"] for r in roster],
            [r["child_iin"] for r in roster],
            [r["language"] for r in roster],
        )
    return LoadReport(
        regions=len(regions), schools=len(schools), school_classes=len(classes), preschool_roster=len(roster)
    )


async def set_window(
    conn: Connection, region: str, opens_at: dt.datetime, closes_at: dt.datetime, *, demo: bool = False
) -> None:
    if await conn.fetchval(QUERIES["reset_region_window"], region, opens_at, closes_at, demo) is None:
        raise UnknownRegion(region=region)


async def open_demo_window(conn: Connection, region: str, now: dt.datetime, days: int = 7) -> None:
    """Demo mode: open ``region``'s window now, for ``days`` days, marked as demo."""
    await set_window(conn, region, now, now + dt.timedelta(days=days), demo=True)


async def list_regions(conn: Connection) -> list[Region]:
    return [Region(**dict(r)) for r in await conn.fetch(QUERIES["list_regions"])]


async def get_region(conn: Connection, slug: str) -> Region | None:
    row = await conn.fetchrow(QUERIES["get_region"], slug)
    return None if row is None else Region(**dict(row))


async def school_region(conn: Connection, school_bin: str) -> str:
    """The region of the school ``school_bin``; UnknownSchool when there is none.

    The one lookup of a school's region: every admin scope check
    (``AdminPrincipal.require_school``) and every region rule of a school
    starts here, so an unknown school is the same 404 answer everywhere.
    """
    region: str | None = await conn.fetchval(QUERIES["school_region"], school_bin)
    if region is None:
        raise UnknownSchool(school=school_bin)
    return region


async def school_card(conn: Connection, school_bin: str) -> SchoolCard:
    """The school's names and contacts; UnknownSchool when there is none."""
    row = await conn.fetchrow(QUERIES["school_card"], school_bin)
    if row is None:
        raise UnknownSchool(school=school_bin)
    return SchoolCard(**dict(row))
