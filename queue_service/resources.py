"""The resources a running app holds: Redis, the PostgreSQL pool, the signing keys.

Opened and closed by the app's lifespan (never at import time) and handed to
handlers as dependencies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

import redis.asyncio as aioredis
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import NamedDependency
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialWithJitterBackoff

from admission.db import Pool, create_pool, verify_migrations
from admission.signing_keys import KeySet
from queue_service.settings import Settings


class BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """The Sentinel-managed master's pool, blocking like the standalone one: under a surge a command
    waits (at most ``timeout``) for a free connection instead of failing once all are in use."""


def _retry(settings: Settings) -> Retry:
    """Connection errors and timeouts are retried on a fresh connection, 50 ms doubling to 1 s with jitter.

    A Redis restart, a Sentinel failover or a cluster slot moving leaves dead connections in the pools;
    the first command on one fails, the connection is dropped and the command sent again: the caller
    sees an answer, or a 503 once the retries are spent.
    """
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), settings.redis_retries)


# Every mode: connect within 5 s, an answer within 10 s, a connection idle for 30 s is PINGed before use.
_CONNECTION: dict[str, Any] = {"socket_connect_timeout": 5, "socket_timeout": 10, "health_check_interval": 30}


@asynccontextmanager
async def redis_client(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    """The Redis client ``KEZEK_REDIS_MODE`` selects (:func:`create_redis`), closed with all it opened."""
    client, sentinel = _create(settings)
    try:
        yield client
    finally:
        await client.aclose()
        for connection in sentinel.sentinels if sentinel is not None else []:
            await connection.aclose()


def create_redis(settings: Settings) -> aioredis.Redis:
    """The Redis client ``KEZEK_REDIS_MODE`` selects: standalone, Sentinel-managed master, or Redis Cluster.

    The cluster client routes each command (and each Lua script, by its keys' ``{hash tag}``) to the node
    owning the slot; it speaks the same commands as ``Redis``, so the app types it as one.  (In ``sentinel``
    mode the Sentinels' own connections stay open: :func:`redis_client` closes them too.)
    """
    return _create(settings)[0]


def _create(settings: Settings) -> tuple[aioredis.Redis, Sentinel | None]:
    if settings.redis_mode == "cluster":
        cluster = RedisCluster.from_url(
            settings.redis_url, max_connections=settings.redis_max_connections, retry=_retry(settings), **_CONNECTION
        )
        return cast(aioredis.Redis, cluster), None
    if settings.redis_mode == "sentinel":
        sentinels = [_host_port(item) for item in settings.redis_sentinels.split(",") if item.strip()]
        if not sentinels:
            raise ValueError("KEZEK_REDIS_MODE=sentinel needs KEZEK_REDIS_SENTINELS=host:port,...")
        auth: dict[str, Any] = {
            k: v for k, v in parse_url(settings.redis_url).items() if k in {"username", "password", "db"}
        }
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            sentinels, sentinel_kwargs={"socket_connect_timeout": 1, "socket_timeout": 1}
        )
        master = sentinel.master_for(
            settings.redis_sentinel_master, connection_pool_class=BlockingSentinelPool, timeout=10,
            max_connections=settings.redis_max_connections, retry=_retry(settings), **auth, **_CONNECTION,
        )  # fmt: skip
        return cast(aioredis.Redis, master), sentinel
    # A blocking pool: under a surge, requests wait for a connection instead of failing with
    # MaxConnectionsError once redis_max_connections commands are in flight.
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=10,
        retry=_retry(settings),
        **_CONNECTION,
    )
    return aioredis.Redis.from_pool(pool), None


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":")
    return (host.strip("[]") or "127.0.0.1", int(port or 26379))


def redis_lifespan(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with redis_client(settings) as client:
            app.state.redis = client
            yield

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


def from_state(key: str) -> Callable[[State], Any]:
    """A dependency provider handing handlers what a lifespan put in ``app.state[key]``.

    Assign it to a name typed with what the state holds (``provide_db: Callable[[State], Pool]``):
    the lifespan that stores the value is the one place that knows its type.
    """

    def provide(state: State) -> Any:
        return state[key]

    return provide


provide_redis: Callable[[State], aioredis.Redis] = from_state("redis")
provide_db: Callable[[State], Pool] = from_state("db")
provide_keys: Callable[[State], KeySet] = from_state("keyset")
provide_settings: Callable[[State], Settings] = from_state("settings")


# Handler parameter types: ``async def handler(db: DbDep, redis: RedisDep) -> ...``
DbDep = NamedDependency[Pool]
# a Redis or, on a Redis Cluster, a RedisCluster: no common base class, and the parameter validation takes
# one custom type (typed as Redis, a RedisCluster made /ready answer 500 on a cluster)
RedisDep = NamedDependency[Any]
KeysDep = NamedDependency[KeySet]
SettingsDep = NamedDependency[Settings]
