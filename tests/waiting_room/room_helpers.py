"""Waiting-room test helpers: Astana's window, a clock, ИИНs, an open room, its first-grade classes."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import redis.asyncio as aioredis
from http_helpers import read_response

from admission.iin import make_iin
from admission.reference import KZ
from admission.signing_keys import KeySet
from admission.waiting_room import RoomSettings, WaitingRoom
from admission.waiting_room.keys import room_keys
from devservices import find_binary, free_port, in_thread
from queue_service.app import create_app
from queue_service.settings import Settings

# Astana's window (pilot annex 2): 2026-05-27 00:00 to 2026-09-01 00:00, UTC+5.
ASTANA_OPENS = dt.datetime(2026, 5, 27, tzinfo=KZ)
ASTANA_CLOSES = dt.datetime(2026, 9, 1, tzinfo=KZ)
DURING = dt.datetime(2026, 6, 1, 10, 0, tzinfo=KZ)


def iins(count: int, start: int = 0) -> list[str]:
    """``count`` distinct valid ИИНs of parents born in the 1980s."""
    out: dict[str, None] = {}
    serial = start
    while len(out) < count:
        out[make_iin(dt.date(1985, 1, 1) + dt.timedelta(days=serial // 5000), serial % 2 == 0, serial % 5000)] = None
        serial += 1
    return list(out)


async def open_room(room: WaitingRoom, region: str = "astana", now: dt.datetime = DURING, **settings: object) -> None:
    """The room with Astana's annex-2 window and the given settings."""
    await room.ensure(region, ASTANA_OPENS, ASTANA_CLOSES, RoomSettings(**settings), now=now)  # type: ignore[arg-type]


async def first_grade_classes(database_url: str) -> list[dict[str, str]]:
    """Every first-grade class Astana's schools open, by BIN: an application's ``school_bin`` and ``language``."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT c.school_bin, c.language FROM school_classes c JOIN schools s ON s.bin = c.school_bin"
            " WHERE s.region_slug = 'astana' AND c.grade = 1 AND c.classes > 0 ORDER BY c.school_bin"
        )
    finally:
        await conn.close()
    assert rows, "the reference data opens no first-grade class in Astana"
    return [{"school_bin": row["school_bin"], "language": row["language"]} for row in rows]


class Call(msgspec.Struct, frozen=True):
    method: str
    path: str
    body: bytes = b""
    token: str = ""


async def http_many(host: str, port: int, calls: list[Call], connections: int = 100) -> list[tuple[int, Any]]:
    """Send ``calls`` over ``connections`` concurrent keep-alive HTTP/1.1 connections; (status, JSON) each.

    Asyncio streams rather than httpx (:mod:`http_helpers` says why).
    """
    results: list[tuple[int, Any]] = [(0, None)] * len(calls)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(calls)):
        queue.put_nowait(index)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while not queue.empty():
                index = queue.get_nowait()
                call = calls[index]
                auth = f"Authorization: Bearer {call.token}\r\n" if call.token else ""
                head = (
                    f"{call.method} {call.path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(call.body)}\r\n{auth}\r\n"
                )
                writer.write(head.encode() + call.body)
                status, body = await read_response(reader)
                results[index] = (status, msgspec.json.decode(body) if body else None)
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.gather(*(worker() for _ in range(min(connections, len(calls)))))
    return results


@contextlib.contextmanager
def live_app(settings: Settings, keys: KeySet) -> Iterator[str]:
    """The app on a real port (uvicorn in a thread) with these settings."""
    with in_thread(
        create_app(msgspec.structs.replace(settings, room_snapshot_ms=100, room_sweep_ms=200), keys=keys)
    ) as url:
        yield url


class KillableRedis:
    """A redis-server this test kills with SIGKILL and starts again on the same port and folder."""

    def __init__(self, directory: Path, *, append_only: bool) -> None:
        self.directory, self.append_only = directory, append_only
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "everysec"] if self.append_only else ["--appendonly", "no"]
        )
        self.proc = subprocess.Popen(
            [find_binary("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
             "--save", "", *persistence, "--logfile", str(self.directory / "redis.log")],
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
                ping = [find_binary("redis-cli"), "-p", str(self.port), "ping"]
                if subprocess.run(ping, capture_output=True, check=True).stdout.strip() == b"PONG":
                    return
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


class SlotWatch:
    """How many slots a room holds, sampled every ``every`` s while a test runs (errors of an outage skipped)."""

    def __init__(self, redis: aioredis.Redis, region: str = "astana", every: float = 0.005) -> None:
        self.redis, self.key, self.every = redis, room_keys(region)[3], every
        self.samples: list[int] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)

    async def _watch(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(aioredis.RedisError, OSError):
                self.samples.append(await self.redis.zcard(self.key))
            await asyncio.sleep(self.every)

    async def __aenter__(self) -> SlotWatch:
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
