"""Benchmark (not a test): the largest opening wave this machine holds, and what it costs the service.

A wave = N families joining one region's waiting room within the first
``--arrival-seconds`` (60) of its opening, then polling at the interval the
service suggests (at most 30 s, as the page), applying when admitted and
releasing (the ``opening_surge`` locustfile's families).  The room QUEUES, as a real
opening does: ``max_active`` is ``--max-active-share`` (1 %) of the wave, so
polls are most of the requests.  The service runs as production runs it
(``kezek serve``, granian, ``--workers``) on the same machine as the load generator.

The generator (``--generator``): ``lean`` (default) is ``loadtest/lean_wave.py``, the
locust kit's families on a small asyncio HTTP/1.1 client (uvloop) in ``--processes``
(2) processes, so the machine's CPU goes to the service; ``locust`` is QA's kit
itself (``opening_surge``; ``--processes N``: a master and N workers), which spends
about as much CPU per request as the service and saturated first on this 2-core box.
Both are judged and reported alike (locust's statistics rows, failures as locust
counts them), with the generator's CPU (and the lean one's event-loop lag) printed
so a saturated generator shows.

Each step is run twice (``--runs``) in fresh regions and the better run kept,
so a noisy neighbour does not decide the figure.  Per step it prints requests,
p50/p99, errors, the deepest accept queue (``ss``: Recv-Q of the listen socket)
and the most open connections seen, the connections the generator opened per
family, the service's CPU per request and per family (psutil, the server's
process tree), the generator's CPU share and CPU per request, and the load average.  "Holds" = zero failed
requests and p99 < ``--p99-ms`` (250) over all requests.  N doubles from
``--start`` until a wave is lost (or ``--max-families``), then ``--bisect``
steps narrow it.

At the end: per-endpoint p50/p99 of the largest wave held, the CPU per request
of a bare JSON endpoint of the same app measured in the same run -- back to back
(the ceiling) and paced like the wave (after each wave: its request rate, one
connection per family, so each request mostly arrives alone, as a wave's do;
column ``bare``) -- and the capacity model: families per 60 s per core of service CPU
(the service's CPU while idle -- sweepers, outbox publisher -- measured first and
taken out of the per-request and per-family figures).

Then the wave's request MIX at rate (``--at-rate``, 6,000, 7,500 and 9,000 requests/s; 0 skips it): a
paced wave of 8,000 families runs at ~1,100 requests/s, where each request wakes a worker alone, but the
capacity model speaks of 100,000 families in 60 s, ~14,500 requests/s in the wave's mix (8.7 requests a
family), where a worker serves several per wake-up and a request costs far less.  This box, generator
included, holds 6,000/s of the mix, and 7,500-9,000 only at a quiet moment; each rate is a step like a
wave's (up to ``--runs`` runs, the better kept; held: p99 < ``--p99-ms`` for every kind, no failure, and
the generator always found a free connection), and the capacity model is also given at the highest rate held: the nearest this box comes
to the regime the model extrapolates to.  ``loadtest/at_rate.py`` (``--at-rate-processes`` processes,
open-loop, over ``--at-rate-connections`` keep-alive connections) sends the largest wave's proportions of
joins of new families, polls of the waiting ones (round-robin: each waiting family in turn) and each admitted family's
schools, heartbeat, filing and release, to a room that queues, for ``--at-rate-seconds``; then ``GET
/health`` at the rate the mix reached, the same way.  Printed: per-kind counts and p50/p99, the service's
CPU per request of each and their ratio, the capacity model at rate (CPU per request x the wave's
requests per family), the generator's own CPU and event-loop lag, and how often it found no free
connection (the service, or the generator, behind).  ``--only-at-rate`` skips the waves (a default mix).

    scripts/bench wave                       # 1000, 2000, 4000… families
    scripts/bench wave --only-at-rate --hold 0   # the mix at three rates only (~4-7 min)
    scripts/bench wave --start 200 --max-families 800 --arrival-seconds 20 --runs 1
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from loadtest import invariants
from loadtest.runner import BIN, LOCUSTFILES, LocalService, mint_region_admin

ROOT = Path(__file__).resolve().parents[1]
REGIONS = [
    "astana", "almaty-city", "shymkent", "abai", "akmola", "aktobe", "almaty-region", "atyrau", "west-kazakhstan",
    "zhambyl", "zhetisu", "karaganda", "kostanay", "kyzylorda", "mangystau", "pavlodar", "north-kazakhstan",
    "turkistan", "ulytau", "east-kazakhstan",
]  # fmt: skip
MOONSHOT = 100_000
WAVE_OPTIONS = {"max_poll_seconds": 30.0, "think_seconds": 2.0, "abandon_share": 0.02}
"""The families' options in a wave, for either generator (the rest: ``loadtest/common/options.toml``)."""
STOP_SECONDS = 5
"""After the run's end, how long requests under way may take (locust's ``--stop-timeout``)."""
GENERATORS = {
    "lean": "loadtest/lean_wave.py (asyncio on uvloop, the locust kit's families)",
    "locust": "locust opening_surge (FastHttpUser, pooled connections kept)",
}


class CpuMeter:
    """CPU seconds of a process tree, sampled in a thread (children come and go)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for p in procs:
            try:
                t = p.cpu_times()
                self.seen[p.pid] = t.user + t.system
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def start(self) -> CpuMeter:
        self._sample()
        self.base = dict(self.seen)
        self._thread.start()
        return self

    def stop(self) -> float:
        self._sample()
        self._stop.set()
        self._thread.join(2)
        return sum(v - self.base.get(pid, 0.0) for pid, v in self.seen.items())


class SocketWatch:
    """The deepest accept queue and the most established connections of the server's port, every 0.5 s."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.accept_queue = 0
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _ss(self, *args: str) -> list[str]:
        out = subprocess.run(["ss", "-Htn", *args], capture_output=True, text=True, check=False).stdout
        return out.splitlines()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for line in self._ss("-l", f"sport = :{self.port}"):
                self.accept_queue = max(self.accept_queue, int(line.split()[1]))
            established = self._ss("state", "established", f"( sport = :{self.port} )")
            self.connections = max(self.connections, len(established))

    def start(self) -> SocketWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def endpoint_rows(stats_csv: Path) -> list[dict[str, str]]:
    with stats_csv.open() as f:
        return list(csv.DictReader(f))


def aggregated(rows: list[dict[str, str]]) -> dict[str, float]:
    for row in rows:
        if row["Name"] == "Aggregated":
            return {
                "requests": float(row["Request Count"]),
                "failures": float(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50": float(row["50%"] or 0),
                "p99": float(row["99%"] or 0),
            }
    return {"requests": 0, "failures": 0, "rps": 0, "p50": 0, "p99": 0}


def _patch_room(service: LocalService, region: str, token: str, settings: dict[str, int]) -> None:
    request = urllib.request.Request(
        f"{service.host}/v1/admin/rooms/{region}", data=json.dumps(settings).encode(), method="PATCH",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def _locust_wave(
    service: LocalService, region: str, families: int, args: argparse.Namespace, out: Path, token: str
) -> tuple[list[dict[str, str]], float, dict[str, Any]]:
    """The wave by locust's ``opening_surge`` (``--processes`` > 1: a master and that many workers): its
    statistics rows, the connections it opened, and what the generator cost (no event-loop lag from gevent)."""
    run_time = int(args.arrival_seconds + args.tail_seconds)
    prefix = out / f"{region}-{families}"
    journal = out / f"{region}-{families}-journal"
    command = [
        str(BIN / "locust"), "-f", str(LOCUSTFILES / "opening_surge.py"), "--headless", "--only-summary",
        "--host", service.host, "--run-time", f"{run_time}s", "--stop-timeout", str(STOP_SECONDS), "--csv", str(prefix),
        "--loglevel", "ERROR", "--exit-code-on-error", "0", "--region", region, "--families", str(families),
        "--arrival-seconds", str(args.arrival_seconds), "--admin-token", token, "--journal-dir", str(journal),
        *(f"--{name.replace('_', '-')}={value}" for name, value in WAVE_OPTIONS.items()),
    ]  # fmt: skip
    if args.processes > 1:
        command += ["--processes", str(args.processes)]
    locust = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    meter = CpuMeter(locust.pid).start()
    _profile_once(service, args, families, out)
    locust.wait(timeout=run_time + 120)
    rows = endpoint_rows(Path(f"{prefix}_stats.csv"))
    failures = {}
    failures_csv = Path(f"{prefix}_failures.csv")
    if failures_csv.exists():
        failures = {f"{r['Name']}: {r['Error']}": int(r["Occurrences"]) for r in endpoint_rows(failures_csv)}
    opened = invariants.read_facts(journal).connections
    return rows, opened, {"cpu": meter.stop(), "lag_p99_ms": None, "lag_max_ms": None, "messages": failures}


_RUNS = itertools.count()  # each process of each lean run connects from a loopback address of its own


def _lean_wave(
    service: LocalService, region: str, families: int, args: argparse.Namespace, out: Path
) -> tuple[list[dict[str, str]], float, dict[str, Any]]:
    """The wave by ``loadtest.lean_wave`` in ``--processes`` processes (each every N-th family): statistics rows
    as locust's CSV has them, the connections opened, what the generator cost (CPU, event-loop lag)."""
    folder = out / f"{region}-{families}-lean"
    folder.mkdir()
    processes = args.processes
    start_at = time.time() + 2 + families / 20_000  # every process has laid out its arrivals by then
    specs = [
        {"region": region, "port": int(service.env["KEZEK_PORT"]), "families": families, "process": i,
         "processes": processes, "arrival_seconds": args.arrival_seconds,
         "run_seconds": args.arrival_seconds + args.tail_seconds, "stop_seconds": STOP_SECONDS,
         "options": WAVE_OPTIONS, "seed": random.randrange(1, 1 << 30), "start_at": start_at,
         "source": f"127.0.{next(_RUNS) % 250 + 1}.{i + 1}", "out": str(folder / f"{i}.json")}
        for i in range(processes)
    ]  # fmt: skip
    procs = [
        subprocess.Popen([sys.executable, "-m", "loadtest.lean_wave", json.dumps(spec)], cwd=ROOT) for spec in specs
    ]
    meters = [CpuMeter(p.pid).start() for p in procs]
    _profile_once(service, args, families, out)
    for p in procs:
        p.wait(timeout=args.arrival_seconds + args.tail_seconds + 120)
    cpu = sum(m.stop() for m in meters)
    reports = [json.loads(Path(str(spec["out"])).read_text()) for spec in specs]
    duration = max(max(r["duration"] for r in reports), 1e-3)
    merged: dict[tuple[str, str], tuple[list[float], int]] = {}
    for r in reports:
        for e in r["endpoints"]:
            values, failed = merged.get((e["method"], e["name"]), ([], 0))
            merged[e["method"], e["name"]] = ([*values, *e["latency_ms"]], failed + e["failures"])
    everything: list[float] = []
    rows = []
    for (method, name), (values, failed) in sorted(merged.items(), key=lambda kv: kv[0][1]):
        everything += values
        rows.append(_row(method, name, values, failed, duration))
    rows.append(_row("", "Aggregated", everything, sum(f for _, f in merged.values()), duration))
    messages: dict[str, int] = {}
    for r in reports:
        for text, count in r["messages"].items():
            messages[text] = messages.get(text, 0) + count
    return rows, sum(r["opened"] for r in reports), {
        "cpu": cpu, "lag_p99_ms": max(r["lag_p99"] for r in reports) * 1e3,
        "lag_max_ms": max(r["lag_max"] for r in reports) * 1e3, "messages": messages,
        "cut": sum(r["cut"] for r in reports),
    }  # fmt: skip


def _row(method: str, name: str, values: list[float], failed: int, duration: float) -> dict[str, str]:
    """One endpoint's line as locust's ``_stats.csv`` writes it (its percentiles are whole milliseconds)."""
    values = sorted(values)

    def at(share: float) -> str:
        return str(round(values[min(int(len(values) * share), len(values) - 1)])) if values else "0"

    return {
        "Type": method, "Name": name, "Request Count": str(len(values)), "Failure Count": str(failed),
        "Requests/s": f"{len(values) / duration:.2f}", "50%": at(0.5), "99%": at(0.99),
    }  # fmt: skip


def _profile_once(service: LocalService, args: argparse.Namespace, families: int, out: Path) -> None:
    """``--profile-seconds``: py-spy one service worker in the middle of the first wave (joins and polls)."""
    if not args.profile_seconds or args.profiled:
        return
    args.profiled = True
    time.sleep(args.arrival_seconds / 2)
    worker = psutil.Process(service.server.granian_pid()).children()[0]  # type: ignore[union-attr]
    raw = out / "profile.txt"
    subprocess.run(
        [str(BIN / "py-spy"), "record", "--pid", str(worker.pid), "--duration", str(args.profile_seconds),
         "--rate", "200", "--format", "raw", "--output", str(raw), "--nonblocking"],
        capture_output=True, check=False,
    )  # fmt: skip
    args.profile = profile_summary(raw, families)


def wave(service: LocalService, region: str, families: int, args: argparse.Namespace, out: Path) -> dict[str, object]:
    token = mint_region_admin(service.env["KEZEK_SIGNING_KEY_FILE"], region)
    max_active = max(10, int(families * args.max_active_share))
    _patch_room(service, region, token, {"max_active": max_active})
    server_cpu = CpuMeter(service.server.granian_pid()).start()  # type: ignore[union-attr]
    sockets = SocketWatch(int(service.env["KEZEK_PORT"])).start()
    started = time.monotonic()
    if args.generator == "locust":
        rows, opened, generator = _locust_wave(service, region, families, args, out, token)
    else:
        rows, opened, generator = _lean_wave(service, region, families, args, out)
    wall = time.monotonic() - started
    sockets.stop()
    figures: dict[str, object] = {**aggregated(rows), "rows": rows, "families": families, "max_active": max_active}
    service_cpu = server_cpu.stop()
    background = args.idle_cpu_per_s * wall  # sweepers, outbox publisher: spent whether or not anyone comes
    requests = max(float(figures["requests"]), 1.0)  # type: ignore[arg-type]
    polls = sum(float(r["Request Count"]) for r in rows if r["Name"] == "/v1/rooms/[region]/visitors/me")
    figures.update(
        generator_cpu=generator["cpu"] / wall / psutil.cpu_count(), generator_us_per_request=generator["cpu"] / requests * 1e6,
        lag_p99_ms=generator["lag_p99_ms"], lag_max_ms=generator["lag_max_ms"], messages=generator["messages"],
        cut=generator.get("cut"),
        service_cpu_share=service_cpu / wall / psutil.cpu_count(),
        cpu_us_per_request=service_cpu / requests * 1e6, cpu_ms_per_family=service_cpu / families * 1e3,
        net_us_per_request=max(service_cpu - background, 0) / requests * 1e6,
        net_ms_per_family=max(service_cpu - background, 0) / families * 1e3,
        accept_queue=sockets.accept_queue, connections=sockets.connections, poll_share=polls / requests,
        connections_per_family=opened / families, load=os.getloadavg()[0],
    )  # fmt: skip
    figures["holds"] = figures["failures"] == 0 and float(figures["p99"]) < args.p99_ms and requests > 1  # type: ignore[arg-type]
    # the bare endpoint paced like this wave: its request rate, one connection per family (at most 4,000)
    figures["paced_bare_us"] = asyncio.run(
        _ceiling_cpu(
            int(service.env["KEZEK_PORT"]), service.server.granian_pid(), seconds=10,  # type: ignore[union-attr]
            connections=min(families, 4000), rate=max(float(figures["rps"]), 1.0),  # type: ignore[arg-type]
            idle=args.idle_cpu_per_s,
        )
    )  # fmt: skip
    return figures


async def _ceiling_cpu(
    port: int, pid: int, seconds: float = 8.0, connections: int = 64, rate: float | None = None, idle: float = 0.0
) -> float:
    """Service CPU µs per request of ``GET /health`` (a bare JSON endpoint of the same app), keep-alive.

    Back to back (``rate`` None: each connection sends its next request as soon as the answer is in,
    so requests share the workers' wake-ups) or paced like a wave: ``rate`` requests/s in all, each
    connection one request every ``connections / rate`` s, so requests mostly arrive one by one.
    """
    stop = time.monotonic() + seconds
    count = 0
    period = connections / rate if rate else 0.0

    async def one() -> None:
        nonlocal count
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        if period:
            await asyncio.sleep(random.random() * period)  # spread over the period
        try:
            while time.monotonic() < stop:
                sent = time.monotonic()
                writer.write(b"GET /health HTTP/1.1\r\nHost: bench\r\n\r\n")
                length = 0
                await reader.readline()
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                count += 1
                if period:
                    await asyncio.sleep(max(0.0, period - (time.monotonic() - sent)))
        finally:
            writer.close()

    meter = CpuMeter(pid).start()
    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(connections)))
    return max(meter.stop() - idle * (time.monotonic() - started), 0.0) / max(count, 1) * 1e6


DEFAULT_MIX = {"join": 0.115, "poll": 0.77, "steps": 0.115}
"""A wave's proportions when no wave ran first (8,000 families on main: 77 % polls, 11.5 % joins, the rest
an admitted family's schools, heartbeat, filing and release in about equal parts)."""


def wave_mix(rows: list[dict[str, str]]) -> dict[str, float]:
    """The proportions of joins, polls and an admitted family's steps in a wave's locust statistics."""
    counts = {r["Name"]: float(r["Request Count"]) for r in rows if r["Name"] != "Aggregated"}
    join = counts.get("/v1/rooms/[region]/visitors", 0.0)
    poll = counts.get("/v1/rooms/[region]/visitors/me", 0.0)
    steps = sum(counts.get(name, 0.0) for name in (
        "/v1/regions/[region]/schools", "/v1/rooms/[region]/sessions/heartbeat", "/v1/applications",
        "/v1/rooms/[region]/sessions/me",
    ))  # fmt: skip
    total = join + poll + steps
    return {"join": join / total, "poll": poll / total, "steps": steps / total} if total else dict(DEFAULT_MIX)


def _generate(
    specs: list[dict[str, object]], pid: int, idle: float, during: Any = None
) -> tuple[list[dict[str, Any]], float, float]:
    """Run ``loadtest.at_rate`` processes together; (their reports, the service's CPU seconds over their run,
    that CPU without the idle background)."""
    start_at = time.time() + 3 + len(specs) * max(int(s["connections"]) for s in specs) / 2000  # type: ignore[call-overload]
    folder = Path(tempfile.mkdtemp(prefix="kezek-at-rate-"))
    outs = [folder / f"{i}.json" for i in range(len(specs))]
    procs = [
        subprocess.Popen([sys.executable, "-m", "loadtest.at_rate",
                          json.dumps({**spec, "start_at": start_at, "out": str(out)})], cwd=ROOT)
        for spec, out in zip(specs, outs, strict=True)
    ]  # fmt: skip
    time.sleep(max(start_at - time.time(), 0))
    meter = CpuMeter(pid).start()
    began = time.monotonic()
    if during is not None:
        threading.Thread(target=during, daemon=True).start()
    time.sleep(float(specs[0]["seconds"]))  # type: ignore[arg-type]
    cpu = meter.stop()
    wall = time.monotonic() - began
    for p in procs:
        p.wait(timeout=60)
    reports = [json.loads(out.read_text()) for out in outs]
    return reports, cpu, max(cpu - idle * wall, 0.0)


def _merged(reports: list[dict[str, Any]], field: str) -> dict[str, int]:
    return {k: sum(int(r[field][k]) for r in reports) for k in reports[0][field]}


def at_rate(
    service: LocalService, region: str, args: argparse.Namespace, mix: dict[str, float], target: float
) -> dict[str, object]:
    """The wave's mix at ``target`` requests/s, then ``GET /health`` at the rate the mix reached, the same
    way (open-loop, the same connections and generator processes): service CPU per request of each."""
    port = int(service.env["KEZEK_PORT"])
    pid = service.server.granian_pid()  # type: ignore[union-attr]
    # slots enough that admitted families flow (each needs ~4 steps and is found by the poll round-robin within
    # seconds), few enough that the room queues: joins arrive ~4 times faster than families finish
    max_active = max(200, int(target * mix["steps"] / 4 * 5))
    _patch_room(service, region, mint_region_admin(service.env["KEZEK_SIGNING_KEY_FILE"], region),
                {"max_active": max_active})  # fmt: skip
    processes, connections = args.at_rate_processes, args.at_rate_connections

    def specs(mode: str, rate: float) -> list[dict[str, object]]:
        return [
            {"mode": mode, "region": region, "port": port, "rate": rate / processes, "seconds": args.at_rate_seconds,
             "connections": connections // processes, "weights": mix, "seed": random.randrange(1 << 30)}
            for _ in range(processes)
        ]  # fmt: skip

    load_before = os.getloadavg()[0]
    during = None
    if args.profile_seconds and args.only_at_rate and not args.profiled:
        args.profiled = True  # the first rate only

        def during() -> None:  # py-spy one worker in the middle of the mix
            time.sleep(max(args.at_rate_seconds - args.profile_seconds, 0) / 2)
            worker = psutil.Process(pid).children()[0]
            raw = args.out / "profile-at-rate.txt"
            subprocess.run(
                [str(BIN / "py-spy"), "record", "--pid", str(worker.pid), "--duration", str(args.profile_seconds),
                 "--rate", "200", "--format", "raw", "--output", str(raw), "--nonblocking"],
                capture_output=True, check=False,
            )  # fmt: skip
            args.profile = profile_summary(raw, 0)

    sockets = SocketWatch(port).start()
    mixed, cpu, net = _generate(specs("mix", target), pid, args.idle_cpu_per_s, during)
    sockets.stop()
    sent = _merged(mixed, "sent")
    requests = max(sum(sent.values()), 1)
    wall = max(r["wall"] for r in mixed)
    rate = requests / wall
    bare, _, bare_net = _generate(specs("bare", rate), pid, args.idle_cpu_per_s)
    bare_requests = max(sum(_merged(bare, "sent").values()), 1)
    latencies: dict[str, list[float]] = {}
    for r in mixed:
        for kind, values in r["latency"].items():
            latencies.setdefault(kind, []).extend(values)
    failed = _merged(mixed, "failed")
    no_connection = sum(r["no_connection"] for r in mixed)
    worst_p99 = max((sorted(v)[int(len(v) * 0.99)] for v in latencies.values() if v), default=0.0)
    return {
        "rate": rate, "target": target,
        "holds": not sum(failed.values()) and not no_connection and worst_p99 * 1e3 < args.p99_ms,
        "worst_p99_ms": worst_p99 * 1e3, "requests": requests, "sent": sent, "max_active": max_active,
        "ok": _merged(mixed, "ok"), "refused": _merged(mixed, "refused"), "failed": failed,
        "no_connection": no_connection,
        "cpu_us": cpu / requests * 1e6, "net_us": net / requests * 1e6,
        "bare_rate": bare_requests / max(r["wall"] for r in bare), "bare_net_us": bare_net / bare_requests * 1e6,
        "bare_failed": sum(_merged(bare, "failed").values()) + sum(_merged(bare, "refused").values()),
        "generator_cpu": sum(r["cpu"] for r in mixed) / wall, "bare_generator_cpu": sum(r["cpu"] for r in bare) / wall,
        "lag_p99_ms": max(r["lag_p99"] for r in mixed) * 1e3, "lag_max_ms": max(r["lag_max"] for r in mixed) * 1e3,
        "waiting_left": sum(r["waiting"] for r in mixed), "service_share": cpu / wall / psutil.cpu_count(),
        "latency": {k: sorted(v) for k, v in latencies.items()}, "connections": connections,
        "open_seen": sockets.connections, "accept_queue": sockets.accept_queue,
        "opened": sum(r["opened"] for r in mixed),
        "own_connection": sum(r["own_connection"] for r in mixed) / max(sum(r["family_requests"] for r in mixed), 1),
        "load": (load_before, os.getloadavg()[0]),
    }  # fmt: skip


def at_rate_step(
    service: LocalService, regions: Iterator[str], args: argparse.Namespace, mix: dict[str, float], target: float
) -> dict[str, object]:
    """Like a wave's step: the mix at ``target`` up to ``--runs`` times (a fresh region each), the better kept
    (held first, then the lower worst p99); a run that held ends the step."""
    runs: list[dict[str, object]] = []
    for _ in range(args.runs):
        runs.append(at_rate(service, next(regions), args, mix, target))
        if runs[-1]["holds"]:
            break
    kept = max(runs, key=_at_rate_rank)
    kept["runs"] = len(runs)
    return kept


def _at_rate_rank(run: dict[str, object]) -> tuple[bool, float]:
    return bool(run["holds"]), -float(run["worst_p99_ms"])  # type: ignore[arg-type]


def at_rate_summary(rated: list[dict[str, object]], requests_per_family: float) -> str:
    """The capacity model at the highest rate held (the nearest this box comes to the model's own rate)."""
    held = [a for a in rated if a["holds"]]
    if not held:
        return "capacity model at rate: no rate held (p99, failures or no free connection), so none is given"
    top = max(held, key=lambda a: float(a["rate"]))  # type: ignore[arg-type]
    per_family_s = float(top["net_us"]) * requests_per_family / 1e6  # type: ignore[arg-type]
    moonshot_rate = MOONSHOT * requests_per_family / 60
    return (
        f"capacity model at the highest rate held ({float(top['rate']):,.0f} requests/s; 100,000 families in 60 s "  # type: ignore[arg-type]
        f"would send ~{moonshot_rate:,.0f}/s in this mix): {60 / per_family_s * 2:,.0f} families per 60 s on 2 "
        f"cores of service CPU; CPU per request {float(top['net_us']) / max(float(top['bare_net_us']), 1):.2f} x "  # type: ignore[arg-type]
        f"the bare endpoint's at that rate"
    )


def _rates(text: str) -> list[float]:
    """``--at-rate``: requests/s, comma-separated; 0 (or nothing): none."""
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of rates: {text!r}") from exc
    if any(rate < 0 for rate in rates):
        raise argparse.ArgumentTypeError("a rate is at least 0")
    return [rate for rate in rates if rate > 0]


def at_rate_lines(a: dict[str, object], requests_per_family: float, source: str) -> list[str]:
    sent, ok, refused, failed = a["sent"], a["ok"], a["refused"], a["failed"]
    requests = float(a["requests"])  # type: ignore[arg-type]
    net, bare = float(a["net_us"]), float(a["bare_net_us"])  # type: ignore[arg-type]
    per_family_s = net * requests_per_family / 1e6
    target, connections, active = a["target"], a["connections"], a["max_active"]
    load = a["load"]
    verdict = ("held" if a["holds"] else "NOT held") + (f" (the better of {a['runs']} runs)" if a["runs"] != 1 else "")
    lines = [
        (f"the wave's mix at rate (open-loop, target {target:,.0f} requests/s over {connections:,} keep-alive "
         f"connections, max_active {active}; load average {load[0]:.1f} -> {load[1]:.1f}): {verdict} (worst p99 "  # type: ignore[index]
         f"{a['worst_p99_ms']:.0f} ms)"),
        (f"  {requests:,.0f} requests at {a['rate']:,.0f}/s; {a['no_connection']} found no free connection; "
         f"{a['waiting_left']:,} families still waiting at the end (the room queued)"),
        (f"  connections: {a['opened']:,} opened by the generator, {a['open_seen']:,} open at most (ss), accept "
         f"queue at most {a['accept_queue']}; {a['own_connection']:.1%} of a family's requests over its join's"),
    ]  # fmt: skip
    for kind, count in sent.items():  # type: ignore[attr-defined]
        if count:
            values = a["latency"].get(kind, [0.0])  # type: ignore[attr-defined]
            lines.append(
                f"  {kind:<9} {count:>8,} ({count / requests:5.1%})  2xx {ok[kind]:>7,}  4xx {refused[kind]:>6,}  "  # type: ignore[index]
                f"failed {failed[kind]:>4}  p50 {values[len(values) // 2] * 1e3:6.1f} ms  "  # type: ignore[index]
                f"p99 {values[int(len(values) * 0.99)] * 1e3:6.1f} ms"
            )  # fmt: skip
    lines += [
        (f"  service CPU {a['cpu_us']:.0f} µs per request, {net:.0f} without the idle background "
         f"({a['service_share']:.0%} of the machine); {per_family_s * 1e3:.2f} ms per family "
         f"({requests_per_family:.1f} requests per family, {source})"),
        (f"  bare GET /health the same way at {a['bare_rate']:,.0f}/s: {bare:.0f} µs per request "
         f"({a['bare_failed']} not 2xx); ratio {net / max(bare, 1):.2f}"),
        (f"  capacity model at rate: {60 / per_family_s:,.0f} families per 60 s per core of service CPU, "
         f"{60 / per_family_s * 2:,.0f} on 2 cores"),
        (f"  generator: {a['generator_cpu']:.0%} of a core (mix), {a['bare_generator_cpu']:.0%} (bare); its event "
         f"loop's lag p99 {a['lag_p99_ms']:.1f} ms, max {a['lag_max_ms']:.1f} ms"),
    ]  # fmt: skip
    return lines


# What a worker's CPU goes to: each sample goes to the innermost frame (leaf first) that names a category.
PROFILE_CATEGORIES = {
    "logging": ("logging/",),
    "metrics (prometheus_client, Litestar's Prometheus middleware)": ("prometheus",),
    "JSON encoding/decoding (msgspec)": ("msgspec",),
    "ticket and token checks (itsdangerous, JWT, Ed25519)": (
        "itsdangerous", "jwt/", "cryptography", "waiting_room/tickets.py", "admission/access.py",
    ),
    "Redis client (redis-py, hiredis)": ("redis/", "hiredis"),
    "PostgreSQL (asyncpg)": ("asyncpg/",),
    "waiting-room code (admission/waiting_room, controllers/rooms.py)": ("waiting_room/", "controllers/rooms.py"),
    "other Kezek code": ("queue_service/", "admission/"),
    "Litestar (routing, middleware, DI, responses)": ("litestar/", "anyio/"),
    "asyncio / event loop": ("asyncio/", "uvloop"),
    "granian (native: HTTP, I/O, the ASGI bridge)": ("granian/",),
}  # fmt: skip


def profile_summary(raw: Path, families: int) -> list[str]:
    """Shares of a worker's busy samples per category, and the hottest functions by own time."""
    if not raw.exists():
        return [f"(py-spy wrote no profile: {raw})"]
    stacks: list[tuple[list[str], int]] = []
    for text in raw.read_text().splitlines():
        frames, _, count = text.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    total = sum(c for _, c in stacks) or 1
    shares: dict[str, int] = dict.fromkeys([*PROFILE_CATEGORIES, "other"], 0)
    own: dict[str, int] = {}
    for frames, c in stacks:
        own[frames[-1]] = own.get(frames[-1], 0) + c
        category = next(
            (name for frame in reversed(frames) for name, needles in PROFILE_CATEGORIES.items()
             if any(n in frame for n in needles)),
            "other",
        )  # fmt: skip
        shares[category] += c
    what = f"a {families}-family wave" if families else "the wave's mix at rate"
    lines = [f"py-spy, one service worker, {total} busy samples during {what}:"]
    lines += [f"  {c / total:6.1%}  {name}" for name, c in sorted(shares.items(), key=lambda x: -x[1]) if c]
    lines.append("  hottest functions by own time:")
    lines += [f"  {c / total:6.1%}  {f}" for f, c in sorted(own.items(), key=lambda x: -x[1])[:15]]
    return lines


async def _hold_connections(port: int, pid: int, count: int) -> str:
    """Open ``count`` keep-alive connections (one request each), keep them idle; what they cost the workers."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 1024)), hard))
    workers = psutil.Process(pid).children()
    before = sum(w.memory_info().rss for w in workers)
    held: list[asyncio.StreamWriter] = []

    async def one() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        held.append(writer)
        writer.write(b"GET /health HTTP/1.1\r\nHost: bench\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        await reader.read(100)

    try:
        for start in range(0, count, 500):
            await asyncio.gather(*(one() for _ in range(start, min(start + 500, count))))
        await asyncio.sleep(1)
        after = sum(w.memory_info().rss for w in workers)
        started = time.monotonic()
        await one()
        newcomer_ms = (time.monotonic() - started) * 1e3
        return (
            f"{len(held) - 1:,} idle keep-alive connections held: service workers' memory +{(after - before) / 2**20:.0f} MiB "
            f"({(after - before) / max(len(held) - 1, 1) / 1024:.1f} KiB per connection); a newcomer answered in "
            f"{newcomer_ms:.0f} ms while they were open"
        )
    except OSError as exc:
        return f"holding {count:,} connections failed after {len(held):,}: {exc}"
    finally:
        for writer in held:
            writer.close()


def _redis_costs(url: str) -> str:
    """Redis's own CPU per waiting-room script call over the whole benchmark (INFO commandstats)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    calls = sum(int(v["calls"]) for k, v in stats.items() if k in {"cmdstat_evalsha", "cmdstat_eval"})
    usec = sum(float(v["usec"]) for k, v in stats.items() if k in {"cmdstat_evalsha", "cmdstat_eval"})
    if not calls:
        return "Redis: no script calls recorded"
    per_call = usec / calls
    return (
        f"Redis: {calls:,} waiting-room script calls, {per_call:.1f} µs of Redis CPU each: one Redis node (one "
        f"thread; a room lives on one node) runs at most ~{1e6 / per_call:,.0f} such calls/s"
    )


def line(r: dict[str, object]) -> str:
    return (
        f"{r['families']:>9} {r['max_active']:>6} {r['requests']:>9.0f} {r['rps']:>6.0f} {r['poll_share']:>6.0%} "
        f"{r['p50']:>6.0f} {r['p99']:>6.0f} {r['failures']:>6.0f} {r['accept_queue']:>6} {r['connections']:>6} "
        f"{r['connections_per_family']:>6.2f} {r['cpu_us_per_request']:>7.0f} {r['paced_bare_us']:>7.0f} "
        f"{r['cpu_ms_per_family']:>7.1f} {r['service_cpu_share']:>6.0%} {r['generator_cpu']:>6.0%} "
        f"{r['generator_us_per_request']:>6.0f} {_ms(r['lag_p99_ms']):>6} {r['load']:>5.1f}  "
        f"{'holds' if r['holds'] else 'LOST'}"
    ) + "".join(f"\n      {count:>7} × {text}" for text, count in list(r["messages"].items())[:4])  # type: ignore[attr-defined]


def _ms(value: object) -> str:
    return "—" if value is None else f"{float(value):.0f}"  # type: ignore[arg-type]


HEADER = (
    f"{'families':>9} {'active':>6} {'requests':>9} {'req/s':>6} {'polls':>6} {'p50':>6} {'p99':>6} {'failed':>6} "
    f"{'acceptQ':>6} {'conns':>6} {'c/fam':>6} {'µs/req':>7} {'bare':>7} {'ms/fam':>7} {'svcCPU':>6} {'genCPU':>6} "
    f"{'gen µs':>6} {'lag99':>6} {'load1':>5}"
)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", type=int, default=1000, help="families in the first wave")
    parser.add_argument("--max-families", type=int, default=64_000)
    parser.add_argument("--bisect", type=int, default=2, help="steps between the last wave held and the first lost")
    parser.add_argument("--runs", type=int, default=2, help="runs per step, the better kept")
    parser.add_argument("--arrival-seconds", type=float, default=60.0)
    parser.add_argument("--tail-seconds", type=float, default=30.0, help="polling after the last arrival")
    parser.add_argument("--max-active-share", type=float, default=0.01, help="max_active = this share of the wave")
    parser.add_argument("--p99-ms", type=float, default=250.0)
    parser.add_argument("--workers", type=int, default=2, help="service workers")
    parser.add_argument("--generator", choices=("lean", "locust"), default="lean",
                        help="who sends the wave: loadtest/lean_wave.py (asyncio, uvloop: the default) or locust's "
                        "opening_surge (QA's kit; about as much CPU per request as the service)")  # fmt: skip
    parser.add_argument("--processes", type=int, default=0,
                        help="load-generator processes (default: lean 2, locust 1; locust > 1: master and workers)")  # fmt: skip
    parser.add_argument("--hold", type=int, default=10_000,
                        help="first hold this many idle keep-alive connections: memory per connection (0 = skip)")  # fmt: skip
    parser.add_argument("--profile-seconds", type=int, default=0,
                        help="py-spy one service worker this long in the first wave, print where its CPU goes")  # fmt: skip
    parser.add_argument("--at-rate", type=_rates, default=[6000.0, 7500.0, 9000.0],
                        help="then the wave's mix open-loop at these requests/s (comma-separated), and GET /health "
                        "the same way after each (0 = skip)")  # fmt: skip
    parser.add_argument("--at-rate-seconds", type=float, default=20.0)
    parser.add_argument("--at-rate-connections", type=int, default=2000)
    parser.add_argument("--at-rate-processes", type=int, default=2, help="generator processes")
    parser.add_argument("--only-at-rate", action="store_true", help="skip the waves (the mix: a wave's default)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs is at least 1")
    at_rate_runs = len(args.at_rate) * args.runs
    if at_rate_runs > len(REGIONS) // 2:
        parser.error(f"at most {len(REGIONS) // 2} runs at rate (rates x --runs): each needs a region of its own, "
                     "and the waves need theirs")  # fmt: skip
    args.profiled, args.profile = False, []
    args.processes = args.processes or (2 if args.generator == "lean" else 1)
    out = args.out = Path(tempfile.mkdtemp(prefix="kezek-bench-wave-"))
    print(f"machine: {psutil.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; service: kezek serve, "
          f"{args.workers} workers; generator: {GENERATORS[args.generator]}, {args.processes} process(es); "
          f"arrival {args.arrival_seconds:.0f} s, then {args.tail_seconds:.0f} s of polling; max_active = "
          f"{args.max_active_share:.0%} of the wave; {args.runs} run(s) per step, the better kept")  # fmt: skip
    print("columns: polls = share of requests that are polls; acceptQ = deepest accept queue seen (ss Recv-Q); "
          "conns = most open connections seen; c/fam = connections the generator opened per family; µs/req and "
          "ms/fam = service CPU (all its processes); bare = µs/req of GET /health paced like the wave; "
          "svcCPU/genCPU = share of the machine used by the service / the load generator; gen µs = the "
          "generator's CPU per request; lag99 = its event loop's lag p99 in ms (lean only); load1 = load average; "
          "under a lost wave its commonest failures")  # fmt: skip
    print(HEADER, flush=True)
    held, lost = 0, 0
    at_rate_regions = iter(REGIONS[-1 - at_rate_runs : -1])
    regions = iter(REGIONS[: -1 - at_rate_runs])  # the last ones: the mix at each rate, the warm-up
    results: dict[int, dict[str, object]] = {}
    os.environ.setdefault("KEZEK_LOG_LEVEL", "ERROR")
    service = LocalService(args.workers, REGIONS[0], out / "service.log", also_open=tuple(REGIONS[1:])).start()
    ceiling_us = 0.0
    held_figures = ""
    args.idle_cpu_per_s = 0.0
    try:

        def step(families: int) -> bool:
            best: dict[str, object] | None = None
            for _ in range(args.runs):
                region = next(regions, None)
                if region is None:
                    break
                r = wave(service, region, families, args, out)
                print(("  " if args.runs > 1 else "") + line(r), flush=True)
                if best is None or (r["holds"], -float(r["p99"])) > (best["holds"], -float(best["p99"])):  # type: ignore[arg-type]
                    best = r
                if r["holds"]:
                    break  # held once: the better of two cannot be worse
            if best is None:
                return False
            results[families] = best
            if args.runs > 1:
                print(line(best) + " (kept)", flush=True)
            return bool(best["holds"])

        # A service is warm when a region opens (it has served other regions for weeks): one small wave in
        # the last region first, so connection pools and scripts are loaded before anything is measured.
        warm = argparse.Namespace(**{**vars(args), "arrival_seconds": 5.0, "tail_seconds": 5.0, "profiled": True})
        wave(service, REGIONS[-1], 100, warm, out)
        idle = CpuMeter(service.server.granian_pid()).start()  # type: ignore[union-attr]
        time.sleep(10)
        args.idle_cpu_per_s = idle.stop() / 10
        ceiling_us = asyncio.run(_ceiling_cpu(int(service.env["KEZEK_PORT"]), service.server.granian_pid()))  # type: ignore[union-attr]
        if args.hold:
            server = service.server.granian_pid()  # type: ignore[union-attr]
            held_figures = asyncio.run(_hold_connections(int(service.env["KEZEK_PORT"]), server, args.hold))
            print(held_figures, flush=True)
        families = args.start
        while families <= args.max_families and not args.only_at_rate:
            if step(families):
                held = families
                families *= 2
            else:
                lost = families
                break
        if held and lost:
            for _ in range(args.bisect):
                middle = (held + lost) // 2
                if step(middle):
                    held = middle
                else:
                    lost = middle
        redis_figures = _redis_costs(service.env["KEZEK_REDIS_URL"])
        best = results.get(held) or (results[max(results)] if results else None)
        mix = wave_mix(best["rows"]) if best else dict(DEFAULT_MIX)  # type: ignore[arg-type]
        rated = [at_rate_step(service, at_rate_regions, args, mix, target) for target in args.at_rate]
    finally:
        service.stop()
    print()
    if held:
        r = results[held]
        print(f"largest wave held: {held} families within {args.arrival_seconds:.0f} s (p99 {r['p99']:.0f} ms < "
              f"{args.p99_ms:.0f} ms, 0 errors; load average {r['load']:.1f}) = {held / MOONSHOT:.1%} of the "
              f"100,000-family moonshot")  # fmt: skip
        print(f"per endpoint at that wave ({r['poll_share']:.0%} of requests are polls):")
        for row in r["rows"]:  # type: ignore[attr-defined]
            if row["Name"] != "Aggregated":
                print(f"  {row['Type']:>6} {row['Name']:<42} {int(row['Request Count']):>8} requests  "
                      f"p50 {row['50%']:>5} ms  p99 {row['99%']:>5} ms  failures {row['Failure Count']}")  # fmt: skip
        per_family_s = float(r["net_ms_per_family"]) / 1e3  # type: ignore[arg-type]
        net = float(r["net_us_per_request"])  # type: ignore[arg-type]
        paced = float(r["paced_bare_us"])  # type: ignore[arg-type]
        print(
            f"service CPU: {r['cpu_us_per_request']:.0f} µs per request, {net:.0f} µs without the idle background "
            f"({args.idle_cpu_per_s:.0%} of a core: sweepers, outbox); {r['net_ms_per_family']:.1f} ms per family"
        )
        print(f"bare JSON endpoint of the same app (GET /health): {ceiling_us:.0f} µs back to back (64 connections), "
              f"ratio {net / max(ceiling_us, 1):.2f}; {paced:.0f} µs paced like the wave ({r['rps']:.0f} requests/s "
              f"over {min(held, 4000):,} connections, each mostly alone), ratio {net / max(paced, 1):.2f}")  # fmt: skip
        print(f"capacity model: {60 / per_family_s:,.0f} families per 60 s per core of service CPU "
              f"({60 / per_family_s * psutil.cpu_count():,.0f} on this machine's {psutil.cpu_count()} cores, if the "
              f"service had them to itself); accept queue at most {r['accept_queue']}, "
              f"{r['connections']} connections open at most, {r['connections_per_family']:.2f} opened per family")  # fmt: skip
        print(f"load generator ({args.generator}) at that wave: {r['generator_cpu']:.0%} of the machine, "
              f"{r['generator_us_per_request']:.0f} µs of CPU per request, event-loop lag p99 {_ms(r['lag_p99_ms'])} "
              f"ms (max {_ms(r['lag_max_ms'])}); service: {r['service_cpu_share']:.0%} of the machine"
              + ("" if r["cut"] is None else f"; {r['cut']} request(s) under way when the families stopped, not in "
                 "the statistics (as with locust)"))  # fmt: skip
        if not lost:
            print("(every wave up to --max-families held; the machine may hold more)")
    elif not args.only_at_rate:
        print(f"even {args.start} families were not held; try --start {max(args.start // 4, 10)}")
    if rated:
        best = results.get(held) or (results[max(results)] if results else None)
        if best:
            families = int(best["families"])  # type: ignore[call-overload]
            per_family, source = float(best["requests"]) / families, f"the {families}-family wave's"  # type: ignore[arg-type]
        else:
            per_family, source = 1 / DEFAULT_MIX["join"], "a wave's default mix: one join per family"
        for figures in rated:
            for text in at_rate_lines(figures, per_family, source):
                print(text)
        print(at_rate_summary(rated, per_family))
    if held_figures:
        print(held_figures)
    print(redis_figures)
    for text in args.profile:
        print(text)
    print(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; the generator's files: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
