"""Reports for admins in scope: statuses against 20 September / 15 October, territories, school reports, CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import asyncpg
import pytest
from census_helpers import Census
from litestar import Litestar
from litestar.testing import AsyncTestClient

from admission.census import reports
from admission.census.errors import AlreadyReported, SnapshotNotCompleted
from admission.reference import KZ


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(15), KZ)


async def test_each_region_status_against_20_september_and_15_october(census: Census, conn: asyncpg.Connection) -> None:
    kid = census.child(dt.date(2014, 2, 2))
    files = census.extracts([census.person(kid)], [census.pupil(kid)])
    for region in ("astana", "abai", "zhetisu"):
        await census.import_extracts(*files, region=region)
    as_of, region_admin = census.as_of, census.region_admin()

    def status(statuses: list[reports.RegionStatus], region: str) -> tuple[str, str]:
        found = next(s for s in statuses if s.region == region)
        return found.census, found.report

    on_the_15th = await reports.region_statuses(conn, 2026, dt.date(2026, 9, 15))
    assert len(on_the_15th) == 20
    assert status(on_the_15th, "astana") == ("in_progress", "pending")
    assert status(on_the_15th, "ulytau") == ("not_started", "pending")

    with pytest.raises(SnapshotNotCompleted):  # nothing to report before the census is complete
        await reports.mark_reported(conn, region_admin, "astana", as_of, _at(dt.date(2026, 9, 19)))
    await reports.mark_complete(conn, region_admin, "astana", as_of, _at(dt.date(2026, 9, 20)))
    await reports.mark_complete(conn, region_admin, "abai", as_of, _at(dt.date(2026, 9, 22)))
    await reports.mark_reported(conn, region_admin, "astana", as_of, _at(dt.date(2026, 10, 15)))
    await reports.mark_reported(conn, region_admin, "abai", as_of, _at(dt.date(2026, 10, 16)))
    with pytest.raises(AlreadyReported):
        await reports.mark_reported(conn, region_admin, "abai", as_of, _at(dt.date(2026, 10, 17)))

    on_the_21st = await reports.region_statuses(conn, 2026, dt.date(2026, 9, 21))
    assert status(on_the_21st, "astana") == ("complete", "reported")
    assert status(on_the_21st, "zhetisu") == ("overdue", "pending")
    assert status(on_the_21st, "ulytau") == ("overdue", "pending")
    late = await reports.region_statuses(conn, 2026, dt.date(2026, 10, 20))
    assert status(late, "abai") == ("complete_late", "reported_late")
    assert status(late, "zhetisu") == ("overdue", "overdue")
    # The audit trail says who closed and reported which census.
    actions = await conn.fetch("SELECT action, target FROM audit_log WHERE region_slug = 'astana' ORDER BY id")
    assert [tuple(a) for a in actions] == [
        ("census.complete", "census:astana:2026-09"),
        ("census.report", "census:astana:2026-09"),
    ]


async def test_admins_see_the_census_in_their_scope_only(census: Census, client: AsyncTestClient[Litestar]) -> None:
    near = census.child(dt.date(2014, 4, 4))  # lives in school №1's territory, not in the contingent
    far = census.child(dt.date(2014, 5, 5))  # lives elsewhere in Astana
    await census.load([census.person(near, district="1-шағын аудан"), census.person(far, district="9-шағын аудан")], [])
    region_admin = census.bearer(census.region_admin())
    school_admin = census.bearer(census.school_admin())

    # The local authority sets the school's service territory; the school itself may not.
    body = {"areas": [{"locality": "Астана", "district": "1-шағын аудан"}]}
    put = await client.put(f"/v1/admin/census/schools/{census.school}/territory", json=body, headers=school_admin)
    assert put.status_code == 403
    put = await client.put(f"/v1/admin/census/schools/{census.school}/territory", json=body, headers=region_admin)
    assert put.status_code == 200, put.text
    assert put.json() == [{"locality": "Астана", "district": "1-шағын аудан"}]

    counts = await client.get(f"/v1/admin/census/schools/{census.school}/report", headers=school_admin)
    assert counts.status_code == 200
    assert (counts.json()["children"], counts.json()["not_covered"]) == (1, 1)
    listed = await client.get(
        f"/v1/admin/census/schools/{census.school}/children", params={"category": "not_covered"}, headers=school_admin
    )
    assert [c["iin"] for c in listed.json()] == [near]
    other = await client.get(f"/v1/admin/census/schools/{census.other_school}/report", headers=school_admin)
    assert other.status_code == 403

    region = await client.get(f"/v1/admin/census/regions/{census.region}/report", headers=region_admin)
    assert region.status_code == 200
    body = region.json()
    assert (body["counts"]["children"], body["counts"]["not_covered"]) == (2, 2)
    assert [s["school_bin"] for s in body["schools"]] == [census.school]
    page = await client.get(
        f"/v1/admin/census/regions/{census.region}/children",
        params={"category": "not_covered", "limit": 1},
        headers=region_admin,
    )
    rest = await client.get(
        f"/v1/admin/census/regions/{census.region}/children",
        params={"category": "not_covered", "after": page.json()[0]["iin"]},
        headers=region_admin,
    )
    assert sorted([c["iin"] for c in page.json() + rest.json()]) == sorted([near, far])

    elsewhere = await client.get("/v1/admin/census/regions/abai/report", headers=region_admin)
    assert elsewhere.status_code == 403
    statuses = await client.get("/v1/admin/census/regions", headers=region_admin)
    assert [s["region"] for s in statuses.json()] == [census.region]
    ministry = await client.get("/v1/admin/census/regions", headers=census.bearer(census.ministry()))
    assert len(ministry.json()) == 20
    missing = await client.get("/v1/admin/census/regions/abai/report", headers=census.bearer(census.ministry()))
    assert (missing.status_code, missing.json()["code"]) == (404, "census_snapshot_not_found")
    anonymous = await client.get(f"/v1/admin/census/regions/{census.region}/report")
    assert anonymous.status_code == 401

    await census.enrol(near)
    checked = await client.post(f"/v1/admin/census/regions/{census.region}/cross-check", headers=region_admin)
    assert (checked.status_code, checked.json()["changed"]) == (200, 1)
    counts = await client.get(f"/v1/admin/census/schools/{census.school}/report", headers=school_admin)
    assert counts.json()["not_covered"] == 0

    closed = await client.post(
        f"/v1/admin/census/regions/{census.region}/snapshots/2026-09/complete", headers=region_admin
    )
    assert closed.status_code == 200
    again = await client.post(f"/v1/admin/census/regions/{census.region}/cross-check", headers=region_admin)
    assert (again.status_code, again.json()["code"]) == (409, "census_snapshot_completed")


def test_the_region_report_is_csv_with_kazakh_and_russian_headers(
    census: Census, database_url: str, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from queue_service.cli import main

    kid = census.child(dt.date(2014, 6, 6))
    persons, bbazh = census.extracts([census.person(kid)], [census.pupil(kid)])
    territories = tmp_path / "territories.csv"
    territories.write_text(f"school_bin;locality;district\n{census.school};Астана;\n", encoding="utf-8")
    env = {"KEZEK_DATABASE_URL": database_url}
    runner = CliRunner()
    done = runner.invoke(main, ["census", "territories", str(territories)], env=env)
    assert done.exit_code == 0, done.output
    done = runner.invoke(
        main,
        ["census", "import", census.region, "--persons", str(persons), "--bbazh", str(bbazh), "--as-of", "2026-09-10"],
        env=env,
    )
    assert done.exit_code == 0, done.output
    assert "1 children; 0 rows rejected" in done.output
    assert "merging the two extracts" in done.output  # each stage shown as it begins
    out = tmp_path / "report.csv"
    done = runner.invoke(main, ["census", "report", census.region, "--out", str(out)], env=env)
    assert done.exit_code == 0, done.output
    table = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    header = dict(zip(table[0], table[1], strict=True))
    assert header["Өңір / Регион"] == census.region
    assert header["Оқумен қамтылмаған / Не охваченные обучением"] == "1"
    assert header["Мектеп жасындағы / Школьного возраста"] == "1"
    assert table[2][2] == census.school  # one line per school service territory
    listing = runner.invoke(main, ["census", "report", census.region, "--list", "not_covered"], env=env)
    assert listing.exit_code == 0, listing.output
    assert kid in listing.output
    assert listing.output.startswith("ЖСН / ИИН;Тегі / Фамилия")


async def test_a_child_counts_once_for_a_school_listing_a_locality_and_one_of_its_districts(
    census: Census, client: AsyncTestClient[Litestar]
) -> None:
    near = census.child(dt.date(2014, 4, 4))
    far = census.child(dt.date(2014, 5, 5))
    await census.load([census.person(near, district="1-шағын аудан"), census.person(far, district="9-шағын аудан")], [])
    region_admin = census.bearer(census.region_admin())
    areas = [{"locality": "Астана", "district": ""}, {"locality": "Астана", "district": "1-шағын аудан"}]
    put = await client.put(
        f"/v1/admin/census/schools/{census.school}/territory", json={"areas": areas}, headers=region_admin
    )
    assert put.status_code == 200, put.text

    school = await client.get(f"/v1/admin/census/schools/{census.school}/report", headers=region_admin)
    region = (await client.get(f"/v1/admin/census/regions/{census.region}/report", headers=region_admin)).json()
    assert school.json()["children"] == 2
    assert [(s["school_bin"], s["counts"]) for s in region["schools"]] == [(census.school, school.json())]
    assert region["counts"]["children"] == 2
    # a school without a service territory counts nobody
    other = await client.get(f"/v1/admin/census/schools/{census.other_school}/report", headers=region_admin)
    assert (other.status_code, other.json()["children"]) == (200, 0)
