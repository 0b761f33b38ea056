"""Helpers of the load-test tests: serve the app as production does, run ``scripts/loadtest``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from devservices import free_port

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


class Served:
    def __init__(self, host: str, env: dict[str, str]) -> None:
        self.host = host
        self.env = env


@contextlib.contextmanager
def serve(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Served]:
    """``kezek serve`` (granian, 2 workers) on a free port, astana's window open now; stopped by its PID."""
    port = free_port()
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    env = {
        **os.environ,
        "KEZEK_DATABASE_URL": database_url,
        "KEZEK_REDIS_URL": redis_url,
        "KEZEK_SIGNING_KEY_FILE": str(tmp_path / "signing-key.pem"),
        "KEZEK_HOST": "127.0.0.1",
        "KEZEK_PORT": str(port),
        "KEZEK_JOIN_RATE_PER_MINUTE": "0",  # every simulated family comes from this one address
        "KEZEK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "KEZEK_WORKERS": "2",
        "KEZEK_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }
    kezek = str(BIN / "kezek")
    subprocess.run([kezek, "demo-window", "astana"], env=env, check=True, capture_output=True)
    subprocess.run([kezek, "generate-key"], env=env, check=True, capture_output=True)
    log_path = tmp_path / "service.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([kezek, "serve"], env=env, stdout=log, stderr=log, start_new_session=True)
    host = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while status_of(f"{host}/ready") != 200:
            assert server.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "kezek serve was not ready in 60 s"
            time.sleep(0.2)
        yield Served(host, env)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(5)


def run_loadtest(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loadtest.runner", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
