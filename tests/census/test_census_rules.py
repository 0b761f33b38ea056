"""The census as order No. 324 (seed 000) writes it, on small hand-made extracts that reproduce each finding."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
from census_helpers import Census
from litestar import Litestar
from litestar.testing import AsyncTestClient

from admission.census import importer, reports
from admission.census.errors import NotACensusMonth
from admission.iin import check_digit
from admission.readings import Readings


def _no_century(born: dt.date, century_digit: str) -> str:
    """An ИИН with a valid check digit whose 7th digit encodes no century (0, 7, 8, 9)."""
    for serial in range(1, 10_000):
        first11 = f"{born:%y%m%d}{century_digit}{serial:04d}"
        digit = check_digit(first11)
        if digit is not None:
            return first11 + str(digit)
    raise AssertionError("unreachable")


async def _children(conn: asyncpg.Connection, snapshot_id: int) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT c.* FROM census.children c JOIN census.snapshots s ON s.load_id = c.load_id WHERE s.id = $1",
        snapshot_id,
    )
    return {r["iin"]: r for r in rows}


async def test_census_para_11_an_iin_without_a_century_digit_is_rejected_invalid_iin(
    census: Census, conn: asyncpg.Connection
) -> None:
    """Para 11 keys every child by ИИН: ``150505080014`` (7th digit 0, valid check digit) is no child's."""
    assert check_digit("15050508001") == 4  # the issue's example is valid but for its century
    bad = ["150505080014", *(_no_century(dt.date(2015, 5, 5), d) for d in "789")]
    good = census.child(dt.date(2015, 5, 5))
    report = await census.load(
        [census.person(good), *(census.person(b, birth_date="05.05.2015", sex="M") for b in bad)],
        [census.pupil(good), *(census.pupil(b, birth_date="05.05.2015") for b in bad)],
    )
    assert set(await _children(conn, report.snapshot_id)) == {good}
    issues = await reports.list_issues(conn, report.snapshot_id)
    assert sorted((i.source, i.iin, i.code) for i in issues) == sorted(
        [("persons", b, "invalid_iin") for b in bad] + [("bbazh", b, "invalid_iin") for b in bad]
    )
    # The SQL function itself no longer yields NULL for such a number.
    assert await conn.fetchval("SELECT census.iin_matches_birth_date(150505080014, 20150505)") is False


async def test_census_para_11_9_a_repeated_attendance_row_is_rejected_with_its_line_not_the_feed(
    census: Census, conn: asyncpg.Connection
) -> None:
    """A repeated (child, organisation) row of the monthly feed is a bad row; that month's truants survive."""
    truant, repeated = census.child(dt.date(2013, 2, 1)), census.child(dt.date(2013, 2, 2))
    for kid in (truant, repeated):
        await census.enrol(kid, grade=7)
    await census.load([census.person(k) for k in (truant, repeated)], [census.pupil(truant), census.pupil(repeated)])
    report = await census.attendance(
        dt.date(2026, 9, 1),
        [
            (truant, census.school, "2026-09", 12),  # line 2
            (repeated, census.school, "2026-09", 3),  # line 3
            (repeated, census.school, "2026-09", 3),  # line 4: the same child and organisation again
            (repeated, census.other_school, "2026-09", 2),  # line 5: another organisation is another row
        ],
    )
    assert (report.rows, report.rejected) == (3, 1)
    issues = await reports.list_attendance_issues(conn, census.region, dt.date(2026, 9, 1))
    assert [(i.line, i.iin, i.code) for i in issues] == [(4, repeated, "duplicate_iin")]
    assert "line 3" in issues[0].detail
    await census.cross_check()
    snapshot = await importer.get_snapshot(conn, census.region)
    assert {c.iin for c in await reports.list_children(conn, snapshot.id, "truant")} == {truant}


async def test_census_para_2_5_truants_are_pupils_of_schools_and_colleges_aged_6_to_18(
    census: Census, conn: asyncpg.Connection
) -> None:
    kindergarten = census.child(dt.date(2022, 3, 1))  # 4, missing kindergarten days
    preschool_six = census.child(dt.date(2020, 3, 1))  # 6, still in a preschool group
    pupil_seven = census.child(dt.date(2019, 3, 1))
    student = census.child(dt.date(2010, 3, 1))  # 16, a college student
    kids = (kindergarten, preschool_six, pupil_seven, student)
    files = census.extracts(
        [census.person(k) for k in kids],
        [
            census.pupil(kindergarten, org_kind="preschool"),
            census.pupil(preschool_six, org_kind="preschool"),
            census.pupil(pupil_seven, grade="1"),
            census.pupil(student, org_kind="tvet"),
        ],
    )
    report = await census.import_extracts(*files)
    await census.attendance(
        dt.date(2026, 9, 1),
        [
            (kindergarten, census.preschool, "2026-09", 15),
            (preschool_six, census.preschool, "2026-09", 15),
            (pupil_seven, census.school, "2026-09", 10),
            (student, census.college, "2026-09", 11),
        ],
    )
    await census.cross_check()
    assert {c.iin for c in await reports.list_children(conn, report.snapshot_id, "truant")} == {pupil_seven, student}
    # The import judges the same way when the feed is already there (a re-import of the quarter).
    again = await census.import_extracts(*files)
    assert {c.iin for c in await reports.list_children(conn, again.snapshot_id, "truant")} == {pupil_seven, student}


async def test_census_para_2_5_truant_days_per_month_by_default_or_over_the_school_year(
    census: Census, conn: asyncpg.Connection
) -> None:
    """Para 2.5 sets no period: ``month`` (default) or ``school_year`` (Readings.truant_period)."""
    spread = census.child(dt.date(2012, 4, 1))  # 6 in September, 6 in October, 6 in November: never 10 in a month
    once = census.child(dt.date(2012, 4, 2))  # 10 in October
    december = dt.date(2026, 12, 10)
    report = await census.load(
        [census.person(k) for k in (spread, once)], [census.pupil(spread), census.pupil(once)], as_of=december
    )
    school = census.school
    for month, rows in (
        ("2026-09", [(spread, school, "2026-09", 6)]),
        ("2026-10", [(spread, school, "2026-10", 6), (once, school, "2026-10", 10)]),
        ("2026-11", [(spread, school, "2026-11", 6)]),
    ):
        await census.attendance(dt.date.fromisoformat(f"{month}-01"), rows)
    await census.cross_check()
    assert {c.iin for c in await reports.list_children(conn, report.snapshot_id, "truant")} == {once}
    await census.cross_check(readings=Readings(truant_period="school_year"))
    assert {c.iin for c in await reports.list_children(conn, report.snapshot_id, "truant")} == {spread, once}
    assert importer.truant_months(dt.date(2027, 3, 1), Readings(truant_period="school_year")) == dt.date(2026, 9, 1)


async def test_census_para_11_4_private_colleges_are_tvet_not_non_state_by_default(
    census: Census, conn: asyncpg.Connection
) -> None:
    """Para 11.4 names non-state preschool and secondary education organisations; colleges are para 11.3's."""
    private_college = census.child(dt.date(2010, 6, 1))
    private_school = census.child(dt.date(2015, 6, 1))
    private_kindergarten = census.child(dt.date(2022, 6, 1))
    kids = (private_college, private_school, private_kindergarten)
    files = census.extracts(
        [census.person(k) for k in kids],
        [
            census.pupil(private_college, org_kind="tvet", ownership="private"),
            census.pupil(private_school, ownership="private"),
            census.pupil(private_kindergarten, org_kind="preschool", ownership="private"),
        ],
    )
    report = await census.import_extracts(*files)
    children = await _children(conn, report.snapshot_id)
    assert {k for k, r in children.items() if r["non_state"]} == {private_school, private_kindergarten}
    assert children[private_college]["tvet"]
    counted = await census.import_extracts(*files, readings=Readings(private_colleges_non_state=True))
    children = await _children(conn, counted.snapshot_id)
    assert {k for k, r in children.items() if r["non_state"]} == set(kids)


async def test_census_para_13_unenrolled_seven_year_olds_are_due_for_school_too(
    census: Census, conn: asyncpg.Connection
) -> None:
    """Para 13.2-13.3: the 5-6 year-olds due for grade 1 and the 6-7 year-olds due for school."""
    six = census.child(dt.date(2020, 5, 1))
    seven_home = census.child(dt.date(2019, 5, 1))  # 7 on 1 September 2026, in no school
    seven_kindergarten = census.child(dt.date(2019, 6, 1))  # 7, still in a preschool group
    seven_pupil = census.child(dt.date(2019, 7, 1))  # 7, in grade 1 already
    eight_home = census.child(dt.date(2018, 5, 1))  # 8: past para 13's ages (the not-covered list has them)
    kids = (six, seven_home, seven_kindergarten, seven_pupil, eight_home)
    await census.enrol(seven_pupil)
    await census.load(
        [census.person(k) for k in kids],
        [census.pupil(seven_kindergarten, org_kind="preschool"), census.pupil(seven_pupil, grade="1")],
        as_of=dt.date(2026, 6, 5),
    )
    due = {d.iin: d.age_group for d in await reports.due_for_grade1(conn, census.region, 2026)}
    assert due == {six: 6, seven_home: 7, seven_kindergarten: 7}


async def test_census_para_3_para_5_para_14_4_every_child_is_counted_registered_or_not(
    census: Census, conn: asyncpg.Connection
) -> None:
    """Paras 2.6, 3, 5: one database of every child 0-18 living here, registered or not, from both extracts;
    para 14.4: those whose residence was not found are listed."""
    registered, unregistered = census.child(dt.date(2014, 9, 1)), census.child(dt.date(2014, 9, 2))
    only_bbazh = census.child(dt.date(2014, 9, 3))  # known to the education system only: residence not found (14.4)
    report = await census.load(
        [census.person(registered), census.person(unregistered, registered="0")], [census.pupil(only_bbazh)]
    )
    counts = await reports.category_counts(conn, report.snapshot_id)
    assert (counts.children, counts.not_registered, counts.residence_unknown) == (3, 1, 1)
    assert [c.iin for c in await reports.list_children(conn, report.snapshot_id, "residence_unknown")] == [only_bbazh]


def test_census_para_4_and_para_6_quarterly_complete_by_20_september_reported_by_15_october() -> None:
    for month in (3, 6, 9, 12):
        assert importer.census_period(dt.date(2026, month, 10)) == dt.date(2026, month, 1)
    for month in (1, 2, 4, 5, 7, 8, 10, 11):
        with pytest.raises(NotACensusMonth):
            importer.census_period(dt.date(2026, month, 10))
    assert reports.census_deadlines(2026) == (dt.date(2026, 9, 20), dt.date(2026, 10, 15))


async def test_census_para_2_2_and_para_10_the_cross_check_finds_children_not_covered(
    census: Census, conn: asyncpg.Connection
) -> None:
    """Para 10 (and para 2.2, "not studying"): school age, not exempt, not in a college, enrolled nowhere."""
    covered_later = census.child(dt.date(2013, 10, 1))
    college = census.child(dt.date(2010, 10, 1))
    report = await census.load(
        [census.person(covered_later), census.person(college)], [census.pupil(college, org_kind="tvet")]
    )
    assert [c.iin for c in await reports.list_children(conn, report.snapshot_id, "not_covered")] == [covered_later]
    await census.enrol(covered_later, grade=6)
    assert await census.cross_check() == 1
    assert await reports.list_children(conn, report.snapshot_id, "not_covered") == []


async def test_census_para_12_1_and_para_14_1_counts_per_school_service_territory(
    census: Census, conn: asyncpg.Connection
) -> None:
    here, there = census.child(dt.date(2015, 11, 1)), census.child(dt.date(2015, 11, 2))
    await census.load(
        [census.person(here, district="1-шағын аудан"), census.person(there, district="9-шағын аудан")], []
    )
    school = census.school
    await importer.replace_territories(
        conn, {school: [importer.TerritoryArea(locality="Астана", district="1-шағын аудан")]}
    )
    report = await reports.region_report(conn, census.region)
    by_school = {s.school_bin: s.counts for s in report.schools}
    assert (report.counts.children, by_school[school].children, by_school[school].not_covered) == (2, 1, 1)


async def _enrolment(
    conn: asyncpg.Connection, child: str, school: str, grade: int, since: dt.date, ended: dt.date | None = None
) -> None:
    await conn.execute(
        "INSERT INTO contingent.enrolments"
        " (child_iin, school_bin, grade, language, order_number, order_date, since, ended_on, end_reason)"
        " VALUES ($1, $2, $3, 'kk', $4, $5, $5, $6, $7)",
        child,
        school,
        grade,
        f"{grade}-Қ",
        since,
        ended,
        None if ended is None else "completed_basic_secondary",
    )


async def test_census_para_14_8_to_para_14_13_where_grade_9_leavers_went_as_of_20_september(
    census: Census, conn: asyncpg.Connection, client: AsyncTestClient[Litestar]
) -> None:
    graduated = dt.date(2026, 6, 10)
    to_school, to_college, nowhere, stays, grade_8 = (census.child(dt.date(2010, 1, d)) for d in range(10, 15))
    for child in (to_school, to_college, nowhere):
        await _enrolment(conn, child, census.school, 9, dt.date(2025, 9, 1), graduated)
    await _enrolment(conn, to_school, census.other_school, 10, dt.date(2026, 9, 1))  # admitted elsewhere (contingent)
    await _enrolment(conn, stays, census.school, 9, dt.date(2025, 9, 1))  # stays on: no promotion event, not a leaver
    await _enrolment(conn, grade_8, census.school, 8, dt.date(2025, 9, 1), graduated)
    school = census.bearer(census.school_admin())
    url = f"/v1/admin/census/schools/{census.school}/leavers"
    confirmation = {
        "to_org_bin": census.college,
        "to_org_name": "Астана политехникалық колледжі",
        "confirmation_number": "01-12/345",
        "confirmation_date": "2026-09-05",
        "order_number": "112-Қ",
        "order_date": "2026-08-28",
    }
    for missing in ("confirmation_number", "confirmation_date", "order_number", "order_date"):  # para 14.13
        partial = {k: v for k, v in confirmation.items() if k != missing}
        response = await client.put(f"{url}/{to_college}/confirmation", json=partial, headers=school)
        assert response.status_code == 400, (missing, response.text)
    other = census.bearer(census.school_admin(census.other_school))
    denied = await client.put(f"{url}/{to_college}/confirmation", json=confirmation, headers=other)
    assert denied.status_code == 403
    not_a_leaver = census.child(dt.date(2010, 2, 2))
    stranger = await client.put(f"{url}/{not_a_leaver}/confirmation", json=confirmation, headers=school)
    assert (stranger.status_code, stranger.json()["code"]) == (409, "census_not_a_leaver")
    recorded = await client.put(f"{url}/{to_college}/confirmation", json=confirmation, headers=school)
    assert recorded.status_code == 200, recorded.text

    listed = await client.get(url, params={"year": 2026}, headers=school)
    assert listed.status_code == 200, listed.text
    by_child = {row["child_iin"]: row for row in listed.json()}
    assert {k: v["status"] for k, v in by_child.items()} == {
        to_school: "enrolled",
        to_college: "confirmed",
        nowhere: "not_continuing",
    }
    assert (by_child[to_school]["enrolled_school_bin"], by_child[to_school]["enrolled_order_number"]) == (
        census.other_school,
        "10-Қ",
    )
    assert by_child[to_college]["confirmation"] == confirmation
    audit = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'census.leaver_confirmation'")
    assert audit == 1
