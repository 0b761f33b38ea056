"""Census of children 0-18 for admins in scope: statuses, reports, lists, service territories.

Ministry admins see every region; a region admin (the local authority's
education office) sees and acts for its region; a school admin sees its own
service territory.  The imports themselves are operator commands
(``kezek census ...``): the extracts are files of a million rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated

import msgspec
from litestar import get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from admission import audit
from admission.bodies import Body
from admission.census import formats, importer, leavers, reports
from admission.census.importer import Snapshot, TerritoryArea
from admission.census.reports import (
    CategoryCounts,
    CensusChild,
    DueChild,
    Issue,
    RegionReport,
    RegionStatus,
)
from admission.db import Connection, Pool
from admission.errors import Forbidden, InvalidInput
from admission.reference import KZ, school_region
from admission.signing_keys import AdminPrincipal
from queue_service.auth import AdminDep
from queue_service.controllers.shared import AdminScoped, now
from queue_service.params import Offset, OptionalYear, PageLimit
from queue_service.resources import DbDep, SettingsDep

PeriodQuery = Annotated[str | None, Parameter(description="the quarter, YYYY-MM (03, 06, 09, 12); default: the latest")]


class TerritoryIn(Body, frozen=True, kw_only=True):
    areas: list[TerritoryArea]


class CrossCheckOut(msgspec.Struct, frozen=True, kw_only=True):
    snapshot: Snapshot
    changed: int


def _period(value: str | None) -> dt.date | None:
    try:
        return formats.parse_month(value)
    except ValueError as exc:
        raise InvalidInput(f"period {exc}", field="period") from exc


def _required_period(value: str) -> dt.date:
    period = _period(value)
    assert period is not None
    return period


def _today() -> dt.date:
    return dt.datetime.now(KZ).date()


def _scope_region(admin: AdminPrincipal) -> str | None:
    """The one region a region or school admin sees; None for the ministry."""
    return None if admin.role == "ministry" else admin.region


async def _school_region(conn: Connection, admin: AdminPrincipal, school: str) -> str:
    """The region of a school the admin may read (its own school, its region's, or any for the ministry)."""
    region = await school_region(conn, school)
    admin.require_school(school, region)
    return region


class ChildrenPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the children of one category, as the region's and the school's lists take it."""

    category: reports.Category
    period: dt.date | None
    after: str | None
    limit: int

    async def children(self, conn: Connection, region: str, school_bin: str | None = None) -> list[CensusChild]:
        snapshot = await importer.get_snapshot(conn, region, self.period)
        return await reports.list_children(
            conn, snapshot.id, self.category, school_bin=school_bin, after=self.after, limit=self.limit
        )


def _children_page(
    category: FromQuery[reports.Category] = "all",
    period: FromQuery[PeriodQuery] = None,
    after: FromQuery[str | None] = None,
    limit: FromQuery[PageLimit] = 100,
) -> ChildrenPage:
    return ChildrenPage(category=category, period=_period(period), after=after, limit=limit)


def _milestone(step: str, summary: str) -> post:
    """The route recording a milestone of a region's quarterly census (closed, reported to the ministry)."""
    return post(f"/regions/{{region:str}}/snapshots/{{period:str}}/{step}", status_code=200, summary=summary)


# reports.mark_complete / mark_reported: (conn, admin, region, quarter, now) -> the snapshot.
Milestone = Callable[[Connection, AdminPrincipal, str, dt.date, dt.datetime], Awaitable[Snapshot]]


async def _mark(db: Pool, admin: AdminPrincipal, region: str, period: str, mark: Milestone) -> Snapshot:
    admin.require_region(region)
    async with db.acquire() as conn:
        return await mark(conn, admin, region, _required_period(period), now())


class CensusController(AdminScoped):
    path = "/v1/admin/census"
    tags = ["census"]  # noqa: RUF012 - Litestar reads it as declared
    dependencies = {**AdminScoped.dependencies, "page": Provide(_children_page, sync_to_thread=False)}  # noqa: RUF012

    @get("/regions", summary="Each region's September census against 20 September and 15 October")
    async def statuses(
        self, db: DbDep, admin: AdminDep, school_year: FromQuery[OptionalYear] = None
    ) -> list[RegionStatus]:
        today = _today()
        year = school_year or (today.year if today.month >= 9 else today.year - 1)
        async with db.acquire() as conn:
            return await reports.region_statuses(conn, year, today, _scope_region(admin))

    @get("/regions/{region:str}/snapshots", summary="The region's quarterly snapshots, newest first")
    async def snapshots(self, db: DbDep, admin: AdminDep, region: FromPath[str]) -> list[Snapshot]:
        admin.require_region(region)
        async with db.acquire() as conn:
            await importer.ensure_region(conn, region)
            return await importer.list_snapshots(conn, region)

    @get("/regions/{region:str}/report", summary="Counts per category of para 11, region and per school territory")
    async def region_report(
        self, db: DbDep, admin: AdminDep, region: FromPath[str], period: FromQuery[PeriodQuery] = None
    ) -> RegionReport:
        admin.require_region(region)
        async with db.acquire() as conn:
            return await reports.region_report(conn, region, _period(period))

    @get("/regions/{region:str}/children", summary="The children of one category, by ИИН, in pages")
    async def region_children(
        self, db: DbDep, admin: AdminDep, region: FromPath[str], page: NamedDependency[ChildrenPage]
    ) -> list[CensusChild]:
        admin.require_region(region)
        async with db.acquire() as conn:
            return await page.children(conn, region)

    @get("/regions/{region:str}/issues", summary="Rows of the extracts rejected or kept with a warning")
    async def issues(
        self,
        db: DbDep,
        admin: AdminDep,
        region: FromPath[str],
        period: FromQuery[PeriodQuery] = None,
        limit: FromQuery[PageLimit] = 1000,
        offset: FromQuery[Offset] = 0,
    ) -> list[Issue]:
        admin.require_region(region)
        async with db.acquire() as conn:
            snapshot = await importer.get_snapshot(conn, region, _period(period))
            return await reports.list_issues(conn, snapshot.id, limit, offset)

    @get("/regions/{region:str}/grade1", summary="Children due for grade 1 in the region, with admission status")
    async def region_grade1(
        self, db: DbDep, admin: AdminDep, region: FromPath[str], year: FromQuery[OptionalYear] = None
    ) -> list[DueChild]:
        admin.require_region(region)
        async with db.acquire() as conn:
            return await reports.due_for_grade1(conn, region, year or reports.admission_year(_today()))

    @post("/regions/{region:str}/cross-check", status_code=200, summary="Cross-check the latest snapshot again")
    async def cross_check(
        self, db: DbDep, admin: AdminDep, settings: SettingsDep, region: FromPath[str]
    ) -> CrossCheckOut:
        admin.require_region(region)
        async with db.acquire() as conn:
            changed = await importer.cross_check(conn, region, now=now(), readings=settings.readings())
            return CrossCheckOut(snapshot=await importer.get_snapshot(conn, region), changed=changed)

    @_milestone("complete", "Close the quarter's census (September: due by 20 September); it is frozen afterwards")
    async def complete(self, db: DbDep, admin: AdminDep, region: FromPath[str], period: FromPath[str]) -> Snapshot:
        return await _mark(db, admin, region, period, reports.mark_complete)

    @_milestone("report", "Record that the census was reported to the ministry (due by 15 October)")
    async def reported(self, db: DbDep, admin: AdminDep, region: FromPath[str], period: FromPath[str]) -> Snapshot:
        return await _mark(db, admin, region, period, reports.mark_reported)

    @get("/schools/{school:str}/report", summary="Counts per category in the school's service territory")
    async def school_report(
        self, db: DbDep, admin: AdminDep, school: FromPath[str], period: FromQuery[PeriodQuery] = None
    ) -> CategoryCounts:
        async with db.acquire() as conn:
            region = await _school_region(conn, admin, school)
            snapshot = await importer.get_snapshot(conn, region, _period(period))
            return await reports.category_counts(conn, snapshot.id, school)

    @get("/schools/{school:str}/children", summary="Children of one category living in the school's territory")
    async def school_children(
        self, db: DbDep, admin: AdminDep, school: FromPath[str], page: NamedDependency[ChildrenPage]
    ) -> list[CensusChild]:
        async with db.acquire() as conn:
            return await page.children(conn, await _school_region(conn, admin, school), school)

    @get("/schools/{school:str}/grade1", summary="Children of the territory due for grade 1, with admission status")
    async def school_grade1(
        self, db: DbDep, admin: AdminDep, school: FromPath[str], year: FromQuery[OptionalYear] = None
    ) -> list[DueChild]:
        async with db.acquire() as conn:
            region = await _school_region(conn, admin, school)
            return await reports.due_for_grade1(
                conn, region, year or reports.admission_year(_today()), school_bin=school
            )

    @get(
        "/schools/{school:str}/leavers",
        summary="Where the school's grade-9 (10) leavers went, as of 20 September (paras 14.8-14.13)",
    )
    async def school_leavers(
        self,
        db: DbDep,
        admin: AdminDep,
        settings: SettingsDep,
        school: FromPath[str],
        year: FromQuery[OptionalYear] = None,
    ) -> list[leavers.Leaver]:
        async with db.acquire() as conn:
            return await leavers.leavers(conn, admin, school, year or _today().year, settings.readings())

    @put(
        "/schools/{school:str}/leavers/{child_iin:str}/confirmation",
        summary="Record the admitting organisation's confirmation: outgoing number and date, order number and date",
    )
    async def leaver_confirmation(
        self,
        db: DbDep,
        admin: AdminDep,
        school: FromPath[str],
        child_iin: FromPath[str],
        data: JSONBody[leavers.Confirmation],
    ) -> leavers.Confirmation:
        async with db.acquire() as conn:
            return await leavers.record_confirmation(conn, admin, school, child_iin, data, now())

    @get("/schools/{school:str}/territory", summary="The school's service territory")
    async def territory(self, db: DbDep, admin: AdminDep, school: FromPath[str]) -> list[TerritoryArea]:
        async with db.acquire() as conn:
            await _school_region(conn, admin, school)
            return await importer.get_territory(conn, school)

    @put("/schools/{school:str}/territory", summary="Set the school's service territory (the local authority)")
    async def set_territory(
        self, db: DbDep, admin: AdminDep, school: FromPath[str], data: JSONBody[TerritoryIn]
    ) -> list[TerritoryArea]:
        async with db.acquire() as conn:
            region = await school_region(conn, school)
            if admin.role == "school":
                raise Forbidden("the local authority sets service territories, not the school")
            admin.require_region(region)
            async with conn.transaction():
                old = await importer.get_territory(conn, school)
                await importer.replace_territories(conn, {school: data.areas})
                new = await importer.get_territory(conn, school)
                await audit.record(conn, admin, "census.territory", f"school:{school}", region=region, old=old, new=new)
            return new
