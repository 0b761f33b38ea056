"""Privacy: names only for the pupil's own school, counts for the region and the ministry, every read audited,
nothing in any public endpoint or any per-school list (para 26)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prevention_helpers import (
    FAR_SCHOOL,
    OTHER_SCHOOL,
    PUPIL_NAME,
    REGION,
    SCHOOL,
    World,
    census_files,
    kz,
)

from admission.census import importer
from admission.db import QUERIES
from admission.signing_keys import AdminPrincipal

BASE = f"/v1/admin/schools/{SCHOOL}/prevention"


async def _case_with_everything(world: World) -> tuple[str, str, str]:
    """A registered case with a plan at SCHOOL; (case id, sitting id, pupil ИИН)."""
    case, sitting = await world.registered_case(grounds=(5, 7))
    return str(case.id), str(sitting.id), case.pupil_iin


def _name_reads(case_id: str, sitting_id: str) -> dict[str, tuple[str, str]]:
    """Every route that shows a pupil's name, with the audit action its read writes."""
    return {
        f"{BASE}/cases": ("prevention.cases.list", f"school:{SCHOOL}"),
        f"{BASE}/cases/{case_id}": ("prevention.case.read", f"prevention_case:{case_id}"),
        f"{BASE}/cases/{case_id}/plan/print": ("prevention.case.plan_print", f"prevention_case:{case_id}"),
        f"{BASE}/sittings/{sitting_id}/minutes": ("prevention.minutes.read", f"prevention_sitting:{sitting_id}"),
        f"{BASE}/sittings/{sitting_id}/minutes/print": ("prevention.minutes.read", f"prevention_sitting:{sitting_id}"),
    }


async def test_the_privacy_matrix_names_only_for_the_own_school_and_every_read_audited(
    world: World, client: AsyncTestClient[Litestar]
) -> None:
    case_id, sitting_id, pupil = await _case_with_everything(world)
    reads = _name_reads(case_id, sitting_id)
    staff_only = [f"{BASE}/council", f"{BASE}/sittings", f"{BASE}/handovers", f"{BASE}/candidates"]
    own = world.school_admin(SCHOOL)
    others: list[AdminPrincipal] = [
        world.school_admin(OTHER_SCHOOL),  # another school of the same region
        world.school_admin(FAR_SCHOOL),  # a school of another region
        world.region_admin(REGION),  # the pupil's region
        world.region_admin("abai"),
        world.ministry(),
    ]

    # The pupil's own school reads every case, and each read is one audit entry naming the case, not the pupil.
    for url, (action, target) in reads.items():
        before = len(await world.audit())
        response = await client.get(url, headers=world.bearer(own))
        assert response.status_code == 200, (url, response.text)
        assert PUPIL_NAME in response.text, url
        entries = await world.audit()
        assert len(entries) == before + 1, url
        last = entries[-1]
        assert (last["action"], last["target"], last["actor"], last["region_slug"]) == (
            action,
            target,
            own.subject,
            REGION,
        )
        if action == "prevention.cases.list":
            assert last["new_value"] == {"cases": [case_id]}
    for url in staff_only:
        assert (await client.get(url, headers=world.bearer(own))).status_code == 200, url

    # Everybody else gets a 403 problem that names nobody, and nothing is read (so nothing is audited).
    before = len(await world.audit())
    for admin in others:
        for url in [*reads, *staff_only]:
            response = await client.get(url, headers=world.bearer(admin))
            assert response.status_code == 403, (admin.subject, url)
            assert response.json()["code"] == "prevention_own_school_only"
            assert PUPIL_NAME not in response.text
            assert pupil not in response.text
        write = await client.post(
            f"{BASE}/cases/{case_id}/removal",
            json={"sitting_id": sitting_id, "reason": "relocation"},
            headers=world.bearer(admin),
        )
        assert write.status_code == 403
    assert len(await world.audit()) == before

    # Counts: the school, its region and the ministry; never a name, a ИИН or a case id.
    school_counts = f"{BASE}/counts"
    region_counts = f"/v1/admin/regions/{REGION}/prevention/counts"
    for admin, url, status in [
        (own, school_counts, 200),
        (world.region_admin(REGION), school_counts, 200),
        (world.ministry(), school_counts, 200),
        (world.school_admin(OTHER_SCHOOL), school_counts, 403),
        (world.region_admin("abai"), school_counts, 403),
        (world.region_admin(REGION), region_counts, 200),
        (world.ministry(), region_counts, 200),
        (world.region_admin("abai"), region_counts, 403),
        (own, region_counts, 403),
        (world.ministry(), "/v1/admin/prevention/counts", 200),
        (world.region_admin(REGION), "/v1/admin/prevention/counts", 403),
    ]:
        response = await client.get(url, headers=world.bearer(admin))
        assert response.status_code == status, (admin.subject, url, response.text)
        for secret in (PUPIL_NAME, pupil, case_id, sitting_id):
            assert secret not in response.text
    counted = (await client.get(region_counts, headers=world.bearer(world.region_admin(REGION)))).json()
    assert counted == {"open": 0, "registered": 1, "refused": 0, "removed": 0, "by_ground": {"5": 1, "7": 1}}
    assert SCHOOL not in str(counted)  # a region's totals: no breakdown by school
    national = (await client.get("/v1/admin/prevention/counts", headers=world.bearer(world.ministry()))).json()
    assert {r["region"]: r["counts"]["registered"] for r in national}[REGION] == 1
    assert len(national) == 20

    # The audit log (which region admins read) carries ids and states only.
    log = await client.get("/v1/admin/audit", params={"region": REGION}, headers=world.bearer(world.region_admin()))
    assert log.status_code == 200
    assert "prevention.case.read" in log.text
    for row in await world.audit():
        stored = msgspec.json.encode([row["old_value"], row["new_value"], row["target"]]).decode()
        assert PUPIL_NAME not in stored
        assert pupil not in stored
        assert "grounds" not in stored


async def test_writes_are_audited_without_names_or_grounds(world: World) -> None:
    await _case_with_everything(world)
    actions = [r["action"] for r in await world.audit()]
    assert actions == [
        "prevention.council.put",
        "prevention.case.open",
        "prevention.sitting.create",
        "prevention.case.assessment",
        "prevention.case.decision",
        "prevention.case.plan",
    ]
    decision = (await world.audit("prevention.case.decision"))[0]
    assert decision["new_value"] == {"state": "registered"}


def _concrete(path: str, values: dict[str, str]) -> str:
    anything = "6f1c2a4e-0000-4000-8000-000000000001"  # any other parameter: an id that exists nowhere
    return re.sub(r"\{([^}:]+)(:[^}]+)?\}", lambda m: values.get(m.group(1), anything), path)


async def _public_answers(app: Litestar, client: AsyncTestClient[Litestar]) -> dict[str, tuple[int, Any]]:
    """Every public GET route's answer (no admin token), for the pupil's region and school."""
    values = {"region": REGION, "slug": REGION, "school_bin": SCHOOL, "school_year": "2025-2026"}
    answers: dict[str, tuple[int, Any]] = {}
    for route in app.routes:
        if "GET" not in getattr(route, "methods", set()) or route.path.startswith(("/v1/admin", "/docs", "/metrics")):
            continue
        url = _concrete(route.path, values)
        response = await client.get(url)
        body: Any = response.text
        if response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
            if isinstance(body, dict | list):
                body = _without_clock(body)
            if route.path.endswith("/challenge") and isinstance(body, dict):
                body = sorted(body)  # a fresh random proof-of-work challenge each call: its shape only
        answers[route.path] = (response.status_code, body)
    return answers


def _without_clock(value: Any) -> Any:
    """Drop what moves with the clock alone (the rooms' ETA and server time)."""
    if isinstance(value, dict):
        return {k: _without_clock(v) for k, v in value.items() if k not in {"now", "server_time", "eta_seconds"}}
    if isinstance(value, list):
        return [_without_clock(v) for v in value]
    return value


async def test_para_26_no_public_endpoint_and_no_per_school_list_shows_anything_of_it(
    world: World, app: Litestar, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    # A census of the region first, so its per-school report (the one list that ranks schools) exists.
    pupils = {
        world.pupil(dt.date(2014, 2, 1)): ("Серікбаев", "Әлихан"),
        world.pupil(dt.date(2014, 2, 2)): ("Ким", "Ли"),
    }
    for pupil in pupils:
        await world.enrol(pupil, SCHOOL)
    persons, bbazh = census_files(tmp_path, pupils)
    await importer.import_extract(world.pool, REGION, persons, bbazh, as_of=dt.date(2026, 9, 10), now=kz(2026, 9, 10))
    ministry = world.bearer(world.ministry())
    ranking_urls = [
        f"/v1/admin/census/regions/{REGION}/report",
        f"/v1/admin/census/schools/{SCHOOL}/report",
        f"/v1/admin/schools/{SCHOOL}/applications",
        f"/v1/admin/schools/{SCHOOL}/transfers",
    ]

    async def rankings() -> list[Any]:
        answers = []
        for url in ranking_urls:
            response = await client.get(url, headers=ministry)
            assert response.status_code == 200, (url, response.text)
            answers.append(response.json())
        return answers

    public_before = await _public_answers(app, client)
    rankings_before = await rankings()
    assert len(public_before) >= 8

    # Cases at the school in every state, one of them for a pupil of the census.
    case_id, _, registered_pupil = await _case_with_everything(world)
    await world.open_case(SCHOOL, next(iter(pupils)))

    assert await _public_answers(app, client) == public_before
    assert await rankings() == rankings_before
    metrics = (await client.get("/metrics")).text
    for secret in (PUPIL_NAME, registered_pupil, case_id, SCHOOL):
        assert secret not in metrics


def test_para_25_only_this_module_reads_the_prevention_tables_and_its_routes_are_admin_only(app: Litestar) -> None:
    for name, sql in QUERIES.items():
        if "prevention." in sql:
            assert name.startswith("prevention_"), name
    routes = [r for r in app.routes if "/prevention" in r.path]
    assert len(routes) >= 15
    assert all(r.path.startswith("/v1/admin/") for r in routes)


@pytest.mark.parametrize("missing", ["school", "case"])
async def test_an_unknown_school_or_case_is_a_404_problem(
    world: World, client: AsyncTestClient[Litestar], missing: str
) -> None:
    if missing == "school":
        admin = AdminPrincipal(subject="x", role="school", region=REGION, school="000000000000")
        response = await client.get("/v1/admin/schools/000000000000/prevention/cases", headers=world.bearer(admin))
        assert response.json()["code"] == "unknown_school"
    else:
        response = await client.get(f"{BASE}/cases/{uuid.uuid4()}", headers=world.bearer(world.school_admin()))
        assert response.json()["code"] == "prevention_unknown_case"
    assert response.status_code == 404
