"""The Redis client factory (issue 13.5, 11.2): standalone, Sentinel and Redis Cluster, on real servers.

Rooms spread over a 3-master cluster and their Lua scripts run on the node owning each room's slot;
a restarted Redis costs a caller nothing (stale pooled connections are retried on fresh ones); the
Sentinel client finds the master and, after the master is killed, follows the failover.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from admission.iin import make_iin
from admission.waiting_room import WaitingRoom
from admission.waiting_room.keys import room_keys
from devservices.topologies import LocalRedisCluster, LocalSentinels, RedisProcess
from queue_service.resources import create_redis, redis_client
from queue_service.settings import Settings

REGIONS = ["astana", "almaty-city", "shymkent", "abai", "akmola", "aktobe", "atyrau", "karaganda", "pavlodar"]
NOW = dt.datetime(2026, 6, 1, 5, 0, tzinfo=dt.UTC)


def _parents(count: int) -> list[str]:
    return [make_iin(dt.date(1985, 1, 1) + dt.timedelta(days=i), i % 2 == 0, i) for i in range(count)]


async def _open(room: WaitingRoom, region: str, max_active: int) -> None:
    from admission.waiting_room import RoomSettings

    await room.ensure(
        region, NOW - dt.timedelta(hours=1), NOW + dt.timedelta(days=30), RoomSettings(max_active=max_active), now=NOW
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalRedisCluster]:
    with tempfile.TemporaryDirectory(prefix="kezek-cluster-") as tmp, LocalRedisCluster(Path(tmp)) as started:
        yield started


async def test_rooms_spread_over_the_cluster_and_each_rooms_scripts_run_on_its_node(
    cluster: LocalRedisCluster,
) -> None:
    client = create_redis(Settings(redis_url=cluster.url, redis_mode="cluster"))
    try:
        await client.ping()  # the client learns the slot map
        owner = {region: client.get_node_from_key(room_keys(region)[0]).port for region in REGIONS}  # type: ignore[attr-defined]
        # every key of a room is in one slot (the hash tag), and the rooms are spread over all three masters
        for region in REGIONS:
            assert len({client.keyslot(key) for key in room_keys(region)}) == 1  # type: ignore[attr-defined]
        assert set(owner.values()) == {node.port for node in cluster.nodes}

        room = WaitingRoom(client)
        parents = _parents(30)
        for region in REGIONS:
            await _open(room, region, max_active=5)
        # concurrent joins in every room at once: each room caps its own slots, in join order
        places = await asyncio.gather(*(room.join(r, p, NOW) for r in REGIONS for p in parents))
        by_region = {r: places[i * len(parents) : (i + 1) * len(parents)] for i, r in enumerate(REGIONS)}
        for region in REGIONS:
            statuses = [getattr(p, "status", None) for p in by_region[region]]
            assert statuses.count("admitted") == 5
            state = await room.state(region, NOW)
            assert (state.active, state.waiting) == (5, 25)

        # the room's data lives on the node that owns its slot, and on no other
        for region in REGIONS:
            for node in cluster.nodes:
                direct = aioredis.Redis(host="127.0.0.1", port=node.port)
                try:
                    keys = await direct.keys(f"*{{{region}}}*")
                finally:
                    await direct.aclose()
                assert bool(keys) == (node.port == owner[region]), (region, node.port)
    finally:
        await client.aclose()


async def test_a_redis_restart_is_retried_transparently_not_an_error(tmp_path: Path) -> None:
    """Pooled connections to a Redis that restarted are dead; the next commands still answer."""
    server = RedisProcess(tmp_path / "redis").start()
    client = create_redis(Settings(redis_url=f"redis://{server.address}/0", redis_max_connections=20))
    try:
        room = WaitingRoom(client)
        await _open(room, "astana", max_active=2)
        # several pooled connections, all of them open
        await asyncio.gather(*(client.ping() for _ in range(10)))
        server.kill()
        restarted = RedisProcess(tmp_path / "redis")
        restarted.port = server.port
        restarted.start()
        try:
            # the same client, the pool full of dead connections: every call answers, none raises
            answers = await asyncio.gather(*(client.ping() for _ in range(10)))
            assert answers == [True] * 10
            await _open(room, "astana", max_active=2)  # the script cache is empty too: loaded again
            place = await room.join("astana", _parents(1)[0], NOW)
            assert getattr(place, "status", None) == "admitted"
        finally:
            restarted.stop()
        # Redis gone for good: a clear connection error after the retries (the app answers 503), not a hang
        started = time.monotonic()
        with pytest.raises(redis.exceptions.ConnectionError):
            await client.ping()
        assert time.monotonic() - started < 30
    finally:
        await client.aclose()
        server.stop()


async def test_sentinel_mode_finds_the_master_and_follows_a_failover(tmp_path: Path) -> None:
    with LocalSentinels(tmp_path / "sentinel") as topology:
        settings = Settings(redis_mode="sentinel", redis_sentinels=topology.addresses, redis_sentinel_master="kezek")
        async with redis_client(settings) as client:
            room = WaitingRoom(client)
            await _open(room, "astana", max_active=1)
            parents = _parents(3)
            first = await room.join("astana", parents[0], NOW)
            second = await room.join("astana", parents[1], NOW)
            assert [getattr(p, "status", None) for p in (first, second)] == ["admitted", "waiting"]
            assert await client.execute_command("WAIT", 1, 5000) == 1  # the replica has it all
            old_master = topology.master_port()

            topology.master.kill()  # kill -9 the master; the Sentinels promote the replica
            deadline = time.monotonic() + 60
            while True:
                try:
                    again = await room.join("astana", parents[1], NOW)  # the same client, no restart
                    break
                except (
                    redis.exceptions.ConnectionError,
                    redis.exceptions.TimeoutError,
                    redis.exceptions.ReadOnlyError,
                ):
                    assert time.monotonic() < deadline, "the client never reached the new master"
                    await asyncio.sleep(0.5)
            assert topology.master_port() != old_master
            # the waiting visitor kept its place on the promoted replica; a newcomer queues behind it
            assert getattr(again, "seq", None) == getattr(second, "seq", 0)
            third = await room.join("astana", parents[2], NOW)
            assert getattr(third, "seq", 0) > getattr(second, "seq", 0)
