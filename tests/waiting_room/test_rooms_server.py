"""A real server process (granian, 2 workers) under 2,000 concurrent joins: the cap holds across workers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import redis.asyncio as aioredis
from devservices import free_port
from room_helpers import Call, http_many, iins

from admission.waiting_room import WaitingRoom
from admission.waiting_room.keys import room_keys
from queue_service.settings import Settings


@pytest.fixture
def server(settings: Settings, astana_open_now: None, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "KEZEK_REDIS_URL": settings.redis_url,
        "KEZEK_REDIS_MODE": settings.redis_mode,
        "KEZEK_DATABASE_URL": settings.database_url,
        "KEZEK_SIGNING_KEY_FILE": str(tmp_path / "key.pem"),
        "KEZEK_PORT": str(port),
        "KEZEK_LOG_LEVEL": "WARNING",
        "KEZEK_DB_POOL_MIN": "1",
        "KEZEK_OUTBOX_PUBLISHER": "0",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "server.log").open("w")
    kezek = Path(sys.executable).parent / "kezek"
    proc = subprocess.Popen(
        [str(kezek), "serve", "--server", "granian", "--workers", "2"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/v1/rooms/astana", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        time.sleep(1.0)  # both workers
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


async def test_two_thousand_concurrent_joins_over_http_two_workers_never_exceed_max_active(
    server: str, redis_client: aioredis.Redis
) -> None:
    await WaitingRoom(redis_client).configure("astana", {"max_active": 50})
    people = iins(2000, start=5000)
    peak = 0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, await redis_client.zcard(room_keys("astana")[3]))
            await asyncio.sleep(0.005)

    host, port = server.removeprefix("http://").split(":")
    watcher = asyncio.create_task(watch())
    joins = [Call("POST", "/v1/rooms/astana/visitors", msgspec.json.encode({"applicant_iin": iin})) for iin in people]
    answers = await http_many(host, int(port), joins, connections=200)
    done.set()
    await watcher
    assert {status for status, _ in answers} == {200}
    views = [view for _, view in answers]
    admitted = [v for v in views if v["status"] == "admitted"]
    assert len(admitted) == 50
    assert peak <= 50
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
