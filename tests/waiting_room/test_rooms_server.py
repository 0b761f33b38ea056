"""A real server process (granian, 2 workers) under 2,000 concurrent joins: the cap holds across workers."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
import redis.asyncio as aioredis
from room_helpers import Call, SlotWatch, http_many, iins

from admission.waiting_room import WaitingRoom
from admission.waiting_room.keys import room_keys
from devservices import ServerFactory
from queue_service.settings import Settings


@pytest.fixture
def server(settings: Settings, astana_open_now: None, kezek_server: ServerFactory) -> str:
    return kezek_server(settings.database_url, settings.redis_url, outbox_publisher="0").url


async def test_two_thousand_concurrent_joins_over_http_two_workers_never_exceed_max_active(
    server: str, redis_client: aioredis.Redis
) -> None:
    await WaitingRoom(redis_client).configure("astana", {"max_active": 50})
    people = iins(2000, start=5000)
    host, port = server.removeprefix("http://").split(":")
    joins = [Call("POST", "/v1/rooms/astana/visitors", msgspec.json.encode({"applicant_iin": iin})) for iin in people]
    async with SlotWatch(redis_client) as slots:
        answers = await http_many(host, int(port), joins, connections=200)
    assert {status for status, _ in answers} == {200}
    views = [view for _, view in answers]
    admitted = [v for v in views if v["status"] == "admitted"]
    assert len(admitted) == 50
    assert slots.peak <= 50
    assert sorted(v["position"] for v in views if v["status"] == "waiting") == list(range(1, 1951))

    # 20 of the admitted finish; the 20 at the front are admitted, the rest move up by 20 --
    # whichever worker answers their polls
    releases = [Call("DELETE", "/v1/rooms/astana/sessions/me", token=v["access_token"]) for v in admitted[:20]]
    assert {status for status, _ in await http_many(host, int(port), releases)} == {204}
    assert await redis_client.zcard(room_keys("astana")[3]) == 50
    await asyncio.sleep(0.6)  # older than any worker's snapshot
    waiting = [v for v in views if v["status"] == "waiting"]
    polls = await http_many(
        host, int(port), [Call("GET", "/v1/rooms/astana/visitors/me", token=v["ticket"]) for v in waiting]
    )
    for before, (status, after) in zip(waiting, polls, strict=True):
        assert status == 200
        if before["position"] <= 20:
            assert after["status"] == "admitted"
        else:
            assert (after["status"], after["position"]) == ("waiting", before["position"] - 20)
