"""Fixtures of the intra-school registration tests: the ``world`` of schools, pupils and admins."""

from __future__ import annotations

import asyncpg
import pytest
from prevention_helpers import World

from admission.signing_keys import KeySet


@pytest.fixture(name="world")
async def world_fixture(db_pool: asyncpg.Pool, keys: KeySet) -> World:
    return World(db_pool, keys)
