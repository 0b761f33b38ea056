"""Background work an app worker runs beside serving HTTP: the contingent outbox publisher.

Every worker may run one; lease-based claiming (``FOR UPDATE SKIP LOCKED``,
then committed) lets them and ``kezek publish-outbox`` share the outbox.
Started after the PostgreSQL pool (lifespans run in order) and stopped before
it closes.  The publisher's Prometheus metrics live here, at the edge: the
domain reports each round to :func:`observe_round`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from prometheus_client import Counter, Gauge

from admission.contingent import ContingentStore, Delivery, PostgresContingentStore, Publisher
from admission.contingent.http_store import HttpContingentStore
from admission.contingent.publisher import Lag, Round
from admission.db import Pool
from queue_service.settings import Settings

# Every worker measures the same outbox: with several worker processes the newest measurement counts.
LAG_SECONDS = Gauge(
    "kezek_contingent_outbox_lag_seconds",
    "Age of the oldest undelivered contingent event (0 when none)",
    multiprocess_mode="mostrecent",
)
PENDING = Gauge(
    "kezek_contingent_outbox_pending", "Contingent events not yet delivered", multiprocess_mode="mostrecent"
)
DELIVERED = Counter("kezek_contingent_events_delivered", "Contingent events delivered to the store")
FAILED = Counter("kezek_contingent_delivery_failures", "Failed attempts to deliver a contingent event")


def observe_round(result: Round, lag: Lag) -> None:
    DELIVERED.inc(result.delivered)
    FAILED.inc(result.failed)
    LAG_SECONDS.set(lag.seconds)
    PENDING.set(lag.pending)


def contingent_store(settings: Settings, pool: Pool) -> ContingentStore:
    """The register over HTTP when ``KEZEK_CONTINGENT_URL`` is set, else the PostgreSQL stand-in."""
    if settings.contingent_url:
        return HttpContingentStore(
            settings.contingent_url,
            token=settings.contingent_token,
            timeout_seconds=settings.contingent_timeout_seconds,
        )
    return PostgresContingentStore(pool)


def publisher_for(settings: Settings, pool: Pool, **options: Any) -> Publisher:
    """The publisher to the store the settings name; ``options`` are :class:`Delivery` fields the
    caller sets itself (the CLI's batch, a worker's concurrency)."""
    delivery = Delivery(
        retention=dt.timedelta(days=settings.outbox_retention_days),
        # an HTTP delivery may take its retries: the per-event bound covers them all
        timeout_seconds=settings.contingent_timeout_seconds * 4 if settings.contingent_url else 10.0,
        **options,
    )
    return Publisher(pool, contingent_store(settings, pool), delivery)


async def close_store(publisher: Publisher) -> None:
    if isinstance(publisher.store, HttpContingentStore):
        await publisher.store.aclose()


def outbox_lifespan(settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if not settings.outbox_publisher:
            yield
            return
        # A few connections at most: the pool serves the requests first.
        publisher = publisher_for(settings, app.state.db, concurrency=4)
        stop = asyncio.Event()
        task = asyncio.create_task(
            publisher.run(stop, settings.outbox_poll_seconds, observe=observe_round), name="kezek-outbox-publisher"
        )
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
            await close_store(publisher)

    return lifespan
