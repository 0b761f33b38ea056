"""What admins change (class sets, rosters, windows, auto-confirmation) and what parents read (free seats).

Every change checks the admin's scope, runs in one transaction with its
audit entry, and keeps the seat counters' invariants: a capacity never goes
below the seats taken plus those held for the roster, and a roster child
keeps a held seat only while one is free to hold.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import asyncpg
import msgspec

from admission import audit, reference
from admission.applications import schedule
from admission.applications.models import (
    CapacityBelowTaken,
    InvalidWindow,
    RosterConflict,
    TeachingLanguage,
)
from admission.bodies import Body
from admission.db import QUERIES, Connection, from_row
from admission.errors import Forbidden, InvalidInput, UnknownRegion, UnknownSchool
from admission.iin import validate_iin
from admission.reference import SchoolCard
from admission.signing_keys import AdminPrincipal


class ClassSet(msgspec.Struct, frozen=True, kw_only=True):
    school_bin: str
    grade: int
    language: str
    classes: int
    seats_per_class: int
    capacity: int
    taken: int
    held_for_roster: int


class School(SchoolCard, frozen=True, kw_only=True):
    region_slug: str


OfficialName = Annotated[str, msgspec.Meta(max_length=300)]
"""A school's name: 300 leaves room for the full registered form (КГУ «...» отдела образования ...)."""


class SchoolChanges(Body, frozen=True, kw_only=True):
    """The school card fields an admin may change; omitted ones stay.

    Each is bounded by what it holds, so a slip or a script that sends a page of text is a 400
    naming the field rather than a card that every parent's page, receipt and notice prints.
    """

    name_kk: OfficialName | None = None
    name_ru: OfficialName | None = None
    locality: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    address: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    """One number or a few, as parents dial them."""
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    """254: the longest address mail can carry (RFC 5321's 256-octet path, less its angle brackets)."""
    website: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class LanguageSeats(msgspec.Struct, frozen=True, kw_only=True):
    language: str
    capacity: int
    held_for_roster: int
    free: int


class SchoolSeats(SchoolCard, frozen=True, kw_only=True):
    grade1: list[LanguageSeats]


class SchoolApplication(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    child_iin: str
    language: str
    status: str
    priority: bool
    decided_at: dt.datetime
    confirmed_at: dt.datetime | None
    order_number: str | None
    order_date: dt.date | None


async def get_school(conn: Connection, school_bin: str) -> School:
    """A school's card; UnknownSchool when there is none."""
    row = await conn.fetchrow(QUERIES["admin_get_school"], school_bin)
    if row is None:
        raise UnknownSchool(school=school_bin)
    return School(**dict(row))


async def set_classes(
    conn: Connection,
    admin: AdminPrincipal,
    school_bin: str,
    grade: int,
    language: TeachingLanguage,
    *,
    classes: int,
    seats_per_class: int,
) -> ClassSet:
    """Set a school's class sets for one grade and language; never below the seats taken."""
    if not 1 <= grade <= 12:
        raise InvalidInput("grade must be 1-12", grade=grade)  # 12: model rules para 27, "11 (12)"
    if classes < 0 or not 0 <= seats_per_class <= 40:
        raise InvalidInput("classes ≥ 0 and 0 ≤ seats_per_class ≤ 40 (sanitary rules)")
    async with conn.transaction():
        region = await reference.school_region(conn, school_bin)
        admin.require_school(school_bin, region)
        old = await conn.fetchrow(QUERIES["lock_school_class"], school_bin, grade, language)
        held = taken = 0
        if old is not None:
            held, taken = old["roster_held"], old["general_taken"] + old["roster_taken"]
            committed = old["general_taken"] + old["roster_held"]
            if classes * seats_per_class < committed:
                raise CapacityBelowTaken(
                    requested=classes * seats_per_class, taken=committed, seats_taken=taken, held_for_roster=held
                )
        try:
            async with conn.transaction():
                await conn.execute(
                    QUERIES["upsert_school_class"], school_bin, grade, language, classes, seats_per_class
                )
        except asyncpg.CheckViolationError as exc:  # a new class set too small for the roster already listed
            raise CapacityBelowTaken(requested=classes * seats_per_class, taken=held) from exc
        await audit.record(
            conn,
            admin,
            "school_classes.set",
            f"school:{school_bin}/grade:{grade}/{language}",
            region=region,
            old=None if old is None else {"classes": old["classes"], "seats_per_class": old["seats_per_class"]},
            new={"classes": classes, "seats_per_class": seats_per_class},
        )
    return ClassSet(
        school_bin=school_bin,
        grade=grade,
        language=language,
        classes=classes,
        seats_per_class=seats_per_class,
        capacity=classes * seats_per_class,
        taken=taken,
        held_for_roster=held,
    )


async def update_school(conn: Connection, admin: AdminPrincipal, school_bin: str, changes: SchoolChanges) -> School:
    """Change a school's names and contacts (the card parents see)."""
    async with conn.transaction():
        row = await conn.fetchrow(QUERIES["lock_school"], school_bin)
        if row is None:
            raise UnknownSchool(school=school_bin)
        admin.require_school(school_bin, row["region_slug"])
        old = School(**dict(row))
        given = {k: v for k, v in msgspec.structs.asdict(changes).items() if v is not None}
        if any(not value.strip() for key, value in given.items() if key in ("name_kk", "name_ru", "address")):
            raise InvalidInput("names and the address cannot be empty")
        new = msgspec.structs.replace(old, **given)
        if new == old:
            return old
        await conn.execute(
            QUERIES["update_school"],
            school_bin,
            new.name_kk,
            new.name_ru,
            new.locality,
            new.address,
            new.phone,
            new.email,
            new.website,
        )
        changed = sorted(k for k in given if getattr(old, k) != getattr(new, k))
        await audit.record(
            conn,
            admin,
            "school.update",
            f"school:{school_bin}",
            region=old.region_slug,
            old={k: getattr(old, k) for k in changed},
            new={k: getattr(new, k) for k in changed},
        )
    return new


async def put_roster_child(
    conn: Connection, admin: AdminPrincipal, school_bin: str, child_iin: str, language: TeachingLanguage
) -> None:
    """Add a child to the school's pre-school roster (or change its language); holds a seat for them."""
    validate_iin(child_iin)
    async with conn.transaction():
        region = await reference.school_region(conn, school_bin)
        admin.require_school(school_bin, region)
        old = await conn.fetchval(QUERIES["get_roster_entry"], school_bin, child_iin)
        if old == language:
            return
        if await conn.fetchrow(QUERIES["lock_school_class"], school_bin, 1, language) is None:
            raise RosterConflict(why=f"the school has no grade-1 classes in {language}")
        try:
            async with conn.transaction():
                await conn.execute(QUERIES["put_roster_entry"], school_bin, child_iin, language)
        except asyncpg.CheckViolationError as exc:
            raise RosterConflict(why="no free grade-1 seat to hold, or the child was already admitted") from exc
        await audit.record(
            conn,
            admin,
            "preschool_roster.put",
            f"school:{school_bin}/child:{child_iin}",
            region=region,
            old=None if old is None else {"language": old},
            new={"language": language},
        )


async def remove_roster_child(conn: Connection, admin: AdminPrincipal, school_bin: str, child_iin: str) -> bool:
    """Take a child off the roster, freeing the held seat; False when they were not on it."""
    async with conn.transaction():
        region = await reference.school_region(conn, school_bin)
        admin.require_school(school_bin, region)
        try:
            async with conn.transaction():
                language = await conn.fetchval(QUERIES["delete_roster_entry"], school_bin, child_iin)
        except asyncpg.CheckViolationError as exc:
            raise RosterConflict(why="the child was admitted from the roster; withdraw that first") from exc
        if language is None:
            return False
        await audit.record(
            conn,
            admin,
            "preschool_roster.remove",
            f"school:{school_bin}/child:{child_iin}",
            region=region,
            old={"language": language},
            new=None,
        )
    return True


async def set_window(
    conn: Connection,
    admin: AdminPrincipal,
    region: str,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    reason: str | None = None,
) -> reference.Region:
    """Move a region's grade-1 window (times with their offset; Kazakhstan is UTC+5).

    A region narrows it inside annex 2; outside annex 2 only the ministry, with
    ``reason`` (pilot para 7; ``schedule.check_change``).  Audited either way.
    """
    admin.require_region(region)
    if opens_at.tzinfo is None or closes_at.tzinfo is None:
        raise InvalidInput("window times need a UTC offset, e.g. 2026-05-27T00:00:00+05:00")
    if closes_at <= opens_at:
        raise InvalidWindow()
    outside = schedule.check_change(admin.role, region, opens_at, closes_at, reason)
    async with conn.transaction():
        old = await conn.fetchrow(QUERIES["lock_region"], region)
        if old is None:
            raise UnknownRegion(region=region)
        await reference.set_window(conn, region, opens_at, closes_at)
        await audit.record(
            conn,
            admin,
            "region.window",
            f"region:{region}",
            region=region,
            old={"opens_at": old["window_opens_at"].isoformat(), "closes_at": old["window_closes_at"].isoformat()},
            new={
                "opens_at": opens_at.isoformat(),
                "closes_at": closes_at.isoformat(),
                "outside_annex_2": outside,
                "reason": reason.strip() if reason else None,
            },
        )
        updated = await reference.get_region(conn, region)
    assert updated is not None
    return updated


class AutoConfirmSwitch(msgspec.Struct, kw_only=True, frozen=True):
    """The region's setting after the switch, and the one before it (``was``): a console tells
    "switched on" from "was already on" without reading the audit log."""

    region: str
    auto_confirm: bool
    was: bool


async def set_auto_confirm(conn: Connection, admin: AdminPrincipal, region: str, enabled: bool) -> AutoConfirmSwitch:
    """Switch automatic confirmation of new admissions in ``region``; says what it was before.

    It applies to admissions decided from now on (confirmed at once with the order reference
    ``AUTO-<region>-<date>``); those already accepted are confirmed through the confirmations
    endpoint, which confirms all of a school's accepted applications at once.
    """
    admin.require_region(region)
    async with conn.transaction():
        old = await conn.fetchrow(QUERIES["lock_region"], region)
        if old is None:
            raise UnknownRegion(region=region)
        await conn.execute(QUERIES["set_auto_confirm"], region, enabled)
        await audit.record(
            conn,
            admin,
            "region.auto_confirm",
            f"region:{region}",
            region=region,
            old={"auto_confirm": old["auto_confirm"]},
            new={"auto_confirm": enabled},
        )
    return AutoConfirmSwitch(region=region, auto_confirm=enabled, was=old["auto_confirm"])


async def school_applications(
    conn: Connection, admin: AdminPrincipal, school_bin: str, status: str | None, limit: int = 500
) -> list[SchoolApplication]:
    """A school's applications, oldest first (what its responsible person confirms)."""
    region = await reference.school_region(conn, school_bin)
    admin.require_school(school_bin, region)
    rows = await conn.fetch(QUERIES["school_applications"], school_bin, status, limit)
    return [SchoolApplication(**dict(r)) for r in rows]


async def region_schools(conn: Connection, region: str) -> list[SchoolSeats]:
    """A region's schools with free grade-1 seats per language (general basis; roster seats are apart)."""
    rows = await conn.fetch(QUERIES["region_schools_with_seats"], region)
    if not rows and await reference.get_region(conn, region) is None:
        raise UnknownRegion(region=region)
    schools: list[SchoolSeats] = []
    for r in rows:
        if not schools or schools[-1].bin != r["bin"]:
            schools.append(from_row(SchoolSeats, r, grade1=[]))
        if r["language"] is not None:
            schools[-1].grade1.append(
                LanguageSeats(
                    language=r["language"],
                    capacity=r["capacity"],
                    held_for_roster=r["roster_held"],
                    free=max(0, r["free_general"]),
                )
            )
    return schools


class SchoolClassSets(msgspec.Struct, frozen=True, kw_only=True):
    """A school of a region with its class sets of one grade, per language (what an admin edits)."""

    bin: str
    name_kk: str
    name_ru: str
    classes: list[ClassSet]


async def region_class_sets(
    conn: Connection, admin: AdminPrincipal, region: str, grade: int = 1
) -> list[SchoolClassSets]:
    """A region's schools and their class sets (a school admin: its own school only)."""
    only: str | None = None
    if admin.role == "school":
        if admin.region != region:
            raise Forbidden(f"school admin {admin.subject} may act only for school {admin.school}")
        only = admin.school
    else:
        admin.require_region(region)
    rows = await conn.fetch(QUERIES["region_class_sets"], region, grade, only)
    if not rows and await reference.get_region(conn, region) is None:
        raise UnknownRegion(region=region)
    schools: list[SchoolClassSets] = []
    for r in rows:
        if not schools or schools[-1].bin != r["bin"]:
            schools.append(SchoolClassSets(bin=r["bin"], name_kk=r["name_kk"], name_ru=r["name_ru"], classes=[]))
        if r["language"] is not None:
            schools[-1].classes.append(
                from_row(ClassSet, r, school_bin=r["bin"], grade=grade, held_for_roster=r["roster_held"])
            )
    return schools
