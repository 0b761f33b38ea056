"""The monitoring of admission results from the command line (read only)."""

from __future__ import annotations

import datetime as dt

import click

from admission.db import Pool
from admission.monitoring import service
from admission.monitoring.models import Deadline, RegionSummary
from admission.signing_keys import AdminPrincipal

# The operator at the console reads what the ministry reads; nothing is changed, so nothing is audited.
OPERATOR = AdminPrincipal(subject="kezek-cli", role="ministry")


@click.group(help=__doc__)
def monitoring() -> None:
    pass


@monitoring.command(help="Print REGION's monitoring summary: scheduled, in progress, open plans, overdue.")
@click.argument("region")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="year of admission (default: all)")
def summary(region: str, year: int | None) -> None:
    from queue_service.cli import _run_pool

    async def work(pool: Pool) -> RegionSummary:
        async with pool.acquire() as conn:
            return await service.region_summary(conn, OPERATOR, region, year, dt.datetime.now(dt.UTC))

    found = _run_pool(work, 1)
    click.echo(f"monitoring of admission results: {found.region}" + (f", {year}" if year else ""))
    click.echo(
        f"scheduled {found.scheduled}  in progress {found.in_progress}  awaiting certificate "
        f"{found.awaiting_certificate}  open plans {found.open_plans}  overdue {found.overdue}  closed {found.closed}"
    )
    if not found.visits:
        click.echo("no school is on a monitoring schedule")
        return
    click.echo(f"{'school':<12}  {'visit':<23}  {'status':<28}  {'plan':<20}  {'report':<20}  name")
    for v in found.visits:
        overdue = " OVERDUE" if v.overdue else ""
        click.echo(
            f"{v.school_bin:<12}  {v.starts_on} – {v.ends_on}  {v.status + overdue:<28}  "
            f"{_deadline(v.plan_deadline):<20}  {_deadline(v.report_deadline):<20}  {v.school_name_ru}"
        )


def _deadline(d: Deadline | None) -> str:
    if d is None:
        return "—"  # runs from the certificate
    return d.state if d.due_on is None else f"{d.state} {d.due_on}"
