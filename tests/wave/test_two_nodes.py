"""Two app nodes behind a real HAProxy (``deploy/haproxy.cfg``), one Redis, one PostgreSQL (issue 13.5).

A ticket issued by one node is polled on the other; the sweepers of both nodes race to refill the
room and never admit above ``max_active``; each node's ``/metrics`` is scrapeable on its own; the
balancer cuts a connection that never sends its request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis
from wave_support import haproxy

from admission import reference
from admission.iin import make_iin
from admission.signing_keys import KeySet, mint_admin_token
from admission.waiting_room import WaitingRoom
from admission.waiting_room.keys import room_keys
from devservices import ServerFactory

MAX_ACTIVE = 5
ROUNDS = 4


def _parents(count: int) -> list[str]:
    return [make_iin(dt.date(1984, 3, 1) + dt.timedelta(days=i), i % 2 == 1, 100 + i) for i in range(count)]


def _sweeper_admissions(metrics: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("kezek_room_admitted_by_sweeper_total{") and 'region="astana"' in line
    )


async def test_two_nodes_behind_haproxy_share_tickets_and_the_cap(
    database_url: str, redis_url: str, tmp_path: Path, kezek_server: ServerFactory
) -> None:
    node_settings = {"room_sweep_ms": "50", "room_snapshot_ms": "0", "outbox_publisher": "0"}
    conn = await asyncpg.connect(database_url)
    try:
        await reference.open_demo_window(conn, "astana", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    finally:
        await conn.close()
    keys = KeySet.load_or_create(str(tmp_path / "signing-key.pem"))
    ministry = {"Authorization": f"Bearer {mint_admin_token(keys, 'qa', 'ministry')}"}
    with (
        kezek_server(database_url, redis_url, name="node1", workers=1, **node_settings) as node1,
        kezek_server(database_url, redis_url, name="node2", workers=1, **node_settings) as node2,
        haproxy([node1, node2], tmp_path, request_timeout="2s") as lb,
    ):
        redis = aioredis.Redis.from_url(redis_url)
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            # the balancer spreads requests over both nodes
            served_by = {(await http.get(f"{lb}/health")).headers["x-kezek-node"] for _ in range(10)}
            assert served_by == {"node1", "node2"}

            answer = await http.patch(f"{lb}/v1/admin/rooms/astana", json={"max_active": MAX_ACTIVE}, headers=ministry)
            assert answer.status_code == 200, answer.text
            parents = _parents(MAX_ACTIVE * (ROUNDS + 2))

            # a ticket issued by node1 is polled on node2, and the other way round
            first = (
                await http.post(f"{node1.host}/v1/rooms/astana/visitors", json={"applicant_iin": parents[0]})
            ).json()
            polled = await http.get(f"{node2.host}/v1/rooms/astana/visitors/me", headers=_bearer(first["ticket"]))
            assert polled.status_code == 200
            assert polled.json()["status"] == first["status"] == "admitted"
            second = (
                await http.post(f"{node2.host}/v1/rooms/astana/visitors", json={"applicant_iin": parents[1]})
            ).json()
            polled = await http.get(f"{node1.host}/v1/rooms/astana/visitors/me", headers=_bearer(second["ticket"]))
            assert (polled.status_code, polled.json()["status"]) == (200, "admitted")

            # everyone else joins through the balancer at once
            joined = await asyncio.gather(
                *(http.post(f"{lb}/v1/rooms/astana/visitors", json={"applicant_iin": p}) for p in parents[2:])
            )
            assert {j.status_code for j in joined} == {200}
            tickets = [first["ticket"], second["ticket"], *(j.json()["ticket"] for j in joined)]

            peak = 0
            watching = True

            async def watch() -> None:
                nonlocal peak
                while watching:
                    peak = max(peak, int(await redis.zcard(room_keys("astana")[3])))
                    await asyncio.sleep(0.002)

            watcher = asyncio.create_task(watch())
            room = WaitingRoom(redis)
            nodes = [node1.host, node2.host]
            try:
                for round_ in range(ROUNDS):
                    # who holds a slot now (fresh polls, spread over both nodes)
                    views = await asyncio.gather(
                        *(http.get(f"{nodes[i % 2]}/v1/rooms/astana/visitors/me", headers=_bearer(t))
                          for i, t in enumerate(tickets))
                    )  # fmt: skip
                    admitted = [v.json()["access_token"] for v in views if v.json()["status"] == "admitted"]
                    assert len(admitted) == MAX_ACTIVE, round_
                    # hold the room, free every slot (releases do not refill while held), lift the hold:
                    # only the two nodes' sweepers refill now, racing each other
                    await room.hold("astana", dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
                    released = await asyncio.gather(
                        *(http.delete(f"{nodes[i % 2]}/v1/rooms/astana/sessions/me", headers=_bearer(token))
                          for i, token in enumerate(admitted))
                    )  # fmt: skip
                    assert {r.status_code for r in released} == {204}
                    assert await redis.zcard(room_keys("astana")[3]) == 0
                    await redis.hset(room_keys("astana")[0], "hold_until", 0)  # lapse at once, no refill call
                    deadline = time.monotonic() + 30
                    while await redis.zcard(room_keys("astana")[3]) < MAX_ACTIVE:
                        assert time.monotonic() < deadline, "the sweepers did not refill the room"
                        await asyncio.sleep(0.01)
            finally:
                watching = False
                await watcher
            assert peak <= MAX_ACTIVE

            # each node's /metrics is scrapeable on its own, and together they saw every sweeper admission
            scraped = [await http.get(f"{node}/metrics") for node in nodes]
            assert [s.status_code for s in scraped] == [200, 200]
            assert all("kezek_room_active" in s.text for s in scraped)
            assert sum(_sweeper_admissions(s.text) for s in scraped) >= ROUNDS * MAX_ACTIVE
        await redis.aclose()

        # a client that connects and never sends its request is cut by the balancer's request timeout
        with socket.create_connection(("127.0.0.1", int(lb.rsplit(":", 1)[1]))) as sock:
            sock.settimeout(15)
            started = time.monotonic()
            received = b""
            while chunk := sock.recv(4096):
                received += chunk
            assert received.startswith(b"HTTP/1.1 408"), received  # then closed
            assert time.monotonic() - started < 15


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
