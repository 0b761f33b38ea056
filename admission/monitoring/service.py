"""The monitoring's steps (order No. 271, paras 3-10), each scoped, validated and audited.

Scopes: a decision belongs to the ministry (``region_slug`` NULL: any school) or
to one region's education office (its schools only).  Its owner — a ministry
admin, or that region's admin — schedules visits, sets the commission, reviews
findings and issues certificates.  A school admin reads its own visits and
records its plan of measures and report; a region admin reads every visit in
its region, the ministry every visit.

Deadlines of para 9 are calendar days counted from the day the certificate is
signed (the monitoring's end at that school); a deadline whose last day is not
a working day moves to the next working day (Civil Code of Kazakhstan, art. 173),
with working days from :mod:`admission.transfers.workdays`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

import asyncpg
import msgspec

from admission import audit
from admission.db import QUERIES, Connection, from_row
from admission.errors import Forbidden, UnknownRegion
from admission.monitoring import findings as computing
from admission.monitoring.models import (
    KINDS,
    CertificateLanguage,
    Deadline,
    Decision,
    Evidence,
    Finding,
    InvalidCommission,
    InvalidMonitoringStep,
    InvalidVisit,
    Member,
    MonitoringConflict,
    OrderTooLate,
    Plan,
    RegionCounts,
    RegionSummary,
    Report,
    UnknownMonitoring,
    Verdict,
    Visit,
    VisitStatus,
)
from admission.reference import KZ, school_region
from admission.signing_keys import AdminPrincipal
from admission.transfers import workdays

ORDER_DEADLINE = (11, 1)  # para 3: the decision is made by 1 November of the calendar year
MAX_VISIT_WORKING_DAYS = 5  # para 3
MIN_COMMISSION = 7  # para 4, including the chair
PLAN_DAYS = 10  # para 9, calendar days
REPORT_DAYS = 30  # para 9, calendar days after the monitoring ends
LEAD_AFFILIATIONS = ("ministry", "office")  # para 4: the lead is the ministry's or office's official


def today_in_kz(now: dt.datetime) -> dt.date:
    return now.astimezone(KZ).date()


def due_after(start: dt.date, days: int) -> dt.date:
    """``days`` calendar days after ``start``; a last day that is not a working day moves to the next one."""
    due = start + dt.timedelta(days=days)
    while not workdays.is_working_day(due):
        due += dt.timedelta(days=1)
    return due


def deadline(
    required: bool | None, start: dt.date | None, days: int, done_on: dt.date | None, today: dt.date
) -> Deadline | None:
    """A para 9 deadline: ``met`` when done by its day, ``overdue`` past it (late or not yet), else ``due``."""
    if required is None or start is None:
        return None  # runs from the certificate, not signed yet
    if not required:
        return Deadline(due_on=None, done_on=done_on, state="not_required")
    due_on = due_after(start, days)
    if done_on is not None:
        return Deadline(due_on=due_on, done_on=done_on, state="met" if done_on <= due_on else "overdue")
    return Deadline(due_on=due_on, done_on=None, state="overdue" if today > due_on else "due")


def working_days_between(starts_on: dt.date, ends_on: dt.date) -> int:
    days = (ends_on - starts_on).days + 1
    return sum(1 for i in range(days) if workdays.is_working_day(starts_on + dt.timedelta(days=i)))


def latest_end(starts_on: dt.date, working_days: int = MAX_VISIT_WORKING_DAYS) -> dt.date:
    """The last day a visit starting on ``starts_on`` may end (``working_days`` working days)."""
    day, counted = starts_on, 0
    while True:
        if workdays.is_working_day(day):
            counted += 1
            if counted == working_days:
                return day
        day += dt.timedelta(days=1)


# ---------------------------------------------------------------- scopes


def require_owner(admin: AdminPrincipal, decision: Decision) -> None:
    """Only the decision's owner (the ministry, or its region's office) runs its monitoring."""
    if decision.region_slug is None:
        if admin.role != "ministry":
            raise Forbidden(f"{admin.role} admin {admin.subject} may not run the ministry's monitoring")
        return
    if admin.role == "school":
        raise Forbidden("a school admin does not run monitoring")
    admin.require_region(decision.region_slug)


async def get_decision(conn: Connection, decision_id: uuid.UUID, *, lock: bool = False) -> Decision:
    row = await conn.fetchrow(QUERIES["mon_lock_decision" if lock else "mon_get_decision"], decision_id)
    if row is None:
        raise UnknownMonitoring(decision_id=str(decision_id))
    return Decision(**dict(row))


# ---------------------------------------------------------------- decision, commission, schedule


async def create_decision(
    conn: Connection,
    admin: AdminPrincipal,
    *,
    region: str | None,
    admission_year: int,
    order_number: str,
    order_date: dt.date,
    now: dt.datetime,
) -> Decision:
    """Record the order deciding to monitor ``admission_year``'s admission (para 3)."""
    if admin.role == "school":
        raise Forbidden("a school admin does not decide on monitoring")
    region = admin.region_in_scope(region)
    order_number = order_number.strip()
    if not order_number:
        raise InvalidMonitoringStep(problem="the order number is empty")
    if order_date > dt.date(admission_year, *ORDER_DEADLINE):
        raise OrderTooLate(year=admission_year, order_date=order_date.isoformat())
    if order_date.year != admission_year:
        raise InvalidMonitoringStep(problem=f"the order is dated in {order_date.year}, not in {admission_year}")
    if order_date > today_in_kz(now):
        raise InvalidMonitoringStep(problem="the order's date is in the future")
    async with conn.transaction():
        if region is not None and await conn.fetchval(QUERIES["mon_region_window"], region) is None:
            raise UnknownRegion(region=region)
        try:
            row = await conn.fetchrow(
                QUERIES["mon_insert_decision"],
                uuid.uuid4(),
                region,
                admission_year,
                order_number,
                order_date,
                admin.subject,
            )
        except asyncpg.UniqueViolationError as exc:
            raise MonitoringConflict(problem=f"order {order_number} of {admission_year} is already recorded") from exc
        assert row is not None
        decision = Decision(**dict(row))
        await audit.record(
            conn, admin, "monitoring.decision", f"monitoring:{decision.id}", region=region, old=None,
            new={"admission_year": admission_year, "order_number": order_number, "order_date": order_date.isoformat()},
        )  # fmt: skip
    return decision


def validate_commission(members: list[Member]) -> None:
    """Para 4: an odd number, at least 7 including the chair; one chair; one lead from the ministry or office."""
    count = len(members)
    if count < MIN_COMMISSION:
        raise InvalidCommission(problem=f"{count} members; at least {MIN_COMMISSION} including the chair")
    if count % 2 == 0:
        raise InvalidCommission(problem=f"{count} members; the number must be odd")
    chairs = sum(m.is_chair for m in members)
    if chairs != 1:
        raise InvalidCommission(problem=f"{chairs} chairs; exactly one")
    leads = [m for m in members if m.is_lead]
    if len(leads) != 1:
        raise InvalidCommission(problem=f"{len(leads)} leads; exactly one")
    if leads[0].affiliation not in LEAD_AFFILIATIONS:
        raise InvalidCommission(problem="the lead is an official of the ministry or the education office")
    names = Counter(m.full_name.strip().casefold() for m in members)
    twice = [name for name, n in names.items() if n > 1]
    if twice:
        raise InvalidCommission(problem=f"{twice[0]} is listed twice")


async def set_commission(
    conn: Connection, admin: AdminPrincipal, decision_id: uuid.UUID, members: list[Member]
) -> list[Member]:
    validate_commission(members)
    async with conn.transaction():
        decision = await get_decision(conn, decision_id, lock=True)
        require_owner(admin, decision)
        if await conn.fetchval(QUERIES["mon_decision_has_certificate"], decision_id):
            raise MonitoringConflict(problem="a certificate is signed: the commission can no longer change")
        old = await commission(conn, decision_id)
        await conn.execute(QUERIES["mon_delete_commission"], decision_id)
        await conn.execute(
            QUERIES["mon_insert_commission"],
            decision_id,
            list(range(1, len(members) + 1)),
            [m.full_name.strip() for m in members],
            [m.post.strip() for m in members],
            [m.organisation.strip() for m in members],
            [m.affiliation for m in members],
            [m.is_chair for m in members],
            [m.is_lead for m in members],
        )
        await audit.record(
            conn, admin, "monitoring.commission", f"monitoring:{decision_id}", region=decision.region_slug,
            old=old or None, new=members,
        )  # fmt: skip
    return await commission(conn, decision_id)


async def commission(conn: Connection, decision_id: uuid.UUID) -> list[Member]:
    rows = await conn.fetch(QUERIES["mon_commission"], decision_id)
    return [Member(**{k: v for k, v in dict(r).items() if k != "seat"}) for r in rows]


async def schedule_visit(
    conn: Connection,
    admin: AdminPrincipal,
    decision_id: uuid.UUID,
    *,
    school_bin: str,
    starts_on: dt.date,
    ends_on: dt.date,
    now: dt.datetime,
) -> Visit:
    """Put a school on the decision's schedule: at most 5 working days, after the order."""
    async with conn.transaction():
        decision = await get_decision(conn, decision_id, lock=True)
        require_owner(admin, decision)
        region = await school_region(conn, school_bin)
        if decision.region_slug is not None and region != decision.region_slug:
            raise Forbidden(f"school {school_bin} is in {region}, not in {decision.region_slug}")
        if ends_on < starts_on:
            raise InvalidVisit(problem="the visit ends before it starts")
        if starts_on < decision.order_date:
            raise InvalidVisit(problem=f"the visit starts before the order of {decision.order_date.isoformat()}")
        days = working_days_between(starts_on, ends_on)
        if days == 0:
            raise InvalidVisit(problem="the visit has no working day")
        if days > MAX_VISIT_WORKING_DAYS:
            raise InvalidVisit(
                problem=f"{days} working days; at most {MAX_VISIT_WORKING_DAYS}, so it ends by "
                f"{latest_end(starts_on).isoformat()}",
                latest_end=latest_end(starts_on).isoformat(),
            )
        visit_id = uuid.uuid4()
        try:
            async with conn.transaction():
                await conn.execute(
                    QUERIES["mon_insert_visit"], visit_id, decision_id, school_bin, region,
                    starts_on, ends_on, days,
                )  # fmt: skip
        except asyncpg.UniqueViolationError as exc:
            raise MonitoringConflict(problem=f"school {school_bin} is already on this schedule") from exc
        await audit.record(
            conn, admin, "monitoring.visit", f"monitoring:{decision_id}/school:{school_bin}",
            region=region, old=None,
            new={"starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(), "working_days": days},
        )  # fmt: skip
    return await get_visit(conn, admin, visit_id, now)


# ---------------------------------------------------------------- visits


def _visit(row: asyncpg.Record, today: dt.date) -> Visit:
    plan = None
    if row["plan_approved_on"] is not None:
        plan = Plan(number=row["plan_number"], approved_on=row["plan_approved_on"], measures=row["plan_measures"])
    report = None
    if row["report_submitted_on"] is not None:
        report = Report(submitted_on=row["report_submitted_on"], summary=row["report_summary"])
    signed_on, required = row["certificate_signed_on"], row["remediation_required"]
    plan_deadline = deadline(required, signed_on, PLAN_DAYS, row["plan_approved_on"], today)
    report_deadline = deadline(required, signed_on, REPORT_DAYS, row["report_submitted_on"], today)
    status: VisitStatus
    if signed_on is None:
        status = "scheduled" if today < row["starts_on"] else "in_progress"
        if today > row["ends_on"]:
            status = "awaiting_certificate"
    elif required and (plan is None or report is None):
        status = "remediation"
    else:
        status = "closed"
    overdue = status == "awaiting_certificate" or any(
        d is not None and d.state == "overdue" for d in (plan_deadline, report_deadline)
    )
    return from_row(
        Visit,
        row,
        status=status,
        overdue=overdue,
        plan=plan,
        plan_deadline=plan_deadline,
        report=report,
        report_deadline=report_deadline,
    )


async def _visit_row(conn: Connection, visit_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(QUERIES["mon_get_visit"], visit_id)
    if row is None:
        raise UnknownMonitoring(visit_id=str(visit_id))
    return row


async def get_visit(conn: Connection, admin: AdminPrincipal, visit_id: uuid.UUID, now: dt.datetime) -> Visit:
    """A visit as its school, its region or the ministry reads it."""
    row = await _visit_row(conn, visit_id)
    admin.require_school(row["school_bin"], row["region_slug"])
    return _visit(row, today_in_kz(now))


async def _owned_visit(conn: Connection, admin: AdminPrincipal, visit_id: uuid.UUID) -> tuple[asyncpg.Record, Decision]:
    """Lock the visit for a change by the decision's owner; its row and decision."""
    if await conn.fetchval(QUERIES["mon_lock_visit"], visit_id) is None:
        raise UnknownMonitoring(visit_id=str(visit_id))
    row = await _visit_row(conn, visit_id)
    decision = await get_decision(conn, row["decision_id"])
    require_owner(admin, decision)
    return row, decision


def _require_open(row: asyncpg.Record) -> None:
    if row["certificate_signed_on"] is not None:
        raise MonitoringConflict(problem="the certificate is signed: its findings are final")


async def list_visits(
    conn: Connection,
    admin: AdminPrincipal,
    now: dt.datetime,
    *,
    decision_id: uuid.UUID | None = None,
    region: str | None = None,
    school_bin: str | None = None,
    year: int | None = None,
) -> list[Visit]:
    """Visits the admin may read: a school its own, a region admin its region's, the ministry any."""
    if admin.role == "school":
        if school_bin is not None and school_bin != admin.school:
            raise Forbidden(f"school admin {admin.subject} reads only school {admin.school}")
        school_bin = admin.school
    else:
        region = admin.region_in_scope(region)
    rows = await conn.fetch(QUERIES["mon_list_visits"], decision_id, region, school_bin, year)
    today = today_in_kz(now)
    return [_visit(r, today) for r in rows]


async def list_decisions(conn: Connection, region: str | None, year: int | None) -> list[Decision]:
    """The decisions a region reads (its own and the ministry's with a visit in it; None: every one):
    ``region`` as :meth:`AdminPrincipal.region_to_read` gives it (a school admin reads its visits)."""
    return [Decision(**dict(r)) for r in await conn.fetch(QUERIES["mon_list_decisions"], region, year)]


async def read_decision(conn: Connection, admin: AdminPrincipal, decision_id: uuid.UUID) -> Decision:
    decision = await get_decision(conn, decision_id)
    if admin.role == "region" and decision.region_slug is None:
        return decision  # the ministry's decision: a region admin reads it and its visits in the region
    require_owner(admin, decision)
    return decision


# ---------------------------------------------------------------- findings


def _finding(row: asyncpg.Record) -> Finding:
    return from_row(
        Finding,
        row,
        title=KINDS.get(row["kind"], KINDS["other"]),
        evidence=msgspec.convert(row["evidence"], Evidence),
    )


async def _written_finding(conn: Connection, finding_id: int, visit_id: uuid.UUID) -> Finding:
    """The finding as the caller's transaction has just written it: the answer to a review or an addition."""
    row = await conn.fetchrow(QUERIES["mon_lock_finding"], finding_id, visit_id)
    assert row is not None
    return _finding(row)


async def list_findings(conn: Connection, admin: AdminPrincipal, visit_id: uuid.UUID) -> list[Finding]:
    row = await _visit_row(conn, visit_id)
    admin.require_school(row["school_bin"], row["region_slug"])
    return [_finding(r) for r in await conn.fetch(QUERIES["mon_findings"], visit_id)]


async def compute_findings(
    conn: Connection, admin: AdminPrincipal, visit_id: uuid.UUID, now: dt.datetime
) -> list[Finding]:
    """Compute the school's nonconformities from the records; reviews of unchanged findings stay."""
    async with conn.transaction():
        row, _ = await _owned_visit(conn, admin, visit_id)
        _require_open(row)
        computed = await computing.compute(conn, row["school_bin"], row["region_slug"], row["admission_year"], now)
        for c in computed:
            await conn.execute(
                QUERIES["mon_upsert_computed_finding"], visit_id, c.kind, c.fingerprint, msgspec.to_builtins(c.evidence)
            )
        await conn.execute(QUERIES["mon_drop_vanished_findings"], visit_id, [c.fingerprint for c in computed])
        await conn.execute(QUERIES["mon_set_findings_computed"], visit_id, now)
        await audit.record(
            conn, admin, "monitoring.findings.compute", f"monitoring-visit:{visit_id}", region=row["region_slug"],
            old=None, new={"kinds": sorted(c.kind for c in computed)},
        )  # fmt: skip
    return await list_findings(conn, admin, visit_id)


async def review_finding(
    conn: Connection,
    admin: AdminPrincipal,
    visit_id: uuid.UUID,
    finding_id: int,
    *,
    verdict: Verdict,
    note: str | None,
    description: str | None,
    now: dt.datetime,
) -> Finding:
    """The commission accepts, rejects or edits (restates) a computed finding, or withdraws or rewords its own."""
    if verdict == "edited" and not (description and description.strip()):
        raise InvalidMonitoringStep(problem="an edited finding states the commission's wording (description)")
    if verdict == "rejected" and not (note and note.strip()):
        raise InvalidMonitoringStep(problem="a rejected finding says why (note)")
    async with conn.transaction():
        row, _ = await _owned_visit(conn, admin, visit_id)
        _require_open(row)
        old = await conn.fetchrow(QUERIES["mon_lock_finding"], finding_id, visit_id)
        if old is None:
            raise UnknownMonitoring(finding_id=finding_id)
        await conn.execute(
            QUERIES["mon_review_finding"], finding_id, visit_id, verdict,
            description.strip() if verdict == "edited" and description else None, note, admin.subject, now,
        )  # fmt: skip
        await audit.record(
            conn, admin, "monitoring.finding.review", f"monitoring-visit:{visit_id}/finding:{finding_id}",
            region=row["region_slug"], old={"verdict": old["verdict"], "description": old["description"]},
            new={"verdict": verdict, "description": description, "note": note},
        )  # fmt: skip
        return await _written_finding(conn, finding_id, visit_id)


async def add_finding(
    conn: Connection,
    admin: AdminPrincipal,
    visit_id: uuid.UUID,
    *,
    description: str,
    evidence: Evidence,
    note: str | None,
    now: dt.datetime,
) -> Finding:
    """A nonconformity the commission found itself (kind ``other``); final as the commission states it."""
    if not description.strip():
        raise InvalidMonitoringStep(problem="the finding needs a description")
    async with conn.transaction():
        row, _ = await _owned_visit(conn, admin, visit_id)
        _require_open(row)
        finding_id = await conn.fetchval(
            QUERIES["mon_insert_commission_finding"], visit_id, "other", msgspec.to_builtins(evidence),
            description.strip(), note, admin.subject, now,
        )  # fmt: skip
        await audit.record(
            conn, admin, "monitoring.finding.add", f"monitoring-visit:{visit_id}/finding:{finding_id}",
            region=row["region_slug"], old=None, new={"description": description},
        )  # fmt: skip
        return await _written_finding(conn, finding_id, visit_id)


def included(findings: list[Finding]) -> list[Finding]:
    """What the certificate states: accepted, edited and the commission's own findings.

    A reviewed finding the records no longer yield as reviewed (``stale``: its records changed
    since, and the finding they yield now is reviewed anew) is left out.
    """
    return [f for f in findings if f.verdict in ("accepted", "edited") and not f.stale]


# ---------------------------------------------------------------- certificate, plan, report


async def issue_certificate(
    conn: Connection,
    admin: AdminPrincipal,
    visit_id: uuid.UUID,
    *,
    language: CertificateLanguage,
    signed_on: dt.date,
    now: dt.datetime,
) -> Visit:
    """Sign the certificate (para 7): every computed finding reviewed, the commission complete."""
    async with conn.transaction():
        row, decision = await _owned_visit(conn, admin, visit_id)
        _require_open(row)
        if not row["starts_on"] <= signed_on <= row["ends_on"]:
            raise InvalidMonitoringStep(
                problem=f"the certificate is signed during the visit, {row['starts_on']} – {row['ends_on']}"
            )
        if signed_on > today_in_kz(now):
            raise InvalidMonitoringStep(problem="the certificate's date is in the future")
        members = await commission(conn, decision.id)
        try:
            validate_commission(members)
        except InvalidCommission as exc:
            raise MonitoringConflict(problem="the commission is not set (para 4)") from exc
        if row["findings_computed_at"] is None:
            raise MonitoringConflict(problem="compute the findings from the records first")
        found = [_finding(r) for r in await conn.fetch(QUERIES["mon_findings"], visit_id)]
        pending = [f.id for f in found if f.verdict == "pending"]
        if pending:
            raise MonitoringConflict(
                problem=f"the commission has not reviewed findings {', '.join(map(str, pending))}", pending=pending
            )
        required = bool(included(found))
        await conn.execute(
            QUERIES["mon_issue_certificate"], visit_id, language, signed_on, now, admin.subject, required
        )
        await audit.record(
            conn, admin, "monitoring.certificate", f"monitoring-visit:{visit_id}", region=row["region_slug"],
            old=None, new={"language": language, "signed_on": signed_on.isoformat(), "nonconformities": required},
        )  # fmt: skip
    return await get_visit(conn, admin, visit_id, now)


async def _remediation_visit(conn: Connection, admin: AdminPrincipal, visit_id: uuid.UUID) -> asyncpg.Record:
    if await conn.fetchval(QUERIES["mon_lock_visit"], visit_id) is None:
        raise UnknownMonitoring(visit_id=str(visit_id))
    row = await _visit_row(conn, visit_id)
    if admin.role == "school":
        admin.require_school(row["school_bin"], row["region_slug"])
    else:
        require_owner(admin, await get_decision(conn, row["decision_id"]))
    if row["certificate_signed_on"] is None:
        raise MonitoringConflict(problem="the certificate is not signed yet")
    if not row["remediation_required"]:
        raise MonitoringConflict(problem="the certificate found no nonconformity: no plan or report is due")
    return row


async def record_plan(
    conn: Connection,
    admin: AdminPrincipal,
    visit_id: uuid.UUID,
    *,
    number: str,
    approved_on: dt.date,
    measures: list[str],
    now: dt.datetime,
) -> Visit:
    """The school's approved plan of measures (para 9: within 10 calendar days)."""
    cleaned = [m.strip() for m in measures if m.strip()]
    if not cleaned or not number.strip():
        raise InvalidMonitoringStep(problem="the plan has a number and at least one measure")
    async with conn.transaction():
        row = await _remediation_visit(conn, admin, visit_id)
        if row["plan_approved_on"] is not None:
            raise MonitoringConflict(problem="the plan is already recorded")
        if not row["certificate_signed_on"] <= approved_on <= today_in_kz(now):
            raise InvalidMonitoringStep(problem="the plan is approved after the certificate and not in the future")
        await conn.execute(QUERIES["mon_record_plan"], visit_id, number.strip(), approved_on, cleaned, now)
        await audit.record(
            conn, admin, "monitoring.plan", f"monitoring-visit:{visit_id}", region=row["region_slug"], old=None,
            new={"number": number, "approved_on": approved_on.isoformat(), "measures": len(cleaned)},
        )  # fmt: skip
    return await get_visit(conn, admin, visit_id, now)


async def record_report(
    conn: Connection,
    admin: AdminPrincipal,
    visit_id: uuid.UUID,
    *,
    submitted_on: dt.date,
    summary: str,
    now: dt.datetime,
) -> Visit:
    """The school's report on the plan's execution (para 9: within 30 calendar days)."""
    if not summary.strip():
        raise InvalidMonitoringStep(problem="the report needs a summary")
    async with conn.transaction():
        row = await _remediation_visit(conn, admin, visit_id)
        if row["plan_approved_on"] is None:
            raise MonitoringConflict(problem="record the plan of measures first")
        if row["report_submitted_on"] is not None:
            raise MonitoringConflict(problem="the report is already recorded")
        if not row["plan_approved_on"] <= submitted_on <= today_in_kz(now):
            raise InvalidMonitoringStep(problem="the report is submitted after the plan and not in the future")
        await conn.execute(QUERIES["mon_record_report"], visit_id, submitted_on, summary.strip(), now)
        await audit.record(
            conn, admin, "monitoring.report", f"monitoring-visit:{visit_id}", region=row["region_slug"], old=None,
            new={"submitted_on": submitted_on.isoformat()},
        )  # fmt: skip
    return await get_visit(conn, admin, visit_id, now)


# ---------------------------------------------------------------- region and ministry views


def _counts(visits: list[Visit]) -> dict[str, int]:
    status = Counter(v.status for v in visits)
    return {
        "scheduled": status["scheduled"],
        "in_progress": status["in_progress"],
        "awaiting_certificate": status["awaiting_certificate"],
        "open_plans": status["remediation"],
        "overdue": sum(v.overdue for v in visits),
        "closed": status["closed"],
    }


async def region_summary(
    conn: Connection, admin: AdminPrincipal, region: str, year: int | None, now: dt.datetime
) -> RegionSummary:
    """A region's schools on any schedule (its own or the ministry's): scheduled, in progress, open plans, overdue."""
    if admin.role == "school":
        raise Forbidden("a school admin reads its own visits")
    admin.require_region(region)
    if await conn.fetchval(QUERIES["mon_region_window"], region) is None:
        raise UnknownRegion(region=region)
    visits = await list_visits(conn, admin, now, region=region, year=year)
    return RegionSummary(region=region, year=year, visits=visits, **_counts(visits))


async def ministry_summary(
    conn: Connection, admin: AdminPrincipal, year: int | None, now: dt.datetime
) -> list[RegionCounts]:
    """Per region, the counts of the region view (ministry admins only)."""
    if admin.role != "ministry":
        raise Forbidden("the nationwide view is the ministry's")
    by_region: dict[str, list[Visit]] = {}
    for v in await list_visits(conn, admin, now, year=year):
        by_region.setdefault(v.region_slug, []).append(v)
    return [RegionCounts(region=region, **_counts(visits)) for region, visits in sorted(by_region.items())]
