"""The throwaway servers the tests and ``scripts/run`` start: a free port someone else took meanwhile
is given up for another, never mistaken for our server (two pytest-xdist workers once got one port:
the second PostgreSQL failed to bind, and its worker's tests ran against the first one's server)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from devservices.local import LocalPostgres, LocalRedis, PortTaken, find_binary


def _squat(port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_a_redis_whose_free_port_was_taken_starts_on_another(tmp_path: Path) -> None:
    redis = LocalRedis(tmp_path / "redis", persistent=False)
    taken = redis.port
    with _squat(taken), redis:
        assert redis.port != taken
        pong = subprocess.run(
            [find_binary("redis-cli"), "-p", str(redis.port), "ping"], capture_output=True, check=True, text=True
        )
        assert pong.stdout.strip() == "PONG"
        assert redis.proc is not None
        assert redis.proc.poll() is None


def test_a_port_given_and_taken_is_refused_not_shared(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redis = LocalRedis(tmp_path / "redis", port, persistent=False)
    with _squat(port), pytest.raises(PortTaken):
        redis.start()
    assert redis.proc is not None
    assert redis.proc.poll() is not None  # ours was stopped


def test_a_postgres_whose_free_port_was_taken_starts_on_another(tmp_path: Path) -> None:
    postgres = LocalPostgres(tmp_path / "postgres")
    taken = postgres.port
    with _squat(taken), postgres:
        assert postgres.port != taken
        one = subprocess.run(
            [find_binary("psql"), postgres.url, "-Atc", "select current_setting('port')"],
            capture_output=True, check=True, text=True,
        )  # fmt: skip
        assert one.stdout.strip() == str(postgres.port)
