"""The publisher: delivers outbox events to the contingent store.

Each round claims a batch of due events -- at most the oldest undelivered
event per child -- with ``FOR UPDATE SKIP LOCKED`` and a lease
(``claimed_until``), and COMMITS the claim before it calls the store: no
transaction or row lock is held across a remote call, however long the store
hangs.  Any number of publishers run side by side (one per app worker, plus
``kezek publish-outbox``).  The events are handed to the store concurrently
(they are all different children); a delivered event is then marked
delivered, a failed one is retried after an exponential backoff, and the
child's later events wait behind it, so a revocation never overtakes its
enrolment.  A publisher that dies mid-delivery leaves a claim that lapses
after its lease (:attr:`Delivery.lease`) and the events go out again: the store is idempotent
by event id, so every event takes effect exactly once.  Delivered events are
pruned after ``Delivery.retention``.

Metrics are the edge's business: :meth:`Publisher.run` reports each round and
the outbox's lag to an ``observe`` callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Callable

import msgspec

from admission.contingent.events import EVENT_DECODER, ContingentEvent
from admission.contingent.store import ContingentStore
from admission.db import QUERIES, Pool

log = logging.getLogger("kezek.contingent")


class Round(msgspec.Struct, frozen=True, kw_only=True):
    claimed: int
    delivered: int
    failed: int


class Lag(msgspec.Struct, frozen=True, kw_only=True):
    pending: int
    """Events not yet delivered."""
    seconds: float
    """Age of the oldest undelivered event (0 when none)."""


Observer = Callable[[Round, Lag], None]


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """How a publisher claims and hands on events; the defaults suit the PostgreSQL stand-in
    (``queue_service.background.publisher_for`` sets the register's from the settings)."""

    batch: int = 200
    """Events claimed per round (at most the oldest undelivered one per child)."""
    backoff_seconds: float = 0.5
    """A failed event waits this long before its first retry, twice as long after each further failure..."""
    max_backoff_seconds: float = 60.0
    """...up to this."""
    concurrency: int = 8
    """Deliveries in flight at once."""
    timeout_seconds: float = 10.0
    """The bound on one event's delivery, waiting for a delivery slot included."""
    lease_seconds: float | None = None
    """How long a claim keeps its events from other publishers; None: :attr:`lease`'s bound."""
    retention: dt.timedelta = dt.timedelta(days=30)
    """How long a delivered event is kept before :meth:`Publisher.prune` removes it."""

    @property
    def lease(self) -> float:
        """The claim's lease in seconds: ``lease_seconds``, else long enough that a claim outlives
        every delivery of its batch (each bounded by the timeout, waiting for a slot included)."""
        batches = -(-self.batch // self.concurrency)
        return self.lease_seconds or self.timeout_seconds * (batches + 1) + 5


class Publisher:
    def __init__(self, pool: Pool, store: ContingentStore, delivery: Delivery | None = None) -> None:
        self.pool = pool
        self.store = store
        self.delivery = delivery or Delivery()
        self._slots = asyncio.Semaphore(self.delivery.concurrency)

    async def publish_once(self, now: dt.datetime | None = None) -> Round:
        """Claim one batch of due events (committed), deliver it outside any transaction, record the outcome."""
        claim = uuid.uuid4()
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                QUERIES["outbox_claim"], now or dt.datetime.now(dt.UTC), self.delivery.batch, self.delivery.lease, claim
            )
        if not rows:
            return Round(claimed=0, delivered=0, failed=0)
        events = sorted((int(r["id"]), EVENT_DECODER.decode(r["event"])) for r in rows)
        outcomes = await asyncio.gather(*(self._deliver(event_id, event) for event_id, event in events))
        delivered = [event_id for (event_id, _), error in zip(events, outcomes, strict=True) if error is None]
        failed = [(event_id, error) for (event_id, _), error in zip(events, outcomes, strict=True) if error]
        done_at = dt.datetime.now(dt.UTC)
        async with self.pool.acquire() as conn:
            if delivered:
                await conn.execute(QUERIES["outbox_mark_delivered"], delivered, done_at)
            if failed:
                await conn.execute(
                    QUERIES["outbox_mark_failed"],
                    [event_id for event_id, _ in failed],
                    [error for _, error in failed],
                    done_at,
                    self.delivery.backoff_seconds,
                    self.delivery.max_backoff_seconds,
                    claim,
                )
        return Round(claimed=len(rows), delivered=len(delivered), failed=len(failed))

    async def prune(self, now: dt.datetime | None = None, batch: int = 5000) -> int:
        """Remove events delivered longer than ``retention`` ago; return how many."""
        cutoff = (now or dt.datetime.now(dt.UTC)) - self.delivery.retention
        total = 0
        async with self.pool.acquire() as conn:
            while True:
                done = int((await conn.execute(QUERIES["outbox_prune"], cutoff, batch)).split()[-1])
                total += done
                if done < batch:
                    return total

    async def _deliver(self, event_id: int, event: ContingentEvent) -> str | None:
        """None when the store took the event, else what went wrong."""
        try:
            async with self._slots:
                await asyncio.wait_for(self.store.apply(event_id, event), self.delivery.timeout_seconds)
        except Exception as exc:  # noqa: BLE001 - any failure of the store (an outside system) means "retry later"
            log.warning("contingent event %s not delivered: %s: %s", event_id, type(exc).__name__, exc)
            return f"{type(exc).__name__}: {exc}"[:500]
        return None

    async def measure_lag(self, now: dt.datetime | None = None) -> Lag:
        """How many events wait and how old the oldest is."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(QUERIES["outbox_lag"])
        assert row is not None
        oldest: dt.datetime | None = row["oldest"]
        lag = 0.0 if oldest is None else max(0.0, ((now or dt.datetime.now(dt.UTC)) - oldest).total_seconds())
        return Lag(pending=int(row["pending"]), seconds=lag)

    async def drain(self) -> int:
        """Deliver until nothing is due now; return how many were delivered."""
        total = 0
        while True:
            result = await self.publish_once()
            total += result.delivered
            if result.claimed == 0 or result.delivered == 0:
                return total

    async def run(
        self,
        stop: asyncio.Event,
        poll_seconds: float = 0.5,
        observe: Observer | None = None,
        prune_every_seconds: float = 3600.0,
    ) -> None:
        """Publish until ``stop`` is set; sleeps ``poll_seconds`` when there is nothing to do.

        ``observe`` hears of every round and the outbox's lag after it; delivered events older
        than the retention are pruned once every ``prune_every_seconds``.
        """
        loop = asyncio.get_running_loop()
        next_prune = loop.time()
        while not stop.is_set():
            try:
                result = await self.publish_once()
                lag = await self.measure_lag()
                if observe is not None:
                    observe(result, lag)
                if loop.time() >= next_prune:
                    next_prune = loop.time() + prune_every_seconds
                    pruned = await self.prune()
                    if pruned:
                        log.info("pruned %d contingent events delivered before the retention period", pruned)
            except (OSError, TimeoutError, ConnectionError) as exc:
                log.warning("outbox publisher: database unavailable: %s", exc)
                result = Round(claimed=0, delivered=0, failed=0)
            except Exception:
                log.exception("outbox publisher round failed")
                result = Round(claimed=0, delivered=0, failed=0)
            if result.claimed < self.delivery.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_seconds)
