"""The advisory-lock keys have one home (admission.locks), and the database takes the keys it names."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import asyncpg

from admission import locks

ROOT = Path(__file__).resolve().parent.parent
LITERAL_KEY = re.compile(r"advisory_\w*lock\(\s*\d")


def test_no_query_or_module_writes_a_lock_key_of_its_own() -> None:
    """A key written in place could silently collide with another lock; they come from admission.locks."""
    sources = [entry for entry in resources.files("admission.sql").iterdir() if entry.name.endswith(".sql")]
    sources += [p for package in ("admission", "queue_service") for p in (ROOT / package).rglob("*.py")]
    offenders = [entry.name for entry in sources if LITERAL_KEY.search(entry.read_text("utf-8"))]
    assert offenders == []


def test_each_class_key_names_one_kind_of_lock() -> None:
    assert len(set(locks.CLASS_KEYS.values())) == len(locks.CLASS_KEYS)
    assert all(0 < key < 2**31 for key in locks.CLASS_KEYS.values())  # the first half of an (int, int) lock


async def test_a_census_import_holds_the_load_lock_admission_locks_names(db_pool: asyncpg.Pool) -> None:
    """census.lock_load (a function of migration 0005, so the number is written there) takes CENSUS_LOAD."""
    load = 424242
    try_lock = "SELECT pg_try_advisory_lock($1::integer, $2::integer)"
    async with db_pool.acquire() as importing, db_pool.acquire() as other:
        await importing.execute("SELECT census.lock_load($1)", load)
        assert not await other.fetchval(
            "SELECT pg_try_advisory_lock($1::integer, $2::integer)", locks.CENSUS_LOAD, load
        )
        await importing.execute("SELECT pg_advisory_unlock_all()")
        assert await other.fetchval(try_lock, locks.CENSUS_LOAD, load)
        await other.execute("SELECT pg_advisory_unlock_all()")
