"""Intra-school prevention registration for admins: decode, call :mod:`admission.prevention.service`, encode.

Who reads what (the domain enforces it; see the service's docstring):
everything under ``/v1/admin/schools/{bin}/prevention`` is for the school's own
admins only, except ``…/counts``, which its region's admins and the ministry
read too.  Region and ministry admins have counts only; every read of a case
is audited.  No public route reads any of it.
"""

from __future__ import annotations

import datetime as dt
import inspect
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, cast, get_type_hints

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from admission.db import Connection
from admission.prevention import labels, service
from admission.prevention.errors import NoPlan
from admission.prevention.models import (
    Candidates,
    Case,
    CaseIn,
    CaseState,
    CaseSummary,
    Counts,
    Minutes,
    RegionCounts,
    RegistrationIn,
    Sitting,
)
from admission.reference import school_card
from admission.signing_keys import AdminPrincipal
from queue_service.auth import AdminDep
from queue_service.controllers.shared import AdminScoped, named, now
from queue_service.pages import prevention as print_views
from queue_service.params import PageLimit
from queue_service.resources import DbDep


def _print_language(request: Request[Any, Any, Any]) -> print_views.PrintLanguage:
    return print_views.print_language(request.headers.get("accept-language"), request.query_params.get("lang"))


# The language a printable page is in: a handler takes ``language: Printed``.
Printed = NamedDependency[print_views.PrintLanguage]


def _printable(path: str, summary: str) -> get:
    """The route of a printable page (minutes, plan): HTML in the reader's language, documented as such."""
    return get(
        path,
        summary=summary,
        description="Printable HTML (Kazakh, or Russian with `?lang=ru` / Accept-Language); the read is audited.",
        media_type=MediaType.HTML,
    )


def _html(body: str, language: str) -> Response[str]:
    # Never cached by a browser or a proxy: it names a minor.
    headers = {"Content-Language": language, "Cache-Control": "no-store"}
    return Response(body, media_type=MediaType.HTML, headers=headers)


# The routes outside the school's path (region and national totals, labels): admin only, like the controller's.
_ADMIN_ROUTE: dict[str, Any] = {
    "tags": ["prevention"],
    "dependencies": AdminScoped.dependencies,
    "security": AdminScoped.security,
}


def _body_and_answer(call: Callable[..., Any], position: int) -> tuple[Any, Any]:
    """The types a service's function declares for its JSON body (its parameter at ``position``) and
    its answer: a route serving the function documents and decodes exactly what the function takes."""
    hints = get_type_hints(call)
    return hints[list(inspect.signature(call).parameters)[position]], hints["return"]


# What a step of a case is in the domain: (conn, admin, school, case, the step's body, now) -> the case.
CaseStep = Callable[[Connection, AdminPrincipal, str, uuid.UUID, Any, dt.datetime], Awaitable[Case]]


def _case_step(
    name: str, method: Callable[..., HTTPRouteHandler], path: str, summary: str, step: CaseStep
) -> HTTPRouteHandler:
    """The handler of one step of a case (initial data, decision, plan, removal, ...): every step is
    the same call, the school's admin and the case from the path and the step's JSON body handed to
    the service's function for it, answered with the case (200), so it is written once and each step
    is a row: ``name`` (the handler's, :func:`shared.named`), the HTTP method, the path under the
    case, the summary and the function, whose own ``data`` annotation is the body's type.
    """

    async def handler(
        self: Controller,  # noqa: ARG001 - Litestar binds the controller
        db: DbDep,
        admin: AdminDep,
        school_bin: FromPath[str],
        case_id: FromPath[uuid.UUID],
        data: Any,
    ) -> Case:
        async with db.acquire() as conn:
            return await step(conn, admin, school_bin, case_id, data, now())

    body, _ = _body_and_answer(step, 4)
    route = method(f"/cases/{{case_id:uuid}}/{path}", status_code=200, summary=summary)
    return route(named(handler, "PreventionController", name, data=cast(Any, JSONBody)[body]))


# What a whole-school read is in the domain: (conn, admin, school) -> the council, handovers or counts.
SchoolRead = Callable[[Connection, AdminPrincipal, str], Awaitable[msgspec.Struct]]


def _school_read(name: str, summary: str, read: SchoolRead) -> HTTPRouteHandler:
    """The handler of ``GET /<name>``, a read of the school as a whole (its council, its handovers, its
    counts): the admin and the school from the path handed to the service's function, so it is written
    once and each read is a row of its name (:func:`shared.named`), its summary and the function,
    whose own return annotation is the answer's type.
    """

    async def handler(
        self: Controller,  # noqa: ARG001 - Litestar binds the controller
        db: DbDep,
        admin: AdminDep,
        school_bin: FromPath[str],
    ) -> msgspec.Struct:
        async with db.acquire() as conn:
            return await read(conn, admin, school_bin)

    returns = get_type_hints(read)["return"]
    return get(f"/{name}", summary=summary)(named(handler, "PreventionController", name, **{"return": returns}))


# What a write to the school as a whole is in the domain: (conn, admin, school, body, now) -> what was written.
SchoolWrite = Callable[[Connection, AdminPrincipal, str, Any, dt.datetime], Awaitable[msgspec.Struct]]


def _school_write(
    name: str, method: Callable[..., HTTPRouteHandler], path: str, summary: str, write: SchoolWrite
) -> HTTPRouteHandler:
    """The handler of a write to the school as a whole (its council, a sitting): the admin and the
    school from the path and the JSON body handed to the service's function, which answers what it
    wrote; as :func:`_case_step`, the function's own annotations give the body's type and the answer's.
    """

    async def handler(
        self: Controller,  # noqa: ARG001 - Litestar binds the controller
        db: DbDep,
        admin: AdminDep,
        school_bin: FromPath[str],
        data: Any,
    ) -> msgspec.Struct:
        async with db.acquire() as conn:
            return await write(conn, admin, school_bin, data, now())

    body, answer = _body_and_answer(write, 3)
    typed = named(handler, "PreventionController", name, data=cast(Any, JSONBody)[body], **{"return": answer})
    return method(path, summary=summary)(typed)


class PreventionController(AdminScoped):
    path = "/v1/admin/schools/{school_bin:str}/prevention"
    tags = ["prevention"]  # noqa: RUF012 - Litestar reads it as declared
    dependencies = {**AdminScoped.dependencies, "language": Provide(_print_language, sync_to_thread=False)}  # noqa: RUF012

    # ---------------------------------------------------------------- council and sittings

    council = _school_read("council", "The prevention council (paras 6-7)", service.get_council)

    put_council = _school_write(
        "put_council",
        put,
        "/council",
        "Record the council approved by the head's order: >= 5 staff, one chair, one secretary",
        service.put_council,
    )

    @get("/sittings", summary="The council's sittings, newest first")
    async def sittings(
        self, db: DbDep, admin: AdminDep, school_bin: FromPath[str], limit: FromQuery[PageLimit] = 100
    ) -> list[Sitting]:
        async with db.acquire() as conn:
            return await service.list_sittings(conn, admin, school_bin, limit)

    create_sitting = _school_write(
        "create_sitting",
        post,
        "/sittings",
        "Record a sitting: date, participants, agenda, what was heard (para 17)",
        service.create_sitting,
    )

    @get("/sittings/{sitting_id:uuid}/minutes", summary="A sitting's minutes with its decisions (audited read)")
    async def minutes(
        self, db: DbDep, admin: AdminDep, school_bin: FromPath[str], sitting_id: FromPath[uuid.UUID]
    ) -> Minutes:
        async with db.acquire() as conn:
            return await service.minutes(conn, admin, school_bin, sitting_id)

    @_printable("/sittings/{sitting_id:uuid}/minutes/print", "The minutes for printing (para 17)")
    async def print_minutes(
        self, db: DbDep, admin: AdminDep, school_bin: FromPath[str], sitting_id: FromPath[uuid.UUID], language: Printed
    ) -> Response[str]:
        async with db.acquire() as conn:
            found = await service.minutes(conn, admin, school_bin, sitting_id)
            school = await school_card(conn, school_bin)
        return _html(print_views.render_minutes(found, school, language), language)

    # ---------------------------------------------------------------- cases

    @get("/cases", summary="The school's cases with their deadlines, due or overdue (audited read)")
    async def cases(
        self,
        db: DbDep,
        admin: AdminDep,
        school_bin: FromPath[str],
        case_state: Annotated[CaseState | None, QueryParameter(name="state", description="only this state")] = None,
        incoming: FromQuery[bool] = False,
        limit: FromQuery[PageLimit] = 200,
    ) -> list[CaseSummary]:
        async with db.acquire() as conn:
            return await service.list_cases(
                conn, admin, school_bin, now(), state=case_state, incoming=incoming, limit=limit
            )

    @post(
        "/cases",
        summary="Open a case from a staff request (para 4) or outside information (para 11)",
        description="Deadlines count from `received_at`: outside information registered within 1 working day, "
        "the initial data collected within 2 (Mon-Fri 09:00-18:30 Kazakhstan time, public holidays excluded).",
    )
    async def open_case(self, db: DbDep, admin: AdminDep, school_bin: FromPath[str], data: JSONBody[CaseIn]) -> Case:
        async with db.acquire() as conn:
            return await service.open_case(conn, admin, school_bin, data, now())

    @get("/cases/{case_id:uuid}", summary="One case: data, deadlines, decision, plan, referrals (audited read)")
    async def case(self, db: DbDep, admin: AdminDep, school_bin: FromPath[str], case_id: FromPath[uuid.UUID]) -> Case:
        async with db.acquire() as conn:
            return await service.get_case(conn, admin, school_bin, case_id, now())

    @put("/cases/{case_id:uuid}/registration", summary="Register the outside information (para 11)")
    async def registration(
        self,
        db: DbDep,
        admin: AdminDep,
        school_bin: FromPath[str],
        case_id: FromPath[uuid.UUID],
        data: JSONBody[RegistrationIn],
    ) -> Case:
        async with db.acquire() as conn:
            return await service.register_information(conn, admin, school_bin, case_id, data.number, now())

    initial_data = _case_step(
        "initial_data",
        put,
        "initial-data",
        "The initial data on the pupil and family (para 12)",
        service.set_initial_data,
    )
    assessment = _case_step(
        "assessment", put, "assessment", "The initial assessment materials (para 14)", service.set_assessment
    )
    decision = _case_step(
        "decision",
        post,
        "decision",
        "The council's decision at a sitting: register on grounds of para 22, or refuse (para 15)",
        service.decide,
    )
    report_back = _case_step(
        "report_back",
        post,
        "report-back",
        "The decision was reported to the outside body (para 20, 1 working day)",
        service.report_back,
    )
    plan = _case_step("plan", put, "plan", "The individual prevention plan with its rows (annex 1)", service.set_plan)

    @_printable("/cases/{case_id:uuid}/plan/print", "The individual plan for printing (annex 1)")
    async def print_plan(
        self, db: DbDep, admin: AdminDep, school_bin: FromPath[str], case_id: FromPath[uuid.UUID], language: Printed
    ) -> Response[str]:
        async with db.acquire() as conn:
            found = await service.get_case(conn, admin, school_bin, case_id, now(), purpose="plan_print")
            if found.plan is None:
                raise NoPlan()
            school = await school_card(conn, school_bin)
        return _html(print_views.render_plan(found, school, language), language)

    removal = _case_step("removal", post, "removal", "Remove from the register at a sitting (para 23)", service.remove)
    referral = _case_step(
        "referral", post, "referrals", "Refer to the territorial commission for minors (para 21)", service.refer
    )

    # ---------------------------------------------------------------- tie-ins and counts

    handovers = _school_read(
        "handovers",
        "Cases handed over with transfers (para 24): outgoing (when, to whom) and incoming",
        service.handovers,
    )

    @get(
        "/candidates",
        summary="The census's systematic truants at this school: candidates for a council request (audited read)",
        description="Listed for the school to judge (para 22 ground 5); nobody is registered by this list.",
    )
    async def candidates(
        self, db: DbDep, admin: AdminDep, school_bin: FromPath[str], limit: FromQuery[PageLimit] = 500
    ) -> Candidates:
        async with db.acquire() as conn:
            return await service.truant_candidates(conn, admin, school_bin, limit)

    counts = _school_read(
        "counts", "Counts only (the school, its region's admins, the ministry): no names", service.school_counts
    )


@get(
    "/v1/admin/regions/{region:str}/prevention/counts",
    summary="A region's totals (no breakdown by school, para 26)",
    **_ADMIN_ROUTE,
)
async def region_counts(db: DbDep, admin: AdminDep, region: FromPath[str]) -> Counts:
    async with db.acquire() as conn:
        return await service.region_counts(conn, admin, region)


@get("/v1/admin/prevention/counts", summary="Every region's totals (ministry)", **_ADMIN_ROUTE)
async def national_counts(db: DbDep, admin: AdminDep) -> list[RegionCounts]:
    async with db.acquire() as conn:
        return await service.national_counts(conn, admin)


@get(
    "/v1/admin/prevention/labels",
    summary="kk/ru/en labels of grounds (para 22), states, sources, removal reasons, referral kinds, deadlines",
    **_ADMIN_ROUTE,
)
async def prevention_labels(admin: AdminDep) -> dict[str, dict[str, dict[str, str]]]:  # noqa: ARG001 - the token is checked
    return {
        g: {key: {str(k): v for k, v in text.items()} for key, text in values.items()}
        for g, values in labels.ALL.items()
    }


ROUTES: list[Any] = [PreventionController, region_counts, national_counts, prevention_labels]
