"""Tie-ins: the case follows the pupil's completed transfer (para 24); the census's truants are candidates only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prevention_helpers import (
    MONDAY,
    OTHER_SCHOOL,
    PARENT,
    PUPIL_NAME,
    REGION,
    SCHOOL,
    World,
    assessment,
    attendance_file,
    census_files,
    kz,
)

from admission.census import importer
from admission.prevention import service
from admission.prevention.errors import OwnSchoolOnly, UnknownCase
from admission.prevention.models import DecisionIn
from admission.transfers import service as transfers
from admission.transfers.models import Transfer, TransferRequest


async def _transfer(world: World, pupil: str, *, complete: bool = True) -> Transfer:
    """The portal path from SCHOOL to OTHER_SCHOOL: requested, accepted, both orders (completed)."""
    request = TransferRequest(
        applicant_iin=PARENT,
        applicant_full_name="Ата-ана Тестова",  # the annex 2 form's fields (para 17)
        applicant_phone="+7 701 000 00 00",
        registered_address="Астана, Сынақ көшесі, 1",
        consent=True,
        child_iin=pupil,
        child_full_name=PUPIL_NAME,
        to_school_bin=OTHER_SCHOOL,
        grade=5,
        language="kk",
        ground="relocation",
        document_ref="housing-77/2026",
    )
    async with world.pool.acquire() as conn:
        t = await transfers.request_transfer(conn, request, MONDAY)
        t = await transfers.decide(conn, world.school_admin(OTHER_SCHOOL), t.id, MONDAY, accept=True)
        t = await transfers.record_order(
            conn, world.school_admin(SCHOOL), t.id, "expulsion", "E-17", dt.date(2026, 4, 14), MONDAY
        )
        if complete:
            t = await transfers.record_order(
                conn, world.school_admin(OTHER_SCHOOL), t.id, "admission", "Q-42", dt.date(2026, 4, 14), MONDAY
            )
    return t


async def test_para_24_a_completed_transfer_moves_the_case_and_its_plan_to_the_receiving_school(
    world: World, client: AsyncTestClient[Litestar]
) -> None:
    case, sitting = await world.registered_case(grounds=(2, 5))
    old, new = world.school_admin(SCHOOL), world.school_admin(OTHER_SCHOOL)

    half_way = await _transfer(world, case.pupil_iin, complete=False)
    assert half_way.status == "accepted"
    async with world.pool.acquire() as conn:
        assert (await service.get_case(conn, old, SCHOOL, case.id, MONDAY)).state == "registered"
    completed_at = dt.datetime.now(dt.UTC)
    async with world.pool.acquire() as conn:
        done = await transfers.record_order(
            conn, new, half_way.id, "admission", "Q-42", dt.date(2026, 4, 14), completed_at
        )
    assert done.status == "completed"

    async with world.pool.acquire() as conn:
        # The receiving school's council has it: incoming, registered, with the plan and its rows.
        moved = await service.get_case(conn, new, OTHER_SCHOOL, case.id, MONDAY)
        assert (moved.state, moved.incoming, moved.arrived_at, moved.grounds) == (
            "registered",
            True,
            completed_at,
            [2, 5],
        )
        assert case.plan is not None
        assert moved.plan is not None
        assert [r.kind_of_help for r in moved.plan.rows] == [r.kind_of_help for r in case.plan.rows]
        incoming = await service.list_cases(conn, new, OTHER_SCHOOL, MONDAY, incoming=True)
        assert [c.id for c in incoming] == [case.id]
        # The departing school reads it no longer ...
        with pytest.raises(UnknownCase):
            await service.get_case(conn, old, SCHOOL, case.id, MONDAY)
        assert await service.list_cases(conn, old, SCHOOL, MONDAY) == []
        with pytest.raises(OwnSchoolOnly):
            await service.get_case(conn, old, OTHER_SCHOOL, case.id, MONDAY)
        # ... its minutes say only that the case was handed over ...
        minutes = await service.minutes(conn, old, SCHOOL, sitting.id)
        assert [(d.kind, d.case_id, d.pupil_full_name) for d in minutes.decisions] == [("handed_over", None, None)]
        # ... and it keeps that it handed a case over, to whom and when.
        handed = await service.handovers(conn, old, SCHOOL)
        assert [(h.transfer_id, h.to_school_bin, h.at) for h in handed.outgoing] == [
            (done.id, OTHER_SCHOOL, completed_at)
        ]
        assert handed.incoming == []
        received = await service.handovers(conn, new, OTHER_SCHOOL)
        assert [(h.case_id, h.from_school_bin) for h in received.incoming] == [(case.id, SCHOOL)]

    over_http = await client.get(f"/v1/admin/schools/{SCHOOL}/prevention/handovers", headers=world.bearer(old))
    assert over_http.status_code == 200
    assert PUPIL_NAME not in over_http.text
    assert str(case.id) not in over_http.text
    printed = await client.get(
        f"/v1/admin/schools/{SCHOOL}/prevention/sittings/{sitting.id}/minutes/print", headers=world.bearer(old)
    )
    assert PUPIL_NAME not in printed.text
    assert "басқа мектепке берілді" in printed.text
    # Neither the transfer's event log nor the audit log says a case travelled.
    events = await world.pool.fetch("SELECT stage, detail FROM transfer_events WHERE transfer_id = $1", done.id)
    assert all("prevention" not in e["stage"] for e in events)
    assert not any("handover" in r["action"] for r in await world.audit())


async def test_a_closed_case_stays_and_a_pupil_without_a_case_moves_nothing(world: World) -> None:
    refused, sitting = await world.case_before_council()
    admin = world.school_admin()
    async with world.pool.acquire() as conn:
        await service.set_assessment(conn, admin, SCHOOL, refused.id, assessment(), MONDAY)
        await service.decide(conn, admin, SCHOOL, refused.id, DecisionIn(sitting_id=sitting.id, register=False), MONDAY)
    await _transfer(world, refused.pupil_iin)
    plain = await world.enrolled_pupil()
    await _transfer(world, plain)
    async with world.pool.acquire() as conn:
        assert (await service.get_case(conn, admin, SCHOOL, refused.id, MONDAY)).state == "refused"
        assert (await service.handovers(conn, admin, SCHOOL)).outgoing == []


async def test_census_truants_are_listed_as_candidates_and_never_registered(
    world: World, client: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    truant = world.pupil(dt.date(2014, 1, 10))
    present = world.pupil(dt.date(2014, 1, 11))
    truant_elsewhere = world.pupil(dt.date(2014, 1, 12))
    await world.enrol(truant, SCHOOL)
    await world.enrol(present, SCHOOL)
    await world.enrol(truant_elsewhere, OTHER_SCHOOL)
    persons, bbazh = census_files(
        tmp_path, {truant: ("Жүсіпов", "Арман"), present: ("Әбенов", "Дәурен"), truant_elsewhere: ("Ли", "Виктор")}
    )
    now = kz(2026, 9, 10)
    await importer.import_extract(world.pool, REGION, persons, bbazh, as_of=dt.date(2026, 9, 10), now=now)
    async with world.pool.acquire() as conn:
        rows = [(truant, SCHOOL, 12), (present, SCHOOL, 3), (truant_elsewhere, OTHER_SCHOOL, 15)]
        feed = attendance_file(tmp_path, rows, "2026-09")
        await importer.import_attendance(conn, REGION, dt.date(2026, 9, 1), feed, now=now)
        await importer.cross_check(conn, REGION, now=now)

    headers = world.bearer(world.school_admin())
    url = f"/v1/admin/schools/{SCHOOL}/prevention/candidates"
    listed = await client.get(url, headers=headers)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["period"], body["suggested_ground"]) == ("2026-09-01", 5)
    assert [(c["iin"], c["surname"], c["live_case_id"]) for c in body["candidates"]] == [(truant, "Жүсіпов", None)]
    # Listing registers nobody: no case exists until the school opens one.
    assert await world.pool.fetchval("SELECT count(*) FROM prevention.cases") == 0
    assert (await world.audit("prevention.candidates.read"))[-1]["target"] == f"school:{SCHOOL}"
    for outsider in (world.school_admin(OTHER_SCHOOL), world.region_admin(), world.ministry()):
        refused = await client.get(url, headers=world.bearer(outsider))
        assert refused.status_code == 403
        assert truant not in refused.text

    # The school judges: a request to the council, for the pupil the list named.
    case = await world.open_case(SCHOOL, truant)
    again = (await client.get(url, headers=headers)).json()
    assert [(c["iin"], c["live_case_id"]) for c in again["candidates"]] == [(truant, str(case.id))]
    assert case.state == "open"
    assert case.grounds == []


async def test_without_a_census_the_candidate_list_is_empty(world: World) -> None:
    async with world.pool.acquire() as conn:
        found = await service.truant_candidates(conn, world.school_admin(), SCHOOL)
    assert (found.period, found.candidates) == (None, [])
