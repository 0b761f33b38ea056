"""The registration's deadlines, counted in working time with the schools' calendar.

Para 11: outside information is registered within 1 working day of its arrival;
para 12: the secretary collects the initial data within 2 working days; para 20:
the decision is reported back to the outside body within 1 working day.  Working
time is :mod:`admission.transfers.workdays` (Mon-Fri 09:00-18:30 Kazakhstan time,
public holidays from ``holidays.country_holidays("KZ")``; what arrives after
hours counts from the next opening).
"""

from __future__ import annotations

import datetime as dt

from admission.prevention.models import CaseRow, Deadline, DeadlineKind, DeadlineState, RowState
from admission.reference import KZ
from admission.transfers import workdays

WORKING_DAYS: dict[DeadlineKind, int] = {"registration": 1, "initial_data": 2, "report_back": 1}


def due(kind: DeadlineKind, since: dt.datetime) -> dt.datetime:
    """When ``kind`` falls due for something that arrived (or was decided) at ``since``."""
    return workdays.add_working_days(since, WORKING_DAYS[kind])


def state(due_at: dt.datetime, done_at: dt.datetime | None, now: dt.datetime) -> DeadlineState:
    if done_at is not None:
        return "done" if done_at <= due_at else "done_late"
    return "due" if now <= due_at else "overdue"


def of_case(case: CaseRow, now: dt.datetime) -> list[Deadline]:
    """The case's deadlines with their state at ``now`` (registration and report-back only for outside information)."""
    found: list[tuple[DeadlineKind, dt.datetime | None, dt.datetime | None]] = [
        ("registration", case.registration_due_at, case.registered_at),
        ("initial_data", case.initial_data_due_at, case.initial_data_at),
        ("report_back", case.report_due_at, case.reported_at),
    ]
    return [
        Deadline(kind=kind, due_at=due_at, done_at=done_at, state=state(due_at, done_at, now))
        for kind, due_at, done_at in found
        if due_at is not None
    ]


def row_state(row_deadline: dt.date, done_on: dt.date | None, now: dt.datetime) -> RowState:
    """A plan row is due until the end of its deadline day (Kazakhstan time), then overdue unless done."""
    if done_on is not None:
        return "done"
    return "due" if now.astimezone(KZ).date() <= row_deadline else "overdue"


__all__ = ["WORKING_DAYS", "due", "of_case", "row_state", "state"]
