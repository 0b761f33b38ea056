"""Helpers of the load-test tests: serve the app as production does, run ``scripts/loadtest``."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.wave.wave_support import BIN, kezek_serve, status_of  # noqa: F401 (status_of: for the tests)

ROOT = Path(__file__).resolve().parents[2]


class Served:
    def __init__(self, host: str, env: dict[str, str]) -> None:
        self.host = host
        self.env = env


@contextlib.contextmanager
def serve(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Served]:
    """``kezek serve`` (granian, 2 workers) on a free port, astana's window open now; stopped by its PID."""
    env = {"KEZEK_DATABASE_URL": database_url, "KEZEK_SIGNING_KEY_FILE": str(tmp_path / "signing-key.pem")}
    subprocess.run([str(BIN / "kezek"), "demo-window", "astana"], env=env, check=True, capture_output=True)
    with kezek_serve(database_url, redis_url, tmp_path) as server:
        yield Served(server.host, server.env)


def run_loadtest(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loadtest.runner", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
