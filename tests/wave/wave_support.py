"""Helpers of the scale-out tests: HAProxy in front of nodes, listen-socket figures.

The nodes (``kezek serve``) are the ``kezek_server`` fixture of ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from devservices import KezekServer, free_port
from devservices.kezek import status_of


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while status_of(url, timeout=2) != 200:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{what} did not answer {url} in {timeout:.0f} s:\n" + log.read_text()
        time.sleep(0.05)


def listen_queue(port: int) -> tuple[int, int]:
    """(connections waiting in the accept queue, its size) of the socket listening on ``port`` (``ss -lnt``)."""
    out = subprocess.run(["ss", "-Hlnt", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    fields = out.split()
    return int(fields[1]), int(fields[2])


@contextlib.contextmanager
def haproxy(nodes: list[KezekServer], tmp_path: Path, request_timeout: str = "10s") -> Iterator[str]:
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
