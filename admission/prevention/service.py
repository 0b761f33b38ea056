"""Intra-school registration: the council, its sittings, the cases, plans, removals and referrals.

Privacy is the first rule here (minors, families, health, police):

- a case, its plan, the minutes that name it, the school's list of cases and the
  census's truant candidates are read **only by the admins of the school that
  holds the case** (the pupil's school; a school-role admin token for that BIN,
  minted for the school's admins and the council members they designate);
- the region's and the ministry's admins get **counts only** (:func:`school_counts`,
  :func:`region_counts`, :func:`national_counts`), never a name;
- **every read** of a case (one case, a list, the minutes, the plan's print view,
  the candidates) is written to the audit log in the reader's transaction, and
  the audit entries carry only opaque ids and states, never a name or a ground;
- nothing of it reaches a public endpoint or any ranking of schools (para 26):
  only this module's admin routes read the ``prevention`` schema.

Paras 24: when a transfer completes the live case moves to the receiving school
(:func:`follow_transfer`, called by the transfer service in its transaction).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import msgspec

from admission import audit, reference
from admission.census import importer
from admission.census.errors import SnapshotNotFound
from admission.db import QUERIES, Connection, from_row
from admission.errors import UnknownRegion
from admission.iin import birth_date, validate_iin
from admission.prevention import deadlines
from admission.prevention.errors import (
    AssessmentMissing,
    InvalidCouncil,
    InvalidPrevention,
    LiveCaseExists,
    NoCouncil,
    OwnSchoolOnly,
    PupilNotAtSchool,
    SittingNumberTaken,
    UnknownCase,
    UnknownSitting,
    WrongCaseState,
)
from admission.prevention.labels import TRUANCY_GROUND
from admission.prevention.models import (
    LIVE_STATES,
    AssessmentIn,
    Candidate,
    Candidates,
    Case,
    CaseFields,
    CaseIn,
    CaseRow,
    CaseState,
    CaseSummary,
    Council,
    CouncilIn,
    Counts,
    DecisionIn,
    Handovers,
    IncomingHandover,
    InitialDataIn,
    Minutes,
    MinutesDecision,
    OutgoingHandover,
    Plan,
    PlanIn,
    PlanRow,
    Referral,
    ReferralIn,
    RegionCounts,
    RemovalIn,
    ReportBackIn,
    Sitting,
    SittingIn,
)
from admission.signing_keys import AdminPrincipal
from admission.transfers.errors import MinistryOnly
from admission.transfers.models import Transfer

MIN_COUNCIL = 5  # para 6
CLOCK_SKEW = dt.timedelta(minutes=5)  # a received_at this far ahead of the server's clock is still "now"
_CASE_FIELDS = frozenset(f.name for f in msgspec.structs.fields(CaseFields))


# ---------------------------------------------------------------- access and audit


def can_read_cases(admin: AdminPrincipal, school_bin: str) -> bool:
    """Names are for the school's own admins only: not another school, not the region, not the ministry."""
    return admin.role == "school" and admin.school == school_bin


async def _own_school(conn: Connection, admin: AdminPrincipal, school_bin: str) -> str:
    """The school's region, when ``admin`` speaks for that very school; else OwnSchoolOnly."""
    region = await reference.school_region(conn, school_bin)
    if not can_read_cases(admin, school_bin):
        raise OwnSchoolOnly()
    return region


async def _audit(conn: Connection, admin: AdminPrincipal, action: str, target: str, region: str, **values: Any) -> None:
    """An audit entry of this module: opaque ids and states only (region admins read the audit log)."""
    await audit.record(conn, admin, f"prevention.{action}", target, region=region, old=None, new=values or None)


def _target(case_id: uuid.UUID) -> str:
    return f"prevention_case:{case_id}"


# ---------------------------------------------------------------- council and sittings


def validate_council(council: CouncilIn) -> None:
    """Paras 6-7: at least 5 staff, exactly one chair (the head) and one secretary (social pedagogue or stand-in)."""
    members = council.members
    if len(members) < MIN_COUNCIL:
        raise InvalidCouncil(problem=f"at least {MIN_COUNCIL} members are required (para 6), not {len(members)}")
    for role in ("chair", "secretary"):
        found = sum(1 for m in members if m.role == role)
        if found != 1:
            raise InvalidCouncil(problem=f"exactly one {role} is required (para 7), not {found}")
    names = [" ".join(m.full_name.casefold().split()) for m in members]
    if len(set(names)) != len(names):
        raise InvalidCouncil(problem="a person is listed twice")


def _council(row: asyncpg.Record) -> Council:
    return msgspec.convert(dict(row), Council)


async def get_council(conn: Connection, admin: AdminPrincipal, school_bin: str) -> Council:
    await _own_school(conn, admin, school_bin)
    row = await conn.fetchrow(QUERIES["prevention_get_council"], school_bin)
    if row is None:
        raise NoCouncil()
    return _council(row)


async def put_council(
    conn: Connection, admin: AdminPrincipal, school_bin: str, council: CouncilIn, now: dt.datetime
) -> Council:
    """Record the council approved by the head's order (replaces the previous composition; audited)."""
    region = await _own_school(conn, admin, school_bin)
    validate_council(council)
    async with conn.transaction():
        row = await conn.fetchrow(
            QUERIES["prevention_put_council"],
            school_bin,
            council.order_number,
            council.order_date,
            msgspec.to_builtins(council.members),
            now,
        )
        assert row is not None
        await _audit(conn, admin, "council.put", f"school:{school_bin}", region, members=len(council.members))
    return _council(row)


def _sitting(row: asyncpg.Record) -> Sitting:
    return msgspec.convert(dict(row), Sitting)


async def create_sitting(
    conn: Connection, admin: AdminPrincipal, school_bin: str, data: SittingIn, now: dt.datetime
) -> Sitting:
    """Para 5, 17: a sitting of the council; its chair and secretary sign the minutes."""
    region = await _own_school(conn, admin, school_bin)
    council_row = await conn.fetchrow(QUERIES["prevention_get_council"], school_bin)
    if council_row is None:
        raise NoCouncil()
    council = _council(council_row)
    chair = next(m.full_name for m in council.members if m.role == "chair")
    secretary = next(m.full_name for m in council.members if m.role == "secretary")
    try:
        async with conn.transaction():
            row = await conn.fetchrow(
                QUERIES["prevention_insert_sitting"],
                uuid.uuid4(),
                school_bin,
                data.number,
                data.held_on,
                list(data.agenda),
                msgspec.to_builtins(data.participants),
                data.heard,
                chair,
                secretary,
                now,
            )
            assert row is not None
            await _audit(conn, admin, "sitting.create", f"prevention_sitting:{row['id']}", region)
    except asyncpg.UniqueViolationError as exc:
        raise SittingNumberTaken(number=data.number) from exc
    return _sitting(row)


async def _get_sitting(conn: Connection, school_bin: str, sitting_id: uuid.UUID) -> Sitting:
    row = await conn.fetchrow(QUERIES["prevention_get_sitting"], sitting_id, school_bin)
    if row is None:
        raise UnknownSitting()
    return _sitting(row)


async def list_sittings(conn: Connection, admin: AdminPrincipal, school_bin: str, limit: int = 100) -> list[Sitting]:
    """The school's sittings, newest first (no pupil is named here: the decisions are in the minutes)."""
    await _own_school(conn, admin, school_bin)
    return [_sitting(r) for r in await conn.fetch(QUERIES["prevention_list_sittings"], school_bin, limit)]


async def minutes(conn: Connection, admin: AdminPrincipal, school_bin: str, sitting_id: uuid.UUID) -> Minutes:
    """Para 17: the sitting and its decisions.  Names the pupils, so the read is audited.

    A case handed over since (para 24) is listed only as handed over, without a name.
    """
    region = await _own_school(conn, admin, school_bin)
    async with conn.transaction():
        sitting = await _get_sitting(conn, school_bin, sitting_id)
        rows = await conn.fetch(QUERIES["prevention_sitting_decisions"], sitting_id, school_bin)
        decisions = [
            MinutesDecision(
                case_id=r["id"],
                kind=r["kind"],
                pupil_full_name=r["pupil_full_name"],
                grade=r["grade"],
                grounds=list(r["grounds"]) if r["kind"] != "removed" else [],
                removal_reason=r["removal_reason"] if r["kind"] == "removed" else None,
                note=r["removal_note"] if r["kind"] == "removed" else r["decision_note"],
            )
            if r["held"]
            else MinutesDecision(case_id=None, kind="handed_over")
            for r in rows
        ]
        await _audit(
            conn,
            admin,
            "minutes.read",
            f"prevention_sitting:{sitting_id}",
            region,
            cases=[str(d.case_id) for d in decisions if d.case_id is not None],
        )
    return Minutes(sitting=sitting, decisions=decisions)


# ---------------------------------------------------------------- cases: reading


def _row(record: asyncpg.Record) -> CaseRow:
    values = dict(record)
    values["grounds"] = list(values["grounds"])
    return CaseRow(**values)


async def _plan(conn: Connection, case_id: uuid.UUID, now: dt.datetime) -> Plan | None:
    head = await conn.fetchrow(QUERIES["prevention_get_plan"], case_id)
    if head is None:
        return None
    rows = [
        PlanRow(**dict(r), state=deadlines.row_state(r["deadline"], r["done_on"], now))
        for r in await conn.fetch(QUERIES["prevention_get_plan_rows"], case_id)
    ]
    return Plan(**dict(head), rows=rows)


async def _view(conn: Connection, row: CaseRow, now: dt.datetime) -> Case:
    referrals = [Referral(**dict(r)) for r in await conn.fetch(QUERIES["prevention_get_referrals"], row.id)]
    values = {k: v for k, v in msgspec.structs.asdict(row).items() if k in _CASE_FIELDS}
    return Case(
        **values,
        pupil_birth_date=birth_date(row.pupil_iin),
        incoming=row.arrived_at is not None,
        deadlines=deadlines.of_case(row, now),
        plan=await _plan(conn, row.id, now),
        referrals=referrals,
    )


async def _fetch(conn: Connection, school_bin: str, case_id: uuid.UUID, *, lock: bool = False) -> CaseRow:
    record = await conn.fetchrow(
        QUERIES["prevention_lock_case" if lock else "prevention_get_case"], case_id, school_bin
    )
    if record is None:
        raise UnknownCase()
    return _row(record)


async def get_case(
    conn: Connection,
    admin: AdminPrincipal,
    school_bin: str,
    case_id: uuid.UUID,
    now: dt.datetime,
    *,
    purpose: str = "read",
) -> Case:
    """One case as its school reads it; the read is audited (``purpose``: read, or print of the plan)."""
    region = await _own_school(conn, admin, school_bin)
    async with conn.transaction():
        case = await _view(conn, await _fetch(conn, school_bin, case_id), now)
        await _audit(conn, admin, f"case.{purpose}", _target(case_id), region)
    return case


async def list_cases(
    conn: Connection,
    admin: AdminPrincipal,
    school_bin: str,
    now: dt.datetime,
    *,
    state: CaseState | None = None,
    incoming: bool = False,
    limit: int = 200,
) -> list[CaseSummary]:
    """The school's cases with their deadlines (due / overdue); audited with the ids of the cases listed."""
    region = await _own_school(conn, admin, school_bin)
    async with conn.transaction():
        rows = [_row(r) for r in await conn.fetch(QUERIES["prevention_list_cases"], school_bin, state, incoming, limit)]
        await _audit(conn, admin, "cases.list", f"school:{school_bin}", region, cases=[str(r.id) for r in rows])
    return [
        from_row(
            CaseSummary,
            msgspec.structs.asdict(r),
            incoming=r.arrived_at is not None,
            deadlines=deadlines.of_case(r, now),
        )
        for r in rows
    ]


# ---------------------------------------------------------------- cases: writing


def _validate_case(data: CaseIn, now: dt.datetime) -> dt.datetime:
    validate_iin(data.pupil_iin)
    if data.source == "request":
        if data.requested_by_role is None:
            raise InvalidPrevention(problem="a request names who asks: requested_by_role (para 4)")
        if data.outside_body is not None or data.registration_number is not None:
            raise InvalidPrevention(problem="outside_body and registration_number are for outside information only")
    elif data.outside_body is None:
        raise InvalidPrevention(problem="outside information names its body: outside_body (para 11)")
    elif data.requested_by_role is not None:
        raise InvalidPrevention(problem="requested_by_role is for a staff request only")
    received = data.received_at or now
    if received > now + CLOCK_SKEW:
        raise InvalidPrevention(problem="received_at is in the future")
    return received


async def open_case(conn: Connection, admin: AdminPrincipal, school_bin: str, data: CaseIn, now: dt.datetime) -> Case:
    """A case from a staff request (para 4) or outside information (para 11), for a pupil of this school.

    The deadlines count from ``received_at``: registration of outside information
    within 1 working day, the initial data within 2.
    """
    region = await _own_school(conn, admin, school_bin)
    received = _validate_case(data, now)
    try:
        async with conn.transaction():
            enrolment = await conn.fetchrow(QUERIES["prevention_current_enrolment"], data.pupil_iin)
            if enrolment is None or enrolment["school_bin"] != school_bin:
                raise PupilNotAtSchool()
            outside = data.source == "outside"
            record = await conn.fetchrow(
                QUERIES["prevention_insert_case"],
                uuid.uuid4(),
                school_bin,
                region,
                data.source,
                data.requested_by_role,
                data.requested_by_name,
                data.proposed_by_name,
                data.outside_body,
                data.outside_body_name,
                data.outside_reference,
                data.pupil_iin,
                data.pupil_full_name,
                data.grade if data.grade is not None else enrolment["grade"],
                data.address,
                data.registered_address,
                data.situation,
                received,
                deadlines.due("registration", received) if outside else None,
                data.registration_number,
                now if data.registration_number else None,
                deadlines.due("initial_data", received),
                now,
            )
            assert record is not None
            row = _row(record)
            await _audit(conn, admin, "case.open", _target(row.id), region, source=data.source)
            return await _view(conn, row, now)
    except asyncpg.UniqueViolationError as exc:
        raise LiveCaseExists() from exc


async def _change(
    conn: Connection,
    admin: AdminPrincipal,
    school_bin: str,
    case_id: uuid.UUID,
    now: dt.datetime,
    action: str,
    query: str,
    check: Callable[[CaseRow], None],
    args: Callable[[CaseRow], tuple[Any, ...]],
) -> Case:
    """Lock the case, ``check(row)`` (raises when the change does not apply), run ``query`` with
    ``args(row)``, audit the change (the new state only), return the case."""
    region = await _own_school(conn, admin, school_bin)
    async with conn.transaction():
        row = await _fetch(conn, school_bin, case_id, lock=True)
        check(row)
        record = await conn.fetchrow(QUERIES[query], case_id, *args(row))
        assert record is not None
        saved = _row(record)
        await _audit(conn, admin, f"case.{action}", _target(case_id), region, state=saved.state)
        return await _view(conn, saved, now)


def _in_state(*states: str) -> Callable[[CaseRow], None]:
    def check(row: CaseRow) -> None:
        if row.state not in states:
            raise WrongCaseState(state=row.state)

    return check


async def register_information(
    conn: Connection, admin: AdminPrincipal, school_bin: str, case_id: uuid.UUID, number: str, now: dt.datetime
) -> Case:
    """Para 11: the outside information is registered (its number in the school's journal)."""

    def check(row: CaseRow) -> None:
        if row.source != "outside":
            raise WrongCaseState(state="a staff request needs no registration")
        if row.registered_at is not None:
            raise WrongCaseState(state="already registered")

    return await _change(
        conn, admin, school_bin, case_id, now, "registration", "prevention_save_registration", check,
        lambda _: (number, now),
    )  # fmt: skip


async def set_initial_data(
    conn: Connection, admin: AdminPrincipal, school_bin: str, case_id: uuid.UUID, data: InitialDataIn, now: dt.datetime
) -> Case:
    """Para 12: the initial data on the pupil and family (its first collection meets the 2-working-day deadline)."""
    return await _change(
        conn, admin, school_bin, case_id, now, "initial_data", "prevention_save_initial_data", _in_state(*LIVE_STATES),
        lambda _: (msgspec.to_builtins(data), now),
    )  # fmt: skip


async def set_assessment(
    conn: Connection, admin: AdminPrincipal, school_bin: str, case_id: uuid.UUID, data: AssessmentIn, now: dt.datetime
) -> Case:
    """Para 14: the initial assessment materials, before the council decides."""
    return await _change(
        conn, admin, school_bin, case_id, now, "assessment", "prevention_save_assessment", _in_state("open"),
        lambda _: (msgspec.to_builtins(data), now),
    )  # fmt: skip


def _grounds(data: DecisionIn) -> list[int]:
    grounds = list(data.grounds)
    if len(set(grounds)) != len(grounds):
        raise InvalidPrevention(problem="a ground is named twice")
    if data.register and not grounds:
        raise InvalidPrevention(problem="registration names one or more grounds of para 22 (1-10)")
    if not data.register and grounds:
        raise InvalidPrevention(problem="a refusal names no grounds")
    return sorted(grounds)


async def decide(
    conn: Connection, admin: AdminPrincipal, school_bin: str, case_id: uuid.UUID, data: DecisionIn, now: dt.datetime
) -> Case:
    """Para 15: the council registers the pupil on one or more grounds of para 22, or refuses, at a sitting.

    For outside information the body is told within 1 working day (para 20): that deadline starts now.
    """
    grounds = _grounds(data)
    await _own_school(conn, admin, school_bin)
    await _get_sitting(conn, school_bin, data.sitting_id)

    def check(row: CaseRow) -> None:
        _in_state("open")(row)
        if row.assessment is None:
            raise AssessmentMissing()

    return await _change(
        conn, admin, school_bin, case_id, now, "decision", "prevention_save_decision", check,
        lambda row: (
            "registered" if data.register else "refused", data.sitting_id, now, grounds, data.note,
            deadlines.due("report_back", now) if row.source == "outside" else None,
        ),
    )  # fmt: skip


async def report_back(
    conn: Connection, admin: AdminPrincipal, school_bin: str, case_id: uuid.UUID, data: ReportBackIn, now: dt.datetime
) -> Case:
    """Para 20: the secretary told the outside body the decision."""
    reported = data.reported_at or now
    if reported > now + CLOCK_SKEW:
        raise InvalidPrevention(problem="reported_at is in the future")

    def check(row: CaseRow) -> None:
        if row.report_due_at is None:
            raise WrongCaseState(state=row.state if row.source == "outside" else "a staff request is not reported back")
        if row.reported_at is not None:
            raise WrongCaseState(state="already reported")

    return await _change(
        conn, admin, school_bin, case_id, now, "report_back", "prevention_save_report_back", check,
        lambda _: (reported,),
    )  # fmt: skip


async def remove(
    conn: Connection, admin: AdminPrincipal, school_bin: str, case_id: uuid.UUID, data: RemovalIn, now: dt.datetime
) -> Case:
    """Para 23: removal from the register at a sitting, with its reason."""
    await _own_school(conn, admin, school_bin)
    await _get_sitting(conn, school_bin, data.sitting_id)
    return await _change(
        conn, admin, school_bin, case_id, now, "removal", "prevention_save_removal", _in_state("registered"),
        lambda _: (data.sitting_id, now, data.reason, data.note),
    )  # fmt: skip


async def set_plan(
    conn: Connection, admin: AdminPrincipal, school_bin: str, case_id: uuid.UUID, data: PlanIn, now: dt.datetime
) -> Case:
    """Paras 16, 18-19, annex 1: the individual prevention plan of a registered pupil (replaced whole)."""
    if data.period_to < data.period_from:
        raise InvalidPrevention(problem="the plan's period ends before it starts")
    if (data.parent_name is None) != (data.acknowledged_on is None):
        raise InvalidPrevention(problem="the parent's acknowledgement needs both parent_name and acknowledged_on")
    region = await _own_school(conn, admin, school_bin)
    async with conn.transaction():
        row = await _fetch(conn, school_bin, case_id, lock=True)
        _in_state("registered")(row)
        await conn.execute(
            QUERIES["prevention_put_plan"], case_id, data.period_from, data.period_to, data.situation,
            data.approved_by, data.approved_on, data.parent_name, data.acknowledged_on, now,
        )  # fmt: skip
        await conn.execute(QUERIES["prevention_delete_plan_rows"], case_id)
        columns = ("kind_of_help", "responsible", "period_volume", "deadline", "quality_indicator", "done_on", "result")
        await conn.execute(
            QUERIES["prevention_insert_plan_rows"], case_id, *([getattr(r, c) for r in data.rows] for c in columns)
        )
        await _audit(conn, admin, "case.plan", _target(case_id), region, rows=len(data.rows))
        return await _view(conn, row, now)


async def refer(
    conn: Connection, admin: AdminPrincipal, school_bin: str, case_id: uuid.UUID, data: ReferralIn, now: dt.datetime
) -> Case:
    """Para 21: the parents refuse the school's help; a proposal goes to the commission for minors."""
    region = await _own_school(conn, admin, school_bin)
    async with conn.transaction():
        row = await _fetch(conn, school_bin, case_id, lock=True)
        _in_state("registered")(row)
        await conn.execute(
            QUERIES["prevention_insert_referral"],
            case_id,
            data.kind,
            data.sent_on,
            data.outgoing_number,
            data.note,
            now,
        )
        await _audit(conn, admin, "case.referral", _target(case_id), region, kind=data.kind)
        return await _view(conn, row, now)


# ---------------------------------------------------------------- transfer tie-in (para 24)


async def follow_transfer(conn: Connection, transfer: Transfer, now: dt.datetime) -> list[uuid.UUID]:
    """Move the pupil's live case (and its plan) to the receiving school of the completed ``transfer``;
    run in the transfer's transaction.  A pupil leaving the country has no receiving school: the case
    stays with the departing one.

    The departing school keeps only the handover row: that it handed a case over, to whom, and when.
    Nothing goes to the transfer's event log or the audit log, which region admins read next to the
    transfer's names.
    """
    if transfer.to_school_bin is None or transfer.to_region is None:
        return []
    rows = await conn.fetch(
        QUERIES["prevention_follow_transfer"],
        transfer.child_iin,
        transfer.from_school_bin,
        transfer.to_school_bin,
        transfer.to_region,
        now,
        transfer.id,
    )
    return [r["case_id"] for r in rows]


async def handovers(conn: Connection, admin: AdminPrincipal, school_bin: str) -> Handovers:
    await _own_school(conn, admin, school_bin)
    outgoing = [
        OutgoingHandover(**dict(r)) for r in await conn.fetch(QUERIES["prevention_outgoing_handovers"], school_bin)
    ]
    incoming = [
        IncomingHandover(**dict(r)) for r in await conn.fetch(QUERIES["prevention_incoming_handovers"], school_bin)
    ]
    return Handovers(outgoing=outgoing, incoming=incoming)


# ---------------------------------------------------------------- census tie-in


async def truant_candidates(conn: Connection, admin: AdminPrincipal, school_bin: str, limit: int = 500) -> Candidates:
    """The census's systematic truants enrolled at the school (para 22 ground 5): candidates for a
    council request, listed for the school to judge and never registered by this list.  Audited."""
    region = await _own_school(conn, admin, school_bin)
    try:
        snapshot = await importer.get_snapshot(conn, region)
    except SnapshotNotFound:
        return Candidates(period=None, suggested_ground=TRUANCY_GROUND, candidates=[])
    async with conn.transaction():
        rows = await conn.fetch(QUERIES["prevention_truant_candidates"], snapshot.id, school_bin, limit)
        await _audit(conn, admin, "candidates.read", f"school:{school_bin}", region, period=snapshot.period)
    return Candidates(
        period=snapshot.period, suggested_ground=TRUANCY_GROUND, candidates=[Candidate(**dict(r)) for r in rows]
    )


# ---------------------------------------------------------------- counts only


async def _counts(conn: Connection, school_bin: str | None, region: str | None) -> Counts:
    row = await conn.fetchrow(QUERIES["prevention_counts"], school_bin, region)
    assert row is not None
    return Counts(**dict(row))


async def school_counts(conn: Connection, admin: AdminPrincipal, school_bin: str) -> Counts:
    """One school's counts: its own admins, its region's, the ministry."""
    admin.require_school(school_bin, await reference.school_region(conn, school_bin))
    return await _counts(conn, school_bin, None)


async def region_counts(conn: Connection, admin: AdminPrincipal, region: str) -> Counts:
    """The region's totals (no breakdown by school: para 26 forbids any school ranking on it)."""
    admin.require_region(region)
    if await reference.get_region(conn, region) is None:
        raise UnknownRegion(region=region)
    return await _counts(conn, None, region)


async def national_counts(conn: Connection, admin: AdminPrincipal) -> list[RegionCounts]:
    """Every region's totals (ministry admins)."""
    if admin.role != "ministry":
        raise MinistryOnly()
    return [
        RegionCounts(region=r.slug, counts=await _counts(conn, None, r.slug))
        for r in await reference.list_regions(conn)
    ]
