"""The slot is the right to file, and a slot whose holder is gone is free again within a minute."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from typing import Any

import httpx
import msgspec
import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from room_helpers import DURING, SlotWatch, first_grade_classes, iins, open_room

from admission.iin import make_iin
from admission.waiting_room import RoomSettings, WaitingRoom
from admission.waiting_room.keys import room_keys
from devservices import ServerFactory
from queue_service.settings import Settings

MAX_ACTIVE = 8
CHILDREN_PER_SLOT = 3
LEASE = 6  # s: the slots' lease in the concurrency test (long enough for a loaded machine)
_children = itertools.count(1)


def child() -> str:
    return make_iin(dt.date(2020, 2, 1) + dt.timedelta(days=next(_children) // 900), True, next(_children) % 900)


async def _active(redis: aioredis.Redis) -> set[str]:
    return {m.decode() for m in await redis.zrange(room_keys("astana")[3], 0, -1)}


async def test_a_slot_whose_holder_is_gone_is_free_again_within_a_minute(
    room: WaitingRoom, redis_client: aioredis.Redis
) -> None:
    assert RoomSettings().session_ttl <= 60  # the default lease: a closed tab's slot is free within a minute
    await open_room(room, max_active=1, abandon_after=3600)
    holder, following = iins(2)
    await room.join("astana", holder, DURING)
    await room.join("astana", following, DURING)
    place = await room.visit("astana", holder, DURING)  # came for the slot: the lease starts
    # the form heartbeats every quarter of the lease for ten minutes: the slot is kept
    now = DURING
    for _ in range(50):
        now += dt.timedelta(seconds=RoomSettings().session_ttl / 4)
        assert await room.heartbeat("astana", holder, place.jti, now) is not None
        assert (await room.sweep("astana", now)).expired == 0
    # the tab is closed (or its worker crashed, or the release was lost): a minute later the next family
    # holds the slot, with nobody polling, and the old token renews nothing
    report = await room.sweep("astana", now + dt.timedelta(seconds=60))
    assert (report.expired, report.admitted) == (1, 1)
    assert await _active(redis_client) == {following}
    assert await room.heartbeat("astana", holder, place.jti, now + dt.timedelta(seconds=60)) is None


async def test_the_room_keeps_no_iin_in_clear(
    redis_client: aioredis.Redis, rooms: Any, ministry: dict[str, str]
) -> None:
    await rooms.patch("/v1/admin/rooms/astana", json={"max_active": 2}, headers=ministry)
    people = iins(6, start=4000)
    views = [(await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": iin})).json() for iin in people]
    token = views[0]["access_token"]
    form = {"applicant_iin": people[0], "child_iin": child(), "school_bin": "x", "language": "kk", "consent": True}
    await rooms.post("/v1/applications", json=form, headers={"Authorization": f"Bearer {token}"})
    stored: list[bytes] = []
    async for key in redis_client.scan_iter("kezek:room:*"):
        kind = (await redis_client.type(key)).decode()
        if kind == "hash":
            found = [x for pair in (await redis_client.hgetall(key)).items() for x in pair]
        elif kind == "zset":
            found = await redis_client.zrange(key, 0, -1)
        elif kind == "list":
            found = await redis_client.lrange(key, 0, -1)
        elif kind == "string":  # the fingerprint of the PostgreSQL truth the room follows
            found = [await redis_client.get(key) or b""]
        else:
            assert kind == "set"
            found = list(await redis_client.smembers(key))  # type: ignore[misc]
        stored += [key, *found]
    everything = b"\n".join(stored)
    assert len(stored) > 20
    assert not [iin for iin in [*people, form["child_iin"]] if iin.encode() in everything]
    assert not [iin for iin in people if any(iin in v["ticket"] for v in views)]


class Filing:
    __slots__ = ("child", "family", "received", "sent", "status", "token_kind")

    def __init__(self, family: str, child: str, token_kind: str) -> None:
        self.family, self.child, self.token_kind = family, child, token_kind
        self.sent = time.monotonic()
        self.received = 0.0
        self.status = 0


@pytest.mark.timeout(180)
async def test_filing_at_once_never_exceeds_the_slots_and_each_slot_files_for_three_children_at_most(
    settings: Settings,
    astana_open_now: None,
    kezek_server: ServerFactory,
    redis_client: aioredis.Redis,
    database_url: str,
) -> None:
    schools = await first_grade_classes(database_url)
    room = WaitingRoom(redis_client)
    filings: list[Filing] = []
    with kezek_server(settings.database_url, settings.redis_url, outbox_publisher="0", room_sweep_ms="100") as server:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as http:
            await room.configure("astana", {"max_active": MAX_ACTIVE, "session_ttl": LEASE, "abandon_after": 600})

            async def file(family: str, token: str, kid: str, kind: str) -> Filing:
                school = schools[hash(kid) % len(schools)]
                record = Filing(family, kid, kind)
                filings.append(record)
                body = {"applicant_iin": family, "child_iin": kid, "school_bin": school["school_bin"],
                        "language": school["language"], "consent": True}  # fmt: skip
                answer = await http.post("/v1/applications", json=body, headers={"Authorization": f"Bearer {token}"})
                record.received, record.status = time.monotonic(), answer.status_code
                if answer.status_code == 401:
                    assert answer.json()["code"] == "session_ended"
                return record

            async def heartbeat(token: str) -> str:
                beat = await http.post(
                    "/v1/rooms/astana/sessions/heartbeat", headers={"Authorization": f"Bearer {token}"}
                )
                assert beat.status_code == 200, beat.text
                return str(beat.json()["access_token"])

            async def family_visit(family: str, view: dict[str, Any], behaviour: str) -> None:
                while view["status"] == "waiting":
                    await asyncio.sleep(0.1)
                    view = (
                        await http.get(
                            "/v1/rooms/astana/visitors/me", headers={"Authorization": f"Bearer {view['ticket']}"}
                        )
                    ).json()
                assert view["status"] == "admitted", view
                token = await heartbeat(view["access_token"])
                if behaviour == "releases":  # leaves, then tries to file anyway
                    await http.delete("/v1/rooms/astana/sessions/me", headers={"Authorization": f"Bearer {token}"})
                    await file(family, token, child(), "released")
                elif behaviour == "expires":  # the tab goes quiet past the lease, then files
                    await asyncio.sleep(LEASE + 1.5)
                    await file(family, token, child(), "expired")
                else:  # five children at once, each sent twice (the parent double-clicks), on one token
                    kids = [child() for _ in range(5)]
                    await asyncio.gather(*(file(family, token, kid, "live") for kid in [*kids, *kids]))
                    # the slot ended with its third child: a later child is refused, a repeat is not
                    late = await file(family, token, child(), "after_limit")
                    assert late.status == 401

            people = iins(40, start=6000)
            behaviours = ["releases", "expires", "live", "live", "live"] * 8
            views = [
                (await http.post("/v1/rooms/astana/visitors", json={"applicant_iin": iin})).json() for iin in people
            ]
            async with SlotWatch(redis_client) as slots:
                await asyncio.gather(*(family_visit(*args) for args in zip(people, views, behaviours, strict=True)))

    assert slots.peak <= MAX_ACTIVE
    assert 500 not in {f.status for f in filings}
    # released and expired tokens always 401; a live slot files for at most three children
    assert {f.status for f in filings if f.token_kind in ("released", "expired", "after_limit")} == {401}
    per_family: dict[str, set[str]] = {}
    for f in filings:
        if f.token_kind == "live" and f.status != 401:
            per_family.setdefault(f.family, set()).add(f.child)
    assert len(per_family) == 24
    assert {len(kids) for kids in per_family.values()} == {CHILDREN_PER_SLOT}
    # families filing at once (a filing let through, from sending to its answer) never exceed max_active
    events = sorted(
        [(f.sent, 1, f.family) for f in filings if f.status != 401]
        + [(f.received, -1, f.family) for f in filings if f.status != 401]
    )
    in_flight: dict[str, int] = {}
    most = 0
    for _, step, family in events:
        in_flight[family] = in_flight.get(family, 0) + step
        most = max(most, sum(1 for n in in_flight.values() if n > 0))
    assert most <= MAX_ACTIVE


class RedisCalls:
    """The commands clients send Redis (its MONITOR), between two markers the test sends; the commands a
    Lua script runs inside are not round trips and are left out."""

    def __init__(self, redis: Any) -> None:
        self.client = redis
        self.node: aioredis.Redis | None = None

    async def __aenter__(self) -> RedisCalls:
        """On a cluster, watch the node owning the room's keys (the filing's round trips all go there)."""
        if isinstance(self.client, RedisCluster):
            await self.client.initialize()
            owner = self.client.get_node_from_key(room_keys("astana")[0])
            self.node = aioredis.Redis(host=owner.host, port=owner.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.node is not None:
            await self.node.aclose()

    async def during(self, action: Any) -> tuple[Any, list[str]]:
        redis = self.node or self.client
        async with redis.monitor() as monitor:
            collected: list[str] = []

            async def collect() -> None:
                async for info in monitor.listen():
                    collected.append(f"{info['client_type']} {info['command']}")
                    if "kezek-test-end" in info["command"]:
                        return

            collecting = asyncio.create_task(collect())
            await asyncio.sleep(0.2)  # MONITOR is on before the action starts
            await redis.echo("kezek-test-start")
            result = await action()
            await redis.echo("kezek-test-end")
            await asyncio.wait_for(collecting, 10)
        begun = next(i for i, line in enumerate(collected) if "kezek-test-start" in line)
        between = [line for line in collected[begun + 1 : -1] if not line.startswith("lua ")]
        return result, between


async def test_filing_checks_and_uses_the_slot_in_one_redis_call(
    settings: Settings, keys: Any, astana_open_now: None, redis_client: aioredis.Redis, database_url: str
) -> None:
    """One round trip on the filing path (issue 12.1); the slot's last child adds the release that hands
    the slot on.  The app's sweeper and snapshot are slowed to a minute, so only the filings run."""
    from litestar.testing import AsyncTestClient

    from queue_service.app import create_app

    school = (await first_grade_classes(database_url))[0]
    quiet = msgspec.structs.replace(settings, room_snapshot_ms=60_000, room_sweep_ms=60_000)
    async with AsyncTestClient(app=create_app(quiet, keys=keys)) as client, RedisCalls(redis_client) as calls:
        costs: list[list[str]] = []
        # the first family loads the scripts into Redis (NOSCRIPT, SCRIPT LOAD); the second is measured
        for parent in iins(2, start=9100):
            view = (await client.post("/v1/rooms/astana/visitors", json={"applicant_iin": parent})).json()
            assert view["status"] == "admitted", view
            bearer = {"Authorization": f"Bearer {view['access_token']}"}
            costs = []
            for _ in range(CHILDREN_PER_SLOT):
                body = {"applicant_iin": parent, "child_iin": child(), **school, "consent": True}
                filed, sent = await calls.during(
                    lambda body=body, bearer=bearer: client.post("/v1/applications", json=body, headers=bearer)
                )
                costs.append(sent)
                assert filed.status_code == 201, filed.text
            late = {"applicant_iin": parent, "child_iin": child(), **school, "consent": True}
            ended = await client.post("/v1/applications", json=late, headers=bearer)
            assert (ended.status_code, ended.json()["code"]) == (401, "session_ended")
    # one script call per filing; the third child's filing also releases the slot: one call more
    shown = [[line[:70] for line in sent] for sent in costs]
    assert [len(sent) for sent in costs] == [1, 1, 2], shown
    assert all(line.startswith("tcp EVALSHA ") for sent in costs for line in sent), shown
