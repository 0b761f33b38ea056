"""Fixtures of the census tests: a connection to this test's database (``conn``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest


@pytest.fixture(name="conn")
async def conn_fixture(db_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with db_pool.acquire() as connection:
        yield connection
