"""Fixtures of the census tests: a connection to this test's database (``conn``) and the ``census`` world."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from census_helpers import Census

from admission.signing_keys import KeySet


@pytest.fixture(name="conn")
async def conn_fixture(db_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with db_pool.acquire() as connection:
        yield connection


@pytest.fixture
def census(db_pool: asyncpg.Pool, conn: asyncpg.Connection, keys: KeySet, tmp_path: Path) -> Census:
    """Astana's September census, its files written to this test's ``tmp_path``."""
    return Census(db_pool, conn, keys, tmp_path)
