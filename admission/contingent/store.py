"""The receiving side: the contingent store interface and its PostgreSQL stand-in for ҰБДҚ.

A store applies each event at most once, keyed by the outbox event id: the
publisher may deliver an event again (after a timeout or a crash between the
store's answer and the publisher's bookkeeping) and the store must shrug.  A
real ҰБДҚ HTTP adapter implements the same :class:`ContingentStore` protocol,
sending the event id as its idempotency key.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from admission.contingent.events import ContingentEvent, Enrol, Leave, Move, Revoke, kind
from admission.db import QUERIES, Connection, Pool
from admission.reference import KZ


class ContingentStoreError(Exception):
    """The store refused or could not take an event; the publisher retries it later."""


class ContingentStore(Protocol):
    async def apply(self, event_id: int, event: ContingentEvent) -> None:
        """Apply ``event`` once; applying the same ``event_id`` again does nothing."""


class PostgresContingentStore:
    """``contingent.enrolments``: a child has at most one current enrolment, never two schools.

    - Enrol: the child's current enrolment starts at the school (a current one at
      another school, which a correct sender never leaves behind, is ended as
      ``superseded`` so the register stays consistent; one at the same school is kept).
    - Revoke / Leave: the current enrolment at that school ends (nothing to end is fine:
      the register already says so).
    - Move: the current enrolment ends and the new one starts in one transaction.
    """

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def apply(self, event_id: int, event: ContingentEvent) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(QUERIES["store_mark_applied"], event_id, event.child_iin, kind(event)) is None:
                return  # applied before
            today = dt.datetime.now(KZ).date()
            match event:
                case Enrol():
                    await _start(conn, event.child_iin, event, end_other_as="superseded", today=event.since)
                case Move():
                    await _start(conn, event.child_iin, event, end_other_as="moved", today=event.since)
                case Revoke():
                    await _end(conn, event.child_iin, event.school_bin, event.reason, today)
                case Leave():
                    await _end(conn, event.child_iin, event.school_bin, event.reason, event.on)


async def _start(conn: Connection, child: str, event: Enrol | Move, *, end_other_as: str, today: dt.date) -> None:
    school = event.school_bin if isinstance(event, Enrol) else event.to_school_bin
    current = await conn.fetchrow(QUERIES["store_current_enrolment"], child)
    if current is not None:
        same = (current["school_bin"], current["grade"], current["language"]) == (school, event.grade, event.language)
        if same:
            return
        await conn.execute(QUERIES["store_end_enrolment"], current["id"], today, end_other_as)
    await conn.execute(
        QUERIES["store_start_enrolment"],
        child,
        school,
        event.grade,
        event.language,
        event.order_number,
        event.order_date,
        event.since,
    )


async def _end(conn: Connection, child: str, school: str, reason: str, on: dt.date) -> None:
    current = await conn.fetchrow(QUERIES["store_current_enrolment"], child)
    if current is not None and current["school_bin"] == school:
        await conn.execute(QUERIES["store_end_enrolment"], current["id"], on, reason)
