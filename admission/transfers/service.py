"""Transfers between schools (model rules paras 17-25, 27; intra-school registration para 24).

Stages, each written to ``transfer_events`` (para 24: reported to monitoring):

1. ``requested`` — a parent (portal) or the receiving school (paper) asks to move a
   pupil who is *currently enrolled per the contingent store*.  The rules this
   service can judge alone are judged at once, as of the day the request is
   accepted (annex 2 item 7: after hours, on a weekend or a holiday, the next
   working day), and a refusal is final and signed: no consent (ground 6), the
   ``holidays`` ground outside school holidays (para 17; the other grounds
   apply at any time, in every grade), admission to grade 10 on the basic
   secondary certificate outside 1-31 August (para 27: a move from grade 9
   into grade 10, ``Readings.basic_secondary_final_grade``), grades 2-9 when
   the receiving class set is full (para 25, ground 7; the seat is held from
   this moment, so concurrent requests never overfill a class).  Otherwise the
   transfer is ``pending``, due within 1 working day (annex 2 item 3).
2. ``accepted`` / ``refused`` — the deciding school (the receiving one; the
   departing one when the pupil leaves the country) accepts, producing the
   para 19 notification signed with its key, or refuses on a ground of annex 2
   item 9 with a motivated, signed notification (para 19: a ground *and* the
   reason, and the employee who refused).  On the paper path acceptance is
   the **arrival talon**, valid to the end of the 3rd working day after its
   issue (para 20).
3. ``departed`` (paper only) — the departing school, shown a valid talon, issues
   the departure talon and hands over the personal file (para 21); a talon
   shown late refuses the transfer with the annex 2 receipt (para 23).
4. ``completed`` — both schools have recorded their orders (para 22: admission
   and expulsion; only expulsion when leaving the country).

Pending decisions past their deadline are listed for the region admin.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import msgspec

from admission import contingent
from admission.contingent import Leave, Move
from admission.db import QUERIES, Connection
from admission.iin import birth_date, validate_iin
from admission.prevention import service as prevention  # issue 15: para 24 handover
from admission.readings import DEFAULT_READINGS, Readings
from admission.reference import KZ, SchoolCard, school_card, school_region
from admission.signing_keys import AdminPrincipal
from admission.transfers import calendar, reasons, signing, workdays
from admission.transfers.errors import (
    InvalidTransfer,
    NotThisSchool,
    PupilNotEnrolled,
    TransferInProgress,
    UnknownTransfer,
    WrongStage,
)
from admission.transfers.models import (
    GROUNDS_NEEDING_DOCUMENT,
    ArrivalTalon,
    Employee,
    Notification,
    OrderKind,
    Refusal,
    RefusalReceipt,
    Transfer,
    TransferEvent,
    TransferRequest,
)

DECISION_WORKING_DAYS = 1  # annex 2 item 3 (and para 20 for the arrival talon)
TALON_WORKING_DAYS = 3  # para 20
CAPACITY_GRADES = range(2, 10)  # para 25
LEFT_COUNTRY = "left_country"  # the contingent store's end reason for a pupil leaving Kazakhstan
_ENCODER = msgspec.json.Encoder()


# ---------------------------------------------------------------- reading


def _transfer(row: asyncpg.Record) -> Transfer:
    return Transfer(**dict(row))


async def get(conn: Connection, transfer_id: uuid.UUID) -> Transfer:
    row = await conn.fetchrow(QUERIES["get_transfer"], transfer_id)
    if row is None:
        raise UnknownTransfer()
    return _transfer(row)


async def _lock(conn: Connection, transfer_id: uuid.UUID) -> Transfer:
    row = await conn.fetchrow(QUERIES["lock_transfer"], transfer_id)
    if row is None:
        raise UnknownTransfer()
    return _transfer(row)


def receipt_issuer(transfer: Transfer) -> str:
    """Who hands the refusal receipt over: the school the documents were presented to.

    A late arrival talon is presented to the departing school (para 23); every
    other refusal comes from the deciding school.
    """
    return transfer.from_school_bin if transfer.refusal_code == "talon_expired" else transfer.deciding_school


def receipt(transfer: Transfer, school: SchoolCard) -> RefusalReceipt | None:
    """The annex 2 refusal receipt of a refused transfer, issued by ``school`` (see :func:`receipt_issuer`)."""
    if transfer.status != "refused" or transfer.refusal_code is None or transfer.decided_at is None:
        return None
    documents = [f"transfer request {transfer.id}"]
    if transfer.document_ref:
        documents.append(transfer.document_ref)
    if transfer.arrival_talon_number:
        documents.append(f"arrival talon {transfer.arrival_talon_number}")
    employee = None
    if transfer.refused_by_name is not None and transfer.refused_by_position is not None:
        employee = Employee(full_name=transfer.refused_by_name, position=transfer.refused_by_position)
    return RefusalReceipt(
        form="model rules No. 564, annex 2: receipt of refusal to accept documents",
        recipient_full_name=transfer.applicant_full_name,
        recipient_iin=transfer.applicant_iin,
        pupil_full_name=transfer.child_full_name,
        pupil_iin=transfer.child_iin,
        documents=documents,
        application_date=transfer.requested_at.astimezone(KZ).date(),
        date=transfer.decided_at.astimezone(KZ).date(),
        refusal=reasons.stored_refusal(transfer.refusal_ground, transfer.refusal_code, transfer.refusal_reason),
        school=school,
        employee=employee,
        automatic=employee is None,
    )


def can_see_prevention_ref(admin: AdminPrincipal, transfer: Transfer) -> bool:
    """Only the two schools' own admins (intra-school registration para 24; not the region, not the ministry)."""
    return admin.role == "school" and admin.school in {transfer.from_school_bin, transfer.to_school_bin}


def require_party(admin: AdminPrincipal, transfer: Transfer) -> None:
    """Forbidden unless ``admin`` speaks for one of the two schools (or their regions, or the ministry)."""
    if admin.role == "school":
        if admin.school not in {transfer.from_school_bin, transfer.to_school_bin}:
            raise NotThisSchool(role="departing or receiving")
        return
    if admin.role == "region" and admin.region not in {transfer.from_region, transfer.to_region}:
        raise NotThisSchool(role="departing or receiving")


async def for_school(
    conn: Connection, admin: AdminPrincipal, school_bin: str, status: str | None, limit: int = 200
) -> list[Transfer]:
    """The school's incoming and outgoing transfers (its admins, its region's, the ministry)."""
    region = await school_region(conn, school_bin)
    admin.require_school(school_bin, region)
    return [_transfer(r) for r in await conn.fetch(QUERIES["list_school_transfers"], school_bin, status, limit)]


async def overdue(conn: Connection, region: str, now: dt.datetime, limit: int = 200) -> list[Transfer]:
    """Pending transfers of ``region``'s deciding schools past their decision deadline."""
    return [_transfer(r) for r in await conn.fetch(QUERIES["list_overdue_transfers"], region, now, limit)]


async def events(conn: Connection, region: str | None, after_id: int = 0, limit: int = 500) -> list[TransferEvent]:
    """The monitoring report: every stage of every transfer touching ``region`` (None = all), oldest first."""
    rows = await conn.fetch(QUERIES["list_transfer_events"], region, after_id, limit)
    return [TransferEvent(**dict(r)) for r in rows]


# ---------------------------------------------------------------- writing helpers


async def _event(
    conn: Connection, transfer_id: uuid.UUID, at: dt.datetime, stage: str, actor: str, **detail: Any
) -> None:
    await conn.execute(QUERIES["insert_transfer_event"], transfer_id, at, stage, actor, msgspec.to_builtins(detail))


async def _save(conn: Connection, t: Transfer) -> Transfer:
    row = await conn.fetchrow(
        QUERIES["save_transfer"],
        t.id,
        t.status,
        t.decided_at,
        t.refusal_ground,
        t.refusal_code,
        t.refusal_reason,
        t.notification_jws,
        t.arrival_talon_number,
        t.arrival_talon_valid_until,
        t.departure_talon_number,
        t.departed_at,
        t.admission_order_number,
        t.admission_order_date,
        t.expulsion_order_number,
        t.expulsion_order_date,
        t.completed_at,
        t.prevention_ref,
        t.refused_by_name,
        t.refused_by_position,
    )
    assert row is not None
    return _transfer(row)


async def _decided(
    conn: Connection,
    t: Transfer,
    now: dt.datetime,
    *,
    refusal: Refusal | None = None,
    talon: ArrivalTalon | None = None,
    **changes: Any,
) -> Transfer:
    """Save ``t`` decided now (refused with ``refusal``, else accepted, with ``talon`` on the paper
    path) with the decision's own ``changes`` and its notification, signed by the deciding school."""
    school = await school_card(conn, t.deciding_school)
    notification = Notification(
        kind="transfer_refused" if refusal else "transfer_accepted",
        transfer_id=str(t.id),
        issued_at=now,
        pupil_full_name=t.child_full_name,
        pupil_birth_date=birth_date(t.child_iin),
        grade=t.grade,
        language=t.language,
        ground=t.ground,
        from_school_bin=t.from_school_bin,
        to_school_bin=t.to_school_bin,
        school=school,
        arrival_talon=talon,
        refusal=refusal,
    )
    key = await signing.school_key(conn, t.deciding_school)
    jws = key.sign(_ENCODER.encode(notification))
    status = "refused" if refusal is not None else "accepted"
    return await _save(conn, msgspec.structs.replace(t, status=status, decided_at=now, notification_jws=jws, **changes))


async def _refuse(
    conn: Connection, t: Transfer, refusal: Refusal, now: dt.datetime, actor: str, employee: Employee | None = None
) -> Transfer:
    saved = await _decided(
        conn,
        t,
        now,
        refusal=refusal,
        refusal_ground=refusal.ground,
        refusal_code=refusal.code,
        refusal_reason=refusal.detail,
        refused_by_name=employee.full_name if employee else None,
        refused_by_position=employee.position if employee else None,
    )
    await _event(conn, t.id, now, "refused", actor, ground=refusal.ground, code=refusal.code)
    return saved


def _validate(request: TransferRequest) -> None:
    validate_iin(request.applicant_iin)
    validate_iin(request.child_iin)
    if (request.ground == "leaving_country") != (request.to_school_bin is None):
        raise InvalidTransfer(problem="to_school_bin is required, except when the pupil leaves the country")
    if request.ground in GROUNDS_NEEDING_DOCUMENT and not request.document_ref:
        raise InvalidTransfer(problem=f"the ground {request.ground} needs document_ref (the supporting document)")


async def _rule_refusal(
    conn: Connection, request: TransferRequest, enrolled_grade: int, now: dt.datetime, readings: Readings
) -> Refusal | None:
    """The refusal the rules give without a school's judgement, or None.

    Judged as of the acceptance day (annex 2 item 7).  Seats of grades 2-9 are
    counted, not kept in counters like grade 1's (``general_taken``): such a
    class is filled mostly by pupils already in the register, so the truth is
    the register plus the transfers holding a seat, counted while the
    class-set row is locked (the lock lasts until the caller commits;
    concurrent requests for the same class set queue on it).
    """
    accepted_on = workdays.acceptance_day(now)
    if not request.consent:
        return reasons.rule_refusal("no_consent")
    if request.to_school_bin is None:
        return None  # leaving the country: no receiving class, any time (para 17)
    if request.ground == "holidays" and await calendar.holiday_on(conn, accepted_on, request.grade) is None:
        return reasons.rule_refusal("not_school_holidays")
    final = readings.basic_secondary_final_grade
    if enrolled_grade == final and request.grade == final + 1 and accepted_on.month != 8:
        return reasons.rule_refusal("grade_10_11_august_only")  # para 27: admission on the certificate
    if request.grade in CAPACITY_GRADES:
        key = (request.to_school_bin, request.grade, request.language)
        seats = await conn.fetchval(QUERIES["lock_class_set"], *key)
        # Counted after the lock is held: READ COMMITTED gives this statement a fresh snapshot.
        taken = await conn.fetchval(QUERIES["class_set_occupancy"], *key, now)
        if seats is None or taken >= seats:
            return reasons.rule_refusal("class_full")
    return None


# ---------------------------------------------------------------- stages


async def request_transfer(
    conn: Connection,
    request: TransferRequest,
    now: dt.datetime,
    *,
    actor: str = "applicant",
    registrar: AdminPrincipal | None = None,
    readings: Readings = DEFAULT_READINGS,
) -> Transfer:
    """Register a transfer request; judge at once what the rules alone decide (see the module docstring).

    ``registrar`` is the school admin who registers a paper request: it must speak
    for the deciding school (the receiving one, or the departing one when leaving).
    """
    _validate(request)
    try:
        async with conn.transaction():
            enrolment = await conn.fetchrow(QUERIES["current_enrolment"], request.child_iin)
            if enrolment is None:
                raise PupilNotEnrolled()
            for lapsed in await conn.fetch(QUERIES["lock_expired_talons_of_child"], request.child_iin, now):
                # Its talon was never shown in time (para 23): refused now, so the parent may ask again.
                await _refuse(conn, _transfer(lapsed), reasons.rule_refusal("talon_expired"), now, "rules")
            if await conn.fetchval(QUERIES["child_has_undelivered_contingent_events"], request.child_iin):
                # The register is about to change for this pupil (a move or admission on its way): wait for it.
                raise TransferInProgress()
            from_school: str = enrolment["school_bin"]
            if request.grade not in (enrolment["grade"], enrolment["grade"] + 1):
                # The pupil's own grade, or the next one when moving over the summer.
                raise InvalidTransfer(problem=f"the pupil is in grade {enrolment['grade']}, not {request.grade}")
            if from_school == request.to_school_bin:
                raise InvalidTransfer(problem="the pupil already studies at the receiving school")
            from_region = await school_region(conn, from_school)
            to_region = None
            if request.to_school_bin is not None:
                to_region = await school_region(conn, request.to_school_bin)
            if registrar is not None:
                registrar.require_school(request.to_school_bin or from_school, to_region or from_region)
            # Judged before this request holds a seat; the class-set lock is held until commit.
            refusal = await _rule_refusal(conn, request, enrolment["grade"], now, readings)
            row = await conn.fetchrow(
                QUERIES["insert_transfer"],
                uuid.uuid4(),
                request.applicant_iin,
                request.applicant_full_name,
                request.applicant_phone,
                request.registered_address,
                request.consent,
                request.child_iin,
                request.child_full_name,
                from_school,
                from_region,
                request.to_school_bin,
                to_region,
                request.grade,
                request.language,
                request.ground,
                request.document_ref,
                request.path,
                now,
                workdays.add_working_days(now, DECISION_WORKING_DAYS),
            )
            assert row is not None
            transfer = _transfer(row)
            await _event(
                conn,
                transfer.id,
                now,
                "requested",
                actor,
                path=request.path,
                ground=request.ground,
                grade=request.grade,
                decision_due_at=transfer.decision_due_at,
            )
            if refusal is not None:
                transfer = await _refuse(conn, transfer, refusal, now, "rules")
    except asyncpg.UniqueViolationError as exc:
        raise TransferInProgress() from exc
    return transfer


async def decide(
    conn: Connection,
    admin: AdminPrincipal,
    transfer_id: uuid.UUID,
    now: dt.datetime,
    *,
    accept: bool,
    refusal_ground: int | None = None,
    reason: str | None = None,
    employee: Employee | None = None,
) -> Transfer:
    """The deciding school accepts (signed para 19 notification; paper: arrival talon) or refuses, motivated.

    A refusal names its ground of annex 2 item 9, the reason (para 19: motivated)
    and the employee who refused (the receipt form).
    """
    async with conn.transaction():
        t = await _lock(conn, transfer_id)
        admin.require_school(t.deciding_school, t.deciding_region)
        if t.status != "pending":
            raise WrongStage(status=t.status)
        if not accept:
            if refusal_ground not in reasons.GROUNDS:
                raise InvalidTransfer(problem="a refusal names its ground, 1-7 of annex 2 item 9")
            if reason is None or not reason.strip():
                raise InvalidTransfer(problem="a refusal is motivated (para 19): give the reason, not only the ground")
            if employee is None:
                raise InvalidTransfer(problem="a refusal names the employee who refuses and their position")
            refusal = reasons.school_refusal(refusal_ground, reason.strip())
            return await _refuse(conn, t, refusal, now, admin.subject, employee)
        talon = None
        if t.path == "paper" and t.to_school_bin is not None:
            talon = ArrivalTalon(
                number=f"A-{now.astimezone(KZ):%Y%m%d}-{t.id.hex[:10].upper()}",
                valid_until=workdays.end_of_working_days(now, TALON_WORKING_DAYS),
            )
        saved = await _decided(
            conn,
            t,
            now,
            talon=talon,
            arrival_talon_number=talon.number if talon else None,
            arrival_talon_valid_until=talon.valid_until if talon else None,
        )
        await _event(conn, t.id, now, "accepted", admin.subject, late=now > t.decision_due_at)
        if talon is not None:
            await _event(conn, t.id, now, "arrival_talon_issued", admin.subject, valid_until=talon.valid_until)
        return saved


async def depart(
    conn: Connection,
    admin: AdminPrincipal,
    transfer_id: uuid.UUID,
    arrival_talon_number: str,
    now: dt.datetime,
    employee: Employee | None = None,
) -> Transfer:
    """Paper path, para 21: the departing school is shown the arrival talon.

    Valid: the departure talon is issued and the personal file handed over
    (``departed``).  Shown after its 3 working days: the transfer is refused with
    the annex 2 receipt (para 23), and the pupil stays where they are.
    """
    async with conn.transaction():
        t = await _lock(conn, transfer_id)
        admin.require_school(t.from_school_bin, t.from_region)
        if t.path != "paper" or t.status != "accepted" or t.to_school_bin is None:
            raise WrongStage(status=f"{t.path}/{t.status}")
        if arrival_talon_number != t.arrival_talon_number:
            raise InvalidTransfer(problem="the arrival talon number does not match this transfer")
        assert t.arrival_talon_valid_until is not None
        if now > t.arrival_talon_valid_until:
            return await _refuse(conn, t, reasons.rule_refusal("talon_expired"), now, admin.subject, employee)
        number = f"D-{now.astimezone(KZ):%Y%m%d}-{t.id.hex[:10].upper()}"
        saved = await _save(
            conn, msgspec.structs.replace(t, status="departed", departure_talon_number=number, departed_at=now)
        )
        await _event(conn, t.id, now, "departure_talon_issued", admin.subject, number=number)
        await _event(conn, t.id, now, "personal_file_handed_over", admin.subject)
        return saved


def _orders_complete(t: Transfer) -> bool:
    if t.expulsion_order_number is None:
        return False
    return t.to_school_bin is None or t.admission_order_number is not None


async def record_order(
    conn: Connection,
    admin: AdminPrincipal,
    transfer_id: uuid.UUID,
    kind: OrderKind,
    number: str,
    date: dt.date,
    now: dt.datetime,
) -> Transfer:
    """Para 22: the receiving school's admission order or the departing school's expulsion order.

    When the last order needed is recorded the transfer is ``completed`` and,
    in the same transaction, the move is handed to the contingent store.
    """
    async with conn.transaction():
        t = await _lock(conn, transfer_id)
        ready = "departed" if t.path == "paper" and t.to_school_bin is not None else "accepted"
        if t.status != ready:
            raise WrongStage(status=t.status)
        if kind == "admission":
            if t.to_school_bin is None or t.to_region is None:
                raise InvalidTransfer(problem="a pupil leaving the country has no admission order")
            admin.require_school(t.to_school_bin, t.to_region)
            if t.admission_order_number is not None:
                raise WrongStage(status="admission order already recorded")
            t = msgspec.structs.replace(t, admission_order_number=number, admission_order_date=date)
        else:
            admin.require_school(t.from_school_bin, t.from_region)
            if t.expulsion_order_number is not None:
                raise WrongStage(status="expulsion order already recorded")
            t = msgspec.structs.replace(t, expulsion_order_number=number, expulsion_order_date=date)
        await _event(conn, t.id, now, f"{kind}_order_recorded", admin.subject, number=number, date=date)
        if _orders_complete(t):
            t = msgspec.structs.replace(t, status="completed", completed_at=now)
            await _hand_to_contingent(conn, t)
            # prevention (issue 15, intra-school registration para 24): the pupil's live case
            # and its plan move to the receiving school in this same transaction.
            await prevention.follow_transfer(conn, t, now)
            await _event(
                conn, t.id, now, "completed", admin.subject, contingent="leave" if t.to_school_bin is None else "move"
            )
        return await _save(conn, t)


async def _hand_to_contingent(conn: Connection, t: Transfer) -> None:
    """Enqueue the contingent move in the caller's transaction (the admissions' exactly-once outbox).

    ``Move`` ends the enrolment at the departing school and starts the one at
    the receiving school in one transaction of the store, so the pupil is never
    in two schools nor in none; ``Leave`` ends it (the pupil leaves the contingent).
    Committed together with ``completed``: either both happen or neither does.
    """
    if t.to_school_bin is None:
        assert t.expulsion_order_date is not None
        await contingent.enqueue(
            conn,
            Leave(child_iin=t.child_iin, school_bin=t.from_school_bin, reason=LEFT_COUNTRY, on=t.expulsion_order_date),
        )
        return
    assert t.admission_order_number is not None
    assert t.admission_order_date is not None
    await contingent.enqueue(
        conn,
        Move(
            child_iin=t.child_iin,
            from_school_bin=t.from_school_bin,
            to_school_bin=t.to_school_bin,
            grade=t.grade,
            language=t.language,
            order_number=t.admission_order_number,
            order_date=t.admission_order_date,
            since=t.admission_order_date,
        ),
    )


async def attach_prevention_ref(
    conn: Connection, admin: AdminPrincipal, transfer_id: uuid.UUID, reference: str, now: dt.datetime
) -> Transfer:
    """The departing school attaches the opaque reference to its prevention-work file on the pupil."""
    async with conn.transaction():
        t = await _lock(conn, transfer_id)
        if not (admin.role == "school" and admin.school == t.from_school_bin):
            raise NotThisSchool(role="departing")
        if t.status == "refused":
            raise WrongStage(status=t.status)
        saved = await _save(conn, msgspec.structs.replace(t, prevention_ref=reference))
        # The event says that it travelled, never what it is.
        await _event(conn, t.id, now, "prevention_ref_attached", admin.subject)
        return saved
