"""The categories of para 11 on hand-made children, and the cross-check against the contingent store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import asyncpg
from census_helpers import (
    AS_OF,
    COLLEGE,
    NOW,
    OTHER_SCHOOL,
    PRESCHOOL,
    REGION,
    SCHOOL,
    end_enrolment,
    enrol,
    exempt_child,
    iin,
    person,
    pupil,
    write_attendance,
    write_extracts,
)

from admission.census import importer, reports

CATEGORIES = (
    "preschool_age", "school_age", "not_subject", "tvet", "non_state", "kandas", "foreign_stateless",
    "not_covered", "truant",
)  # fmt: skip


async def _categories(conn: asyncpg.Connection, snapshot_id: int) -> dict[str, set[str]]:
    rows = await conn.fetch(
        "SELECT c.* FROM census.children c JOIN census.snapshots s ON s.load_id = c.load_id WHERE s.id = $1",
        snapshot_id,
    )
    return {r["iin"]: {c for c in CATEGORIES if r[c]} for r in rows}


async def test_each_category_on_hand_made_children(
    conn: asyncpg.Connection, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    five = iin(dt.date(2021, 3, 1))  # 5 on 1 September 2026: preschool age, in a kindergarten
    six_by_sep1 = iin(dt.date(2020, 9, 1))  # 6 on 1 September 2026: school age, enrolled
    six_after_sep1 = iin(dt.date(2020, 9, 2))  # turns 6 on 2 September: still preschool age
    college = iin(dt.date(2010, 5, 5))  # 16, in a college
    private_pupil = iin(dt.date(2015, 1, 1))
    exempt = iin(dt.date(2016, 4, 4))  # not subject to schooling on health grounds
    kandas = iin(dt.date(2014, 6, 6))
    foreign = iin(dt.date(2013, 7, 7))
    stateless = iin(dt.date(2012, 8, 8))
    not_covered = iin(dt.date(2014, 2, 2))  # school age, known only to the persons register
    enrolled = iin(dt.date(2014, 3, 3))
    persons, bbazh = write_extracts(
        tmp_path,
        [person(k) for k in (five, six_by_sep1, six_after_sep1, college, private_pupil, exempt, not_covered)]
        + [
            person(kandas, kandas=True),
            person(foreign, citizenship="UZ"),
            person(stateless, citizenship="XXA"),
            person(enrolled),
        ],
        [
            pupil(five, org=PRESCHOOL, kind="preschool"),
            pupil(six_by_sep1, grade="1"),
            pupil(college, org=COLLEGE, kind="tvet"),
            pupil(private_pupil, ownership="private"),
            exempt_child(exempt),
            pupil(kandas),
            pupil(foreign),
            pupil(stateless),
            pupil(enrolled),
        ],
    )
    for child in (six_by_sep1, private_pupil, kandas, foreign, stateless, enrolled):
        await enrol(conn, child, SCHOOL)

    report = await importer.import_extract(db_pool, REGION, persons, bbazh, as_of=AS_OF, now=NOW)

    assert await _categories(conn, report.snapshot_id) == {
        five: {"preschool_age"},
        six_by_sep1: {"school_age"},
        six_after_sep1: {"preschool_age"},
        college: {"school_age", "tvet"},
        private_pupil: {"school_age", "non_state"},
        exempt: {"school_age", "not_subject"},
        kandas: {"school_age", "kandas"},
        foreign: {"school_age", "foreign_stateless"},
        stateless: {"school_age", "foreign_stateless"},
        not_covered: {"school_age", "not_covered"},
        enrolled: {"school_age"},
    }
    counts = await reports.category_counts(conn, report.snapshot_id)
    assert (counts.children, counts.school_age, counts.preschool_age, counts.not_covered) == (11, 9, 2, 1)
    listed = await reports.list_children(conn, report.snapshot_id, "not_covered")
    assert [c.iin for c in listed] == [not_covered]


async def test_systematic_truants_come_from_the_monthly_attendance_feed(
    conn: asyncpg.Connection, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    ten_days = iin(dt.date(2013, 1, 1))
    nine_days = iin(dt.date(2013, 1, 2))
    split = iin(dt.date(2013, 1, 3))  # 5 + 5 days at two schools in one month
    two_months = iin(dt.date(2013, 1, 4))  # 5 in August, 5 in September: never 10 in one month
    kids = (ten_days, nine_days, split, two_months)
    persons, bbazh = write_extracts(tmp_path, [person(k) for k in kids], [pupil(k) for k in kids])
    for kid in kids:
        await enrol(conn, kid, SCHOOL)
    await importer.import_extract(db_pool, REGION, persons, bbazh, as_of=AS_OF, now=NOW)
    september = write_attendance(
        tmp_path / "attendance-09.csv",
        [
            (ten_days, SCHOOL, "2026-09", 10),
            (nine_days, SCHOOL, "2026-09", 9),
            (split, SCHOOL, "2026-09", 5),
            (split, OTHER_SCHOOL, "2026-09", 5),
            (two_months, SCHOOL, "2026-09", 5),
            (ten_days, SCHOOL, "2026-08", 3),  # line 7: not this feed's month
            ("123", SCHOOL, "2026-09", 12),  # line 8
            (nine_days, SCHOOL, "2026-09", 40),  # line 9
        ],
    )
    august = write_attendance(tmp_path / "attendance-08.csv", [(two_months, SCHOOL, "2026-08", 5)])
    feed = await importer.import_attendance(conn, REGION, dt.date(2026, 9, 1), september, now=NOW)
    assert (feed.rows, feed.rejected) == (5, 3)
    issues = await reports.list_attendance_issues(conn, REGION, dt.date(2026, 9, 1))
    assert [(i.line, i.code) for i in issues] == [(7, "wrong_month"), (8, "invalid_iin"), (9, "invalid_value")]
    await importer.import_attendance(conn, REGION, dt.date(2026, 8, 1), august, now=NOW)
    await importer.cross_check(conn, REGION, now=NOW)
    snapshot = await importer.get_snapshot(conn, REGION)
    truants = await reports.list_children(conn, snapshot.id, "truant")
    assert {c.iin for c in truants} == {ten_days, split}
    # A corrected September feed replaces the first one.
    corrected = write_attendance(tmp_path / "attendance-09b.csv", [(nine_days, SCHOOL, "2026-09", 11)])
    feed = await importer.import_attendance(conn, REGION, dt.date(2026, 9, 1), corrected, now=NOW)
    assert (feed.rows, feed.rejected) == (1, 0)
    assert await reports.list_attendance_issues(conn, REGION, dt.date(2026, 9, 1)) == []
    await importer.cross_check(conn, REGION, now=NOW)
    assert {c.iin for c in await reports.list_children(conn, snapshot.id, "truant")} == {nine_days}


async def test_not_covered_follows_the_contingent_through_admissions_withdrawals_and_transfers(
    conn: asyncpg.Connection, db_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    admitted = iin(dt.date(2020, 5, 5))  # 6: due for grade 1
    withdrawn = iin(dt.date(2020, 6, 6))
    moved = iin(dt.date(2015, 7, 7))
    left = iin(dt.date(2014, 8, 8))
    kids = (admitted, withdrawn, moved, left)
    persons, bbazh = write_extracts(tmp_path, [person(k) for k in kids], [])
    for kid in (withdrawn, moved, left):
        await enrol(conn, kid, SCHOOL)
    snapshot = await importer.import_extract(db_pool, REGION, persons, bbazh, as_of=AS_OF, now=NOW)
    listed = {c.iin for c in await reports.list_children(conn, snapshot.snapshot_id, "not_covered")}
    assert listed == {admitted}

    await enrol(conn, admitted, OTHER_SCHOOL)  # an admission confirmed and pushed to the contingent
    await end_enrolment(conn, withdrawn, "withdrawn")  # an admission withdrawn (Revoke)
    async with conn.transaction():  # a transfer (Move): never two schools, never none
        await end_enrolment(conn, moved, "moved")
        await enrol(conn, moved, OTHER_SCHOOL, grade=5)
    await end_enrolment(conn, left, "left the country")  # Leave
    changed = await importer.cross_check(conn, REGION, now=NOW)

    assert changed == 4
    children = {c.iin: c for c in await reports.list_children(conn, snapshot.snapshot_id, "all")}
    assert {k for k, c in children.items() if c.enrolled_school_bin is None} == {withdrawn, left}
    assert children[moved].enrolled_school_bin == OTHER_SCHOOL
    assert children[admitted].enrolled_school_bin == OTHER_SCHOOL
    listed = {c.iin for c in await reports.list_children(conn, snapshot.snapshot_id, "not_covered")}
    assert listed == {withdrawn, left}
    assert await importer.cross_check(conn, REGION, now=NOW) == 0  # nothing moved since
