"""Benchmark (not a test): the largest opening wave this machine holds, and what it costs the service.

A wave = N families joining one region's waiting room within the first
``--arrival-seconds`` (60) of its opening, then polling at the interval the
service suggests (at most 30 s, as the page), applying when admitted and
releasing (the ``opening_surge`` locustfile).  The room QUEUES, as a real
opening does: ``max_active`` is ``--max-active-share`` (1 %) of the wave, so
polls are most of the requests.  The service runs as production runs it
(``kezek serve``, granian, ``--workers``) on the same machine as locust.

Each step is run twice (``--runs``) in fresh regions and the better run kept,
so a noisy neighbour does not decide the figure.  Per step it prints requests,
p50/p99, errors, the deepest accept queue (``ss``: Recv-Q of the listen socket)
and the most open connections seen, the connections locust opened per family,
the service's CPU per request and per family (psutil, the server's process
tree), locust's CPU share and the load average.  "Holds" = zero failed
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

    scripts/bench wave                       # 1000, 2000, 4000… families
    scripts/bench wave --start 200 --max-families 800 --arrival-seconds 20 --runs 1
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

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


def wave(service: LocalService, region: str, families: int, args: argparse.Namespace, out: Path) -> dict[str, object]:
    token = mint_region_admin(service.env["KEZEK_SIGNING_KEY_FILE"], region)
    max_active = max(10, int(families * args.max_active_share))
    _patch_room(service, region, token, {"max_active": max_active})
    run_time = int(args.arrival_seconds + args.tail_seconds)
    prefix = out / f"{region}-{families}"
    journal = out / f"{region}-{families}-journal"
    command = [
        str(BIN / "locust"), "-f", str(LOCUSTFILES / "opening_surge.py"), "--headless", "--only-summary",
        "--host", service.host, "--run-time", f"{run_time}s", "--stop-timeout", "5", "--csv", str(prefix),
        "--loglevel", "ERROR", "--exit-code-on-error", "0", "--region", region, "--families", str(families),
        "--arrival-seconds", str(args.arrival_seconds), "--max-poll-seconds", "30", "--admin-token", token,
        "--think-seconds", "2", "--abandon-share", "0.02", "--journal-dir", str(journal),
    ]  # fmt: skip
    if args.processes > 1:
        command += ["--processes", str(args.processes)]
    server_cpu = CpuMeter(service.server.pid).start()  # type: ignore[union-attr]
    sockets = SocketWatch(int(service.env["KEZEK_PORT"])).start()
    started = time.monotonic()
    locust = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    locust_cpu = CpuMeter(locust.pid).start()
    if args.profile_seconds and not args.profiled:
        args.profiled = True
        time.sleep(args.arrival_seconds / 2)  # the wave in full swing: joins and polls
        worker = psutil.Process(service.server.pid).children()[0]  # type: ignore[union-attr]
        raw = out / "profile.txt"
        subprocess.run(
            [str(BIN / "py-spy"), "record", "--pid", str(worker.pid), "--duration", str(args.profile_seconds),
             "--rate", "200", "--format", "raw", "--output", str(raw), "--nonblocking"],
            capture_output=True, check=False,
        )  # fmt: skip
        args.profile = profile_summary(raw, families)
    locust.wait(timeout=run_time + 120)
    wall = time.monotonic() - started
    sockets.stop()
    rows = endpoint_rows(Path(f"{prefix}_stats.csv"))
    figures: dict[str, object] = {**aggregated(rows), "rows": rows, "families": families, "max_active": max_active}
    service_cpu = server_cpu.stop()
    background = args.idle_cpu_per_s * wall  # sweepers, outbox publisher: spent whether or not anyone comes
    requests = max(float(figures["requests"]), 1.0)  # type: ignore[arg-type]
    polls = sum(float(r["Request Count"]) for r in rows if r["Name"] == "/v1/rooms/[region]/visitors/me")
    figures.update(
        locust_cpu=locust_cpu.stop() / wall / psutil.cpu_count(), service_cpu_share=service_cpu / wall / psutil.cpu_count(),
        cpu_us_per_request=service_cpu / requests * 1e6, cpu_ms_per_family=service_cpu / families * 1e3,
        net_us_per_request=max(service_cpu - background, 0) / requests * 1e6,
        net_ms_per_family=max(service_cpu - background, 0) / families * 1e3,
        accept_queue=sockets.accept_queue, connections=sockets.connections, poll_share=polls / requests,
        connections_per_family=invariants.read_facts(journal).connections / families, load=os.getloadavg()[0],
    )  # fmt: skip
    figures["holds"] = figures["failures"] == 0 and float(figures["p99"]) < args.p99_ms and requests > 1  # type: ignore[arg-type]
    # the bare endpoint paced like this wave: its request rate, one connection per family (at most 4,000)
    figures["paced_bare_us"] = asyncio.run(
        _ceiling_cpu(
            int(service.env["KEZEK_PORT"]), service.server.pid, seconds=10,  # type: ignore[union-attr]
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
    lines = [f"py-spy, one service worker, {total} busy samples during a {families}-family wave:"]
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
        f"{r['cpu_ms_per_family']:>7.1f} {r['service_cpu_share']:>6.0%} {r['locust_cpu']:>6.0%} {r['load']:>5.1f}  "
        f"{'holds' if r['holds'] else 'LOST'}"
    )  # fmt: skip


HEADER = (
    f"{'families':>9} {'active':>6} {'requests':>9} {'req/s':>6} {'polls':>6} {'p50':>6} {'p99':>6} {'failed':>6} "
    f"{'acceptQ':>6} {'conns':>6} {'c/fam':>6} {'µs/req':>7} {'bare':>7} {'ms/fam':>7} {'svcCPU':>6} {'locCPU':>6} "
    f"{'load1':>5}"
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
    parser.add_argument("--processes", type=int, default=1, help="locust processes")
    parser.add_argument("--hold", type=int, default=10_000,
                        help="first hold this many idle keep-alive connections: memory per connection (0 = skip)")  # fmt: skip
    parser.add_argument("--profile-seconds", type=int, default=0,
                        help="py-spy one service worker this long in the first wave, print where its CPU goes")  # fmt: skip
    args = parser.parse_args()
    args.profiled, args.profile = False, []
    out = Path(tempfile.mkdtemp(prefix="kezek-bench-wave-"))
    print(f"machine: {psutil.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; service: kezek serve, "
          f"{args.workers} workers; locust: {args.processes} process(es), FastHttpUser (pooled connections kept); "
          f"arrival {args.arrival_seconds:.0f} s, then {args.tail_seconds:.0f} s of polling; max_active = "
          f"{args.max_active_share:.0%} of the wave; {args.runs} run(s) per step, the better kept")  # fmt: skip
    print("columns: polls = share of requests that are polls; acceptQ = deepest accept queue seen (ss Recv-Q); "
          "conns = most open connections seen; c/fam = connections locust opened per family; µs/req and "
          "ms/fam = service CPU (all its processes); bare = µs/req of GET /health paced like the wave; svcCPU/locCPU = share of the machine; load1 = load average")  # fmt: skip
    print(HEADER, flush=True)
    held, lost = 0, 0
    regions = iter(REGIONS[:-1])
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
        idle = CpuMeter(service.server.pid).start()  # type: ignore[union-attr]
        time.sleep(10)
        args.idle_cpu_per_s = idle.stop() / 10
        ceiling_us = asyncio.run(_ceiling_cpu(int(service.env["KEZEK_PORT"]), service.server.pid))  # type: ignore[union-attr]
        if args.hold:
            held_figures = asyncio.run(_hold_connections(int(service.env["KEZEK_PORT"]), service.server.pid, args.hold))  # type: ignore[union-attr]
            print(held_figures, flush=True)
        families = args.start
        while families <= args.max_families:
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
        print(f"load generator's CPU share at that wave: {r['locust_cpu']:.0%} of the machine "
              f"(service: {r['service_cpu_share']:.0%})")  # fmt: skip
        if not lost:
            print("(every wave up to --max-families held; the machine may hold more)")
    else:
        print(f"even {args.start} families were not held; try --start {max(args.start // 4, 10)}")
    if held_figures:
        print(held_figures)
    print(redis_figures)
    for text in args.profile:
        print(text)
    print(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; locust statistics: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
