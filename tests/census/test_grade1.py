"""Due for grade 1 and not covered, against the admission module and the contingent store (issue 4)."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec
from census_helpers import Census
from litestar import Litestar
from litestar.testing import AsyncTestClient

from admission.access import mint_access_token, verify_access_token
from admission.applications import AgeRule, ApplicationRequest, file_application
from admission.applications.service import confirm, withdraw
from admission.census import importer, reports
from admission.contingent.events import Move
from admission.contingent.publisher import Publisher
from admission.contingent.store import PostgresContingentStore
from admission.iin import make_iin
from admission.reference import KZ

JUNE = dt.date(2026, 6, 5)  # the June census, before the admission window of Astana opens (27 May … 31 Aug)
FILED = dt.datetime(2026, 6, 10, 10, 0, tzinfo=KZ)
APPLICANT = make_iin(dt.date(1990, 4, 12), False, 100)


async def _apply(census: Census, child: str, school: str, now: dt.datetime = FILED) -> str:
    """Files a grade-1 application as the portal would; returns its withdraw token."""
    token = mint_access_token(census.keys, census.region, APPLICANT, dt.timedelta(minutes=15))
    claims = verify_access_token(census.keys, token, census.region)
    form = msgspec.convert(
        {"applicant_iin": APPLICANT, "child_iin": child, "school_bin": school, "language": "kk", "consent": True},
        ApplicationRequest,
    )
    filed = await file_application(census.conn, form, claims=claims, age_rule=AgeRule(), now=now)
    assert filed.application.status == "accepted", filed
    return filed.withdraw_token


async def _application_id(conn: asyncpg.Connection, child: str) -> uuid.UUID:
    value: uuid.UUID = await conn.fetchval(
        "SELECT id FROM applications WHERE child_iin = $1 ORDER BY decided_at DESC LIMIT 1", child
    )
    return value


async def _publish(db_pool: asyncpg.Pool) -> None:
    await Publisher(db_pool, PostgresContingentStore(db_pool)).drain()


async def test_the_due_list_of_a_school_territory_follows_applications_acceptances_and_confirmations(
    census: Census, conn: asyncpg.Connection, db_pool: asyncpg.Pool
) -> None:
    confirmed = census.child(dt.date(2020, 3, 3))
    accepted_elsewhere = census.child(dt.date(2020, 4, 4))
    withdrawn = census.child(dt.date(2019, 9, 2))  # turned 6 on 2 September 2025: due in 2026, not 2025
    nothing_yet = census.child(dt.date(2020, 9, 1))  # 6 exactly on 1 September
    too_young = census.child(dt.date(2020, 9, 2))  # 6 on 2 September: next year's list
    too_old = census.child(dt.date(2019, 9, 1))  # due last year; 7 and in no school: due for school still (para 13.3)
    across_town = census.child(dt.date(2020, 5, 5))  # lives in another school's territory
    here = "1-шағын аудан"
    await census.load(
        [
            *(census.person(k, district=here) for k in (confirmed, accepted_elsewhere, withdrawn, nothing_yet)),
            *(census.person(k, district=here) for k in (too_young, too_old)),
            census.person(across_town, district="7-шағын аудан"),
        ],
        [census.pupil(k, org_kind="preschool") for k in (confirmed, nothing_yet)],
        as_of=JUNE,
        now=FILED,
    )
    school, other_school = census.school, census.other_school
    await importer.replace_territories(conn, {school: [importer.TerritoryArea(locality="Астана", district=here)]})

    await _apply(census, confirmed, school)
    await _apply(census, accepted_elsewhere, other_school)
    token = await _apply(census, withdrawn, school)
    await withdraw(conn, await _application_id(conn, withdrawn), token, FILED + dt.timedelta(hours=1))
    await confirm(
        conn, census.school_admin(), school, order_number="12-Б", order_date=dt.date(2026, 8, 25),
        application_id=None, now=FILED + dt.timedelta(days=1),
    )  # fmt: skip
    await _publish(db_pool)

    due = {d.iin: d for d in await reports.due_for_grade1(conn, census.region, 2026, school_bin=school)}
    assert set(due) == {confirmed, accepted_elsewhere, withdrawn, nothing_yet, too_old}
    status = {k: (d.applied, d.accepted, d.confirmed, d.application_status) for k, d in due.items()}
    assert status == {
        confirmed: (True, True, True, "confirmed"),
        accepted_elsewhere: (True, True, False, "accepted"),
        withdrawn: (True, False, False, "withdrawn"),
        nothing_yet: (False, False, False, None),
        too_old: (False, False, False, None),
    }
    assert {k for k, d in due.items() if d.age_group == 7} == {too_old}
    assert due[accepted_elsewhere].application_school_bin == other_school
    assert (due[confirmed].enrolled_school_bin, due[confirmed].enrolled_grade) == (school, 1)
    assert due[nothing_yet].org_kind == "preschool"
    region_wide = {d.iin for d in await reports.due_for_grade1(conn, census.region, 2026)}
    assert region_wide == {*due, across_town}

    # A second application for the withdrawn child, now accepted, shows as the live one.
    await _apply(census, withdrawn, other_school, FILED + dt.timedelta(days=2))
    due = {d.iin: d for d in await reports.due_for_grade1(conn, census.region, 2026, school_bin=school)}
    assert (due[withdrawn].application_status, due[withdrawn].accepted) == ("accepted", True)


async def test_not_covered_agrees_with_the_contingent_store_after_withdrawals_and_transfers(
    census: Census, conn: asyncpg.Connection, db_pool: asyncpg.Pool
) -> None:
    stays = census.child(dt.date(2020, 3, 3))
    withdrawn = census.child(dt.date(2020, 4, 4))
    transferred = census.child(dt.date(2020, 5, 5))
    kids = (stays, withdrawn, transferred)
    school, other_school = census.school, census.other_school
    tokens = {k: await _apply(census, k, school) for k in kids}
    await confirm(
        conn, census.school_admin(), school, order_number="12-Б", order_date=dt.date(2026, 8, 25),
        application_id=None, now=FILED + dt.timedelta(days=1),
    )  # fmt: skip
    await _publish(db_pool)

    september = dt.date(2026, 9, 10)  # the September census: now they are of school age
    persons, bbazh = [census.person(k) for k in kids], [census.pupil(k, grade="1") for k in kids]
    report = await census.load(persons, bbazh, as_of=september, now=FILED)
    assert [c.iin for c in await reports.list_children(conn, report.snapshot_id, "not_covered")] == []

    await withdraw(conn, await _application_id(conn, withdrawn), tokens[withdrawn], FILED + dt.timedelta(days=95))
    await _publish(db_pool)  # Revoke
    store = PostgresContingentStore(db_pool)
    await store.apply(
        10_000_001,
        Move(
            child_iin=transferred, from_school_bin=school, to_school_bin=other_school, grade=1, language="kk",
            order_number="3-Б", order_date=dt.date(2026, 9, 15), since=dt.date(2026, 9, 15),
        ),
    )  # fmt: skip
    assert await importer.cross_check(conn, census.region, now=FILED) == 2

    children = {c.iin: c for c in await reports.list_children(conn, report.snapshot_id, "all")}
    assert {k for k, c in children.items() if c.enrolled_school_bin is None} == {withdrawn}
    assert children[transferred].enrolled_school_bin == other_school
    assert children[stays].enrolled_school_bin == school
    assert [c.iin for c in await reports.list_children(conn, report.snapshot_id, "not_covered")] == [withdrawn]
    current = await conn.fetch("SELECT child_iin, school_bin FROM contingent.enrolments WHERE ended_on IS NULL")
    assert {r["child_iin"]: r["school_bin"] for r in current} == {stays: school, transferred: other_school}


async def test_a_school_admin_reads_its_due_list_over_http(
    census: Census, client: AsyncTestClient[Litestar], conn: asyncpg.Connection
) -> None:
    child = census.child(dt.date(2020, 2, 2))
    await census.load([census.person(child, district="")], [], as_of=JUNE, now=FILED)
    await importer.replace_territories(conn, {census.school: [importer.TerritoryArea(locality="Астана")]})
    await _apply(census, child, census.school)
    response = await client.get(
        f"/v1/admin/census/schools/{census.school}/grade1",
        params={"year": 2026},
        headers=census.bearer(census.school_admin()),
    )
    assert response.status_code == 200, response.text
    (only,) = response.json()
    assert (only["iin"], only["applied"], only["accepted"], only["confirmed"]) == (child, True, True, False)
