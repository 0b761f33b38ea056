"""Fixtures of the transfer tests."""

from __future__ import annotations

import asyncpg
import pytest
from transfer_world import World

from admission.signing_keys import KeySet


@pytest.fixture
async def world(db_pool: asyncpg.Pool, keys: KeySet) -> World:
    rows = await db_pool.fetch("SELECT bin, region_slug FROM schools ORDER BY region_slug, bin")
    schools: dict[str, list[str]] = {}
    for row in rows:
        schools.setdefault(row["region_slug"], []).append(row["bin"])
    return World(db_pool, keys, schools)
