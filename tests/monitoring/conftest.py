"""Fixtures of the monitoring tests: the app without its outbox publisher and its client, admins, four schools."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from monitoring_helpers import ABAI, CLEAN, DIRTY, FROM, REGION, Admins, Client

from admission.signing_keys import KeySet
from queue_service.app import create_app
from queue_service.settings import Settings


@pytest.fixture(name="quiet_app")
def quiet_app_fixture(settings: Settings, keys: KeySet) -> Litestar:
    """The app without its background outbox publisher: the tests deliver the outbox when they mean to."""
    return create_app(msgspec.structs.replace(settings, outbox_publisher=False), keys=keys)


@pytest.fixture(name="api")
async def api_fixture(quiet_app: Litestar) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=quiet_app) as test_client:
        yield test_client


@pytest.fixture(name="admins")
def admins_fixture(keys: KeySet) -> Admins:
    return Admins(keys)


@pytest.fixture(name="schools")
async def schools_fixture(db_pool: asyncpg.Pool) -> None:
    """Four test schools; their class sets as the reference load left them (changes go through the API)."""
    async with db_pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO schools (bin, region_slug, name_kk, name_ru, locality, address)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (CLEAN, REGION, "№910 мектеп", "Школа №910", "Астана", "Астана, Тексеру көшесі, 10"),
                (DIRTY, REGION, "№911 мектеп", "Школа №911", "Астана", "Астана, Тексеру көшесі, 11"),
                (FROM, REGION, "№912 мектеп", "Школа №912", "Астана", "Астана, Тексеру көшесі, 12"),
                (ABAI, "abai", "№913 мектеп", "Школа №913", "Семей", "Семей, Тексеру көшесі, 13"),
            ],
        )
        await conn.executemany(
            "INSERT INTO school_classes (school_bin, grade, language, classes, seats_per_class)"
            " VALUES ($1, $2, $3, $4, $5)",
            [
                (CLEAN, 1, "kk", 1, 4),
                (CLEAN, 2, "kk", 1, 25),
                (DIRTY, 1, "kk", 1, 10),
                (DIRTY, 1, "ru", 1, 3),
                (DIRTY, 1, "en", 1, 2),
                (DIRTY, 1, "uz", 1, 3),
                (DIRTY, 2, "kk", 1, 25),
                (DIRTY, 3, "kk", 1, 2),
                (FROM, 2, "kk", 1, 25),
                (FROM, 3, "kk", 1, 25),
                (ABAI, 1, "kk", 1, 25),
            ],
        )
