"""Every PostgreSQL advisory lock the service takes: its key and what it serialises.

Advisory locks are one name space per database, shared by every process that
connects to it: two unrelated locks that picked the same key would wait on
each other for no reason, or one would take the other's for its own.  So the
keys live here, each under a name, and the queries receive them as bind
parameters rather than writing the number themselves.

Two kinds of key.  A *class* key is the first half of a two-``integer`` lock,
``pg_advisory_lock(class, hashtext(object))``: one class per kind of thing
locked, the second half names the thing.  A *single* key is one ``bigint``.
PostgreSQL keeps the two kinds apart ("these two key spaces do not
overlap"), so :data:`MIGRATIONS` cannot meet a class lock whatever its value.
"""

from __future__ import annotations

from typing import Final

OUTBOX_CHILD: Final = 7311
"""Class key: the contingent outbox events of one child (``hashtext(child_iin)``).

Transaction-scoped (``outbox_lock_child``), taken before an event is written,
so a child's event ids follow their commit order and the publisher's "oldest
undelivered event per child" is the right next one (``admission.contingent.outbox``).
"""

CENSUS_LOAD: Final = 7312
"""Class key: one census import's scratch schema and load table (the load id).

Session-level, held by the importing connection while its load exists
(``census.lock_load``); the sweep (``census.sweep_loads``) takes it with a
try-lock to tell a dead import's leftovers from a live one's.  Both are SQL
functions of migration 0005, so this number is written there (migrations are
never edited) and ``tests/test_locks.py`` holds the two equal.
"""

CENSUS_QUARTER: Final = 7313
"""Class key: the import of one region's quarter (``hashtext(region || ' ' || period)``).

Session-level (``census_try_lock_quarter``, ``census_lock_quarter``): a second
import of the same quarter waits for the first instead of doing the same work
beside it (``admission.census.importer``).
"""

IDEMPOTENCY_KEY: Final = 7314
"""Class key: a filing with an ``Idempotency-Key`` (``hashtext(applicant_iin || ':' || key)``).

Transaction-scoped, taken with a try-lock by ``application_context``: while
one request with the key is being decided, another gets
``idempotency_in_progress`` instead of a second decision.
"""

MIGRATIONS: Final = 7_311_000_001
"""Single key: applying (or checking) the migrations (``admission.db.migrate``).

Session-level while migrating, transaction-scoped while checking, so
processes that start together migrate one after another.
"""

CLASS_KEYS: Final = {
    "OUTBOX_CHILD": OUTBOX_CHILD,
    "CENSUS_LOAD": CENSUS_LOAD,
    "CENSUS_QUARTER": CENSUS_QUARTER,
    "IDEMPOTENCY_KEY": IDEMPOTENCY_KEY,
}
"""The class keys by name (a new one must take a value none of these has)."""
