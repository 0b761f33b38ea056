"""Fault tests' tools: throwaway servers the test may kill -9, a prepared database, ИИНs.

The served app (``kezek serve``, granian) is the ``kezek_server`` fixture of ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from admission import db as database
from admission import reference
from admission.iin import make_iin
from devservices import LocalPostgres, LocalRedis


def prepare_database(url: str, *, open_region: str = "astana") -> None:
    """Migrate, load the reference data and open ``open_region``'s window now."""

    async def work() -> None:
        conn = await asyncpg.connect(url)
        try:
            await database.migrate(conn)
            await reference.load_reference(conn)
            now = dt.datetime.now(dt.UTC)
            await reference.set_window(conn, open_region, now - dt.timedelta(minutes=1), now + dt.timedelta(days=1))
        finally:
            await conn.close()

    # also from inside a running event loop (an async test): in a thread of its own
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, work()).result()


@contextlib.contextmanager
def own_servers(tmp: Path) -> Iterator[tuple[LocalRedis, LocalPostgres]]:
    """A Redis (append-only) and a PostgreSQL (commits acknowledged once written) this test may kill -9."""
    with LocalRedis(tmp / "redis") as redis_server, LocalPostgres(tmp / "postgres", durable=True) as postgres:
        prepare_database(postgres.url)
        yield redis_server, postgres


def parents(count: int, start: int = 0) -> list[str]:
    return [make_iin(dt.date(1984, 1, 1) + dt.timedelta(days=start + i), i % 2 == 0, 100 + i) for i in range(count)]


def children_iins(count: int, start: int = 0) -> list[str]:
    return [make_iin(dt.date(2020, 1, 1) + dt.timedelta(days=start + i), i % 2 == 0, 200 + i) for i in range(count)]
