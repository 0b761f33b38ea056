"""The README's run command: it comes up, answers /ready, and Ctrl-C leaves nothing running."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from devservices import free_port

ROOT = Path(__file__).resolve().parent.parent


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_run_command_serves_and_ctrl_c_stops_everything_it_started(tmp_path: Path) -> None:
    port = free_port()
    services = tmp_path / "services"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEZEK_")}
    env |= {"KEZEK_PORT": str(port), "KEZEK_SERVICES_DIR": str(services), "KEZEK_WORKERS": "2",
            "KEZEK_SIGNING_KEY_FILE": str(tmp_path / "key.pem")}  # fmt: skip
    with (tmp_path / "run.log").open("wb") as log:
        proc = subprocess.Popen([str(ROOT / "scripts" / "run")], cwd=ROOT, env=env, stdout=log, stderr=log,
                                start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        body = b""
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response,
            ):
                body = response.read()
                break
            assert proc.poll() is None, (tmp_path / "run.log").read_text()
            time.sleep(0.3)
        assert b'"status":"ok"' in body, (tmp_path / "run.log").read_text()
        urls = dict(line.split("=", 1) for line in Path(f"{services}.env").read_text().split())
        service_ports = [int(url.rsplit(":", 1)[1].split("/")[0]) for url in urls.values()]
        assert all(_listening(p) for p in service_ports)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/regions/astana", timeout=5) as response:
            assert b'"window_is_demo":true' in response.read()  # demo mode opened a window
        printed = (tmp_path / "run.log").read_text()
        for url in urls.values():
            assert url in printed, "scripts/run prints the Redis and PostgreSQL URLs"
        assert f"set -a; . {services}.env; set +a" in printed

        # a second run in another terminal: says where the first one is and touches nothing
        env_before = Path(f"{services}.env").read_text()
        second = subprocess.run([str(ROOT / "scripts" / "run")], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=60, check=False)  # fmt: skip
        assert second.returncode == 1
        assert f"already running on http://127.0.0.1:{port}" in second.stdout, second.stdout + second.stderr
        assert "Traceback" not in second.stdout + second.stderr
        assert Path(f"{services}.env").read_text() == env_before
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as response:
            assert b'"status":"ok"' in response.read()

        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            subprocess.run(["ps", "-o", "pid,pgid,stat,etime,cmd", "-g", str(proc.pid)], check=False)
            raise AssertionError((tmp_path / "run.log").read_text()[-3000:]) from None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (_group_alive(proc.pid) or any(map(_listening, service_ports))):
            time.sleep(0.2)
        assert not _group_alive(proc.pid), "processes of the run command are still alive"
        assert not _listening(port)
        assert not any(_listening(p) for p in service_ports), "Redis or PostgreSQL still listening"
    finally:
        if proc.poll() is None or _group_alive(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
