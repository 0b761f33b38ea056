"""Request metrics at the edge: tallied in the worker, exported by a Prometheus collector.

The names and labels are those of Litestar's Prometheus middleware, which this replaces (the
load kit's report, dashboards and tests read them): ``kezek_requests_total``,
``kezek_requests_error_total`` (5xx), ``kezek_request_duration_seconds`` (a histogram with
prometheus_client's default buckets) and ``kezek_requests_in_progress``, each labelled ``method``,
``path`` (the route's template, e.g. ``/v1/rooms/{region}/visitors/me``), ``status_code`` and
``app_name``.

Why not the middleware: with several workers prometheus_client runs in multiprocess mode, where
every value change is a write to a shared mmap file under a lock after an ``os.getpid()`` system
call, and Litestar's middleware made four label look-ups and six such writes per request (~30 µs
of a ~110 µs ``/health``, measured with py-spy and ``timeit``).  Here a request adds to a list in
its worker's :class:`Tally` (~1 µs); the prometheus_client maintainers' advice for counts kept
elsewhere is a custom collector (client_python issues #279, #911), which :class:`TallyCollector` is.

Across workers: each worker writes its cumulative tally to ``http_<pid>.json`` in
``PROMETHEUS_MULTIPROC_DIR`` every :data:`WRITE_SECONDS` (and before it answers ``/metrics`` itself);
the collector of the worker that is scraped adds every worker's file up.  A counter of a worker
that is gone keeps counting in the total (its file stays, as prometheus_client's multiprocess
counters do); its in-progress requests do not.  Without the folder (one process: tests, one
worker) the collector reads the process's own tally.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, get
from litestar.enums import ScopeType
from litestar.response import Response
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import INF, floatToGoString

APP_NAME = "kezek"
PREFIX = "kezek"
LABELS = ("method", "path", "status_code", "app_name")
BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, INF)
"""prometheus_client's default histogram buckets (Litestar's middleware used them)."""
LE = tuple(floatToGoString(bound) for bound in BOUNDS)  # type: ignore[no-untyped-call]
WRITE_SECONDS = 0.5
"""How often a worker writes its tally for the others' ``/metrics``: what a scrape may lag behind."""
EXCLUDED = frozenset({"/metrics"})
FILE_PREFIX = "http_"


class Row(msgspec.Struct, array_like=True):
    """One (method, path, status)'s requests: how many, their summed duration, and per bucket."""

    method: str
    path: str
    status: int
    count: int
    seconds: float
    buckets: list[int]


class Written(msgspec.Struct):
    """A worker's file: its cumulative rows and its requests in progress per (method, path)."""

    pid: int
    rows: list[Row]
    in_progress: list[tuple[str, str, int]]


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Written)


class Tally:
    """This process's request counts (one per process, like prometheus_client's own metrics)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, int], Row] = {}
        self.in_progress: dict[tuple[str, str], int] = {}
        self.changed = False

    def started(self, method: str, path: str) -> None:
        key = (method, path)
        self.in_progress[key] = self.in_progress.get(key, 0) + 1
        self.changed = True

    def handed_on(self, method: str, path: str) -> None:
        """A request ``started`` here that another layer answers (and counts)."""
        self.in_progress[method, path] -= 1

    def finished(self, method: str, path: str, status: int, seconds: float) -> None:
        self.in_progress[method, path] -= 1
        row = self.rows.get((method, path, status))
        if row is None:
            row = self.rows[method, path, status] = Row(method, path, status, 0, 0.0, [0] * len(BOUNDS))
        row.count += 1
        row.seconds += seconds
        row.buckets[bisect.bisect_left(BOUNDS, seconds)] += 1

    def snapshot(self) -> Written:
        return Written(
            pid=os.getpid(),
            rows=list(self.rows.values()),
            in_progress=[(method, path, n) for (method, path), n in self.in_progress.items()],
        )

    def write(self, folder: Path) -> None:
        """Replace this worker's file in ``folder`` with its tally now (atomically: readers never see half)."""
        if not self.changed:
            return
        self.changed = False
        final = folder / f"{FILE_PREFIX}{os.getpid()}.json"
        partial = folder / f".{FILE_PREFIX}{os.getpid()}.json.tmp"
        partial.write_bytes(_ENCODER.encode(self.snapshot()))
        partial.replace(final)


TALLY = Tally()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(folder: Path) -> Iterator[Written]:
    for path in folder.glob(f"{FILE_PREFIX}*.json"):
        with contextlib.suppress(OSError, msgspec.DecodeError):  # a worker's file written as we list: next time
            yield _DECODER.decode(path.read_bytes())


class TallyCollector(Collector):
    """Request metrics of every worker (``folder``) or of this process (``folder`` None)."""

    def __init__(self, folder: Path | None, tally: Tally = TALLY) -> None:
        self.folder = folder
        self.tally = tally

    def collect(self) -> Iterable[Metric]:
        sources = [self.tally.snapshot()] if self.folder is None else list(_read(self.folder))
        totals: dict[tuple[str, str, int], Row] = {}
        in_progress: dict[tuple[str, str], int] = {}
        for source in sources:
            for row in source.rows:
                total = totals.get((row.method, row.path, row.status))
                if total is None:
                    totals[row.method, row.path, row.status] = msgspec.structs.replace(row, buckets=list(row.buckets))
                    continue
                total.count += row.count
                total.seconds += row.seconds
                total.buckets = [a + b for a, b in zip(total.buckets, row.buckets, strict=True)]
            if source.pid == os.getpid() or _alive(source.pid):
                for method, path, n in source.in_progress:
                    in_progress[method, path] = in_progress.get((method, path), 0) + n
        requests = CounterMetricFamily(f"{PREFIX}_requests", "Total requests", labels=LABELS)
        errors = CounterMetricFamily(f"{PREFIX}_requests_error", "Total errors in requests", labels=LABELS)
        duration = HistogramMetricFamily(
            f"{PREFIX}_request_duration_seconds", "Request duration, in seconds", labels=LABELS
        )
        for row in totals.values():
            labels = [row.method, row.path, str(row.status), APP_NAME]
            requests.add_metric(labels, row.count)
            if row.status >= 500:  # the server's errors
                errors.add_metric(labels, row.count)
            cumulative, buckets = 0, []
            for le, n in zip(LE, row.buckets, strict=True):
                cumulative += n
                buckets.append((le, cumulative))
            duration.add_metric(labels, buckets, row.seconds)
        running = GaugeMetricFamily(
            f"{PREFIX}_requests_in_progress", "Total requests currently in progress", labels=LABELS
        )
        for (method, path), n in in_progress.items():
            running.add_metric([method, path, "200", APP_NAME], n)
        return [requests, errors, duration, running]


class RequestMetrics:
    """Pure ASGI middleware: tallies each HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, tally: Tally = TALLY) -> None:
        self.app = app
        self.tally = tally

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path_template", "")
        if scope["type"] != ScopeType.HTTP or path in EXCLUDED:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        status = 200
        started = time.perf_counter()
        ended = 0.0

        async def tally_send(message: Message) -> None:
            nonlocal status, ended
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                ended = time.perf_counter()
            await send(message)

        self.tally.started(method, path)
        try:
            await self.app(scope, receive, tally_send)
        except Exception:
            status = 500  # escaped every handler: the app's outermost one answers 500
            raise
        finally:
            self.tally.finished(method, path, status, (ended or time.perf_counter()) - started)


def multiprocess_folder() -> Path | None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")  # as prometheus_client reads it
    return Path(folder) if folder else None


_REGISTERED: list[TallyCollector] = []


def _process_registry() -> CollectorRegistry:
    """prometheus_client's default registry, reading this process's tally too (registered once)."""
    if not _REGISTERED:
        _REGISTERED.append(TallyCollector(None))
        REGISTRY.register(_REGISTERED[0])
    return REGISTRY


def metrics_lifespan() -> Any:
    """Writes this worker's tally for the other workers' ``/metrics`` while the app runs (multiprocess mode)."""

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        folder = multiprocess_folder()
        if folder is None:
            yield
            return
        stop = asyncio.Event()

        async def write_every() -> None:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), WRITE_SECONDS)
                TALLY.write(folder)

        task = asyncio.create_task(write_every(), name="kezek-metrics-writer")
        try:
            yield
        finally:
            stop.set()
            await task

    return lifespan


@get("/metrics", include_in_schema=False, cache=False)
async def metrics() -> Response[bytes]:
    """Prometheus text: prometheus_client's metrics (of every worker in multiprocess mode) and the requests."""
    folder = multiprocess_folder()
    registry = _process_registry() if folder is None else CollectorRegistry()
    if folder is not None:
        TALLY.write(folder)  # this worker's own counts are current, the others' at most WRITE_SECONDS old
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(TallyCollector(folder))
    return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
