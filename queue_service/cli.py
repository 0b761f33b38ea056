"""Operator commands: ``kezek migrate``, ``kezek load-reference``, ``kezek mint-admin-token``, ``kezek serve``…

Every command reads the same ``KEZEK_*`` settings as the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import asyncpg
import click

from admission import db as database
from admission import reference
from admission.errors import InvalidInput, KezekError, UnknownRegion
from admission.signing_keys import KeySet, mint_admin_token
from queue_service.census_cli import census
from queue_service.monitoring_cli import monitoring
from queue_service.settings import Settings

T = TypeVar("T")


def _run(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run ``work`` on a connection to the configured database, its errors as click's."""

    async def main(url: str) -> T:
        conn = await asyncpg.connect(url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return _run_main(main)


def _run_pool(work: Callable[[database.Pool], Awaitable[T]], size: int) -> T:
    """Run ``work`` on a pool of up to ``size`` connections to the configured database, its errors as click's."""

    async def main(url: str) -> T:
        pool = await database.create_pool(url, min_size=1, max_size=size)
        try:
            return await work(pool)
        finally:
            await pool.close()

    return _run_main(main)


def _run_main(main: Callable[[str], Coroutine[Any, Any, T]]) -> T:
    settings = Settings.from_env()
    try:
        return asyncio.run(main(settings.database_url))
    except KezekError as exc:
        raise click.ClickException(exc.message("en") + (f" ({exc.detail})" if exc.detail else "")) from exc
    except (OSError, asyncpg.PostgresError) as exc:
        raise click.ClickException(f"database {settings.database_url}: {exc}") from exc


@click.group(
    help="Kezek's operator commands.  Every command reads the same KEZEK_* settings as the service: "
    "against the service of scripts/run, first run 'set -a; . .kezek/services.env; set +a' in this shell.",
)
def main() -> None:
    pass


@main.command(help="Apply the PostgreSQL migrations not yet applied.")
def migrate() -> None:
    applied = _run(database.migrate)
    click.echo(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "schema is up to date")


@main.command("load-reference", help="Load the regions, their 2026 windows and the schools (idempotent).")
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="a folder with regions.csv, schools.csv, school_classes.csv, preschool_roster.csv "
                   "(default: the shipped demo set)")  # fmt: skip
def load_reference_command(directory: Path | None) -> None:
    report = _run(lambda conn: reference.load_reference(conn, directory))
    click.echo(
        f"regions: {report.regions}, schools: {report.schools}, class sets: {report.school_classes}, "
        f"pre-school roster: {report.preschool_roster}"
    )


@main.command(
    "demo-window",
    help="DEMO: open REGION's grade-1 window now, for DAYS days, marked as demo (running services follow at once).",
)
@click.argument("region")
@click.option("--days", type=click.IntRange(1, 120), default=7, show_default=True)
def demo_window(region: str, days: int) -> None:
    now = dt.datetime.now(reference.KZ).replace(microsecond=0)
    _run(lambda conn: reference.open_demo_window(conn, region, now, days))
    click.echo(f"DEMO: {region}'s window is open from {now.isoformat()} for {days} day(s)")


@main.command(
    "reset-windows",
    help="Put every region's window back to the 2026 schedule of pilot annex 2 (running services follow at once).",
)
def reset_windows() -> None:
    async def work(conn: asyncpg.Connection) -> int:
        regions = reference.regions_from_file()
        for r in regions:
            await reference.set_window(conn, r.slug, r.window_opens_at, r.window_closes_at)
        return len(regions)

    click.echo(f"{_run(work)} windows reset to annex 2")


@main.command("generate-key", help="Create the Ed25519 signing key at KEZEK_SIGNING_KEY_FILE if it does not exist.")
def generate_key() -> None:
    path = Settings.from_env().signing_key_file
    keys = KeySet.load_or_create(path)
    click.echo(f"signing key {path} (kid {keys.kid})")


@main.command("mint-admin-token", help="Print a bearer token for an admin: ministry, region or school.")
@click.option("--subject", required=True, help="who the admin is (name or staff id), written to the audit log")
@click.option("--role", type=click.Choice(["ministry", "region", "school"]), required=True)
@click.option("--region", default=None, help="the region of a region or school admin")
@click.option("--school", default=None, help="the school БСН of a school admin")
@click.option("--ttl-hours", type=click.IntRange(1, 24 * 31), default=None, help="default: KEZEK_ADMIN_TOKEN_TTL_HOURS")
def mint_admin_token_command(
    subject: str, role: Any, region: str | None, school: str | None, ttl_hours: int | None
) -> None:
    settings = Settings.from_env()
    keys = KeySet.load_or_create(settings.signing_key_file)
    ttl = dt.timedelta(hours=ttl_hours or settings.admin_token_ttl_hours)
    if role == "ministry" and (region or school):
        raise click.ClickException("a ministry token names no region or school")
    if role == "region" and school:
        raise click.ClickException("a region token names no school (mint a school token for a school)")
    if region is not None or school is not None:
        _run(lambda conn: _check_admin_scope(conn, region, school))  # only real regions, a school of its region
    try:
        token = mint_admin_token(keys, subject, role, region=region, school=school, ttl=ttl)
    except KezekError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(token)


async def _check_admin_scope(conn: asyncpg.Connection, region: str | None, school: str | None) -> None:
    if region is not None and await reference.get_region(conn, region) is None:
        raise UnknownRegion(region=region)
    if school is not None:
        school_region = await reference.school_region(conn, school)
        if school_region != region:
            raise InvalidInput(f"school {school} is in region {school_region}, not {region}")


@main.command("publish-outbox", help="Deliver the contingent outbox to the contingent store (until Ctrl-C, or --once).")
@click.option("--once", is_flag=True, help="deliver what is due now, then exit")
@click.option("--batch", type=click.IntRange(1, 10_000), default=200, show_default=True)
def publish_outbox(once: bool, batch: int) -> None:
    from queue_service.background import close_store, observe_round, publisher_for

    settings = Settings.from_env()

    async def work() -> int:
        pool = await database.create_pool(settings.database_url, min_size=1, max_size=10)
        publisher = publisher_for(settings, pool, batch=batch)
        try:
            if once:
                delivered = await publisher.drain()
                await publisher.measure_lag()
                return delivered
            stop = asyncio.Event()
            await publisher.run(stop, settings.outbox_poll_seconds, observe=observe_round)
            return 0
        finally:
            await close_store(publisher)
            await pool.close()

    try:
        delivered = asyncio.run(work())
    except KeyboardInterrupt:
        return
    except (OSError, asyncpg.PostgresError) as exc:
        raise click.ClickException(f"database {settings.database_url}: {exc}") from exc
    if once:
        click.echo(f"delivered {delivered} contingent event(s)")


@main.command(help="Serve HTTP with the chosen ASGI server (granian by default) and KEZEK_WORKERS workers.")
@click.option("--server", type=click.Choice(["granian", "uvicorn"]), default="granian", show_default=True)
@click.option("--workers", type=int, default=None, help="default: KEZEK_WORKERS")
def serve(server: str, workers: int | None) -> None:
    settings = Settings.from_env()
    count = workers or settings.workers
    KeySet.load_or_create(settings.signing_key_file)  # created once here, not raced by the workers
    metrics_dir: str | None = None
    if count > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Several worker processes: /metrics must add up every worker's samples (prometheus_client's
        # multiprocess mode), so they share a fresh folder for their metric files, removed at exit.
        metrics_dir = tempfile.mkdtemp(prefix="kezek-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    limits = connection_limits(settings, count)
    for warning in limits.warnings:
        click.echo(f"kezek serve: {warning}", err=True)
    if server == "granian":
        argv = [
            "granian", "--interface", "asgi", "--factory", "--host", settings.host, "--port", str(settings.port),
            "--workers", str(count), "--loop", "uvloop" if _has("uvloop") else "asyncio",
            # A crashed worker is replaced (its outbox publisher and room sweeper start with it), never
            # the whole server stopped.
            "--respawn-failed-workers", "--respawn-interval", "1",
            "--backlog", str(limits.backlog), "--backpressure", str(limits.per_worker),
            "--http1-header-read-timeout", str(limits.keep_alive_ms),
            "--no-access-log", "queue_service.asgi:create",
        ]  # fmt: skip
    else:
        argv = [
            "uvicorn", "--factory", "--host", settings.host, "--port", str(settings.port), "--workers", str(count),
            "--backlog", str(limits.backlog), "--limit-concurrency", str(limits.per_worker),
            "--timeout-keep-alive", str(max(1, limits.keep_alive_ms // 1000)),
            "--no-access-log", "--log-level", "warning", "queue_service.asgi:create",
        ]  # fmt: skip
    binary = shutil.which(argv[0], path=str(Path(sys.executable).parent)) or argv[0]
    if metrics_dir is None:
        os.execv(binary, [binary, *argv[1:]])
    sys.exit(_supervise([binary, *argv[1:]], metrics_dir))


# File descriptors a worker keeps for itself besides client connections: Redis and PostgreSQL pools, logs, modules.
RESERVED_FDS = 1024
KEEP_ALIVE_MAX_MS = 60_000  # granian's upper bound for --http1-header-read-timeout


class ConnectionLimits(NamedTuple):
    backlog: int
    per_worker: int
    keep_alive_ms: int
    open_files: int
    warnings: list[str]


def connection_limits(settings: Settings, workers: int) -> ConnectionLimits:
    """The server's connection limits from the settings, after raising this process's open-files soft limit.

    The soft limit goes up to the hard one (the workers inherit it).  Each worker holds its share of
    KEZEK_MAX_CONNECTIONS open at once (granian's backpressure: a permit from accept to close), never more
    than its open files allow; what the box then holds is said when it is less than asked.
    """
    warnings: list[str] = []
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, settings.max_connections + RESERVED_FDS)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    share = -(-settings.max_connections // workers)
    per_worker = max(1, min(share, soft - RESERVED_FDS))
    if per_worker < share:
        warnings.append(
            f"open-files limit {soft} holds {per_worker * workers} connections, not KEZEK_MAX_CONNECTIONS="
            f"{settings.max_connections}: raise the hard limit (ulimit -Hn, systemd LimitNOFILE=) to "
            f"{share + RESERVED_FDS}"
        )
    somaxconn = _read_int("/proc/sys/net/core/somaxconn")
    if somaxconn is not None and somaxconn < settings.backlog:
        warnings.append(
            f"net.core.somaxconn={somaxconn} caps KEZEK_BACKLOG={settings.backlog}: "
            f"sysctl -w net.core.somaxconn={settings.backlog}"
        )
    keep_alive = min(max(settings.keep_alive_ms, 1), KEEP_ALIVE_MAX_MS)
    if keep_alive != settings.keep_alive_ms:
        warnings.append(f"KEZEK_KEEP_ALIVE_MS={settings.keep_alive_ms} is out of 1..{KEEP_ALIVE_MAX_MS}: {keep_alive}")
    return ConnectionLimits(max(settings.backlog, 128), per_worker, keep_alive, soft, warnings)


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _supervise(argv: list[str], metrics_dir: str) -> int:
    """Run the server as our child, pass SIGINT/SIGTERM on, and remove the metrics folder when it exits."""
    server = subprocess.Popen(argv)

    def forward(signum: int, _frame: object) -> None:
        server.send_signal(signum)

    # Ctrl-C in a terminal reaches the server too; forwarding a second one does no harm.
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        return server.wait()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


main.add_command(census)
main.add_command(monitoring)

if __name__ == "__main__":
    main()
