"""The last 30 minutes of every room, for the admin console's charts.

Every worker samples each room every ``SAMPLE_SECONDS`` (one state read per
room) into a Redis hash per region, field = the sample's time bucket, written
with ``HSETNX`` so the first worker to sample a bucket wins and the others'
samples of it are dropped.  Samples older than ``KEEP_SECONDS`` are trimmed.
The waiting room's own scripts and keys are untouched: this reads the room as
``GET /v1/rooms/{region}`` does.

Key: ``kezek:console:{room:<region>}:history`` (the room's hash tag, so it
lives in the room's Redis Cluster slot), hash ``bucket -> JSON sample``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import redis.asyncio as aioredis
from litestar import Litestar
from redis.exceptions import RedisError

from admission.waiting_room.visitors import Visitors

log = logging.getLogger("kezek.console")

SAMPLE_SECONDS = 10
KEEP_SECONDS = 30 * 60


class Sample(msgspec.Struct, frozen=True, array_like=True):
    at: float
    """Unix seconds."""
    waiting: int
    active: int
    max_active: int
    head: int
    """Places taken off the queue so far (admitted, or skipped after leaving): its rise is the admission rate."""


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Sample)


def history_key(region: str) -> str:
    return f"kezek:console:{{room:{region}}}:history"


async def sample(redis: aioredis.Redis, visitors: Visitors, now: dt.datetime) -> None:
    """One sample of every room (the first worker to sample this bucket wins)."""
    ts = now.timestamp()
    bucket = int(ts // SAMPLE_SECONDS)
    oldest = bucket - KEEP_SECONDS // SAMPLE_SECONDS
    for region in sorted(visitors.regions):
        state = await visitors.room.state(region, now)
        point = Sample(ts, state.waiting, state.active, state.settings.max_active, state.head)
        key = history_key(region)
        if await redis.hsetnx(key, str(bucket), _ENCODER.encode(point)):
            stale = [field for field in await redis.hkeys(key) if int(field) < oldest]
            if stale:
                await redis.hdel(key, *stale)


async def read(redis: aioredis.Redis, region: str, now: dt.datetime) -> list[Sample]:
    """The room's samples of the last 30 minutes, oldest first."""
    raw: dict[Any, Any] = await redis.hgetall(history_key(region))
    since = now.timestamp() - KEEP_SECONDS
    points = sorted((_DECODER.decode(value) for value in raw.values()), key=lambda s: s.at)
    return [p for p in points if p.at >= since]


def per_minute(points: list[Sample], head_now: int, now: dt.datetime) -> float:
    """Places taken off the queue per minute over the last minute or so (0 with no sample that old)."""
    ts = now.timestamp()
    older = [p for p in points if ts - p.at >= 50]
    if not older:
        return 0.0
    base = older[-1]
    return round(max(head_now - base.head, 0) * 60 / (ts - base.at), 1)


async def sampler(redis: aioredis.Redis, visitors: Visitors, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await sample(redis, visitors, dt.datetime.now(dt.UTC))
        except (RedisError, OSError) as exc:
            log.warning("room history sample failed: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)


def history_lifespan() -> Any:
    """Needs ``app.state.visitors``: list it after the rooms' lifespan."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(sampler(app.state.redis, app.state.visitors, stop), name="room-history")
        try:
            yield
        finally:
            stop.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), 10)
            except TimeoutError:
                task.cancel()

    return lifespan
