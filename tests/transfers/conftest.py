"""Fixtures of the transfer tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from portal_helpers import Portal
from transfer_world import World

from admission.signing_keys import KeySet
from queue_service.app import create_app
from queue_service.settings import Settings


@pytest.fixture
async def world(db_pool: asyncpg.Pool, keys: KeySet) -> World:
    rows = await db_pool.fetch("SELECT bin, region_slug FROM schools ORDER BY region_slug, bin")
    schools: dict[str, list[str]] = {}
    for row in rows:
        schools.setdefault(row["region_slug"], []).append(row["bin"])
    return World(db_pool, keys, schools)


@pytest.fixture
def portal(tmp_path: Path) -> Portal:
    """The egov portal with its own key pair (its public key in ``tmp_path``)."""
    return Portal(tmp_path)


@pytest.fixture
async def portal_client(portal: Portal, settings: Settings, keys: KeySet) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A client of the app in ``assertion`` mode: callers are who ``portal`` vouches for."""
    async with AsyncTestClient(app=create_app(portal.settings(settings), keys=keys)) as client:
        yield client
