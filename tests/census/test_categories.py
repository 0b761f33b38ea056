"""The categories of para 11 on hand-made children, and the cross-check against the contingent store."""

from __future__ import annotations

import datetime as dt

import asyncpg
from census_helpers import Census

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


async def test_each_category_on_hand_made_children(census: Census, conn: asyncpg.Connection) -> None:
    five = census.child(dt.date(2021, 3, 1))  # 5 on 1 September 2026: preschool age, in a kindergarten
    six_by_sep1 = census.child(dt.date(2020, 9, 1))  # 6 on 1 September 2026: school age, enrolled
    six_after_sep1 = census.child(dt.date(2020, 9, 2))  # turns 6 on 2 September: still preschool age
    college = census.child(dt.date(2010, 5, 5))  # 16, in a college
    private_pupil = census.child(dt.date(2015, 1, 1))
    exempt = census.child(dt.date(2016, 4, 4))  # not subject to schooling on health grounds
    kandas = census.child(dt.date(2014, 6, 6))
    foreign = census.child(dt.date(2013, 7, 7))
    stateless = census.child(dt.date(2012, 8, 8))
    not_covered = census.child(dt.date(2014, 2, 2))  # school age, known only to the persons register
    enrolled = census.child(dt.date(2014, 3, 3))
    persons = [
        *(census.person(k) for k in (five, six_by_sep1, six_after_sep1, college, private_pupil, exempt, not_covered)),
        census.person(kandas, kandas="1"),
        census.person(foreign, citizenship="UZ"),
        census.person(stateless, citizenship="XXA"),
        census.person(enrolled),
    ]
    bbazh = [
        census.pupil(five, org_kind="preschool"),
        census.pupil(six_by_sep1, grade="1"),
        census.pupil(college, org_kind="tvet"),
        census.pupil(private_pupil, ownership="private"),
        census.exempt(exempt),
        *(census.pupil(k) for k in (kandas, foreign, stateless, enrolled)),
    ]
    for child in (six_by_sep1, private_pupil, kandas, foreign, stateless, enrolled):
        await census.enrol(child)

    report = await census.load(persons, bbazh)

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
    census: Census, conn: asyncpg.Connection
) -> None:
    ten_days = census.child(dt.date(2013, 1, 1))
    nine_days = census.child(dt.date(2013, 1, 2))
    split = census.child(dt.date(2013, 1, 3))  # 5 + 5 days at two schools in one month
    two_months = census.child(dt.date(2013, 1, 4))  # 5 in August, 5 in September: never 10 in one month
    kids = (ten_days, nine_days, split, two_months)
    for kid in kids:
        await census.enrol(kid)
    await census.load([census.person(k) for k in kids], [census.pupil(k) for k in kids])
    school, other_school = census.school, census.other_school
    feed = await census.attendance(
        dt.date(2026, 9, 1),
        [
            (ten_days, school, "2026-09", 10),
            (nine_days, school, "2026-09", 9),
            (split, school, "2026-09", 5),
            (split, other_school, "2026-09", 5),
            (two_months, school, "2026-09", 5),
            (ten_days, school, "2026-08", 3),  # line 7: not this feed's month
            ("123", school, "2026-09", 12),  # line 8
            (nine_days, school, "2026-09", 40),  # line 9
        ],
    )
    assert (feed.rows, feed.rejected) == (5, 3)
    issues = await reports.list_attendance_issues(conn, census.region, dt.date(2026, 9, 1))
    assert [(i.line, i.code) for i in issues] == [(7, "wrong_month"), (8, "invalid_iin"), (9, "invalid_value")]
    await census.attendance(dt.date(2026, 8, 1), [(two_months, school, "2026-08", 5)])
    await census.cross_check()
    snapshot = await importer.get_snapshot(conn, census.region)
    truants = await reports.list_children(conn, snapshot.id, "truant")
    assert {c.iin for c in truants} == {ten_days, split}
    # A corrected September feed replaces the first one.
    feed = await census.attendance(dt.date(2026, 9, 1), [(nine_days, school, "2026-09", 11)])
    assert (feed.rows, feed.rejected) == (1, 0)
    assert await reports.list_attendance_issues(conn, census.region, dt.date(2026, 9, 1)) == []
    await census.cross_check()
    assert {c.iin for c in await reports.list_children(conn, snapshot.id, "truant")} == {nine_days}


async def test_not_covered_follows_the_contingent_through_admissions_withdrawals_and_transfers(
    census: Census, conn: asyncpg.Connection
) -> None:
    admitted = census.child(dt.date(2020, 5, 5))  # 6: due for grade 1
    withdrawn = census.child(dt.date(2020, 6, 6))
    moved = census.child(dt.date(2015, 7, 7))
    left = census.child(dt.date(2014, 8, 8))
    kids = (admitted, withdrawn, moved, left)
    for kid in (withdrawn, moved, left):
        await census.enrol(kid)
    snapshot = await census.load([census.person(k) for k in kids], [])
    listed = {c.iin for c in await reports.list_children(conn, snapshot.snapshot_id, "not_covered")}
    assert listed == {admitted}

    await census.enrol(admitted, census.other_school)  # an admission confirmed and pushed to the contingent
    await census.end_enrolment(withdrawn, "withdrawn")  # an admission withdrawn (Revoke)
    async with conn.transaction():  # a transfer (Move): never two schools, never none
        await census.end_enrolment(moved, "moved")
        await census.enrol(moved, census.other_school, grade=5)
    await census.end_enrolment(left, "left the country")  # Leave
    changed = await census.cross_check()

    assert changed == 4
    children = {c.iin: c for c in await reports.list_children(conn, snapshot.snapshot_id, "all")}
    assert {k for k, c in children.items() if c.enrolled_school_bin is None} == {withdrawn, left}
    assert children[moved].enrolled_school_bin == census.other_school
    assert children[admitted].enrolled_school_bin == census.other_school
    listed = {c.iin for c in await reports.list_children(conn, snapshot.snapshot_id, "not_covered")}
    assert listed == {withdrawn, left}
    assert await census.cross_check() == 0  # nothing moved since
