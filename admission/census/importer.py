"""Importing the extracts into a quarterly snapshot, and the cross-check.

The files are streamed into staging tables with COPY, then every step is one
set-based statement (``admission/sql/census.sql``): judge each row, record the
bad ones (file, line, reason), merge the two extracts into one row per ИИН,
categorise.  An import keeps both cores of the database busy on two
connections: the two extracts are loaded and checked side by side, then the
two halves of the ИИН space merged side by side, into a load table no reader
sees.  One last transaction records the bad rows and puts the new load in
place of the snapshot's previous one, so a failure anywhere leaves the
snapshot as it was; running the import twice on the same files gives the same
snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import msgspec
from asyncpg import DataError

from admission import locks
from admission.census.errors import NotACensusMonth, SnapshotCompleted, SnapshotNotFound
from admission.census.formats import (
    ATTENDANCE_COLUMNS,
    BBAZH_COLUMNS,
    CONTROL_BYTES,
    PERSONS_COLUMNS,
    TERRITORY_COLUMNS,
    RawLine,
    check_header,
    read_lines,
    read_rows,
)
from admission.db import QUERIES, Connection, Pool
from admission.errors import InvalidInput, UnknownRegion
from admission.readings import DEFAULT_READINGS, Readings

CENSUS_MONTHS = (3, 6, 9, 12)
IMPORT_CONNECTIONS = 2  # an import holds two connections of its pool at once
Progress = Callable[[int], None]  # bytes of the files read
Step = Callable[[str], None]  # what the import does next, for people watching

log = logging.getLogger(__name__)
A = TypeVar("A")
B = TypeVar("B")


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    region_slug: str
    period: dt.date
    as_of: dt.date
    imported_at: dt.datetime
    load_id: int | None
    persons_file: str
    bbazh_file: str
    persons_rows: int
    bbazh_rows: int
    children: int
    rejected: int
    warnings: int
    cross_checked_at: dt.datetime | None
    completed_at: dt.datetime | None
    completed_by: str | None
    reported_at: dt.datetime | None
    reported_by: str | None


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    snapshot_id: int
    region: str
    period: dt.date
    persons_rows: int
    bbazh_rows: int
    children: int
    rejected: int
    warnings: int


class AttendanceReport(msgspec.Struct, frozen=True, kw_only=True):
    region: str
    month: dt.date
    rows: int
    rejected: int


def census_period(as_of: dt.date) -> dt.date:
    """The quarter's snapshot an extract taken on ``as_of`` belongs to; NotACensusMonth outside them."""
    if as_of.month not in CENSUS_MONTHS:
        raise NotACensusMonth(day=as_of.isoformat())
    return as_of.replace(day=1)


def school_year_start(on: dt.date) -> dt.date:
    """The 1 September that started the school year ``on`` falls in."""
    return dt.date(on.year if on.month >= 9 else on.year - 1, 9, 1)


def _ymd(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def truant_months(period: dt.date, readings: Readings) -> dt.date:
    """The first attendance month a snapshot of ``period`` reads (para 2.5; ``Readings.truant_period``).

    ``month``: the quarter's three months, each judged alone; ``school_year``:
    every month since 1 September, summed.
    """
    return _months_back(period, 2) if readings.truant_period == "month" else school_year_start(period)


def _months_back(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - count
    return dt.date(index // 12, index % 12 + 1, 1)


class _NotPlain(Exception):
    """A file holds a byte the raw COPY uses as its delimiter or quote: it must be parsed here."""


async def _plain_chunks(handle: BinaryIO, progress: Progress | None, sent: list[int]) -> AsyncIterator[bytes]:
    """The file in 1 MiB chunks, read in a thread, each reported to ``progress`` and counted in ``sent``.

    Raises _NotPlain (which cancels the COPY) at a chunk holding NUL or one of
    the raw COPY's control bytes.
    """
    while chunk := await asyncio.to_thread(handle.read, 1 << 20):
        if any(byte in chunk for byte in CONTROL_BYTES):
            raise _NotPlain
        sent[0] += len(chunk)
        if progress is not None:
            progress(len(chunk))
        yield chunk


async def _copy(conn: Connection, table: str, path: Path, progress: Progress | None) -> None:
    """Load the lines of ``path`` (its header checked) into ``table``; a view over it splits them.

    Fast path, tried first: COPY streams the file and PostgreSQL cuts the
    lines (and strips their ending) while checking the bytes are UTF-8.  When
    it refuses the file (undecodable bytes, mixed line endings) or a chunk
    holds a control byte, its savepoint is rolled back and the file is cut
    here instead (in a thread, while COPY sends the previous chunk), the
    undecodable lines flagged for the checks to reject.  (No separate pass
    over the file decides beforehand: that pass cost as much as the COPY.)
    """
    sent = [0]
    try:
        async with conn.transaction():  # a savepoint: a refused COPY leaves no line behind
            with path.open("rb") as handle:
                await conn.copy_to_table(
                    table,
                    source=_plain_chunks(handle, progress, sent),
                    columns=["raw"],
                    format="csv",
                    delimiter="\x01",
                    quote="\x02",
                    header=True,
                )
        return
    except (_NotPlain, DataError):
        if progress is not None:
            progress(-sent[0])  # read again below
    chunks: Iterator[list[RawLine]] = read_lines(path, progress=progress)
    pending = asyncio.create_task(asyncio.to_thread(next, chunks, None))
    while True:
        chunk = await pending
        if chunk is None:
            return
        pending = asyncio.create_task(asyncio.to_thread(next, chunks, None))
        await conn.copy_records_to_table(table, records=chunk, columns=["line", "raw", "garbled"])


async def _tune_for_bulk(conn: Connection) -> None:
    """Settings for big set-based statements, for this transaction only.

    JIT compilation costs seconds on these wide expressions and gains nothing;
    sorts and hashes of a million rows should stay in memory, and so should
    the sort that builds a load's index.  No parallel workers: the import
    already keeps two backends busy, and more processes than cores only take
    turns (measured: slower).
    """
    await conn.execute(
        "SET LOCAL jit = off; SET LOCAL work_mem = '256MB'; SET LOCAL maintenance_work_mem = '256MB'"
        "; SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL max_parallel_maintenance_workers = 0"
    )


async def ensure_region(conn: Connection, region: str) -> None:
    if await conn.fetchval(QUERIES["census_region_exists"], region) is None:
        raise UnknownRegion(region=region)


async def import_extract(
    pool: Pool,
    region: str,
    persons: Path,
    bbazh: Path,
    *,
    as_of: dt.date,
    now: dt.datetime,
    progress: Progress | None = None,
    step: Step | None = None,
    readings: Readings = DEFAULT_READINGS,
) -> ImportReport:
    """Import the МО АЖ persons extract and the ББАЖ extract of ``region`` taken on ``as_of``.

    The quarter's snapshot is created, or replaced when it exists and is not
    completed (SnapshotCompleted otherwise); other quarters are untouched.
    Bad rows are recorded in ``census.issues`` and the rest imported,
    categorised and cross-checked against the contingent as it is now (run
    :func:`cross_check` again when the contingent moves on).  Holds two
    connections of ``pool`` (IMPORT_CONNECTIONS) while it runs; a second import
    of the same region and quarter waits for the first to end.  ``progress``
    hears of the bytes read, ``step`` of each stage as it begins.
    """
    period = census_period(as_of)
    await asyncio.to_thread(check_header, persons, PERSONS_COLUMNS)
    await asyncio.to_thread(check_header, bbazh, BBAZH_COLUMNS)
    load: int | None = None
    attached = False
    try:
        async with pool.acquire() as lead, pool.acquire() as helper:
            await ensure_region(lead, region)
            if not await lead.fetchval(QUERIES["census_try_lock_quarter"], locks.CENSUS_QUARTER, region, period):
                _tell(step, f"waiting for another import of {region} {period:%Y-%m} to end")
                await lead.execute(QUERIES["census_lock_quarter"], locks.CENSUS_QUARTER, region, period)
            if await lead.fetchval(QUERIES["census_snapshot_completed"], region, period):
                raise SnapshotCompleted(region=region, period=period.isoformat())
            await lead.execute(QUERIES["census_sweep_loads"])
            load = await lead.fetchval(QUERIES["census_next_load"])
            await lead.execute(QUERIES["census_lock_load"], load)
            await lead.execute(QUERIES["census_create_load"], load)
            for conn in (lead, helper):
                await conn.execute(QUERIES["census_use_work"], load)
            await lead.execute(QUERIES["census_create_staging"])
            _tell(step, "reading and checking the rows")
            persons_rows, bbazh_rows = await _both(
                _stage(lead, "persons", persons, as_of, progress), _stage(helper, "bbazh", bbazh, as_of, progress)
            )
            _tell(step, "merging the two extracts")
            await lead.execute(QUERIES["census_create_kept"])
            first_month = truant_months(period, readings)
            merge = (load, _ymd(as_of), _ymd(school_year_start(as_of)), region, first_month, period, readings)
            children = sum(await _both(_merge(lead, *merge, half=0), _merge(helper, *merge, half=1)))
            _tell(step, "indexing the children, recording the bad rows")
            indexing = asyncio.ensure_future(_index(helper, load))
            try:
                report = await _put_in_place(
                    lead, region, period, as_of, now, persons, bbazh, load,
                    persons_rows=persons_rows, bbazh_rows=bbazh_rows, children=children, indexing=indexing,
                )  # fmt: skip
            finally:
                await _settle(indexing)
            attached = True
    finally:
        if load is not None:
            await _drop_work(pool, load, keep_load=attached)
    return report


def _tell(step: Step | None, what: str) -> None:
    if step is not None:
        step(what)


async def _both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Run both at once; when one fails, the other is cancelled and the first failure raised."""
    one, two = asyncio.ensure_future(first), asyncio.ensure_future(second)
    try:
        return await asyncio.gather(one, two)
    except BaseException:
        await _settle(one)
        await _settle(two)
        raise


async def _settle(task: asyncio.Future[Any]) -> None:
    """Cancel ``task`` unless done and wait for it to end (its outcome is someone else's to report)."""
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


async def _stage(conn: Connection, kind: str, path: Path, as_of: dt.date, progress: Progress | None) -> int:
    """Load one extract and judge its rows into ``<kind>_checked``; returns its rows (blank lines are not)."""
    async with conn.transaction():
        await _tune_for_bulk(conn)
        await _copy(conn, f"raw_{kind}", path, progress)
        status = await conn.execute(QUERIES[f"census_check_{kind}"], _ymd(as_of))
        await conn.execute(QUERIES[f"census_analyze_{kind}"])
    return int(status.split()[-1])  # "SELECT <rows>"


async def _merge(
    conn: Connection,
    load: int,
    as_of: int,
    year_start: int,
    region: str,
    first: dt.date,
    last: dt.date,
    readings: Readings,
    *,
    half: int,
) -> int:
    """Merge one ``half`` of the ИИН space into the load: its duplicates found, then one row per child (counted)."""
    async with conn.transaction():
        await _tune_for_bulk(conn)
        await conn.execute(QUERIES["census_find_duplicates"], half)
        status = await conn.execute(
            QUERIES["census_merge_children"],
            load,
            as_of,
            year_start,
            region,
            first,
            last,
            half,
            readings.truant_period == "month",
            readings.private_colleges_non_state,
        )
    return int(status.split()[-1])  # "INSERT 0 <rows>"


async def _index(conn: Connection, load: int) -> None:
    async with conn.transaction():
        await _tune_for_bulk(conn)
        await conn.execute(QUERIES["census_index_load"], load)


async def _put_in_place(
    conn: Connection,
    region: str,
    period: dt.date,
    as_of: dt.date,
    now: dt.datetime,
    persons: Path,
    bbazh: Path,
    load: int,
    *,
    persons_rows: int,
    bbazh_rows: int,
    children: int,
    indexing: Awaitable[object],
) -> ImportReport:
    """The import's last transaction: the snapshot takes the new load (once ``indexing`` is done) and its issues."""
    async with conn.transaction():
        await _tune_for_bulk(conn)
        taken = await conn.fetchrow(
            QUERIES["census_upsert_snapshot"], region, period, as_of, now, persons.name, bbazh.name
        )
        if taken is None:
            raise SnapshotCompleted(region=region, period=period.isoformat())
        snapshot_id, previous_load = taken["id"], taken["load_id"]
        await conn.execute(QUERIES["census_clear_issues"], snapshot_id)
        await conn.execute(QUERIES["census_record_rejects"], region, snapshot_id, persons.name, bbazh.name)
        await conn.execute(QUERIES["census_record_warnings"], region, snapshot_id, bbazh.name)
        await indexing
        await conn.execute(QUERIES["census_attach_load"], load)
        await conn.execute(QUERIES["census_mark_cross_checked"], snapshot_id, now)
        finished = await conn.fetchrow(
            QUERIES["census_finish_snapshot"], snapshot_id, load, persons_rows, bbazh_rows, children
        )
        if previous_load is not None:
            await conn.execute(QUERIES["census_drop_load"], previous_load)
    assert finished is not None
    return ImportReport(
        snapshot_id=snapshot_id,
        region=region,
        period=period,
        persons_rows=persons_rows,
        bbazh_rows=bbazh_rows,
        children=finished["children"],
        rejected=finished["rejected"],
        warnings=finished["warnings"],
    )


async def _drop_work(pool: Pool, load: int, *, keep_load: bool) -> None:
    """Drop the import's scratch schema, and its load unless attached; a failure is left to the next import's sweep."""
    try:
        async with pool.acquire() as conn:
            await conn.execute(QUERIES["census_drop_work"], load, keep_load)
    except Exception:
        log.warning("census load %s: scratch not dropped now, the next import sweeps it", load, exc_info=True)


async def get_snapshot(conn: Connection, region: str, period: dt.date | None = None) -> Snapshot:
    """The region's snapshot of ``period`` (the first of its month), or its latest; SnapshotNotFound."""
    if period is None:
        row = await conn.fetchrow(QUERIES["census_latest_snapshot"], region)
    else:
        row = await conn.fetchrow(QUERIES["census_snapshot_by_period"], region, period.replace(day=1))
    if row is None:
        await ensure_region(conn, region)
        raise SnapshotNotFound(region=region, period=period.isoformat() if period else None)
    return Snapshot(**dict(row))


async def list_snapshots(conn: Connection, region: str | None, period: dt.date | None = None) -> list[Snapshot]:
    return [Snapshot(**dict(r)) for r in await conn.fetch(QUERIES["census_list_snapshots"], region, period)]


async def cross_check(
    conn: Connection,
    region: str,
    period: dt.date | None = None,
    *,
    now: dt.datetime,
    readings: Readings = DEFAULT_READINGS,
) -> int:
    """Para 10: recompute not-covered, enrolment and truancy of the snapshot against the contingent store.

    One statement over the whole snapshot; returns how many children changed.
    SnapshotCompleted for a completed (frozen) snapshot.
    """
    async with conn.transaction():
        await _tune_for_bulk(conn)
        snapshot = await get_snapshot(conn, region, period)
        if snapshot.completed_at is not None:
            raise SnapshotCompleted(region=region, period=snapshot.period.isoformat())
        status = await conn.execute(
            QUERIES["census_cross_check"],
            snapshot.load_id,
            region,
            truant_months(snapshot.period, readings),
            snapshot.period,
            readings.truant_period == "month",
        )
        await conn.execute(QUERIES["census_mark_cross_checked"], snapshot.id, now)
    return int(status.split()[-1])


async def import_attendance(
    conn: Connection,
    region: str,
    month: dt.date,
    path: Path,
    *,
    now: dt.datetime,
    progress: Progress | None = None,
) -> AttendanceReport:
    """Import one month's attendance feed of ``region`` (replacing an earlier feed of that month).

    The cross-check of the snapshot of the quarter then picks up its truants.
    """
    month = month.replace(day=1)
    await ensure_region(conn, region)
    async with conn.transaction():
        await conn.execute(QUERIES["census_delete_attendance_feed"], region, month)
        await conn.execute(QUERIES["census_delete_attendance_issues"], region, month)
        await conn.execute(QUERIES["census_insert_attendance_feed"], region, month, now, path.name)
        await conn.execute(QUERIES["census_create_attendance_staging"])
        await asyncio.to_thread(check_header, path, ATTENDANCE_COLUMNS)
        await _copy(conn, "census_raw_attendance", path, progress)
        row = await conn.fetchrow(QUERIES["census_load_attendance"], region, month, path.name)
    assert row is not None
    return AttendanceReport(region=region, month=month, rows=row["rows"], rejected=row["rejected"])


class TerritoryArea(msgspec.Struct, frozen=True, kw_only=True):
    """A locality, or one district of it (``district`` empty = the whole locality)."""

    locality: str
    district: str = ""


async def replace_territories(conn: Connection, territories: dict[str, list[TerritoryArea]]) -> int:
    """Set the service territory of every school in ``territories`` (others keep theirs); returns areas."""
    bins = [school for school, areas in territories.items() for _ in areas]
    localities = [a.locality.strip() for areas in territories.values() for a in areas]
    districts = [a.district.strip() for areas in territories.values() for a in areas]
    if any(not locality for locality in localities):
        raise InvalidInput("a service territory area needs a locality")
    unknown = [r["b"] for r in await conn.fetch(QUERIES["census_unknown_schools"], list(territories))]
    if unknown:
        raise InvalidInput(f"unknown schools: {', '.join(sorted(unknown))}", schools=sorted(unknown))
    async with conn.transaction():
        await conn.execute(QUERIES["census_delete_territories"], list(territories))
        await conn.execute(QUERIES["census_insert_territories"], bins, localities, districts)
    return len(bins)


def read_territories(path: Path) -> dict[str, list[TerritoryArea]]:
    """The territories file (``school_bin;locality;district``); InvalidInput names the bad line."""
    found: dict[str, list[TerritoryArea]] = {}
    for line, row in read_rows(path, TERRITORY_COLUMNS):
        if len(row) != len(TERRITORY_COLUMNS) or not row[0].strip() or not row[1].strip():
            raise InvalidInput(f"{path.name} line {line}: expected school_bin;locality;district")
        found.setdefault(row[0].strip(), []).append(TerritoryArea(locality=row[1], district=row[2]))
    return found


async def get_territory(conn: Connection, school_bin: str) -> list[TerritoryArea]:
    return [TerritoryArea(**dict(r)) for r in await conn.fetch(QUERIES["census_get_territory"], school_bin)]
