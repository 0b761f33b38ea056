"""Fault tests' tools: a served app (``kezek serve``, granian) and throwaway servers the test may kill -9."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import asyncpg
import httpx

from admission import db as database
from admission import reference
from admission.iin import make_iin
from admission.keys import KeySet, mint_admin_token
from devservices import LocalPostgres, LocalRedis, free_port

KEZEK = Path(sys.executable).parent / "kezek"


def children(pid: int) -> list[int]:
    """The PIDs whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class Served:
    """``kezek serve`` (granian, ``workers`` processes) in its own process group, stopped by its PID.

    Its signing key, log and settings (``KEZEK_<NAME>`` from ``settings``) live in ``folder``.
    """

    def __init__(self, database_url: str, redis_url: str, folder: Path, *, workers: int = 2, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "server.log"
        self.workers = workers
        key_file = folder / "key.pem"
        self.keys = KeySet.load_or_create(key_file)
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("KEZEK_", "PROMETHEUS_"))}
        self.env = clean | {
            "KEZEK_PORT": str(self.port),
            "KEZEK_LOG_LEVEL": "WARNING",
            "KEZEK_DB_POOL_MIN": "1",
            "KEZEK_DATABASE_URL": database_url,
            "KEZEK_REDIS_URL": redis_url,
            "KEZEK_SIGNING_KEY_FILE": str(key_file),
            "KEZEK_JOIN_RATE_PER_MINUTE": "0",  # every family of a test joins from 127.0.0.1
            **{f"KEZEK_{name.upper()}": value for name, value in settings.items()},
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def admin(self, role: Literal["ministry"] = "ministry") -> dict[str, str]:
        """Headers of a ministry admin."""
        return {"Authorization": f"Bearer {mint_admin_token(self.keys, 'qa', role)}"}

    def __enter__(self) -> Served:
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(KEZEK), "serve", "--server", "granian", "--workers", str(self.workers)],
                env=self.env, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        self.wait_ready(60)
        deadline = time.monotonic() + 30
        while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def wait_ready(self, timeout: float) -> float:
        """Seconds until ``/ready`` answered 200."""
        started = time.monotonic()
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return time.monotonic() - started
            assert self.proc is not None
            assert self.proc.poll() is None, f"the server exited:\n{self.log.read_text()[-3000:]}"
            assert time.monotonic() - started < timeout, f"not ready in {timeout} s:\n{self.log.read_text()[-3000:]}"
            time.sleep(0.1)

    def granian_pid(self) -> int:
        """granian's main process: ``kezek serve`` itself (1 worker) or its child (it supervises several)."""
        assert self.proc is not None
        if self.workers == 1:
            return self.proc.pid
        (main,) = children(self.proc.pid)
        return main

    def worker_pids(self) -> list[int]:
        with contextlib.suppress(ValueError):
            return children(self.granian_pid())
        return []


def prepare_database(url: str, *, open_region: str = "astana") -> None:
    """Migrate, load the reference data and open ``open_region``'s window now."""

    async def work() -> None:
        conn = await asyncpg.connect(url)
        try:
            await database.migrate(conn)
            await reference.load_reference(conn)
            now = dt.datetime.now(dt.UTC)
            await reference.set_window(conn, open_region, now - dt.timedelta(minutes=1), now + dt.timedelta(days=1))
        finally:
            await conn.close()

    # also from inside a running event loop (an async test): in a thread of its own
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, work()).result()


@contextlib.contextmanager
def own_servers(tmp: Path) -> Iterator[tuple[LocalRedis, LocalPostgres]]:
    """A Redis (append-only) and a PostgreSQL (commits acknowledged once written) this test may kill -9."""
    with LocalRedis(tmp / "redis") as redis_server, LocalPostgres(tmp / "postgres", durable=True) as postgres:
        prepare_database(postgres.url)
        yield redis_server, postgres


def parents(count: int, start: int = 0) -> list[str]:
    return [make_iin(dt.date(1984, 1, 1) + dt.timedelta(days=start + i), i % 2 == 0, 100 + i) for i in range(count)]


def children_iins(count: int, start: int = 0) -> list[str]:
    return [make_iin(dt.date(2020, 1, 1) + dt.timedelta(days=start + i), i % 2 == 0, 200 + i) for i in range(count)]
