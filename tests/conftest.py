"""Test fixtures: a real Redis and a real PostgreSQL for the whole session.

When ``KEZEK_TEST_REDIS_URL`` / ``KEZEK_TEST_DATABASE_URL`` are set those
servers are used (the database user must be allowed to create databases);
otherwise throwaway servers are started (:mod:`devservices`) and
stopped at the end.  Isolation: every test gets its own database cloned from a
migrated, reference-loaded template, and a flushed Redis.

In parallel (``pytest -n 2``, pytest-xdist) every worker is a process of its own with its own
session: its own throwaway Redis and PostgreSQL.  On given servers each worker takes its own
Redis database (the URL's number plus the worker's: ``gw1`` on ``/0`` uses ``/1``, and flushes
only that one) and its own template database; the test databases carry the worker's PID already.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis.asyncio as aioredis
from browser_helpers import CHROMIUM_ARGS
from litestar import Litestar
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, async_playwright
from redis.asyncio.cluster import RedisCluster

from admission import db as database
from admission import reference
from admission.signing_keys import KeySet
from devservices import KezekServer, LocalPostgres, LocalRedis, ServerFactory, with_database
from queue_service.app import create_app
from queue_service.settings import Settings

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
"""This pytest-xdist worker ("gw0", "gw1", ...); empty when the suite runs in one process."""
TEMPLATE = f"kezek_test_template{'_' + WORKER if WORKER else ''}"
REDIS_MODE = os.environ.get("KEZEK_TEST_REDIS_MODE", "standalone")
SHARED_REDIS = bool(os.environ.get("KEZEK_TEST_REDIS_URL"))
_counter = itertools.count()


# Tests that load the whole machine (thousands of connections, locust, the fuzzer, kill -9 with time
# limits): under pytest-xdist (scripts/test: -n 2 --dist loadgroup) they share one worker, so two of
# them never run at once; the rest of the suite fills the other worker meanwhile.
HEAVY = (
    "faults/",
    "loadtest/test_runner.py",
    "test_schemathesis.py",
    "waiting_room/test_rooms_faults.py",
    "waiting_room/test_rooms_server.py",
    "waiting_room/test_rooms_slots.py",
    "wave/",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        if item.path.relative_to(tests).as_posix().startswith(HEAVY):
            item.add_marker(pytest.mark.xdist_group("heavy"))


def _worker_database(url: str) -> str:
    """A given Redis's URL with this worker's own database: the URL's number plus the worker's."""
    if not WORKER:
        return url
    if REDIS_MODE == "cluster":
        raise pytest.UsageError("a Redis Cluster has one database: run KEZEK_TEST_REDIS_URL's cluster pass without -n")
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0) + int(WORKER.removeprefix("gw"))
    return urlunsplit(parts._replace(path=f"/{number}"))


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    given = os.environ.get("KEZEK_TEST_REDIS_URL")
    if given:
        yield _worker_database(given)
        return
    if REDIS_MODE == "cluster":
        from devservices.topologies import LocalRedisCluster

        with tempfile.TemporaryDirectory(prefix="kezek-cluster-") as tmp, LocalRedisCluster(Path(tmp)) as cluster:
            yield cluster.url
        return
    with tempfile.TemporaryDirectory(prefix="kezek-redis-") as tmp, LocalRedis(Path(tmp)) as server:
        yield server.url


def redis_client_for(url: str, **kwargs: Any) -> aioredis.Redis:
    """A client of the test Redis: a cluster client when the suite runs on a cluster."""
    if REDIS_MODE == "cluster":
        return cast(aioredis.Redis, RedisCluster.from_url(url, **kwargs))
    return aioredis.Redis.from_url(url, **kwargs)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    given = os.environ.get("KEZEK_TEST_DATABASE_URL")
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="kezek-pgtest-") as tmp, LocalPostgres(Path(tmp)) as server:
        yield server.url


async def _admin_execute(server_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_database(postgres_server_url: str) -> str:
    """A database with every migration and the reference data, cloned by each test."""

    async def build() -> None:
        await _admin_execute(
            postgres_server_url, f'DROP DATABASE IF EXISTS "{TEMPLATE}"', f'CREATE DATABASE "{TEMPLATE}"'
        )
        conn = await asyncpg.connect(with_database(postgres_server_url, TEMPLATE))
        try:
            await database.migrate(conn)
            await reference.load_reference(conn)
        finally:
            await conn.close()

    asyncio.run(build())
    return TEMPLATE


@pytest.fixture
def database_url(postgres_server_url: str, template_database: str) -> Iterator[str]:
    name = f"kezek_test_{os.getpid()}_{next(_counter)}"
    asyncio.run(_admin_execute(postgres_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    yield with_database(postgres_server_url, name)
    asyncio.run(_admin_execute(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    async def flush() -> None:
        client = redis_client_for(redis_server_url)
        try:
            if SHARED_REDIS:  # maybe shared with other workers, each in its own database: only ours
                await client.flushdb()
            else:
                await client.flushall()
                await client.script_flush()
        finally:
            await client.aclose()

    asyncio.run(flush())
    return redis_server_url


@pytest.fixture
async def db_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await database.create_pool(database_url, min_size=1, max_size=30)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = redis_client_for(redis_url, max_connections=500)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def keys() -> KeySet:
    return KeySet.generate()


@pytest.fixture
def settings(redis_url: str, database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        redis_url=redis_url,
        database_url=database_url,
        signing_key_file=str(tmp_path / "signing-key.pem"),
        db_pool_min=1,
        db_pool_max=30,
        join_rate_per_minute=0,  # tests join from one address; tests/waiting_room/test_flood.py sets a limit
        redis_mode="cluster" if REDIS_MODE == "cluster" else "standalone",
    )


@pytest.fixture
def app(settings: Settings, keys: KeySet) -> Litestar:
    return create_app(settings, keys=keys)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium for this test, closed at its end."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def kezek_server(redis_server_url: str, tmp_path: Path) -> Iterator[ServerFactory]:
    """Starts ``kezek serve`` for this test: ``kezek_server(database_url, redis_url, name="serve", **options)``.

    Returns a :class:`devservices.KezekServer` that is ready (``/ready`` answers and every worker has
    started), in ``tmp_path / name`` (two servers of one test: two names); ``options`` are its own
    (``workers``, ``server``, ``key_file``, settings as ``name="value"``).  A test's servers share one
    signing key, ``tmp_path / "signing-key.pem"``, as a deployment's nodes do.  On the suite's Redis
    they speak the suite's Redis mode (a cluster in the cluster pass).  Whatever still runs at the end
    of the test is stopped by its PID; ``with kezek_server(...) as server:`` stops it earlier.
    """
    started: list[KezekServer] = []

    def start(database_url: str, redis_url: str, *, name: str = "serve", **options: Any) -> KezekServer:
        if redis_url == redis_server_url:
            options.setdefault("redis_mode", "cluster" if REDIS_MODE == "cluster" else "standalone")
        options.setdefault("key_file", tmp_path / "signing-key.pem")
        server = KezekServer(tmp_path / name, database_url, redis_url, **options)
        started.append(server)
        return server.start()

    yield start
    for server in reversed(started):
        server.stop()
