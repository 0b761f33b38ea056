"""Monitoring of admission results (order No. 271): the admin API over :mod:`admission.monitoring`.

Ministry and region admins decide, schedule, set the commission, compute and
review findings and sign certificates; a school admin reads its own visits,
findings and certificate and records its plan of measures and report.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import MediaType, Response, get, post, put
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec.structs import asdict

from admission.bodies import Body
from admission.monitoring import certificate, service
from admission.monitoring.models import (
    Bin,
    CertificateLanguage,
    Decision,
    Evidence,
    Finding,
    LongText,
    Member,
    OrderNumber,
    RegionCounts,
    RegionSummary,
    Text,
    Verdict,
    Visit,
)
from queue_service.auth import AdminDep, RegionToRead
from queue_service.controllers.shared import AdminScoped, now, step_route
from queue_service.params import OptionalYear, RowId
from queue_service.resources import DbDep

Year = Annotated[int, msgspec.Meta(ge=2000, le=2100)]


class DecisionIn(Body, frozen=True, kw_only=True):
    admission_year: Year
    order_number: OrderNumber
    order_date: dt.date
    region: str | None = None
    """The region whose office decides; omitted: the admin's own region, or nationwide for the ministry."""


class DecisionOut(msgspec.Struct, frozen=True, kw_only=True):
    decision: Decision
    commission: list[Member]
    visits: list[Visit]


class CommissionIn(Body, frozen=True, kw_only=True):
    members: Annotated[list[Member], msgspec.Meta(max_length=51)]


class VisitIn(Body, frozen=True, kw_only=True):
    school_bin: Bin
    starts_on: dt.date
    ends_on: dt.date


class ReviewIn(Body, frozen=True, kw_only=True):
    verdict: Verdict
    note: LongText | None = None
    description: LongText | None = None
    """The commission's wording of an ``edited`` finding."""


class CommissionFindingIn(Body, frozen=True, kw_only=True):
    description: LongText
    evidence: Evidence = msgspec.field(default_factory=Evidence)
    note: LongText | None = None


class CertificateIn(Body, frozen=True, kw_only=True):
    language: CertificateLanguage
    signed_on: dt.date


class PlanIn(Body, frozen=True, kw_only=True):
    number: Text
    approved_on: dt.date
    measures: Annotated[list[LongText], msgspec.Meta(min_length=1, max_length=100)]


class ReportIn(Body, frozen=True, kw_only=True):
    submitted_on: dt.date
    summary: LongText


def _visit_step(
    name: str, route: HTTPRouteHandler, body: type[msgspec.Struct], step: Callable[..., Awaitable[Any]], returns: type
) -> HTTPRouteHandler:
    """A step of a visit that takes a JSON body (a finding, the certificate, the plan, the report):
    :func:`shared.step_route` with the visit from the path, answering what the service returns."""
    return step_route("MonitoringController", name, route, key="visit_id", body=body, act=step, returns=returns)


class MonitoringController(AdminScoped):
    path = "/v1/admin/monitoring"
    tags = ("monitoring",)

    @post("/decisions", summary="Record the order deciding to monitor a year's admission (by 1 November)")
    async def create_decision(self, admin: AdminDep, db: DbDep, data: JSONBody[DecisionIn]) -> Decision:
        async with db.acquire() as conn:
            return await service.create_decision(conn, admin, **asdict(data), now=now())

    @get("/decisions", summary="Monitoring decisions (ministry: all; region admin: its region's)")
    async def list_decisions(
        self, db: DbDep, region_to_read: RegionToRead, year: FromQuery[OptionalYear] = None
    ) -> list[Decision]:
        async with db.acquire() as conn:
            return await service.list_decisions(conn, region_to_read, year)

    @get("/decisions/{decision_id:uuid}", summary="A decision with its commission and schedule")
    async def get_decision(self, admin: AdminDep, db: DbDep, decision_id: FromPath[uuid.UUID]) -> DecisionOut:
        at = now()
        async with db.acquire() as conn:
            decision = await service.read_decision(conn, admin, decision_id)
            return DecisionOut(
                decision=decision,
                commission=await service.commission(conn, decision_id),
                visits=await service.list_visits(conn, admin, at, decision_id=decision_id),
            )

    @put("/decisions/{decision_id:uuid}/commission", summary="Set the commission (odd, ≥ 7 with the chair, one lead)")
    async def set_commission(
        self, admin: AdminDep, db: DbDep, decision_id: FromPath[uuid.UUID], data: JSONBody[CommissionIn]
    ) -> list[Member]:
        async with db.acquire() as conn:
            return await service.set_commission(conn, admin, decision_id, data.members)

    @post("/decisions/{decision_id:uuid}/visits", summary="Put a school on the schedule (≤ 5 working days)")
    async def schedule_visit(
        self, admin: AdminDep, db: DbDep, decision_id: FromPath[uuid.UUID], data: JSONBody[VisitIn]
    ) -> Visit:
        async with db.acquire() as conn:
            return await service.schedule_visit(conn, admin, decision_id, **asdict(data), now=now())

    @get("/visits", summary="Visits the admin may read (a school: its own), with status and deadlines")
    async def list_visits(
        self,
        admin: AdminDep,
        db: DbDep,
        region: FromQuery[str | None] = None,
        school_bin: FromQuery[str | None] = None,
        year: FromQuery[OptionalYear] = None,
    ) -> list[Visit]:
        async with db.acquire() as conn:
            return await service.list_visits(conn, admin, now(), region=region, school_bin=school_bin, year=year)

    @get("/visits/{visit_id:uuid}", summary="A visit: status, certificate, plan and report with their deadlines")
    async def get_visit(self, admin: AdminDep, db: DbDep, visit_id: FromPath[uuid.UUID]) -> Visit:
        async with db.acquire() as conn:
            return await service.get_visit(conn, admin, visit_id, now())

    @get("/visits/{visit_id:uuid}/findings", summary="The visit's findings with their evidence and reviews")
    async def list_findings(self, admin: AdminDep, db: DbDep, visit_id: FromPath[uuid.UUID]) -> list[Finding]:
        async with db.acquire() as conn:
            return await service.list_findings(conn, admin, visit_id)

    @post(
        "/visits/{visit_id:uuid}/findings/compute",
        status_code=200,
        summary="Compute the school's nonconformities from Kezek's records (reviews of unchanged ones stay)",
    )
    async def compute_findings(self, admin: AdminDep, db: DbDep, visit_id: FromPath[uuid.UUID]) -> list[Finding]:
        async with db.acquire() as conn:
            return await service.compute_findings(conn, admin, visit_id, now())

    add_finding = _visit_step(
        "add_finding",
        post("/visits/{visit_id:uuid}/findings", summary="Add the commission's own finding"),
        CommissionFindingIn,
        service.add_finding,
        Finding,
    )

    @put(
        "/visits/{visit_id:uuid}/findings/{finding_id:int}/review",
        summary="The commission accepts, rejects or edits a computed finding",
    )
    async def review_finding(
        self,
        admin: AdminDep,
        db: DbDep,
        visit_id: FromPath[uuid.UUID],
        finding_id: FromPath[RowId],
        data: JSONBody[ReviewIn],
    ) -> Finding:
        async with db.acquire() as conn:
            return await service.review_finding(conn, admin, visit_id, finding_id, **asdict(data), now=now())

    issue_certificate = _visit_step(
        "issue_certificate",
        post("/visits/{visit_id:uuid}/certificate", status_code=200, summary="Sign the certificate (kk or ru)"),
        CertificateIn,
        service.issue_certificate,
        Visit,
    )

    @get(
        "/visits/{visit_id:uuid}/certificate",
        summary="The certificate as a printable HTML document (2 copies; a draft until signed)",
        media_type=MediaType.HTML,
    )
    async def certificate(
        self,
        admin: AdminDep,
        db: DbDep,
        visit_id: FromPath[uuid.UUID],
        language: FromQuery[CertificateLanguage | None] = None,
    ) -> Response[str]:
        async with db.acquire() as conn:
            html, chosen = await certificate.certificate_html(conn, admin, visit_id, language, now())
        return Response(html, media_type=MediaType.HTML, headers={"Content-Language": chosen})

    record_plan = _visit_step(
        "record_plan",
        put("/visits/{visit_id:uuid}/plan", summary="Record the school's plan of measures (10 calendar days)"),
        PlanIn,
        service.record_plan,
        Visit,
    )
    record_report = _visit_step(
        "record_report",
        put("/visits/{visit_id:uuid}/report", summary="Record the school's report on the plan (30 calendar days)"),
        ReportIn,
        service.record_report,
        Visit,
    )

    @get("/regions/{region:str}", summary="A region's view: scheduled, in progress, open plans, overdue")
    async def region_summary(
        self, admin: AdminDep, db: DbDep, region: FromPath[str], year: FromQuery[OptionalYear] = None
    ) -> RegionSummary:
        async with db.acquire() as conn:
            return await service.region_summary(conn, admin, region, year, now())

    @get("/regions", summary="The ministry's view: each region's counts")
    async def ministry_summary(
        self, admin: AdminDep, db: DbDep, year: FromQuery[OptionalYear] = None
    ) -> list[RegionCounts]:
        async with db.acquire() as conn:
            return await service.ministry_summary(conn, admin, year, now())
