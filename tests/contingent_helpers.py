"""The contingent store as the tests fill it, shared by the test worlds of several folders."""

from __future__ import annotations

import datetime as dt

import asyncpg


async def enrol(
    db: asyncpg.Pool | asyncpg.Connection,
    child: str,
    school: str,
    grade: int,
    *,
    language: str = "kk",
    order_number: str = "seed",
    since: dt.date = dt.date(2025, 9, 1),
) -> str:
    """``child`` enrolled at ``school`` in ``grade`` from ``since``, by the school's order of that day: what
    the contingent store records for an Enrol event.  On a connection it is part of that connection's
    transaction (a test's transfer: the old enrolment ended and the new one begun at once)."""
    await db.execute(
        "INSERT INTO contingent.enrolments (child_iin, school_bin, grade, language, order_number, order_date, since)"
        " VALUES ($1, $2, $3, $4, $5, $6, $6)",
        child,
        school,
        grade,
        language,
        order_number,
        since,
    )
    return child
