"""The advisory-lock keys have one home (admission.locks), and the database takes the keys it names."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import asyncpg

from admission import db as database
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


async def test_a_connection_goes_back_to_its_pool_clean_and_a_stateless_one_without_the_reset_query(
    database_url: str,
) -> None:
    """What a borrower left on a connection (a session lock, a setting) is gone for the next one; a
    borrower that sets no session state (the surge's filing) gives it back without the reset round trip,
    and a transaction it left open is rolled back all the same."""
    pool = await database.create_pool(database_url, min_size=1, max_size=1)
    watcher = await database.connect(database_url)
    try:

        async def last_statement(pid: int) -> str:
            return str(await watcher.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid))

        async with pool.acquire() as conn:
            pid = conn.get_server_pid()
            await conn.execute("SELECT pg_advisory_lock($1, 1)", locks.CENSUS_LOAD)
            await conn.execute("SET statement_timeout = '7s'")
        assert "RESET ALL" in await last_statement(pid)
        async with pool.acquire() as conn:
            assert conn.get_server_pid() == pid
            assert await conn.fetchval("SHOW statement_timeout") == "0"
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                )
                == 0
            )

        async with database.stateless(pool) as conn:
            await conn.execute("SELECT 'filed' AS surge")
        assert await last_statement(pid) == "SELECT 'filed' AS surge"
        async with database.stateless(pool) as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TEMP TABLE left_open (x int)")
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('pg_temp.left_open')") is None
        assert "RESET ALL" in await last_statement(pid)  # an ordinary borrow is reset again
    finally:
        await watcher.close()
        await pool.close()
