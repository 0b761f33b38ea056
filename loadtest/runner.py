"""``scripts/loadtest``: one command for QA — start the service, run a scenario, check, report.

1. Unless ``--host`` is given, starts its own Redis and PostgreSQL
   (:mod:`devservices`, throwaway, on free ports), migrates, loads the
   reference data, opens ``--region``'s window now (demo mode) and serves the app
   the way production does: ``kezek serve`` (granian, ``--workers`` processes,
   ``PROMETHEUS_MULTIPROC_DIR`` so ``/metrics`` covers them all) on a free port.
2. Runs the scenario's locustfile headless for at most ``--run-time`` seconds
   (``--processes N`` forks N locust workers; ``--web`` opens locust's web UI
   instead), scraping ``/metrics`` and the room state every second.
3. Checks the invariants (:mod:`loadtest.invariants`) and the service-level
   objectives (failure ratio, p95/p99 per endpoint), writes the report folder
   (locust's HTML, PNG charts, ``summary.md``) and exits 1 when anything failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg

import devservices
from loadtest import invariants, report
from loadtest.common import journal
from loadtest.metrics import Scraper, read_samples, server_5xx

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILES = Path(__file__).resolve().parent / "locustfiles"
SCENARIOS = sorted(p.stem for p in LOCUSTFILES.glob("*.py"))
BIN = Path(sys.executable).parent
JOURNAL_GRACE_SECONDS = 30.0
"""How long the workers may take to quit (and close their journals) after locust's master ended."""


def _http(method: str, url: str, body: Any = None, token: str | None = None, timeout: float = 10.0) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - the service under test
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            payload = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        payload, status = exc.read(), exc.code
    except (urllib.error.URLError, OSError):
        return 0, None
    try:
        return status, json.loads(payload) if payload else None
    except json.JSONDecodeError:
        return status, None


class LocalService:
    """Redis + PostgreSQL + ``kezek serve`` (:class:`devservices.KezekServer`) on free ports, stopped by
    the PIDs started here.  The caller's own ``KEZEK_*`` settings reach the service (QA tunes it that
    way), except those that say where it runs and what it talks to."""

    OWN = frozenset(
        {"HOST", "PORT", "PUBLIC_URL", "WORKERS", "DATABASE_URL", "REDIS_URL", "REDIS_MODE", "SIGNING_KEY_FILE"}
    )

    def __init__(self, workers: int, region: str, log: Path, also_open: tuple[str, ...] = ()) -> None:
        self.workers = workers
        self.regions = (region, *also_open)  # windows opened before the server starts (and caches them)
        self.log = log
        self.tmp = Path(tempfile.mkdtemp(prefix="kezek-loadtest-"))
        self.services: Any = None
        self.server: devservices.KezekServer | None = None

    @property
    def host(self) -> str:
        assert self.server is not None
        return self.server.url

    @property
    def env(self) -> dict[str, str]:
        assert self.server is not None
        return self.server.env

    def start(self) -> LocalService:
        self.services = devservices.Services(self.tmp / "services").__enter__()
        callers = {
            name.removeprefix("KEZEK_").lower(): value
            for name, value in os.environ.items()
            if name.startswith("KEZEK_") and name.removeprefix("KEZEK_") not in self.OWN
        }
        self.server = devservices.KezekServer(
            self.tmp / "serve",
            self.services.postgres.url,
            self.services.redis.url,
            workers=self.workers,
            key_file=self.tmp / "signing-key.pem",
            **callers,
        )
        self.server.log = self.log
        kezek = str(BIN / "kezek")
        commands = [["migrate"], ["load-reference"], *(["demo-window", r] for r in self.regions), ["generate-key"]]
        for command in commands:
            subprocess.run([kezek, *command], env=self.server.env, check=True, capture_output=True)
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.services is not None:
            self.services.__exit__(None, None, None)
        shutil.rmtree(self.tmp, ignore_errors=True)


@contextlib.contextmanager
def local_service(workers: int, region: str, log: Path) -> Iterator[LocalService]:
    service = LocalService(workers, region, log)
    try:
        yield service.start()
    finally:
        service.stop()


def mint_region_admin(signing_key_file: str, region: str) -> str:
    from admission.signing_keys import KeySet, mint_admin_token

    keys = KeySet.load_or_create(signing_key_file)
    return mint_admin_token(keys, "loadtest", "region", region=region, ttl=dt.timedelta(hours=2))


def locust_command(args: argparse.Namespace, host: str, out: Path, admin_token: str, signing_key: str) -> list[str]:
    command = [
        str(BIN / "locust"), "-f", str(LOCUSTFILES / f"{args.scenario}.py"), "--host", host,
        "--run-time", f"{args.run_time}s", "--stop-timeout", "10",
        "--html", str(out / "locust.html"), "--csv", str(out / "locust"), "--csv-full-history",
        "--loglevel", "WARNING", "--logfile", str(out / "locust.log"), "--exit-code-on-error", "0",
        "--region", args.region, "--families", str(args.families), "--arrival-seconds", str(args.arrival_seconds),
        "--journal-dir", str(out / "journal"), "--admin-token", admin_token, "--signing-key-file", signing_key,
    ]  # fmt: skip
    if args.web:
        command += ["--web-host", "127.0.0.1", "--web-port", str(args.web_port)]
    else:
        command += ["--headless", "--only-summary"]
    if args.processes > 1:
        # the master on a free loopback port, not locust's fixed 5557: two runs on one machine (two test
        # workers, two engineers) would otherwise share workers -- or fail to bind
        port = str(devservices.free_port())
        command += ["--processes", str(args.processes), "--master-bind-host", "127.0.0.1", "--master-bind-port", port]
        command += ["--master-host", "127.0.0.1", "--master-port", port]
    return command + list(args.locust_args)


def run_locust(command: list[str], timeout: float | None) -> int:
    """Run locust to its end; on Ctrl-C let it stop cleanly (it writes its report and journals), then go on."""
    proc = subprocess.Popen(command)
    try:
        return proc.wait(timeout)
    except KeyboardInterrupt:
        # A Ctrl-C in the terminal reached locust too; if only we got one, pass it on after a moment.
        for signum, grace in ((None, 3.0), (signal.SIGINT, 30.0)):
            if signum is not None:
                proc.send_signal(signum)
            try:
                proc.wait(grace)
                return 0
            except subprocess.TimeoutExpired:
                continue
        proc.kill()
        proc.wait()
        return 0
    except subprocess.TimeoutExpired:  # a shape that never ends: bounded all the same
        proc.kill()
        proc.wait()
        return -1


async def _database_figures(database_url: str, since: float) -> tuple[list[tuple[int, str, int]], dict[str, int]]:
    try:
        conn = await asyncpg.connect(database_url)
    except (OSError, asyncpg.PostgresError):
        return [], {}
    try:
        from loadtest.invariants import QUERIES

        when = dt.datetime.fromtimestamp(since, dt.UTC)
        decisions = [
            (r["second"], r["status"], r["n"]) for r in await conn.fetch(QUERIES["decisions_per_second"], when)
        ]
        counts = {r["status"]: r["n"] for r in await conn.fetch(QUERIES["status_counts"])}
        return decisions, counts
    except asyncpg.UndefinedTableError:
        return [], {}
    finally:
        await conn.close()


def _setting(text: str) -> tuple[str, Any]:
    name, _, value = text.partition("=")
    if not name or not value:
        raise SystemExit(f"--room {text!r}: expected SETTING=VALUE")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/loadtest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", nargs="?", default="opening_day", choices=SCENARIOS, help="default: opening_day")
    parser.add_argument("--region", default="astana")
    parser.add_argument("--families", type=int, default=300, help="families in the surge (default 300)")
    parser.add_argument("--arrival-seconds", type=float, default=30.0, help="they all arrive within this (30)")
    parser.add_argument("--run-time", type=int, default=90, help="seconds, the hard bound of the run (90)")
    parser.add_argument("--max-active", type=int, default=50, help="room max_active set first (50; -1: leave)")
    parser.add_argument("--room", action="append", default=[], metavar="SETTING=VALUE",
                        help="room setting PATCHed before the run, e.g. arrival_grace=60 (repeatable)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="service worker processes when started here (2)")
    parser.add_argument("--processes", type=int, default=1, help="locust worker processes on this machine (1)")
    parser.add_argument("--host", default=None, help="test a running service instead of starting one")
    parser.add_argument("--database-url", default=os.environ.get("KEZEK_DATABASE_URL"), help="with --host: checks")
    parser.add_argument("--redis-url", default=os.environ.get("KEZEK_REDIS_URL"), help="with --host: checks")
    parser.add_argument("--signing-key-file", default=os.environ.get("KEZEK_SIGNING_KEY_FILE", ""),
                        help="with --host: the service's key (admin token, expired/other-region tokens)")  # fmt: skip
    parser.add_argument("--admin-token", default="", help="with --host: a region admin token")
    parser.add_argument("--report-dir", default=None, help="default: .kezek/loadtest/<time>-<scenario>")
    parser.add_argument("--slo-failure-ratio", type=float, default=0.01)
    parser.add_argument("--slo-p95-ms", type=float, default=500.0, help="default p95 limit of every endpoint")
    parser.add_argument("--slo-p99-ms", type=float, default=1000.0, help="default p99 limit of every endpoint")
    parser.add_argument("--slo", action="append", default=[], metavar="'METHOD NAME:p99=MS[,p95=MS]'",
                        help="a limit for one endpoint, e.g. 'GET /v1/rooms/[region]/visitors/me:p99=250'")  # fmt: skip
    parser.add_argument("--max-inversions", type=int, default=0, help="FIFO inversions tolerated (0)")
    parser.add_argument("--fifo-tolerance", type=float, default=1.0,
                        help="seconds: answers from a room snapshot this old are not inversions (1.0)")  # fmt: skip
    parser.add_argument("--settle-seconds", type=float, default=30.0, help="wait for the contingent outbox (30)")
    parser.add_argument("--web", action="store_true", help="locust's web UI instead of headless (Ctrl-C to finish)")
    parser.add_argument("--web-port", type=int, default=8089)
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    args.locust_args = extra  # after '--': passed to locust as is
    return args


def run(args: argparse.Namespace) -> int:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(args.report_dir or ROOT / ".kezek" / "loadtest" / f"{stamp}-{args.scenario}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    slo = report.parse_slo(
        args.slo, report.Slo(failure_ratio=args.slo_failure_ratio, p95_ms=args.slo_p95_ms, p99_ms=args.slo_p99_ms)
    )
    with contextlib.ExitStack() as stack:
        if args.host:
            host, database_url, redis_url = args.host.rstrip("/"), args.database_url, args.redis_url
            signing_key = args.signing_key_file
        else:
            print(f"starting Redis, PostgreSQL and kezek serve ({args.workers} workers)…", flush=True)
            service = stack.enter_context(local_service(args.workers, args.region, out / "service.log"))
            host, database_url, redis_url = (
                service.host,
                service.env["KEZEK_DATABASE_URL"],
                service.env["KEZEK_REDIS_URL"],
            )
            signing_key = service.env["KEZEK_SIGNING_KEY_FILE"]
        admin_token = args.admin_token or (mint_region_admin(signing_key, args.region) if signing_key else "")
        room_settings = dict(_setting(s) for s in args.room)
        if args.max_active >= 0:
            room_settings["max_active"] = args.max_active
        if room_settings:
            status, body = _http("PATCH", f"{host}/v1/admin/rooms/{args.region}", room_settings, admin_token)
            print(f"room settings {room_settings}: HTTP {status}")
            if status == 404:
                print("  (no waiting room is served here: settings not applied)")
            elif status != 200:
                raise SystemExit(f"could not set the room's settings: HTTP {status} {body}")
        room = _http("GET", f"{host}/v1/rooms/{args.region}")[1]
        policy = room.get("queue_policy") if isinstance(room, dict) else None
        scraper = Scraper(host, args.region, out / "metrics.jsonl").start()
        started = time.time()
        command = locust_command(args, host, out, admin_token, signing_key)
        print(f"running {args.scenario} against {host} for at most {args.run_time} s → {out}", flush=True)
        if args.web:
            print(f"locust web UI: http://127.0.0.1:{args.web_port}  (Ctrl-C here when done)", flush=True)
        locust_rc = run_locust(command, None if args.web else args.run_time + 120)
        # locust's master may exit before its --processes workers have quit and closed their journals
        unclosed = journal.await_journals(out / "journal", JOURNAL_GRACE_SECONDS)
        final = scraper.stop()
        print("checking the invariants…", flush=True)
        samples = read_samples(out / "metrics.jsonl")
        rooms = [{**s["room"], "t": s["t"] - started} for s in samples if s.get("room")]
        checks = asyncio.run(
            invariants.check_all(
                database_url=database_url, redis_url=redis_url, journal_dir=out / "journal", queue_policy=policy,
                max_inversions=args.max_inversions, fifo_tolerance=args.fifo_tolerance,
                settle_seconds=args.settle_seconds, room_samples=rooms,
                server_5xx=server_5xx(final),
            )
        )  # fmt: skip
        if unclosed:
            checks.append(
                invariants.Check(
                    name="journal", ok=False,
                    summary=f"{len(unclosed)} journal(s) not closed by their locust process within "
                    f"{JOURNAL_GRACE_SECONDS:.0f} s of the run's end: the checks read an incomplete record",
                    details=[p.name for p in unclosed[: invariants.SAMPLE]],
                )
            )  # fmt: skip
        if locust_rc not in {0, 1}:
            checks.append(invariants.Check(name="locust", ok=False, summary=f"locust ended with {locust_rc}"))
        slo_results, slo_check = report.evaluate_slo(report.read_locust_stats(out / "locust_stats.csv"), slo)
        checks.append(slo_check)
        facts = invariants.read_facts(out / "journal")
        decisions, counts = asyncio.run(_database_figures(database_url, started)) if database_url else ([], {})
        charts = [
            p
            for p in (
                report.chart_visitors(samples, out / "visitors.png", started),
                report.chart_admissions(facts, decisions, out / "admissions.png", started),
                report.chart_latency(samples, out / "latency.png", started),
            )
            if p is not None
        ]
        parameters = {
            "scenario": args.scenario, "host": host, "region": args.region, "families": args.families,
            "arrival within (s)": args.arrival_seconds, "run time (s)": args.run_time,
            "service workers": "given host" if args.host else args.workers, "locust processes": args.processes,
            "queue policy": policy or "unknown",
        }  # fmt: skip
        good = report.write_summary(
            out / "summary.md", scenario=args.scenario, parameters=parameters, checks=checks,
            slo_results=slo_results, facts=facts, charts=charts, status_counts=counts,
        )  # fmt: skip
    for c in checks:
        print(f"  {'ok  ' if c.ok else ('FAIL' if c.ok is False else 'skip')} {c.name}: {c.summary}")
    print(f"{'PASS' if good else 'FAIL'} — report: {out / 'summary.md'}")
    return 0 if good else 1


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
