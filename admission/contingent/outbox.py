"""The sending side: the transactional outbox.

:func:`enqueue` writes an event in the caller's transaction, so the event
exists exactly when the change it reports is committed.  Events of one child
are serialised by a transaction-scoped advisory lock, so their ids follow
their commit order and the publisher's "oldest undelivered event per child"
is the right next one.
"""

from __future__ import annotations

from collections.abc import Sequence

from admission import locks
from admission.contingent.events import EVENT_ENCODER, ContingentEvent
from admission.db import QUERIES, Connection


async def enqueue(conn: Connection, event: ContingentEvent) -> None:
    """Record ``event`` for delivery; call it inside the transaction that makes the change."""
    await enqueue_many(conn, [event])


async def enqueue_many(conn: Connection, events: Sequence[ContingentEvent]) -> None:
    if not events:
        return
    if not conn.is_in_transaction():
        raise RuntimeError("enqueue must run inside the transaction that makes the change")
    children = sorted({e.child_iin for e in events})
    for child in children:  # sorted: two transactions never wait for each other's children in a cycle
        await conn.execute(QUERIES["outbox_lock_child"], locks.OUTBOX_CHILD, child)
    await conn.execute(
        QUERIES["outbox_insert"],
        [e.child_iin for e in events],
        [EVENT_ENCODER.encode(e).decode() for e in events],
    )
