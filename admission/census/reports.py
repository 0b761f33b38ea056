"""What the census tells a region office, a school and the ministry.

- counts per category of para 11, for a region and per school service territory;
- the children of one category (keyset pages), and the rejected rows;
- the children due for grade 1 (6 by 1 September) of a school's service
  territory with their admission status;
- each region's status against the September deadlines of para 4 and 6:
  the census complete by 20 September, the report to the ministry by 15 October;
- the same as CSV with Kazakh and Russian headers.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import IO, Literal

import asyncpg
import msgspec

from admission import audit
from admission.census.errors import AlreadyReported, SnapshotCompleted, SnapshotNotCompleted
from admission.census.importer import Snapshot, ensure_region, get_snapshot, list_snapshots
from admission.db import QUERIES, Connection
from admission.reference import KZ
from admission.signing_keys import AdminPrincipal

Category = Literal[
    "all",
    "preschool_age",
    "school_age",
    "not_subject",
    "tvet",
    "non_state",
    "kandas",
    "foreign_stateless",
    "not_covered",
    "truant",
    "not_registered",
    "residence_unknown",
]

# Column titles (Kazakh, Russian) of the CSV reports.
TITLES: dict[str, tuple[str, str]] = {
    "region": ("Өңір", "Регион"),
    "period": ("Кезең", "Период"),
    "school_bin": ("Мектептің БСН", "БИН школы"),
    "school_name": ("Мектеп", "Школа"),
    "children": ("Барлық балалар (0-18)", "Всего детей (0-18)"),
    "preschool_age": ("Мектепке дейінгі жастағы", "Дошкольного возраста"),
    "school_age": ("Мектеп жасындағы", "Школьного возраста"),
    "not_subject": ("Денсаулығы бойынша оқытуға жатпайтын", "Не подлежащие обучению по состоянию здоровья"),
    "tvet": ("Техникалық және кәсіптік білім алатын", "Обучающиеся в ТиПО"),
    "non_state": ("Мемлекеттік емес ұйымдарда", "В негосударственных организациях"),
    "kandas": ("Қандас балалар", "Дети кандасов"),
    "foreign_stateless": ("Шетелдік және азаматтығы жоқ", "Иностранцы и лица без гражданства"),
    "not_covered": ("Оқумен қамтылмаған", "Не охваченные обучением"),
    "truant": ("Жүйелі түрде себепсіз сабаққа қатыспайтын", "Систематически пропускающие занятия без причины"),
    "not_registered": ("Тұрғылықты жері бойынша тіркелмеген", "Без регистрации по месту жительства"),
    "residence_unknown": ("Тұратын жері анықталмаған", "Место проживания не установлено"),
    "iin": ("ЖСН", "ИИН"),
    "surname": ("Тегі", "Фамилия"),
    "name": ("Аты", "Имя"),
    "patronymic": ("Әкесінің аты", "Отчество"),
    "birth_date": ("Туған күні", "Дата рождения"),
    "age": ("Жасы", "Возраст"),
    "age_group": ("Жас тобы (6 / 7)", "Возрастная группа (6 / 7)"),
    "locality": ("Елді мекен", "Населённый пункт"),
    "district": ("Аудан / шағын аудан", "Район / микрорайон"),
    "address": ("Мекенжайы", "Адрес"),
    "registered": ("Тіркелген", "Зарегистрирован"),
    "org_bin": ("Ұйымның БСН", "БИН организации"),
    "org_name": ("Ұйым", "Организация"),
    "org_kind": ("Ұйым түрі", "Вид организации"),
    "enrolled_school_bin": ("Контингенттегі мектеп", "Школа по контингенту"),
    "application_status": ("1-сыныпқа өтініш", "Заявление в 1 класс"),
    "application_school_bin": ("Өтініш берілген мектеп", "Школа заявления"),
    "applied": ("Өтініш берді", "Подал заявление"),
    "accepted": ("Қабылданды", "Принят"),
    "confirmed": ("Бұйрықпен расталды", "Подтверждён приказом"),
    "file": ("Файл", "Файл"),
    "line": ("Жол", "Строка"),
    "severity": ("Салдары", "Последствие"),
    "code": ("Себеп коды", "Код причины"),
    "detail": ("Себебі", "Причина"),
}

COUNT_FIELDS = (
    "children", "preschool_age", "school_age", "not_subject", "tvet", "non_state", "kandas",
    "foreign_stateless", "not_covered", "truant", "not_registered", "residence_unknown",
)  # fmt: skip

CensusStatus = Literal["not_started", "in_progress", "complete", "complete_late", "overdue"]
ReportStatus = Literal["pending", "reported", "reported_late", "overdue"]


class CategoryCounts(msgspec.Struct, frozen=True, kw_only=True):
    children: int
    preschool_age: int
    school_age: int
    not_subject: int
    tvet: int
    non_state: int
    kandas: int
    foreign_stateless: int
    not_covered: int
    truant: int
    not_registered: int
    residence_unknown: int


class SchoolCounts(msgspec.Struct, frozen=True, kw_only=True):
    school_bin: str
    name_kk: str
    name_ru: str
    counts: CategoryCounts


class RegionReport(msgspec.Struct, frozen=True, kw_only=True):
    snapshot: Snapshot
    counts: CategoryCounts
    schools: list[SchoolCounts]


class CensusChild(msgspec.Struct, frozen=True, kw_only=True):
    iin: str
    surname: str
    name: str
    patronymic: str
    birth_date: dt.date
    age: int
    locality: str | None
    district: str | None
    address: str | None
    registered: bool | None
    citizenship: str | None
    kandas: bool
    org_bin: str | None
    org_name: str | None
    org_kind: str | None
    grade: int | None
    enrolled_school_bin: str | None
    in_persons: bool
    in_bbazh: bool


class Issue(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    file: str
    line: int
    iin: str | None
    severity: str
    code: str
    detail: str


class DueChild(msgspec.Struct, frozen=True, kw_only=True):
    """A child due for school, and where their admission stands.

    ``age_group`` 6: due for grade 1 this year; 7: a year older and enrolled in
    no school (para 13.3 names the 6-7 year-olds due for school).
    """

    iin: str
    surname: str
    name: str
    patronymic: str
    birth_date: dt.date
    locality: str | None
    district: str | None
    address: str | None
    registered: bool | None
    org_bin: str | None
    org_name: str | None
    org_kind: str | None
    health_exempt: bool
    age_group: int
    application_status: str | None
    application_school_bin: str | None
    decided_at: dt.datetime | None
    applied: bool
    accepted: bool
    confirmed: bool
    enrolled_school_bin: str | None
    enrolled_grade: int | None


class RegionStatus(msgspec.Struct, frozen=True, kw_only=True):
    region: str
    school_year: int
    period: dt.date
    census_deadline: dt.date
    report_deadline: dt.date
    census: CensusStatus
    report: ReportStatus
    children: int | None
    imported_at: dt.datetime | None
    completed_at: dt.datetime | None
    reported_at: dt.datetime | None


async def category_counts(conn: Connection, snapshot_id: int, school_bin: str | None = None) -> CategoryCounts:
    """The snapshot's counts: the whole region's, or those of ``school_bin``'s service territory."""
    rows = await conn.fetch(QUERIES["census_counts"], snapshot_id, school_bin is None, None, school_bin)
    return _counts(rows[0] if rows else None)


async def region_report(conn: Connection, region: str, period: dt.date | None = None) -> RegionReport:
    """The region's counts and each of its schools' (of the schools with a service territory), one query."""
    snapshot = await get_snapshot(conn, region, period)
    rows = await conn.fetch(QUERIES["census_counts"], snapshot.id, True, region, None)
    whole = rows[0] if rows and rows[0]["school_bin"] is None else None  # no row: a snapshot of no child
    schools = [
        SchoolCounts(school_bin=r["school_bin"], name_kk=r["name_kk"], name_ru=r["name_ru"], counts=_counts(r))
        for r in rows
        if r is not whole
    ]
    return RegionReport(snapshot=snapshot, counts=_counts(whole), schools=schools)


def _counts(row: asyncpg.Record | None) -> CategoryCounts:
    """A row of ``census_counts`` (None: nobody counted, all zero)."""
    return CategoryCounts(**{f: row[f] if row else 0 for f in COUNT_FIELDS})


async def list_children(
    conn: Connection,
    snapshot_id: int,
    category: Category,
    *,
    school_bin: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[CensusChild]:
    """One page of a snapshot's children of ``category`` (with ``school_bin``: of that school's service
    territory), in ИИН order.  Keyset pages: the next one is ``after`` this page's last ИИН, so a deep
    page costs what the first does (an offset would read and drop every row before it)."""
    rows = await conn.fetch(QUERIES["census_list_children"], snapshot_id, category, school_bin, after, limit)
    return [CensusChild(**dict(r)) for r in rows]


async def list_issues(conn: Connection, snapshot_id: int, limit: int = 1000, offset: int = 0) -> list[Issue]:
    return [Issue(**dict(r)) for r in await conn.fetch(QUERIES["census_list_issues"], snapshot_id, limit, offset)]


async def list_attendance_issues(conn: Connection, region: str, month: dt.date) -> list[Issue]:
    rows = await conn.fetch(QUERIES["census_list_attendance_issues"], region, month.replace(day=1))
    return [Issue(**dict(r)) for r in rows]


def admission_year(today: dt.date) -> int:
    """The year of the grade-1 admission a list made ``today`` is for: the next 1 September (or today's)."""
    return today.year if (today.month, today.day) <= (9, 1) else today.year + 1


def due_birth_range(year: int) -> tuple[dt.date, dt.date]:
    """(after, up to and including): children who turn 6 by 1 September ``year`` but not by the one before."""
    return dt.date(year - 7, 9, 1), dt.date(year - 6, 9, 1)


async def due_for_grade1(
    conn: Connection, region: str, year: int, *, school_bin: str | None = None, period: dt.date | None = None
) -> list[DueChild]:
    """Children of the region's census (latest snapshot, or ``period``'s) who are 6 by 1 September ``year``,
    or 7 and enrolled in no school (para 13.3), living in ``school_bin``'s service territory (or anywhere in
    the region), with their admission status.

    Reads the admission module's ``applications`` and the contingent live:
    the list follows admissions, withdrawals and transfers as they happen.
    """
    snapshot = await get_snapshot(conn, region, period)
    after, until = due_birth_range(year)
    seven_after = after.replace(year=after.year - 1)
    rows = await conn.fetch(QUERIES["census_due_for_grade1"], snapshot.id, after, until, school_bin, seven_after)
    found = []
    for r in rows:
        status = r["application_status"]
        found.append(
            DueChild(
                **{k: v for k, v in dict(r).items() if k != "applied"},
                applied=bool(r["applied"]),
                accepted=status in ("accepted", "confirmed"),
                confirmed=status == "confirmed",
            )
        )
    return found


def census_deadlines(school_year: int) -> tuple[dt.date, dt.date]:
    """Para 4: the census of a school year is complete by 20 September; para 6: reported by 15 October."""
    return dt.date(school_year, 9, 20), dt.date(school_year, 10, 15)


def _status(snapshot: Snapshot | None, region: str, school_year: int, today: dt.date) -> RegionStatus:
    census_deadline, report_deadline = census_deadlines(school_year)
    census: CensusStatus
    report: ReportStatus
    completed = snapshot.completed_at if snapshot else None
    reported = snapshot.reported_at if snapshot else None
    if completed is not None:
        census = "complete" if completed.astimezone(KZ).date() <= census_deadline else "complete_late"
    elif today > census_deadline:
        census = "overdue"
    else:
        census = "in_progress" if snapshot else "not_started"
    if reported is not None:
        report = "reported" if reported.astimezone(KZ).date() <= report_deadline else "reported_late"
    else:
        report = "overdue" if today > report_deadline else "pending"
    return RegionStatus(
        region=region,
        school_year=school_year,
        period=dt.date(school_year, 9, 1),
        census_deadline=census_deadline,
        report_deadline=report_deadline,
        census=census,
        report=report,
        children=snapshot.children if snapshot else None,
        imported_at=snapshot.imported_at if snapshot else None,
        completed_at=completed,
        reported_at=reported,
    )


async def region_statuses(
    conn: Connection, school_year: int, today: dt.date, region: str | None = None
) -> list[RegionStatus]:
    """Every region's (or one region's) September census of ``school_year`` against 20 September / 15 October."""
    september = dt.date(school_year, 9, 1)
    snapshots = {s.region_slug: s for s in await list_snapshots(conn, region, september)}
    if region is None:
        regions = [r["slug"] for r in await conn.fetch(QUERIES["census_list_region_slugs"])]
    else:
        await ensure_region(conn, region)
        regions = [region]
    return [_status(snapshots.get(slug), slug, school_year, today) for slug in regions]


async def mark_complete(
    conn: Connection, admin: AdminPrincipal, region: str, period: dt.date, now: dt.datetime
) -> Snapshot:
    """The region office closes the quarter's census: the snapshot is frozen from now on."""
    async with conn.transaction():
        snapshot = await get_snapshot(conn, region, period)
        if await conn.fetchval(QUERIES["census_set_completed"], snapshot.id, now, admin.subject) is None:
            raise SnapshotCompleted(region=region, period=snapshot.period.isoformat())
        await audit.record(
            conn, admin, "census.complete", f"census:{region}:{snapshot.period:%Y-%m}", region=region,
            old=None, new={"completed_at": now.isoformat()},
        )  # fmt: skip
        return await get_snapshot(conn, region, period)


async def mark_reported(
    conn: Connection, admin: AdminPrincipal, region: str, period: dt.date, now: dt.datetime
) -> Snapshot:
    """The region office has sent the census report to the ministry."""
    async with conn.transaction():
        snapshot = await get_snapshot(conn, region, period)
        if snapshot.completed_at is None:
            raise SnapshotNotCompleted(region=region)
        if await conn.fetchval(QUERIES["census_set_reported"], snapshot.id, now, admin.subject) is None:
            raise AlreadyReported(region=region)
        await audit.record(
            conn, admin, "census.report", f"census:{region}:{snapshot.period:%Y-%m}", region=region,
            old=None, new={"reported_at": now.isoformat()},
        )  # fmt: skip
        return await get_snapshot(conn, region, period)


def _title(field: str) -> str:
    kk, ru = TITLES[field]
    return f"{kk} / {ru}"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def write_csv(out: IO[str], fields: tuple[str, ...], rows: Sequence[Mapping[str, object]]) -> None:
    """``rows`` as ``;``-separated CSV whose header cells read "Kazakh / Russian"."""
    writer = csv.writer(out, delimiter=";")
    writer.writerow([_title(f) for f in fields])
    writer.writerows([_cell(row.get(f)) for f in fields] for row in rows)


def region_report_rows(report: RegionReport) -> tuple[tuple[str, ...], list[dict[str, object]]]:
    """The region's line (no school), then one line per school service territory."""
    fields = ("region", "period", "school_bin", "school_name", *COUNT_FIELDS)
    base: dict[str, object] = {
        "region": report.snapshot.region_slug,
        "period": report.snapshot.period.strftime("%Y-%m"),
    }
    rows: list[dict[str, object]] = [{**base, **msgspec.structs.asdict(report.counts)}]
    rows.extend(
        {**base, "school_bin": s.school_bin, "school_name": s.name_kk, **msgspec.structs.asdict(s.counts)}
        for s in report.schools
    )
    return fields, rows


CHILD_FIELDS = (
    "iin", "surname", "name", "patronymic", "birth_date", "age", "locality", "district", "address", "registered",
    "org_bin", "org_name", "org_kind", "enrolled_school_bin",
)  # fmt: skip
DUE_FIELDS = (
    "iin", "surname", "name", "patronymic", "birth_date", "age_group", "locality", "district", "address", "registered",
    "org_name", "applied", "accepted", "confirmed", "application_status", "application_school_bin",
    "enrolled_school_bin",
)  # fmt: skip
