"""``kezek census ...``: import the extracts and the attendance feed, set territories, reports as CSV.

Reports are ``;``-separated UTF-8 CSV (with a byte-order mark, so spreadsheet
programs open them right) whose header cells read "Kazakh / Russian".
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO, Any, TypeVar, cast, get_args

import asyncpg
import click
import msgspec

from admission.census import formats, importer, reports, synthetic
from admission.db import Pool
from admission.readings import Readings
from admission.reference import KZ, school_region
from queue_service.settings import Settings

T = TypeVar("T")

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _readings() -> Readings:
    """How the acts are read (KEZEK_TRUANT_PERIOD, KEZEK_PRIVATE_COLLEGES_NON_STATE)."""
    return Settings.from_env().readings()


def _run(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    from queue_service.cli import _run as run

    return run(work)


def _run_pool(work: Callable[[Pool], Awaitable[T]], size: int) -> T:
    from queue_service.cli import _run_pool as run

    return run(work, size)


def _now() -> dt.datetime:
    return dt.datetime.now(KZ)


def _month(value: str | None) -> dt.date | None:
    try:
        return formats.parse_month(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _open_out(out: Path | None) -> AbstractContextManager[IO[str]]:
    if out is None:
        return nullcontext(sys.stdout)
    return out.open("w", encoding="utf-8-sig", newline="")


@click.group(
    help="The census of children 0-18 (Order No. 324): import the extracts and the attendance feed, set service "
    "territories, write reports as CSV (';'-separated UTF-8 with a byte-order mark, headers \"Kazakh / Russian\").",
    short_help="The census of children 0-18: imports, territories, reports.",
)
def census() -> None:
    pass


@census.command("import", help="Import REGION's МО АЖ persons extract and ББАЖ extract into the quarter's snapshot.")
@click.argument("region")
@click.option("--persons", type=_FILE, required=True, help="the МО АЖ persons extract (CSV, see README)")
@click.option("--bbazh", type=_FILE, required=True, help="the ББАЖ education extract (CSV, see README)")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="the day the extracts were taken (default: today); its month is the quarter")  # fmt: skip
@click.option("--show-issues", type=int, default=20, show_default=True, help="print this many bad rows")
def import_command(region: str, persons: Path, bbazh: Path, as_of: dt.datetime | None, show_issues: int) -> None:
    day = as_of.date() if as_of else _now().date()
    total = persons.stat().st_size + bbazh.stat().st_size

    async def work(pool: Pool) -> tuple[importer.ImportReport, list[reports.Issue]]:
        with click.progressbar(length=total, label="reading the extracts", file=sys.stderr) as bar:

            def step(what: str) -> None:
                bar.label = what
                bar.render_progress()

            report = await importer.import_extract(
                pool,
                region,
                persons,
                bbazh,
                as_of=day,
                now=_now(),
                progress=bar.update,
                step=step,
                readings=_readings(),
            )
        async with pool.acquire() as conn:
            return report, await reports.list_issues(conn, report.snapshot_id, show_issues)

    report, issues = _run_pool(work, importer.IMPORT_CONNECTIONS)
    click.echo(
        f"{region} {report.period:%Y-%m}: {report.persons_rows} persons rows, {report.bbazh_rows} ББАЖ rows → "
        f"{report.children} children; {report.rejected} rows rejected, {report.warnings} warnings"
    )
    for issue in issues:
        click.echo(f"  {issue.file}:{issue.line}: {issue.severity} {issue.code}: {issue.detail}")
    if report.rejected + report.warnings > len(issues):
        click.echo(f"  … all of them: kezek census issues {region} --period {report.period:%Y-%m}")


@census.command("issues", help="The rejected rows and warnings of a snapshot, as CSV (file, line, reason).")
@click.argument("region")
@click.option("--period", default=None, help="YYYY-MM (default: the latest snapshot)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default: stdout")
def issues_command(region: str, period: str | None, out: Path | None) -> None:
    async def work(conn: asyncpg.Connection) -> list[reports.Issue]:
        snapshot = await importer.get_snapshot(conn, region, _month(period))
        return await reports.list_issues(conn, snapshot.id, limit=10_000_000)

    rows: list[dict[str, object]] = [
        {"file": i.file, "line": i.line, "iin": i.iin, "severity": i.severity, "code": i.code, "detail": i.detail}
        for i in _run(work)
    ]
    with _open_out(out) as stream:
        reports.write_csv(stream, ("file", "line", "iin", "severity", "code", "detail"), rows)


@census.command("attendance", help="Import REGION's attendance feed of one month (systematic truants).")
@click.argument("region")
@click.argument("file", type=_FILE)
@click.option("--month", required=True, help="YYYY-MM: the month the feed is about")
def attendance_command(region: str, file: Path, month: str) -> None:
    first = _month(month)
    assert first is not None

    async def work(conn: asyncpg.Connection) -> tuple[importer.AttendanceReport, list[reports.Issue]]:
        report = await importer.import_attendance(conn, region, first, file, now=_now())
        return report, await reports.list_attendance_issues(conn, region, first)

    report, issues = _run(work)
    click.echo(f"{region} {first:%Y-%m}: {report.rows} rows, {report.rejected} rejected")
    for issue in issues[:50]:
        click.echo(f"  {issue.file}:{issue.line}: {issue.code}: {issue.detail}")
    click.echo(f"run `kezek census cross-check {region}` to mark the truants in the latest snapshot")


@census.command("cross-check", help="Cross-check REGION's snapshot against the contingent and attendance again.")
@click.argument("region")
@click.option("--period", default=None, help="YYYY-MM (default: the latest snapshot)")
def cross_check_command(region: str, period: str | None) -> None:
    changed = _run(lambda conn: importer.cross_check(conn, region, _month(period), now=_now(), readings=_readings()))
    click.echo(f"{region}: {changed} children changed")


@census.command("territories", help="Set schools' service territories from a CSV (school_bin;locality;district).")
@click.argument("file", type=_FILE)
def territories_command(file: Path) -> None:
    territories = importer.read_territories(file)
    areas = _run(lambda conn: importer.replace_territories(conn, territories))
    click.echo(f"{len(territories)} schools, {areas} areas")


@census.command("generate", help="Write realistic synthetic extracts of REGION to OUT (for demos and benchmarks).")
@click.argument("region")
@click.option("--children", type=click.IntRange(1, 5_000_000), default=10_000, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default="2026-09-10", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--bad-rows", type=click.IntRange(0), default=0, show_default=True, help="bad rows to add")
def generate_command(region: str, children: int, out: Path, as_of: dt.datetime, seed: int, bad_rows: int) -> None:
    made = synthetic.generate(region, children, out, as_of=as_of.date(), seed=seed, bad_rows=bad_rows)
    click.echo(
        f"{out}: persons.csv {made.persons} rows, bbazh.csv {made.bbazh}, attendance.csv {made.attendance}, "
        f"territories.csv {made.territories}, contingent.csv {made.contingent} (+{made.bad_rows} bad rows)"
    )


@census.command("contingent", help="DEMO: enrol the children of a generated contingent.csv in the contingent store.")
@click.argument("file", type=_FILE)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default="2025-09-01", show_default=True,
              help="the enrolments' start date")  # fmt: skip
def contingent_command(file: Path, since: dt.datetime) -> None:
    loaded = _run(lambda conn: synthetic.load_contingent(conn, file, since=since.date()))
    click.echo(f"{file}: {loaded.rows} rows, {loaded.enrolled} children enrolled (the others already were)")


@census.command("report", help="A CSV report with Kazakh and Russian headers: counts, a category's list, grade 1.")
@click.argument("region")
@click.option("--period", default=None, help="YYYY-MM (default: the latest snapshot)")
@click.option("--school", default=None, help="a school БСН: its service territory only")
@click.option("--list", "listing", default=None,
              type=click.Choice(["grade1", *get_args(reports.Category)]),
              help="list the children of a category, or those due for grade 1, instead of counting")  # fmt: skip
@click.option("--year", type=int, default=None, help="grade 1: the admission year (default: the coming one)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default: stdout")
def report_command(
    region: str, period: str | None, school: str | None, listing: str | None, year: int | None, out: Path | None
) -> None:
    async def work(conn: asyncpg.Connection) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
        if school is not None and await school_region(conn, school) != region:
            raise click.ClickException(f"school {school} is not in {region}")
        if listing == "grade1":
            due = await reports.due_for_grade1(
                conn, region, year or reports.admission_year(_now().date()), school_bin=school, period=_month(period)
            )
            return reports.DUE_FIELDS, [_asdict(d) for d in due]
        snapshot = await importer.get_snapshot(conn, region, _month(period))
        if listing is not None:
            rows: list[dict[str, Any]] = []
            after: str | None = None
            while True:
                page = await reports.list_children(
                    conn,
                    snapshot.id,
                    cast("reports.Category", listing),
                    school_bin=school,
                    after=after,
                    limit=10_000,
                )
                rows.extend(_asdict(c) for c in page)
                if len(page) < 10_000:
                    return reports.CHILD_FIELDS, rows
                after = page[-1].iin
        if school is not None:
            counts = await reports.category_counts(conn, snapshot.id, school)
            return ("region", "period", "school_bin", *reports.COUNT_FIELDS), [
                {"region": region, "period": f"{snapshot.period:%Y-%m}", "school_bin": school, **_asdict(counts)}
            ]
        return reports.region_report_rows(await reports.region_report(conn, region, snapshot.period))

    fields, rows = _run(work)
    with _open_out(out) as stream:
        reports.write_csv(stream, fields, rows)


@census.command("status", help="Each region's September census against 20 September and 15 October.")
@click.option("--school-year", type=int, default=None, help="the year the school year starts (default: current)")
def status_command(school_year: int | None) -> None:
    today = _now().date()
    year = school_year or (today.year if today.month >= 9 else today.year - 1)
    statuses = _run(lambda conn: reports.region_statuses(conn, year, today))
    for s in statuses:
        click.echo(
            f"{s.region:18} census {s.census:14} (by {s.census_deadline:%d.%m})  "
            f"report {s.report:14} (by {s.report_deadline:%d.%m})  children {s.children or 0}"
        )


def _asdict(value: Any) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.structs.asdict(value)
    return result
