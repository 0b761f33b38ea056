"""The admin API: class sets, rosters, windows, auto-confirmation, confirmations, the audit log.

Scopes (``admission.signing_keys.AdminPrincipal``): a ministry admin acts everywhere;
a region admin in its region (schools, windows, auto-confirmation, audit);
a school admin only for its own school (class sets, roster, confirmations)
and reads no audit log.  Every change is audited in its own transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from litestar import delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from admission import applications, audit, reference
from admission.applications import admin as seats
from admission.applications.models import TeachingLanguage
from admission.bodies import Body
from admission.errors import InvalidInput
from queue_service.auth import AdminDep, RegionToRead
from queue_service.controllers.shared import AdminScoped, now
from queue_service.params import AuditAction, AuditActor, AuditLimit, Grade, OptionalRowId
from queue_service.resources import DbDep
from queue_service.rooms_runtime import VISITORS_DEPENDENCY, VisitorsDep, follow_truth

ApplicationStatus = Literal["accepted", "refused", "withdrawn", "confirmed"]


class ClassesIn(Body, frozen=True, kw_only=True):
    classes: Annotated[int, msgspec.Meta(ge=0, le=200)]
    seats_per_class: Annotated[int, msgspec.Meta(ge=0, le=40)]  # sanitary rules


class WindowIn(Body, frozen=True, kw_only=True):
    opens_at: dt.datetime
    closes_at: dt.datetime
    reason: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    """Required to move it outside annex 2 (the ministry only; pilot para 7); kept in the audit log."""


class AutoConfirmIn(Body, frozen=True, kw_only=True):
    """Automatic confirmation on or off, for the admissions the region decides from now on."""

    enabled: bool


class ConfirmIn(Body, frozen=True, kw_only=True):
    order_number: str
    order_date: dt.date
    application_id: uuid.UUID | None = None
    """One accepted application; omitted = every accepted application of the school."""


class ConfirmOut(msgspec.Struct, kw_only=True, frozen=True):
    confirmed: list[uuid.UUID]
    count: int


class RosterIn(Body, frozen=True, kw_only=True):
    """The language of instruction whose grade-1 seat the roster child holds."""

    language: TeachingLanguage


class RosterOut(msgspec.Struct, kw_only=True, frozen=True):
    """The roster entry as it now stands: the child holds a grade-1 seat in ``language`` at the school."""

    school_bin: str
    child_iin: str
    language: str


def _language(value: str) -> TeachingLanguage:
    try:
        language: TeachingLanguage = msgspec.convert(value, TeachingLanguage)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"unknown language of instruction {value!r}") from exc
    return language


class AdminController(AdminScoped):
    path = "/v1/admin"
    tags = ["admin"]  # noqa: RUF012 - Litestar declares it an instance attribute

    @patch("/schools/{school_bin:str}", summary="Change a school's names and contacts")
    async def update_school(
        self, admin: AdminDep, db: DbDep, school_bin: FromPath[str], data: JSONBody[seats.SchoolChanges]
    ) -> seats.School:
        async with db.acquire() as conn:
            return await seats.update_school(conn, admin, school_bin, data)

    @put("/schools/{school_bin:str}/classes/{grade:int}/{language:str}", summary="Set a school's class sets")
    async def set_classes(
        self,
        admin: AdminDep,
        db: DbDep,
        school_bin: FromPath[str],
        grade: FromPath[Grade],
        language: FromPath[str],
        data: JSONBody[ClassesIn],
    ) -> seats.ClassSet:
        async with db.acquire() as conn:
            return await seats.set_classes(
                conn,
                admin,
                school_bin,
                grade,
                _language(language),
                classes=data.classes,
                seats_per_class=data.seats_per_class,
            )

    @put("/schools/{school_bin:str}/roster/{child_iin:str}", summary="Put a child on the pre-school roster")
    async def put_roster(
        self, admin: AdminDep, db: DbDep, school_bin: FromPath[str], child_iin: FromPath[str], data: JSONBody[RosterIn]
    ) -> RosterOut:
        async with db.acquire() as conn:
            await seats.put_roster_child(conn, admin, school_bin, child_iin, data.language)
        return RosterOut(school_bin=school_bin, child_iin=child_iin, language=data.language)

    @delete("/schools/{school_bin:str}/roster/{child_iin:str}", summary="Take a child off the pre-school roster")
    async def remove_roster(
        self, admin: AdminDep, db: DbDep, school_bin: FromPath[str], child_iin: FromPath[str]
    ) -> None:
        async with db.acquire() as conn:
            await seats.remove_roster_child(conn, admin, school_bin, child_iin)

    @post(
        "/schools/{school_bin:str}/confirmations",
        summary="Record the admission order for one accepted application or all of them",
        status_code=200,
    )
    async def confirm(
        self, admin: AdminDep, db: DbDep, school_bin: FromPath[str], data: JSONBody[ConfirmIn]
    ) -> ConfirmOut:
        async with db.acquire() as conn:
            confirmed = await applications.confirm(
                conn,
                admin,
                school_bin,
                order_number=data.order_number,
                order_date=data.order_date,
                application_id=data.application_id,
                now=now(),
            )
        return ConfirmOut(confirmed=confirmed, count=len(confirmed))

    @get("/schools/{school_bin:str}/applications", summary="A school's applications, oldest first")
    async def school_applications(
        self,
        admin: AdminDep,
        db: DbDep,
        school_bin: FromPath[str],
        status: FromQuery[ApplicationStatus | None] = None,
    ) -> list[seats.SchoolApplication]:
        async with db.acquire() as conn:
            return await seats.school_applications(conn, admin, school_bin, status)

    @put(
        "/regions/{region:str}/window",
        summary="Move a region's grade-1 window (UTC+5)",
        dependencies=VISITORS_DEPENDENCY,  # this worker's room follows the new window at once
    )
    async def set_window(
        self, admin: AdminDep, db: DbDep, visitors: VisitorsDep, region: FromPath[str], data: JSONBody[WindowIn]
    ) -> reference.Region:
        async with db.acquire() as conn:
            updated = await seats.set_window(conn, admin, region, data.opens_at, data.closes_at, data.reason)
        await follow_truth(visitors, region)
        return updated

    @put("/regions/{region:str}/auto-confirm", summary="Switch automatic confirmation of new admissions")
    async def set_auto_confirm(
        self, admin: AdminDep, db: DbDep, region: FromPath[str], data: JSONBody[AutoConfirmIn]
    ) -> seats.AutoConfirmSwitch:
        async with db.acquire() as conn:
            return await seats.set_auto_confirm(conn, admin, region, data.enabled)

    @get("/audit", summary="The audit log, newest first (ministry: all regions; region admin: its region)")
    async def audit_log(
        self,
        db: DbDep,
        region_to_read: RegionToRead,
        since: FromQuery[dt.date | None] = None,
        until: FromQuery[dt.date | None] = None,
        action: FromQuery[AuditAction] = None,
        actor: FromQuery[AuditActor] = None,
        limit: FromQuery[AuditLimit] = 100,
        before_id: FromQuery[OptionalRowId] = None,
    ) -> list[audit.AuditEntry]:
        """The console's filters too: days in Kazakhstan (UTC+5, both included), an action prefix, an actor."""
        which = audit.AuditFilter.of_days(region_to_read, since, until, action, actor)
        async with db.acquire() as conn:
            return await audit.search(conn, which, limit, before_id)
