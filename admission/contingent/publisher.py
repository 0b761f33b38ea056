"""The publisher: delivers outbox events to the contingent store.

Each round claims a batch of due events with ``FOR UPDATE SKIP LOCKED`` (so
any number of publishers run side by side: one per app worker, plus
``kezek publish-outbox``), at most the oldest undelivered event per child, and
hands them to the store concurrently (they are all different children).  A
delivered event is marked in the same transaction that held its claim; a
failed one is retried after an exponential backoff, and the child's later
events wait behind it, so a revocation never overtakes its enrolment.  The
store is idempotent by event id, so a delivery repeated after a crash between
the store's answer and our commit changes nothing: every event takes effect
exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

import msgspec
from prometheus_client import Counter, Gauge

from admission.contingent.events import EVENT_DECODER, ContingentEvent
from admission.contingent.store import ContingentStore
from admission.db import QUERIES, Pool

log = logging.getLogger("kezek.contingent")

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


class Round(msgspec.Struct, frozen=True, kw_only=True):
    claimed: int
    delivered: int
    failed: int


class Publisher:
    def __init__(
        self,
        pool: Pool,
        store: ContingentStore,
        *,
        batch: int = 200,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 60.0,
        concurrency: int = 8,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.pool = pool
        self.store = store
        self.batch = batch
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.timeout_seconds = timeout_seconds
        self._slots = asyncio.Semaphore(concurrency)

    async def publish_once(self, now: dt.datetime | None = None) -> Round:
        """Claim one batch of due events and deliver it."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(QUERIES["outbox_claim"], now or dt.datetime.now(dt.UTC), self.batch)
            if not rows:
                return Round(claimed=0, delivered=0, failed=0)
            events = [(int(r["id"]), EVENT_DECODER.decode(r["event"])) for r in rows]
            outcomes = await asyncio.gather(*(self._deliver(event_id, event) for event_id, event in events))
            delivered = [event_id for (event_id, _), error in zip(events, outcomes, strict=True) if error is None]
            failed = [(event_id, error) for (event_id, _), error in zip(events, outcomes, strict=True) if error]
            done_at = dt.datetime.now(dt.UTC)
            if delivered:
                await conn.execute(QUERIES["outbox_mark_delivered"], delivered, done_at)
            if failed:
                await conn.execute(
                    QUERIES["outbox_mark_failed"],
                    [event_id for event_id, _ in failed],
                    [error for _, error in failed],
                    done_at,
                    self.backoff_seconds,
                    self.max_backoff_seconds,
                )
        DELIVERED.inc(len(delivered))
        FAILED.inc(len(failed))
        return Round(claimed=len(rows), delivered=len(delivered), failed=len(failed))

    async def _deliver(self, event_id: int, event: ContingentEvent) -> str | None:
        """None when the store took the event, else what went wrong."""
        try:
            async with self._slots:
                await asyncio.wait_for(self.store.apply(event_id, event), self.timeout_seconds)
        except Exception as exc:  # noqa: BLE001 - any failure of the store (an outside system) means "retry later"
            log.warning("contingent event %s not delivered: %s: %s", event_id, type(exc).__name__, exc)
            return f"{type(exc).__name__}: {exc}"[:500]
        return None

    async def measure_lag(self, now: dt.datetime | None = None) -> float:
        """Update the lag gauges; return the lag in seconds."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(QUERIES["outbox_lag"])
        assert row is not None
        oldest: dt.datetime | None = row["oldest"]
        lag = 0.0 if oldest is None else max(0.0, ((now or dt.datetime.now(dt.UTC)) - oldest).total_seconds())
        LAG_SECONDS.set(lag)
        PENDING.set(row["pending"])
        return lag

    async def drain(self) -> int:
        """Deliver until nothing is due now; return how many were delivered."""
        total = 0
        while True:
            result = await self.publish_once()
            total += result.delivered
            if result.claimed == 0 or result.delivered == 0:
                return total

    async def run(self, stop: asyncio.Event, poll_seconds: float = 0.5) -> None:
        """Publish until ``stop`` is set; sleeps ``poll_seconds`` when there is nothing to do."""
        while not stop.is_set():
            try:
                result = await self.publish_once()
                await self.measure_lag()
            except (OSError, TimeoutError, ConnectionError) as exc:
                log.warning("outbox publisher: database unavailable: %s", exc)
                result = Round(claimed=0, delivered=0, failed=0)
            except Exception:
                log.exception("outbox publisher round failed")
                result = Round(claimed=0, delivered=0, failed=0)
            if result.claimed < self.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_seconds)
