"""The resources a running app holds: Redis, the PostgreSQL pool, the signing keys.

Opened and closed by the app's lifespan (never at import time) and handed to
handlers as dependencies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import NamedDependency

from admission.db import Pool, create_pool, verify_migrations
from admission.keys import KeySet
from queue_service.settings import Settings


def redis_lifespan(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # A blocking pool: under a surge, requests wait for a connection instead of failing with
        # MaxConnectionsError once redis_max_connections commands are in flight.
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_max_connections,
            timeout=10,
            socket_connect_timeout=5,
            socket_timeout=10,
            health_check_interval=30,
        )
        client = aioredis.Redis.from_pool(pool)
        app.state.redis = client
        try:
            yield
        finally:
            await client.aclose()

    return lifespan


def postgres_lifespan(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url, settings.db_pool_min, settings.db_pool_max)
        try:
            async with pool.acquire() as conn:
                await verify_migrations(conn)  # never serve on a schema that differs from the shipped files
        except BaseException:
            await pool.close()
            raise
        app.state.db = pool
        try:
            yield
        finally:
            await pool.close()

    return lifespan


def provide_redis(state: State) -> aioredis.Redis:
    client: aioredis.Redis = state["redis"]
    return client


def provide_db(state: State) -> Pool:
    pool: Pool = state["db"]
    return pool


def provide_keys(state: State) -> KeySet:
    keys: KeySet = state["keyset"]
    return keys


def provide_settings(state: State) -> Settings:
    settings: Settings = state["settings"]
    return settings


# Handler parameter types: ``async def handler(db: DbDep, redis: RedisDep) -> ...``
DbDep = NamedDependency[Pool]
RedisDep = NamedDependency[aioredis.Redis]
KeysDep = NamedDependency[KeySet]
SettingsDep = NamedDependency[Settings]
