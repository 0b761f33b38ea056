"""The rooms' 30-minute history behind the console's charts: one sample per bucket, old ones trimmed."""

from __future__ import annotations

import datetime as dt

import redis.asyncio as aioredis

from admission.iin import make_iin
from admission.reference import KZ
from admission.signing_keys import KeySet
from admission.waiting_room import RoomSettings, WaitingRoom
from admission.waiting_room.applicants import ApplicantRefs
from admission.waiting_room.tickets import TicketSigner
from admission.waiting_room.visitors import Visitors
from queue_service.console import history
from queue_service.console.charts import chart


async def test_samples_are_one_per_bucket_trimmed_after_30_minutes_and_give_the_admission_rate(
    redis_client: aioredis.Redis, keys: KeySet
) -> None:
    room = WaitingRoom(redis_client)
    start = dt.datetime(2026, 6, 1, 10, 0, tzinfo=KZ)
    opens, closes = dt.datetime(2026, 5, 27, tzinfo=KZ), dt.datetime(2026, 9, 1, tzinfo=KZ)
    await room.ensure("astana", opens, closes, RoomSettings(max_active=2), now=start)
    visitors = Visitors(room, TicketSigner(b"k" * 32), keys, ApplicantRefs(b"r" * 32), regions=["astana"])
    await history.sample(redis_client, visitors, start - dt.timedelta(minutes=40))  # will be trimmed
    await history.sample(redis_client, visitors, start)
    await history.sample(redis_client, visitors, start + dt.timedelta(seconds=1))  # same bucket: dropped
    for n in range(3):
        await room.join("astana", make_iin(dt.date(1987, 1, 1), True, n), start + dt.timedelta(seconds=30))
    later = start + dt.timedelta(seconds=60)
    await history.sample(redis_client, visitors, later)
    points = await history.read(redis_client, "astana", later)
    assert [p.at for p in points] == [start.timestamp(), later.timestamp()]
    assert (points[-1].active, points[-1].waiting, points[-1].max_active) == (2, 1, 2)
    assert len(await redis_client.hkeys(history.history_key("astana"))) == 2  # the 40-minute-old one is gone
    assert history.per_minute(points, points[-1].head, later) == 2.0  # two admitted in the last minute
    drawn = chart(points, later)
    assert drawn.waiting.count(",") == 2
    assert drawn.top == 10
