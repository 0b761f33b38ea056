"""Faults: Redis killed (-9) mid-surge and restarted empty or from its append-only file, against a real
server (granian, 2 workers): no ticket holder loses its place, the order among them holds, slot holders
keep their slots, the slots never exceed ``max_active``, every answer meanwhile is a 503 with Retry-After."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import ConstantBackoff
from room_helpers import KillableRedis, SlotWatch, iins

from admission.waiting_room import WaitingRoom
from devservices import ServerFactory
from queue_service.settings import Settings

MAX_ACTIVE = 10
RECOVERY_SECONDS = 10


class Client:
    """The parents' side: retries a 503 after its Retry-After as the waiting page does; keeps every status."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.statuses: list[int] = []
        self.unavailable: list[httpx.Response] = []

    async def once(self, method: str, path: str, token: str | None = None, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.request(method, path, headers=headers, json=body)
        self.statuses.append(response.status_code)
        if response.status_code == 503:
            self.unavailable.append(response)
        return response

    async def call(self, method: str, path: str, token: str | None = None, body: Any = None) -> httpx.Response:
        for _ in range(100):
            response = await self.once(method, path, token, body)
            if response.status_code != 503:
                return response
            await asyncio.sleep(min(float(response.headers["Retry-After"]), 0.2))
        raise AssertionError(f"{method} {path} answered 503 for too long")

    async def join(self, iin: str) -> dict[str, Any]:
        response = await self.call("POST", "/v1/rooms/astana/visitors", body={"applicant_iin": iin})
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def poll(self, ticket: str) -> dict[str, Any]:
        response = await self.call("GET", "/v1/rooms/astana/visitors/me", ticket)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


@pytest.fixture(params=["restarted_empty", "restarted_from_append_only_file"])
def redis_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KillableRedis]:
    server = KillableRedis(tmp_path / "redis", append_only=request.param != "restarted_empty")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def watched_room(redis_server: KillableRedis) -> AsyncIterator[tuple[WaitingRoom, SlotWatch]]:
    """The room on the killable Redis, and the slots held as sampled every few ms (across the outage)."""
    client = aioredis.Redis.from_url(
        redis_server.url,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(ConstantBackoff(0.05), 40),
        retry_on_error=[redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
    )
    watcher_client = aioredis.Redis.from_url(redis_server.url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        async with SlotWatch(watcher_client) as slots:
            yield WaitingRoom(client), slots
    finally:
        await client.aclose()
        await watcher_client.aclose()


@pytest.mark.timeout(240)
async def test_redis_killed_mid_surge_nobody_with_a_ticket_or_a_slot_loses_it(
    settings: Settings,
    astana_open_now: None,
    kezek_server: ServerFactory,
    redis_server: KillableRedis,
    watched_room: tuple[WaitingRoom, SlotWatch],
) -> None:
    room, slots_held = watched_room
    limits = {"max_active": MAX_ACTIVE, "arrival_grace": 600, "abandon_after": 600}
    env = {"room_recovery_seconds": str(RECOVERY_SECONDS), "room_sweep_ms": "200", "outbox_publisher": "0"}
    with kezek_server(settings.database_url, redis_server.url, **env) as server:  # its own Redis, killed
        async with httpx.AsyncClient(base_url=server.url, limits=httpx.Limits(max_connections=50), timeout=30) as http:
            parents = Client(http)
            await room.configure("astana", limits)
            # the surge: 120 families; 10 admitted (they arrive at the form), 110 waiting in join order
            families = iins(120, start=3000)
            views = [await parents.join(iin) for iin in families]
            admitted = [v for v in views if v["status"] == "admitted"]
            waiting = sorted((v for v in views if v["status"] == "waiting"), key=lambda v: v["position"])
            assert (len(admitted), [v["position"] for v in waiting]) == (MAX_ACTIVE, list(range(1, 111)))
            tokens = []
            for view in admitted:
                beat = await parents.call("POST", "/v1/rooms/astana/sessions/heartbeat", view["access_token"])
                assert beat.status_code == 200
                tokens.append(beat.json()["access_token"])

            if redis_server.append_only:
                await asyncio.sleep(1.5)  # appendfsync everysec: what was acknowledged a second ago is on disk
            redis_server.kill()
            await asyncio.sleep(0.5)  # older than every worker's snapshot of the room
            # Redis is gone: the room is paused, not broken -- 503 + Retry-After, problem+json, never 500
            outage = [
                await parents.once("GET", "/v1/rooms/astana/visitors/me", waiting[0]["ticket"]),
                await parents.once("POST", "/v1/rooms/astana/visitors", body={"applicant_iin": iins(1, 9000)[0]}),
                await parents.once("POST", "/v1/rooms/astana/sessions/heartbeat", tokens[0]),
            ]
            for answer in outage:
                assert answer.status_code == 503, answer.text
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert answer.json()["code"] == "queue_paused"
                assert int(answer.headers["Retry-After"]) >= 1
            redis_server.start()

            if not redis_server.append_only:
                # the rebuilt room's settings come from PostgreSQL (engineer truth's part); here, as set
                while (await parents.call("GET", "/v1/rooms/astana")).status_code != 200:
                    pass
                await room.configure("astana", limits)
            state = await room.state("astana")
            assert state.settings.max_active == MAX_ACTIVE
            # newcomers join after the loss; the slot holders come back with their tokens
            newcomers = [await parents.join(iin) for iin in iins(20, start=8000)]
            assert {v["status"] for v in newcomers} == {"waiting"}
            for token in tokens:
                beat = await parents.call("POST", "/v1/rooms/astana/sessions/heartbeat", token)
                assert beat.status_code == 200, beat.text
            # every ticket holder's next poll (all at once) keeps its place; once all are back, in the order
            # they joined, ahead of every newcomer
            polls = await asyncio.gather(*(parents.poll(v["ticket"]) for v in waiting))
            assert {p["status"] for p in polls} == {"waiting"}
            polls = await asyncio.gather(*(parents.poll(p["ticket"]) for p in polls))
            assert [(p["status"], p["position"]) for p in polls] == [("waiting", i) for i in range(1, 111)]
            await asyncio.sleep(0.5)  # older than every worker's snapshot of the room (newcomers' polls use it)
            later = await asyncio.gather(*(parents.poll(v["ticket"]) for v in newcomers))
            assert min(p["position"] for p in later) > 110

            # after the recovery grace, slots freed go to the survivors first, in their order
            if not redis_server.append_only:
                await asyncio.sleep(max(state.recovering_until - dt.datetime.now(dt.UTC).timestamp(), 0) + 0.3)
            for token in tokens:
                released = await parents.call("DELETE", "/v1/rooms/astana/sessions/me", token)
                assert released.status_code == 204
            await asyncio.sleep(0.5)  # older than every worker's snapshot of the room
            front = [await parents.poll(v["ticket"]) for v in waiting[:12]]
            assert [p["status"] for p in front] == ["admitted"] * 10 + ["waiting"] * 2
            assert [p["position"] for p in front[10:]] == [1, 2]

    assert slots_held.peak <= MAX_ACTIVE
    assert 500 not in parents.statuses
    assert all(int(r.headers["Retry-After"]) >= 1 for r in parents.unavailable)
