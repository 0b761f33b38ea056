"""Background work an app worker runs beside serving HTTP: the contingent outbox publisher.

Every worker may run one; ``FOR UPDATE SKIP LOCKED`` claiming lets them (and
``kezek publish-outbox``) share the outbox.  Started after the PostgreSQL
pool (lifespans run in order) and stopped before it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar

from admission.contingent import PostgresContingentStore, Publisher
from queue_service.settings import Settings


def outbox_lifespan(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if not settings.outbox_publisher:
            yield
            return
        pool = app.state.db
        # A few connections at most: the pool serves the requests first.
        publisher = Publisher(pool, PostgresContingentStore(pool), concurrency=4)
        stop = asyncio.Event()
        task = asyncio.create_task(publisher.run(stop, settings.outbox_poll_seconds), name="kezek-outbox-publisher")
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)

    return lifespan
