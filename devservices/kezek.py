"""The service itself for tests and benchmarks: ``kezek serve`` as a process, or the app in a thread.

:class:`KezekServer` runs ``kezek serve`` as production does (granian, N workers; or uvicorn) on a free
port of 127.0.0.1, in a process group of its own, stopped by its PID.  It is ready when ``/ready``
answers 200 *and* every worker has started: granian logs ``Started worker-N`` once a worker's lifespan
start-up is over and it accepts connections, so a test that means to spread load over two workers never
runs against one.  No fixed sleeps: a fast machine starts at once, a loaded one takes what it takes.

:func:`in_thread` serves an ASGI app with uvicorn in a thread (browser tests, which need the app's
settings at hand rather than a process's environment).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from devservices.local import LocalServer, free_port

if TYPE_CHECKING:
    from admission.signing_keys import KeySet

KEZEK = Path(sys.executable).parent / "kezek"
STARTED = b"Started worker-"
"""What granian logs from a worker once its lifespan start-up is over and it serves."""


def children(pid: int) -> list[int]:
    """The PIDs whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def status_of(url: str, timeout: float = 5) -> int:
    """The HTTP status ``url`` answers with; 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a local test server
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


class KezekServer(LocalServer):
    """``kezek serve`` on a free port over the given PostgreSQL and Redis, in ``folder`` (log, key, metrics).

    Its environment is this process's without any ``KEZEK_*`` or ``PROMETHEUS_*`` variable (a developer's
    own settings never leak into a test), plus: the database and Redis, the signing key ``key_file``
    (default ``folder/key.pem``; two nodes given one key share tickets), the port, log level WARNING, a
    database pool of 1 to start, no join rate limit (every client of a test is 127.0.0.1), and
    ``settings`` as ``KEZEK_<NAME>`` (they override the defaults).  The workers share a
    ``PROMETHEUS_MULTIPROC_DIR`` in ``folder`` (emptied at each start), as production's do; ``kezek serve``
    then execs the server, so :attr:`proc` is granian (or uvicorn) itself.
    """

    def __init__(
        self,
        folder: Path,
        database_url: str,
        redis_url: str,
        *,
        workers: int = 2,
        server: Literal["granian", "uvicorn"] = "granian",
        redis_mode: str = "standalone",
        key_file: Path | None = None,
        ready_timeout: float = 60.0,
        **settings: str,
    ) -> None:
        super().__init__(folder)
        self.workers = workers
        self.server = server
        self.ready_timeout = ready_timeout
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "server.log"
        self.key_file = key_file or folder / "key.pem"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("KEZEK_", "PROMETHEUS_"))}
        self.env = clean | {
            "KEZEK_HOST": "127.0.0.1",
            "KEZEK_PORT": str(self.port),
            "KEZEK_PUBLIC_URL": self.url,
            "KEZEK_WORKERS": str(workers),
            "KEZEK_DATABASE_URL": database_url,
            "KEZEK_REDIS_URL": redis_url,
            "KEZEK_REDIS_MODE": redis_mode,
            "KEZEK_SIGNING_KEY_FILE": str(self.key_file),
            "KEZEK_LOG_LEVEL": "WARNING",
            "KEZEK_DB_POOL_MIN": "1",
            "KEZEK_JOIN_RATE_PER_MINUTE": "0",
            **{f"KEZEK_{name.upper()}": value for name, value in settings.items()},
            "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        }
        self.started_in = 0.0  # seconds its cold start took, until every worker had started (this machine, now)

    @property
    def keys(self) -> KeySet:
        """The signing keys it uses (``kezek serve`` created its key file before it started)."""
        from admission.signing_keys import KeySet

        return KeySet.load_or_create(self.key_file)

    def admin(self, role: Literal["ministry"] = "ministry", subject: str = "qa") -> dict[str, str]:
        """Headers of a ministry admin of this server."""
        from admission.signing_keys import mint_admin_token

        return {"Authorization": f"Bearer {mint_admin_token(self.keys, subject, role)}"}

    @property
    def host(self) -> str:
        """The base URL (the name the load kit uses)."""
        return self.url

    def start(self) -> Self:
        """Start it and wait until it is ready (every worker started); a second call does nothing."""
        if self.proc is not None:
            return self
        metrics = Path(self.env["PROMETHEUS_MULTIPROC_DIR"])
        shutil.rmtree(metrics, ignore_errors=True)  # a previous run's files would count in /metrics
        metrics.mkdir(parents=True)
        command = [str(KEZEK), "serve", "--server", self.server, "--workers", str(self.workers)]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
            )
        try:
            began = time.monotonic()
            self.wait_ready(self.ready_timeout)
            if self.server == "granian":
                self._until(lambda: self.log.read_bytes().count(STARTED) >= self.workers, "every worker started")
            self.started_in = time.monotonic() - began
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after 20 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def wait_ready(self, timeout: float) -> float:
        """Seconds until ``/ready`` answered 200 (also after a worker or a database came back)."""
        started = time.monotonic()
        self._until(lambda: status_of(f"{self.url}/ready", timeout=2) == 200, "/ready answered 200", timeout)
        return time.monotonic() - started

    def _until(self, check: Callable[[], bool], what: str, timeout: float | None = None) -> None:
        limit = self.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while not check():
            assert self.proc is not None
            assert self.proc.poll() is None, f"kezek serve exited with {self.proc.returncode}:\n{self.tail()}"
            assert time.monotonic() < deadline, f"kezek serve: not {what} within {limit:.0f} s:\n{self.tail()}"
            time.sleep(0.05)

    def tail(self, chars: int = 3000) -> str:
        """The end of the server's log."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def granian_pid(self) -> int:
        """The server's main process (``kezek serve`` exec'd it), which supervises the workers."""
        assert self.proc is not None
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        """The worker processes serving now."""
        return children(self.granian_pid())


ServerFactory = Callable[..., KezekServer]
"""What the tests' ``kezek_server`` fixture is: ``(database_url, redis_url, name=..., **options) -> KezekServer``."""


@contextlib.contextmanager
def in_thread(app: Any, name: str = "live-app") -> Iterator[str]:
    """An ASGI ``app`` served by uvicorn in a thread on a free port (for browser tests); its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
