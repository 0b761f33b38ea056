"""Throwaway local Redis and PostgreSQL servers for development and tests.

Each server listens on 127.0.0.1 on a free port, keeps its data in a folder of its own
and is stopped by the PID this module started, never by name.

PostgreSQL refuses to run as root, so when we are root the cluster is created
and run as the ``postgres`` system user (setuid in the child), in a folder
that user owns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit, urlunsplit

PG_BIN_CANDIDATES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


class ServiceError(RuntimeError):
    """A local service could not be started."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PortTaken(ServiceError):
    """Another process listens on the port a server was started on (a free port taken meanwhile)."""


def wait_for_port(
    port: int, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 30.0, *, own: bool = False
) -> None:
    """Wait until ``port`` accepts connections; with ``own``, until ``proc`` itself listens on it.

    A free port is only free when it is chosen: two test workers starting servers at once can be
    given the same one, and the second server, failing to bind, would be mistaken for ready by a
    mere connection -- to the first one's server (PortTaken)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        exited = proc.poll() is not None
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            if own and (exited or not _listens(proc.pid, port)):
                raise PortTaken(f"another process listens on port {port}, where {what} was started")
            if not exited:
                return
        if exited:
            raise ServiceError(f"{what} exited with {proc.returncode}; log:\n{_tail(log)}")
        time.sleep(0.05)
    raise ServiceError(f"{what} did not listen on port {port} within {timeout:.0f} s; log:\n{_tail(log)}")


def _listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds a TCP socket listening on ``port`` (Linux: /proc/net/tcp and its fds)."""
    listening = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
            listening.add(f"socket:[{fields[9]}]")
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) in listening:
                    return True
    return False


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_process(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _kill(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL the process group a server leads (PostgreSQL's backends die with their postmaster)."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def with_database(url: str, name: str) -> str:
    """``url`` (a PostgreSQL server's URL) naming the database ``name`` instead."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def find_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for bin_dir in PG_BIN_CANDIDATES:
        candidate = bin_dir / name
        if candidate.exists():
            return str(candidate)
    raise ServiceError(f"{name} not found: install the Debian package (scripts/setup does this)")


class LocalServer:
    """A server this process starts on ``port`` (default a free one) of 127.0.0.1, with its files in
    ``directory``, and stops by the PID it started (:attr:`proc`), never by name.

    A subclass starts it (:meth:`start` sets :attr:`proc` and returns the server); ``with`` starts
    and stops it; :meth:`kill` is a crash: SIGKILL to the process group the server leads.
    """

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self._port_given = port is not None
        self.proc: subprocess.Popen[bytes] | None = None

    def _launch(self, spawn: Callable[[], subprocess.Popen[bytes]], what: str, log: Path, attempts: int = 3) -> None:
        """Start the server (``spawn`` reads :attr:`port`) and wait until it listens on its port itself;
        a free port another process took meanwhile is given up for another (a port given is kept)."""
        for attempt in range(attempts):
            self.proc = spawn()
            try:
                wait_for_port(self.port, self.proc, what, log, own=True)
                return
            except PortTaken:
                stop_process(self.proc)
                if self._port_given or attempt == attempts - 1:
                    raise
                self.port = free_port()

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        stop_process(self.proc)

    def kill(self) -> None:
        _kill(self.proc)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LocalRedis(LocalServer):
    """A redis-server on 127.0.0.1 with its data in ``directory``.

    Append-only persistence by default (``appendonly yes``, ``appendfsync everysec``), as
    production should run it: a restarted server gets its rooms back, losing at most the last
    second.  ``persistent=False`` keeps nothing on disk.
    """

    def __init__(
        self, directory: Path, port: int | None = None, *, persistent: bool = True, extra: tuple[str, ...] = ()
    ) -> None:
        super().__init__(directory, port)
        self.persistent = persistent
        self.extra = extra
        """More ``redis-server`` arguments (a replica's ``--replicaof``, a cluster node's)."""

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Self:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.directory / "redis.log"
        self._launch(lambda: subprocess.Popen(self._args(log), stdin=subprocess.DEVNULL, start_new_session=True),
                     "redis-server", log)  # fmt: skip
        return self

    def _args(self, log: Path) -> list[str]:
        return [
            find_binary("redis-server"),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes" if self.persistent else "no",
            "--appendfsync", "everysec",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", str(log),
            *self.extra,
        ]  # fmt: skip

    def kill(self) -> None:
        """``kill -9`` the server (a crash): what it had not yet written to its append-only file is lost."""
        super().kill()

    def wipe(self) -> None:
        """Forget everything on disk (for a restart empty); the server must be stopped."""
        for entry in self.directory.glob("appendonly*"):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        (self.directory / "dump.rdb").unlink(missing_ok=True)


class LocalPostgres(LocalServer):
    """A throwaway PostgreSQL cluster on 127.0.0.1 with trust auth for user ``kezek``.

    ``directory`` is where the cluster should live.  As root the cluster runs as
    ``postgres``; when that user cannot reach ``directory``, :func:`pg_directory`
    gives a private folder under the system temporary directory instead, and
    :meth:`stop` removes it (nobody else knows it is there).
    """

    user = "kezek"
    database = "kezek"

    def __init__(self, directory: Path, port: int | None = None, *, durable: bool = False) -> None:
        super().__init__(pg_directory(directory), port)
        self._temporary = self.directory != directory
        self.durable = durable

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    @staticmethod
    def _owner() -> dict[str, object]:
        """Popen arguments that run a child as ``postgres`` when we are root (the PID stays the server's own)."""
        return {"user": "postgres", "group": "postgres", "extra_groups": []} if IS_ROOT else {}

    def start(self) -> LocalPostgres:
        data = self.directory / "data"
        log = self.directory / "postgres.log"
        self.directory.mkdir(parents=True, exist_ok=True)
        if IS_ROOT:
            shutil.chown(self.directory, "postgres", "postgres")
        if not (data / "PG_VERSION").exists():
            result = subprocess.run(
                [
                    find_binary("initdb"), "-D", str(data), "-U", self.user,
                    "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
                ],
                capture_output=True,
                check=False,
                cwd=self.directory,
                **self._owner(),  # type: ignore[call-overload]
            )  # fmt: skip
            if result.returncode != 0:
                raise ServiceError(f"initdb failed: {result.stderr.decode(errors='replace')}")
        self._launch(lambda: self._spawn(data, log), "postgres", log)
        self._wait_ready(log)
        self._create_database(self.database)
        return self

    def _spawn(self, data: Path, log: Path) -> subprocess.Popen[bytes]:
        args = [
            find_binary("postgres"), "-D", str(data),
            "-c", "listen_addresses=127.0.0.1",
            "-c", f"port={self.port}",
            "-c", f"unix_socket_directories={self.directory}",
            "-c", "fsync=off",
            # durable: a commit is acknowledged once its WAL is written (fsync stays off: these servers
            # survive a killed process, not a lost machine); else acknowledged from memory, faster.
            "-c", f"synchronous_commit={'on' if self.durable else 'off'}",
            "-c", "full_page_writes=off",
            "-c", "max_connections=300",
            "-c", "shared_buffers=256MB",
        ]  # fmt: skip
        with log.open("ab") as log_file:
            if IS_ROOT:
                shutil.chown(log, "postgres", "postgres")
            proc: subprocess.Popen[bytes] = subprocess.Popen(  # type: ignore[call-overload]
                args,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,
                cwd=self.directory,
                **self._owner(),
            )
        return proc

    def _wait_ready(self, log: Path, timeout: float = 30.0) -> None:
        psql = find_binary("psql")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = subprocess.run(
                [psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", "postgres", "-Atc", "select 1"],
                capture_output=True,
                check=False,
            )
            if result.returncode == 0:
                return
            time.sleep(0.1)
        raise ServiceError(f"postgres did not accept connections; log:\n{_tail(log)}")

    def _create_database(self, name: str) -> None:
        psql = find_binary("psql")
        base = [psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", "postgres", "-Atc"]
        exists = subprocess.run(
            [*base, f"select 1 from pg_database where datname = '{name}'"], capture_output=True, check=True
        )
        if exists.stdout.strip() != b"1":
            created = subprocess.run([*base, f'create database "{name}"'], capture_output=True, check=False)
            if created.returncode != 0:
                raise ServiceError(f"create database {name}: {created.stderr.decode(errors='replace').strip()}")

    def stop(self) -> None:
        # SIGINT is PostgreSQL's "fast shutdown": roll back and exit cleanly.
        stop_process(self.proc, signal.SIGINT)
        if self._temporary:
            shutil.rmtree(self.directory, ignore_errors=True)

    def kill(self) -> None:
        """``kill -9`` the postmaster and every backend at once (a crash); :meth:`start` recovers it."""
        super().kill()


def pg_directory(preferred: Path) -> Path:
    """``preferred`` when the cluster's owner can reach it, else a private temporary folder.

    As root the cluster runs as ``postgres``, which cannot enter a clone under
    ``/root`` or a ``mktemp -d`` folder; then the data goes to a fresh folder
    under the system temporary directory instead.
    """
    if not IS_ROOT:
        return preferred
    preferred.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(preferred)], check=False)
    if probe.returncode == 0:
        return preferred
    fallback = Path(tempfile.mkdtemp(prefix="kezek-pg-"))
    fallback.chmod(0o755)
    return fallback


class Services:
    """Both servers together, stopped together."""

    def __init__(
        self,
        directory: Path,
        redis_port: int | None = None,
        pg_port: int | None = None,
        only: tuple[str, ...] = ("redis", "postgres"),
    ) -> None:
        self.redis = LocalRedis(directory / "redis", redis_port) if "redis" in only else None
        self.postgres = LocalPostgres(directory / "postgres", pg_port) if "postgres" in only else None

    def __enter__(self) -> Services:
        if self.redis:
            self.redis.start()
        try:
            if self.postgres:
                self.postgres.start()
        except BaseException:
            if self.redis:
                self.redis.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.postgres:
            self.postgres.stop()
        if self.redis:
            self.redis.stop()
