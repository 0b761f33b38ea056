"""Throwaway Redis topologies for tests and benchmarks: a Redis Cluster, a master with a replica and Sentinels.

Like :mod:`devservices.local` (whose helpers it uses), every server listens on
127.0.0.1 on a free port, keeps its files in a folder of its own and is stopped by the
PID started here, never by name.

* :class:`LocalRedisCluster` -- N masters (``--cluster-enabled yes``) joined with
  ``redis-cli --cluster create``; ``url`` is one node (clients discover the rest).
* :class:`LocalSentinels` -- a master, a replica and three ``redis-sentinel`` processes
  watching it (quorum 2, down after 1 s), so killing the master fails over to the replica.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from devservices.local import LocalRedis, ServiceError, find_binary, free_port, wait_for_port


class RedisProcess(LocalRedis):
    """One ``redis-server`` keeping nothing on disk, with extra arguments; or, given ``sentinel_conf``,
    a ``redis-sentinel`` with that configuration."""

    def __init__(self, directory: Path, *extra: str, sentinel_conf: str | None = None) -> None:
        super().__init__(directory, persistent=False, extra=extra)
        self.sentinel_conf = sentinel_conf

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Self:
        if self.sentinel_conf is None:
            return super().start()
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.directory / "redis.log"
        conf = self.directory / "sentinel.conf"
        if not conf.exists():  # Sentinel rewrites its own file: keep it across a restart
            conf.write_text(
                f"port {self.port}\nbind 127.0.0.1\ndir {self.directory}\nlogfile {log}\n{self.sentinel_conf}"
            )
        self.proc = subprocess.Popen(
            [find_binary("redis-sentinel"), str(conf)], stdin=subprocess.DEVNULL, start_new_session=True
        )
        wait_for_port(self.port, self.proc, "redis-sentinel", log)
        return self

    def cli(self, *command: str) -> str:
        result = subprocess.run(
            [find_binary("redis-cli"), "-h", "127.0.0.1", "-p", str(self.port), *command],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
        return result.stdout


def _until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise ServiceError(f"{what} within {timeout:.0f} s")


class LocalRedisCluster:
    """``masters`` cluster-enabled redis-servers joined into one Redis Cluster (no replicas)."""

    def __init__(self, directory: Path, masters: int = 3) -> None:
        # the cluster bus on a free port of its own, not port + 10000 (which may be taken or above 65535)
        cluster = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
        self.nodes = [
            RedisProcess(directory / f"node{i}", *cluster, "--cluster-port", str(free_port())) for i in range(masters)
        ]

    @property
    def url(self) -> str:
        return f"redis://{self.nodes[0].address}/0"

    def start(self) -> LocalRedisCluster:
        try:
            for node in self.nodes:
                node.start()
            result = subprocess.run(
                [
                    find_binary("redis-cli"), "--cluster", "create", *(n.address for n in self.nodes),
                    "--cluster-replicas", "0", "--cluster-yes",
                ],
                capture_output=True, text=True, check=False, timeout=60,
            )  # fmt: skip
            if result.returncode != 0:
                raise ServiceError(f"redis-cli --cluster create failed: {result.stdout}{result.stderr}")  # noqa: TRY301
            _until(
                lambda: all("cluster_state:ok" in n.cli("cluster", "info") for n in self.nodes),
                "the cluster did not report cluster_state:ok",
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> LocalRedisCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LocalSentinels:
    """A master, one replica and three Sentinels watching them as ``name`` (quorum 2)."""

    def __init__(self, directory: Path, name: str = "kezek", sentinels: int = 3) -> None:
        self.name = name
        self.master = RedisProcess(directory / "master")
        self.replica: RedisProcess | None = None
        self.directory = directory
        self.count = sentinels
        self.sentinels: list[RedisProcess] = []

    @property
    def addresses(self) -> str:
        """``host:port,...`` of the Sentinels (``KEZEK_REDIS_SENTINELS``)."""
        return ",".join(s.address for s in self.sentinels)

    def start(self) -> LocalSentinels:
        try:
            self.master.start()
            replica = RedisProcess(self.directory / "replica", "--replicaof", "127.0.0.1", str(self.master.port))
            self.replica = replica.start()
            _until(
                lambda: "master_link_status:up" in replica.cli("info", "replication"),
                "the replica did not sync with the master",
            )
            conf = (
                f"sentinel monitor {self.name} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {self.name} 1000\n"
                f"sentinel failover-timeout {self.name} 5000\n"
                f"sentinel parallel-syncs {self.name} 1\n"
            )
            self.sentinels = [
                RedisProcess(self.directory / f"sentinel{i}", sentinel_conf=conf).start() for i in range(self.count)
            ]
            _until(
                lambda: all(
                    f"sentinels={self.count}" in s.cli("info", "sentinel") and "slaves=1" in s.cli("info", "sentinel")
                    for s in self.sentinels
                ),
                "the Sentinels did not find each other and the replica",
            )
        except BaseException:
            self.stop()
            raise
        return self

    def master_port(self) -> int:
        """The port of the master the Sentinels name now."""
        answer = self.sentinels[0].cli("sentinel", "get-master-addr-by-name", self.name).split()
        return int(answer[1])

    def stop(self) -> None:
        for server in [*self.sentinels, self.replica, self.master]:
            if server is not None:
                with contextlib.suppress(OSError):
                    server.stop()

    def __enter__(self) -> LocalSentinels:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
