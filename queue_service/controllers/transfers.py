"""Transfers between schools: the parent's request, the schools' stages, the calendar, the monitoring report."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery, JSONBody

from admission import reference
from admission.bodies import Body
from admission.db import Connection
from admission.errors import Unauthenticated
from admission.portal import Applicant
from admission.signing_keys import AdminPrincipal, KeySet
from admission.transfers import calendar, service, signing
from admission.transfers.errors import InvalidTransfer
from admission.transfers.models import (
    Employee,
    OrderKind,
    RefusalReceipt,
    Status,
    Transfer,
    TransferEvent,
    TransferRequest,
)
from admission.transfers.tokens import mint_transfer_token, verify_transfer_token
from queue_service.auth import (
    ADMIN_DEPENDENCY,
    ADMIN_SECURITY,
    PORTAL_DEPENDENCY,
    AdminDep,
    PortalCredential,
    PortalDep,
    RegionToRead,
    bearer_token,
    requires,
)
from queue_service.controllers.shared import step_route
from queue_service.params import EventLimit, PageLimit, RowId
from queue_service.resources import DbDep, KeysDep, SettingsDep

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TransferOut(msgspec.Struct, frozen=True, kw_only=True):
    """A transfer as shown to the parent or an admin.  ``prevention_ref`` only to the two schools' admins."""

    id: uuid.UUID
    status: str
    path: str
    ground: str
    child_iin: str
    child_full_name: str
    grade: int
    language: str
    from_school_bin: str
    to_school_bin: str | None
    requested_at: dt.datetime
    decision_due_at: dt.datetime
    decided_at: dt.datetime | None
    refusal: dict[str, Any] | None
    notification_jws: str | None
    """The para 19 notification (or motivated refusal): a compact JWS signed by the deciding school."""
    notification: dict[str, Any] | None
    """The JWS payload, decoded for convenience; trust only what the signature covers."""
    arrival_talon_number: str | None
    arrival_talon_valid_until: dt.datetime | None
    departure_talon_number: str | None
    admission_order_number: str | None
    admission_order_date: dt.date | None
    expulsion_order_number: str | None
    expulsion_order_date: dt.date | None
    completed_at: dt.datetime | None
    receipt: RefusalReceipt | None
    prevention_ref: str | None = None
    transfer_token: str | None = None


async def _out(
    conn: Connection, t: Transfer, *, admin: AdminPrincipal | None = None, token: str | None = None
) -> TransferOut:
    notification = None
    if t.notification_jws is not None:
        key = await signing.school_key(conn, t.deciding_school)
        notification = msgspec.json.decode(signing.verify(t.notification_jws, key.public_key))
        card = await reference.school_card(conn, service.receipt_issuer(t))
    refusal = notification.get("refusal") if notification else None
    return TransferOut(
        id=t.id,
        status=t.status,
        path=t.path,
        ground=t.ground,
        child_iin=t.child_iin,
        child_full_name=t.child_full_name,
        grade=t.grade,
        language=t.language,
        from_school_bin=t.from_school_bin,
        to_school_bin=t.to_school_bin,
        requested_at=t.requested_at,
        decision_due_at=t.decision_due_at,
        decided_at=t.decided_at,
        refusal=refusal if t.status == "refused" else None,
        notification_jws=t.notification_jws,
        notification=notification,
        arrival_talon_number=t.arrival_talon_number,
        arrival_talon_valid_until=t.arrival_talon_valid_until,
        departure_talon_number=t.departure_talon_number,
        admission_order_number=t.admission_order_number,
        admission_order_date=t.admission_order_date,
        expulsion_order_number=t.expulsion_order_number,
        expulsion_order_date=t.expulsion_order_date,
        completed_at=t.completed_at,
        receipt=service.receipt(t, card) if notification is not None else None,
        prevention_ref=t.prevention_ref if admin is not None and service.can_see_prevention_ref(admin, t) else None,
        transfer_token=token,
    )


# ---------------------------------------------------------------- public


class TransferController(Controller):
    path = "/v1/transfers"
    tags = ("transfers",)

    @post(
        "/",
        summary="Request a transfer of a pupil enrolled per the contingent store (portal path)",
        description="201 with status `pending` (a school decides within 1 working day) or `refused` "
        "(the rules decided at once, as of the acceptance day: no consent, the holidays ground outside "
        "school holidays, admission to grade 10 on the certificate outside August, a full class set for "
        "grades 2-9). Keep `transfer_token` to follow the transfer. "
        "The applicant is the one the portal vouches for, for a child they represent (`X-Portal-Assertion`).",
        dependencies=PORTAL_DEPENDENCY,
    )
    async def request_transfer(
        self,
        db: DbDep,
        keyset: KeysDep,
        settings: SettingsDep,
        portal: PortalDep,
        data: JSONBody[TransferRequest],
    ) -> TransferOut:
        now = _now()
        if data.path != "portal":
            raise InvalidTransfer(problem="paper requests are registered by the receiving school")
        portal.applicant(data.applicant_iin).require_child(data.child_iin)
        async with db.acquire() as conn:
            t = await service.request_transfer(conn, data, now, readings=settings.readings())
            return await _out(conn, t, token=mint_transfer_token(keyset, t.id, t.applicant_iin, now))

    @get(
        "/{transfer_id:uuid}",
        summary="The parent's view of a transfer and its stage",
        description="With the `transfer_token` (`Authorization: Bearer`), or in `assertion` portal mode with the "
        "parent's `X-Portal-Assertion` alone: the transfer must be one this applicant requested, for a child the "
        "portal says they represent (403 `not_this_applicant` / `child_not_represented` otherwise). "
        "In `demo` mode only the `transfer_token` reads it.",
        security=requires("transfer"),
        dependencies=PORTAL_DEPENDENCY,
    )
    async def get_transfer(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        keyset: KeysDep,
        portal: PortalDep,
        transfer_id: FromPath[uuid.UUID],
    ) -> TransferOut:
        parent = transfer_reader(request, keyset, portal, transfer_id)
        async with db.acquire() as conn:
            t = await service.get(conn, transfer_id)
            if parent is not None:
                parent.require_owner(t.applicant_iin, t.child_iin)
            return await _out(conn, t)


def transfer_reader(
    request: Request[Any, Any, Any], keyset: KeySet, portal: PortalCredential, transfer_id: uuid.UUID
) -> Applicant | None:
    """Who reads the transfer: None when the request carries the transfer's own token (checked here),
    else the applicant of a valid portal assertion (``assertion`` mode), whose ownership the caller
    checks once the transfer is read.  Neither: 401."""
    try:
        token = bearer_token(request)
    except Unauthenticated as exc:
        parent = portal.holder()
        if parent is None:
            raise Unauthenticated(
                "the transfer_token (Authorization: Bearer) or, in assertion mode, X-Portal-Assertion is required"
            ) from exc
        return parent
    verify_transfer_token(keyset, token, transfer_id)
    return None


class SigningKeyOut(msgspec.Struct, frozen=True, kw_only=True):
    school_bin: str
    kid: str
    alg: str
    jwk: dict[str, Any]
    public_key_pem: str


@get(
    "/v1/schools/{school_bin:str}/signing-key",
    tags=["transfers"],
    summary="A school's published public key: verifies its signed transfer notifications (JWS, EdDSA)",
)
async def school_signing_key(db: DbDep, school_bin: FromPath[str]) -> SigningKeyOut:
    async with db.acquire() as conn:
        key = await signing.school_key(conn, school_bin)
    return SigningKeyOut(
        school_bin=key.school_bin,
        kid=key.kid,
        alg=signing.ALGORITHM,
        jwk=key.public_jwk(),
        public_key_pem=key.public_pem(),
    )


class CalendarOut(msgspec.Struct, frozen=True, kw_only=True):
    school_year: str
    holidays: list[calendar.HolidayPeriod]


@get("/v1/calendar/{school_year:str}", tags=["transfers"], summary="School holidays of a school year (2025-2026)")
async def get_calendar(db: DbDep, school_year: FromPath[str]) -> CalendarOut:
    async with db.acquire() as conn:
        return CalendarOut(school_year=school_year, holidays=await calendar.periods(conn, school_year))


# ---------------------------------------------------------------- admin


class CalendarIn(Body, frozen=True, kw_only=True):
    holidays: Annotated[list[calendar.HolidayPeriod], msgspec.Meta(max_length=30)]


class DecisionIn(Body, frozen=True, kw_only=True):
    """A refusal needs ``refusal_ground``, ``reason`` (para 19: motivated) and ``employee`` (the receipt)."""

    accept: bool
    refusal_ground: Annotated[int, msgspec.Meta(ge=1, le=7)] | None = None
    reason: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    employee: Employee | None = None


class DepartureIn(Body, frozen=True, kw_only=True):
    """``employee``: who signs the receipt should the talon have lapsed (para 23)."""

    arrival_talon_number: Text
    employee: Employee | None = None


class OrderIn(Body, frozen=True, kw_only=True):
    kind: OrderKind
    number: Text
    date: dt.date


class PreventionRefIn(Body, frozen=True, kw_only=True):
    reference: Text


class EventsOut(msgspec.Struct, frozen=True, kw_only=True):
    events: list[TransferEvent]
    next_after_id: int


# A school's stage of a transfer in the domain: (conn, admin, transfer, now, **the stage's body) -> the transfer.
Stage = Callable[..., Awaitable[Transfer]]


def _stage(name: str, route: HTTPRouteHandler, body: type[msgspec.Struct], act: Stage) -> HTTPRouteHandler:
    """A stage a school takes a transfer through (decision, departure, order, prevention reference):
    :func:`shared.step_route` with the transfer from the path, answering it as its schools see it."""
    return step_route(
        "AdminTransferController",
        name,
        route,
        key="transfer_id",
        body=body,
        act=act,
        returns=TransferOut,
        present=lambda conn, admin, t: _out(conn, t, admin=admin),
    )


class AdminTransferController(Controller):
    path = "/v1/admin"
    tags = ("transfers admin",)
    dependencies = ADMIN_DEPENDENCY
    security = ADMIN_SECURITY

    @put("/calendar/{school_year:str}", summary="Replace a school year's holidays (ministry admin)")
    async def put_calendar(
        self, db: DbDep, admin: AdminDep, school_year: FromPath[str], data: JSONBody[CalendarIn]
    ) -> CalendarOut:
        async with db.acquire() as conn:
            saved = await calendar.replace_periods(conn, admin, school_year, data.holidays)
        return CalendarOut(school_year=school_year, holidays=saved)

    @post("/transfers", summary="Register a paper transfer request (receiving school, or departing when leaving)")
    async def register_paper(
        self, db: DbDep, admin: AdminDep, settings: SettingsDep, data: JSONBody[TransferRequest]
    ) -> TransferOut:
        if data.path != "paper":
            raise InvalidTransfer(problem="a school registers paper requests (path: paper)")
        now = _now()
        async with db.acquire() as conn:
            t = await service.request_transfer(
                conn, data, now, actor=admin.subject, registrar=admin, readings=settings.readings()
            )
            return await _out(conn, t, admin=admin)

    @get("/transfers/{transfer_id:uuid}", summary="A transfer as its schools, region or the ministry see it")
    async def get_transfer(self, db: DbDep, admin: AdminDep, transfer_id: FromPath[uuid.UUID]) -> TransferOut:
        async with db.acquire() as conn:
            t = await service.get(conn, transfer_id)
            service.require_party(admin, t)
            return await _out(conn, t, admin=admin)

    decide = _stage(
        "decide",
        post(
            "/transfers/{transfer_id:uuid}/decision",
            status_code=200,
            summary="Accept (signed notification / arrival talon) or refuse",
        ),
        DecisionIn,
        service.decide,
    )
    depart = _stage(
        "depart",
        post(
            "/transfers/{transfer_id:uuid}/departure",
            status_code=200,
            summary="Departing school: arrival talon shown, issue departure talon",
        ),
        DepartureIn,
        service.depart,
    )
    record_order = _stage(
        "record_order",
        post(
            "/transfers/{transfer_id:uuid}/orders",
            status_code=200,
            summary="Record the admission or expulsion order (para 22)",
        ),
        OrderIn,
        service.record_order,
    )
    prevention_ref = _stage(
        "prevention_ref",
        put(
            "/transfers/{transfer_id:uuid}/prevention-ref",
            summary="Departing school: attach the prevention-work reference",
        ),
        PreventionRefIn,
        service.attach_prevention_ref,
    )

    @get("/schools/{school_bin:str}/transfers", summary="A school's incoming and outgoing transfers, newest first")
    async def school_transfers(
        self,
        db: DbDep,
        admin: AdminDep,
        school_bin: FromPath[str],
        status: FromQuery[Status | None] = None,
        limit: FromQuery[PageLimit] = 200,
    ) -> list[TransferOut]:
        async with db.acquire() as conn:
            found = await service.for_school(conn, admin, school_bin, status, limit)
            return [await _out(conn, t, admin=admin) for t in found]

    @get("/regions/{region:str}/transfers/overdue", summary="Pending transfers past their 1-working-day deadline")
    async def overdue(
        self, db: DbDep, admin: AdminDep, region: FromPath[str], limit: FromQuery[PageLimit] = 200
    ) -> list[TransferOut]:
        admin.require_region(region)
        async with db.acquire() as conn:
            found = await service.overdue(conn, region, _now(), limit)
            return [await _out(conn, t, admin=admin) for t in found]

    @get("/transfer-events", summary="Monitoring report (para 24): every stage, oldest first, paged by after_id")
    async def events(
        self,
        db: DbDep,
        region_to_read: RegionToRead,
        after_id: FromQuery[RowId] = 0,
        limit: FromQuery[EventLimit] = 500,
    ) -> EventsOut:
        async with db.acquire() as conn:
            found = await service.events(conn, region_to_read, after_id, limit)
        return EventsOut(events=found, next_after_id=found[-1].id if found else after_id)


ROUTES: list[Any] = [TransferController, AdminTransferController, school_signing_key, get_calendar]
