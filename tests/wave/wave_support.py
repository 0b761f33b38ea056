"""Helpers of the scale-out tests: ``kezek serve`` as production runs it, raw sockets, listen-socket figures."""

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


def status_of(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while status_of(url, timeout=2) != 200:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{what} did not answer {url} in {timeout:.0f} s:\n" + log.read_text()
        time.sleep(0.2)


class Server:
    def __init__(self, port: int, env: dict[str, str], proc: subprocess.Popen[bytes], log: Path) -> None:
        self.port = port
        self.host = f"http://127.0.0.1:{port}"
        self.env = env
        self.proc = proc
        self.log = log

    def worker_pids(self) -> list[int]:
        import psutil

        return [c.pid for c in psutil.Process(self.proc.pid).children(recursive=True)]


@contextlib.contextmanager
def kezek_serve(
    database_url: str, redis_url: str, tmp_path: Path, name: str = "serve", *, workers: int = 2, **settings: str
) -> Iterator[Server]:
    """``kezek serve`` (granian) on a free port with ``KEZEK_<NAME>`` settings; stopped by its PID's group.

    The join rate limit is off unless a setting names it: every client of these tests is 127.0.0.1."""
    port = free_port()
    folder = tmp_path / name
    (folder / "metrics").mkdir(parents=True)
    env = {
        **os.environ,
        "KEZEK_DATABASE_URL": database_url,
        "KEZEK_REDIS_URL": redis_url,
        "KEZEK_SIGNING_KEY_FILE": str(tmp_path / "signing-key.pem"),
        "KEZEK_HOST": "127.0.0.1",
        "KEZEK_PORT": str(port),
        "KEZEK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "KEZEK_WORKERS": str(workers),
        "KEZEK_LOG_LEVEL": "WARNING",
        "KEZEK_JOIN_RATE_PER_MINUTE": "0",  # every simulated family joins from 127.0.0.1 (a setting may override)
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        **{f"KEZEK_{key.upper()}": value for key, value in settings.items()},
    }
    log = folder / "service.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN / "kezek"), "serve"], env=env, stdout=out, stderr=out, start_new_session=True)
    server = Server(port, env, proc, log)
    try:
        _wait_ready(f"{server.host}/ready", proc, log, "kezek serve", 60)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def listen_queue(port: int) -> tuple[int, int]:
    """(connections waiting in the accept queue, its size) of the socket listening on ``port`` (``ss -lnt``)."""
    out = subprocess.run(["ss", "-Hlnt", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    fields = out.split()
    return int(fields[1]), int(fields[2])


@contextlib.contextmanager
def haproxy(nodes: list[Server], tmp_path: Path, request_timeout: str = "10s") -> Iterator[str]:
    """HAProxy with ``deploy/haproxy.cfg`` in front of two ``nodes``; yields its URL; stopped by its PID."""
    import shutil

    port = free_port()
    env = {
        **os.environ,
        "KEZEK_LB_BIND": f"127.0.0.1:{port}",
        "KEZEK_LB_REQUEST_TIMEOUT": request_timeout,
        "KEZEK_LB_KEEP_ALIVE": "45s",
        "KEZEK_LB_MAXCONN": "4000",
        "KEZEK_NODE1": f"127.0.0.1:{nodes[0].port}",
        "KEZEK_NODE2": f"127.0.0.1:{nodes[1].port}",
    }
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    config = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"
    log = tmp_path / "haproxy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, "-db", "-f", str(config)], env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{url}/ready", proc, log, "haproxy", 30)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
