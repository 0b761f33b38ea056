"""The load kit measures the service (issue 13.2): one pooled connection per simulated person at any
number of users, and a wave run by distributed locust (a master and worker processes on this box)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import httpx

from devservices import LocalRedis, ServerFactory
from loadtest import invariants

ROOT = Path(__file__).resolve().parents[2]

# 20 requests from one geventhttpclient client (what FastHttpUser uses) while this process already has
# 1,100 files open, so every socket's descriptor is above 1,023; prints the connections it opened.
CLIENT = textwrap.dedent(
    """
    from gevent import monkey; monkey.patch_all()
    import os, resource, sys
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    from geventhttpclient import HTTPClient, URL
    from loadtest.common import pooling
    if sys.argv[2] == "patched":
        pooling.install()
    else:  # count only
        create = pooling.connectionpool.ConnectionPool._create_socket
        def counted(self):
            pooling.opened["connections"] += 1
            return create(self)
        pooling.connectionpool.ConnectionPool._create_socket = counted
    held = [os.open("/dev/null", os.O_RDONLY) for _ in range(1100)]
    url = URL(sys.argv[1] + "/health")
    client = HTTPClient.from_url(url, concurrency=1)
    for _ in range(20):
        response = client.get(url.request_uri)
        assert response.status_code == 200
        response.read()
    print(pooling.opened["connections"])
    """
)


def _connections(host: str, mode: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", CLIENT, host, mode], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return int(result.stdout.split()[-1])


def test_pooled_connections_are_kept_past_1024_descriptors_and_a_distributed_wave_runs(
    database_url: str, redis_url: str, tmp_path: Path, kezek_server: ServerFactory
) -> None:
    env = {"KEZEK_DATABASE_URL": database_url, "KEZEK_SIGNING_KEY_FILE": str(tmp_path / "signing-key.pem")}
    kezek = str(Path(sys.executable).parent / "kezek")
    subprocess.run([kezek, "demo-window", "astana"], env=env, check=True, capture_output=True)  # read at start
    with kezek_server(database_url, redis_url) as server:
        # geventhttpclient's own check (select) calls every socket above descriptor 1023 dead: one connection
        # per request; with loadtest.common.pooling one connection carries them all
        assert _connections(server.host, "unpatched") == 20
        assert _connections(server.host, "patched") == 1

        # a master and 2 worker processes on this machine (locust --processes), against the real service
        out = tmp_path / "report"
        result = subprocess.run(
            [
                sys.executable, "-m", "loadtest.runner", "opening_surge", "--host", server.host,
                "--database-url", database_url, "--redis-url", redis_url,
                "--signing-key-file", server.env["KEZEK_SIGNING_KEY_FILE"], "--processes", "2",
                "--families", "40", "--arrival-seconds", "4", "--run-time", "25", "--max-active", "8",
                "--settle-seconds", "10", "--report-dir", str(out), "--slo-p95-ms", "5000", "--slo-p99-ms", "10000",
                "--", "--max-poll-seconds", "1", "--think-seconds", "0.3", "--abandon-share", "0",
                "--second-device-share", "0",
            ],
            cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip
        summary = (out / "summary.md").read_text() if (out / "summary.md").exists() else "(no summary)"
        assert result.returncode == 0, summary + result.stdout[-3000:] + result.stderr[-3000:]
        journals = sorted((out / "journal").glob("journal-*.jsonl"))
        facts = invariants.read_facts(out / "journal")
        # both worker processes simulated families, and all 40 joined and were admitted in turn
        assert len([j for j in journals if '"ev": "join"' in j.read_text() or '"ev":"join"' in j.read_text()]) == 2
        assert len(facts.joins) == 40
        assert len(facts.admitted) == 40
        # one connection per family (each locust user keeps its own keep-alive connection)
        assert facts.connections <= 40 * 1.1, facts.connections
        assert "connections the load generator opened" in summary


def test_the_mix_at_rate_sends_a_waves_requests_and_the_room_queues(
    database_url: str, redis_url: str, tmp_path: Path, kezek_server: ServerFactory
) -> None:
    """``scripts/bench wave``'s generator at rate (``loadtest/at_rate.py``): joins, polls, and for each admitted
    family its schools, heartbeat, filing and release, all answered 2xx by a real server; the room queues; a
    family's requests ride its join's connection (its worker checks the tokens it minted), as a browser's do."""
    env = {"KEZEK_DATABASE_URL": database_url, "KEZEK_SIGNING_KEY_FILE": str(tmp_path / "signing-key.pem")}
    kezek = str(Path(sys.executable).parent / "kezek")
    subprocess.run([kezek, "demo-window", "astana"], env=env, check=True, capture_output=True)
    with kezek_server(database_url, redis_url) as server:
        patched = httpx.patch(f"{server.url}/v1/admin/rooms/astana", json={"max_active": 20}, headers=server.admin())
        assert patched.status_code == 200, patched.text
        out = tmp_path / "mix.json"
        spec = {
            "mode": "mix", "region": "astana", "port": server.port, "rate": 150, "seconds": 6, "connections": 40,
            "weights": {"join": 0.2, "poll": 0.6, "steps": 0.2}, "seed": 7, "out": str(out),
        }  # fmt: skip
        subprocess.run([sys.executable, "-m", "loadtest.at_rate", json.dumps(spec)], cwd=ROOT, check=True, timeout=120)
    report = json.loads(out.read_text())
    assert sum(report["failed"].values()) == 0, report["failed"]
    for kind in ("join", "poll", "schools", "heartbeat", "apply", "release"):
        assert report["ok"][kind] > 0, (kind, report["sent"])
    assert report["waiting"] > 0  # more joined than 20 slots turned over: polls asked a queue
    assert 0.4 < report["sent"]["poll"] / sum(report["sent"].values()) < 0.8
    assert report["family_requests"] > 0.6 * sum(report["sent"].values())
    assert report["own_connection"] >= 0.9 * report["family_requests"], report


def _lean_wave(server_port: int, tmp_path: Path, name: str, families: int, run_seconds: float) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    spec = {
        "region": "astana", "port": server_port, "families": families, "arrival_seconds": 1.5,
        "run_seconds": run_seconds, "stop_seconds": 2, "seed": 11, "out": str(out),
        "options": {"think_seconds": 0.2, "max_poll_seconds": 1.0, "abandon_share": 0.0, "second_device_share": 0.0,
                    "withdraw_share": 0.0},
    }  # fmt: skip
    subprocess.run([sys.executable, "-m", "loadtest.lean_wave", json.dumps(spec)], cwd=ROOT, check=True, timeout=120)
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def _by_endpoint(report: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """``"METHOD name"``: (requests, failures), as locust's statistics rows would show them."""
    return {f"{e['method']} {e['name']}": (len(e["latency_ms"]), e["failures"]) for e in report["endpoints"]}


def test_the_lean_wave_lives_a_familys_day_and_counts_what_a_failing_server_fails(
    database_url: str, tmp_path: Path, kezek_server: ServerFactory
) -> None:
    """``scripts/bench wave``'s default generator (``loadtest/lean_wave.py``) against a real server: each family
    joins, polls a queueing room, reads the schools, sends the form's heartbeat, files, releases, on one
    connection, all counted successes; with the server's Redis killed, every join answers 5xx and is counted
    failed, as locust counts it, and nobody is admitted."""
    env = {"KEZEK_DATABASE_URL": database_url, "KEZEK_SIGNING_KEY_FILE": str(tmp_path / "signing-key.pem")}
    kezek = str(Path(sys.executable).parent / "kezek")
    subprocess.run([kezek, "demo-window", "astana"], env=env, check=True, capture_output=True)
    with tempfile.TemporaryDirectory(prefix="kezek-redis-") as tmp:
        redis_server = LocalRedis(Path(tmp)).start()
        try:
            with kezek_server(database_url, redis_server.url) as server:
                patched = httpx.patch(
                    f"{server.url}/v1/admin/rooms/astana", json={"max_active": 3}, headers=server.admin()
                )
                assert patched.status_code == 200, patched.text
                held = _lean_wave(server.port, tmp_path, "held", families=12, run_seconds=8)
                redis_server.kill()
                failing = _lean_wave(server.port, tmp_path, "failing", families=4, run_seconds=4)
        finally:
            redis_server.stop()

    seen = _by_endpoint(held)
    assert sum(failed for _, failed in seen.values()) == 0, (seen, held["messages"])
    assert held["journeys"]["joined"] == held["journeys"]["admitted"] == held["journeys"]["released"] == 12, held
    assert held["journeys"]["filed"] >= 12
    assert seen["POST /v1/rooms/[region]/visitors"][0] == 12
    assert seen["GET /v1/rooms/[region]/visitors/me"][0] > 0  # 3 slots for 12 families: the room queued
    for endpoint in ("GET /v1/regions/[region]/schools", "POST /v1/rooms/[region]/sessions/heartbeat",
                     "POST /v1/applications", "DELETE /v1/rooms/[region]/sessions/me"):  # fmt: skip
        assert seen[endpoint][0] >= 12, (endpoint, seen)
    assert held["opened"] == 12  # one keep-alive connection per family

    joins, failed = _by_endpoint(failing)["POST /v1/rooms/[region]/visitors"]
    assert joins >= 4, failing
    assert failed == joins, failing
    assert "admitted" not in failing["journeys"]
    assert all(text.startswith(("HTTP 5", "HTTP 0")) for text in failing["messages"]), failing
