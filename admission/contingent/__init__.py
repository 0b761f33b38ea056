"""The contingent store (ҰБДҚ stand-in) and the exactly-once push to it.

- :mod:`.events`: ``ContingentEvent`` = ``Enrol | Revoke | Move | Leave``.
- :mod:`.outbox`: ``enqueue(conn, event)`` inside the caller's transaction.
- :mod:`.publisher`: ``Publisher(pool, store, Delivery(...))`` delivers in per-child order, with retries.
- :mod:`.store`: the ``ContingentStore`` protocol and ``PostgresContingentStore``.
"""

from __future__ import annotations

from admission.contingent.events import ContingentEvent, Enrol, Leave, Move, Revoke
from admission.contingent.outbox import enqueue, enqueue_many
from admission.contingent.publisher import Delivery, Publisher
from admission.contingent.store import ContingentStore, ContingentStoreError, PostgresContingentStore

__all__ = [
    "ContingentEvent",
    "ContingentStore",
    "ContingentStoreError",
    "Delivery",
    "Enrol",
    "Leave",
    "Move",
    "PostgresContingentStore",
    "Publisher",
    "Revoke",
    "enqueue",
    "enqueue_many",
]
