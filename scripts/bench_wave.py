"""Benchmark (not a test): the largest opening wave this machine holds.

A wave = N families joining one region's waiting room within the first
``--arrival-seconds`` (60) of its opening, then polling at the interval the
service suggests, applying when admitted and releasing (the ``opening_surge``
locustfile).  The service runs as production runs it (``kezek serve``,
granian, ``--workers``) on the same machine as locust, so the load generator's
own CPU share is measured and printed: on 2 cores it takes a large part of the
machine, and the figure is a lower bound of what the service alone holds.

"Holds" = zero failed requests, zero 5xx, and p99 < ``--p99-ms`` (250) over all
requests of the run.  N doubles from ``--start`` until a wave fails (or
``--max-families``), then ``--bisect`` steps narrow it.  Every step uses a fresh
region (its window opened now), so earlier waves do not linger in the room; a
small unmeasured wave in another region warms the service up first.

    scripts/bench wave                       # 1000, 2000, 4000… families
    scripts/bench wave --start 200 --max-families 800 --arrival-seconds 20
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtest.runner import BIN, LOCUSTFILES, LocalService, mint_region_admin  # noqa: E402

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


def aggregated(stats_csv: Path) -> dict[str, float]:
    with stats_csv.open() as f:
        for row in csv.DictReader(f):
            if row["Name"] == "Aggregated":
                return {
                    "requests": float(row["Request Count"]),
                    "failures": float(row["Failure Count"]),
                    "rps": float(row["Requests/s"]),
                    "p50": float(row["50%"] or 0),
                    "p99": float(row["99%"] or 0),
                }
    return {"requests": 0, "failures": 0, "rps": 0, "p50": 0, "p99": 0}


def five_xx(failures_csv: Path) -> int:
    if not failures_csv.exists():
        return 0
    with failures_csv.open() as f:
        return sum(int(r["Occurrences"]) for r in csv.DictReader(f) if "HTTP 5" in r["Error"] or "HTTP 0" in r["Error"])


def wave(service: LocalService, region: str, families: int, args: argparse.Namespace, out: Path) -> dict[str, float]:
    token = mint_region_admin(service.env["KEZEK_SIGNING_KEY_FILE"], region)
    run_time = int(args.arrival_seconds + args.tail_seconds)
    prefix = out / f"wave-{families}"
    command = [
        str(BIN / "locust"), "-f", str(LOCUSTFILES / "opening_surge.py"), "--headless", "--only-summary",
        "--host", service.host, "--run-time", f"{run_time}s", "--stop-timeout", "5", "--csv", str(prefix),
        "--loglevel", "ERROR", "--exit-code-on-error", "0", "--region", region, "--families", str(families),
        "--arrival-seconds", str(args.arrival_seconds), "--max-poll-seconds", "30", "--admin-token", token,
        "--think-seconds", "2", "--abandon-share", "0.02",
    ]  # fmt: skip
    if args.processes > 1:
        command += ["--processes", str(args.processes)]
    server_cpu = CpuMeter(service.server.pid).start()
    started = time.monotonic()
    locust = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    locust_cpu = CpuMeter(locust.pid).start()
    locust.wait(timeout=run_time + 120)
    wall = time.monotonic() - started
    figures = aggregated(Path(f"{prefix}_stats.csv"))
    figures["5xx"] = five_xx(Path(f"{prefix}_failures.csv"))
    figures["locust_cpu"] = locust_cpu.stop() / wall / psutil.cpu_count()
    figures["server_cpu"] = server_cpu.stop() / wall / psutil.cpu_count()
    figures["holds"] = float(figures["failures"] == 0 and figures["p99"] < args.p99_ms and figures["requests"] > 0)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", type=int, default=1000, help="families in the first wave")
    parser.add_argument("--max-families", type=int, default=64_000)
    parser.add_argument("--bisect", type=int, default=2, help="steps between the last wave held and the first lost")
    parser.add_argument("--arrival-seconds", type=float, default=60.0)
    parser.add_argument("--tail-seconds", type=float, default=30.0, help="polling after the last arrival")
    parser.add_argument("--p99-ms", type=float, default=250.0)
    parser.add_argument("--workers", type=int, default=2, help="service workers")
    parser.add_argument("--processes", type=int, default=1, help="locust processes")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="kezek-bench-wave-"))
    print(f"machine: {psutil.cpu_count()} CPUs; service: kezek serve, {args.workers} workers; "
          f"locust: {args.processes} process(es), FastHttpUser; arrival {args.arrival_seconds:.0f} s, "
          f"then {args.tail_seconds:.0f} s of polling")  # fmt: skip
    print(f"{'families':>9} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'failed':>7} {'5xx':>5} "
          f"{'locust CPU':>10} {'service CPU':>11}  verdict")  # fmt: skip
    held, lost = 0, 0
    regions = iter(REGIONS[:-1])
    results: dict[int, dict[str, float]] = {}
    os.environ.setdefault("KEZEK_LOG_LEVEL", "ERROR")
    service = LocalService(args.workers, REGIONS[0], out / "service.log", also_open=tuple(REGIONS[1:])).start()
    try:

        def step(families: int) -> bool:
            region = next(regions, None)
            if region is None:
                return False
            r = wave(service, region, families, args, out)
            results[families] = r
            print(f"{families:>9} {r['requests']:>9.0f} {r['rps']:>8.0f} {r['p50']:>7.0f} {r['p99']:>7.0f} "
                  f"{r['failures']:>7.0f} {r['5xx']:>5.0f} {r['locust_cpu']:>10.0%} {r['server_cpu']:>11.0%}  "
                  f"{'holds' if r['holds'] else 'LOST'}", flush=True)  # fmt: skip
            return bool(r["holds"])

        # A service is warm when a region opens (it has served other regions for weeks): one small wave in
        # the last region first, so connection pools and scripts are loaded before anything is measured.
        warm = argparse.Namespace(**{**vars(args), "arrival_seconds": 5.0, "tail_seconds": 5.0})
        wave(service, REGIONS[-1], 100, warm, out)
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
    finally:
        service.stop()
    print()
    if held:
        r = results[held]
        print(f"wave capacity: {held} families within {args.arrival_seconds:.0f} s "
              f"(p99 {r['p99']:.0f} ms < {args.p99_ms:.0f} ms, 0 errors); "
              f"= {held / MOONSHOT:.1%} of the 100,000-family five-region moonshot")  # fmt: skip
        print(f"load generator's CPU share at that wave: {r['locust_cpu']:.0%} of the machine "
              f"(service: {r['server_cpu']:.0%})")  # fmt: skip
        if not lost:
            print("(every wave up to --max-families held; the machine may hold more)")
    else:
        print(f"even {args.start} families were not held; try --start {max(args.start // 4, 10)}")
    print(f"locust statistics: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
