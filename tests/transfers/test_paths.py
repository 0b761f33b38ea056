"""The portal and paper paths end to end: talons, orders, overdue decisions, prevention reference, event log."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from transfer_world import PARENT, World, kz

from admission import reference
from admission.errors import Forbidden
from admission.reference import KZ
from admission.transfers import calendar, service
from admission.transfers.errors import WrongStage

MONDAY = kz(2026, 4, 13, 10)


async def _paper_transfer(world: World, region: str = "astana") -> tuple[service.Transfer, str, str, str]:
    return await world.accepted_paper_transfer(region, MONDAY)


async def test_an_arrival_talon_is_valid_3_working_days_and_opens_the_departure(world: World) -> None:
    t, child, school_from, _ = await _paper_transfer(world)
    assert t.arrival_talon_number is not None
    # Issued Monday: valid to the end of the 3rd working day after it (Thursday's closing time).
    assert t.arrival_talon_valid_until == kz(2026, 4, 16, 18, 30)
    async with world.pool.acquire() as conn:
        departed = await service.depart(
            conn, world.school_admin(school_from), t.id, t.arrival_talon_number, kz(2026, 4, 16, 18, 29)
        )
    assert departed.status == "departed"
    assert departed.departure_talon_number
    assert await world.current_schools(child) == [school_from], "the move waits for both orders"


async def test_a_talon_presented_late_is_refused_with_the_annex_2_receipt(world: World) -> None:
    t, child, school_from, school_to = await _paper_transfer(world)
    assert t.arrival_talon_number is not None
    async with world.pool.acquire() as conn:
        late = await service.depart(
            conn, world.school_admin(school_from), t.id, t.arrival_talon_number, kz(2026, 4, 17, 9, 0)
        )
        assert service.receipt_issuer(late) == school_from, "the talon was presented to the departing school"
        card = await reference.school_card(conn, service.receipt_issuer(late))
    assert (late.status, late.refusal_code, late.refusal_ground) == ("refused", "talon_expired", None)
    receipt = service.receipt(late, card)
    assert receipt is not None
    assert receipt.copies == 2
    assert receipt.recipient_iin == PARENT
    assert receipt.pupil_iin == child
    assert f"arrival talon {t.arrival_talon_number}" in receipt.documents
    assert receipt.date == dt.date(2026, 4, 17)
    assert "3" in receipt.refusal.reason_ru
    assert receipt.school.bin == school_from
    assert await world.current_schools(child) == [school_from]
    async with world.pool.acquire() as conn:  # a refused transfer takes no order
        with pytest.raises(WrongStage):
            await service.record_order(
                conn, world.school_admin(school_to), t.id, "admission", "A-1", dt.date(2026, 4, 16), MONDAY
            )


async def test_a_lapsed_talon_holds_no_seat_and_does_not_block_a_new_request(world: World) -> None:
    t, child, _, school_to = await _paper_transfer(world)
    assert t.arrival_talon_valid_until == kz(2026, 4, 16, 18, 30)
    await world.set_capacity(school_to, 5, "kk", classes=1, seats=1)  # the talon's seat is the only one
    others = [await world.enrolled_child(world.schools["astana"][2]) for _ in range(2)]
    async with world.pool.acquire() as conn:
        before = await service.request_transfer(conn, world.request(others[0], school_to), kz(2026, 4, 16, 9))
        after = await service.request_transfer(conn, world.request(others[1], school_to), kz(2026, 4, 16, 19))
        assert (before.status, before.refusal_ground) == ("refused", 7)
        assert after.status == "pending", "the lapsed talon's seat is free again"
        again = await service.request_transfer(
            conn, world.request(child, world.schools["astana"][3]), kz(2026, 4, 17, 11)
        )
        assert again.status == "pending"
        lapsed = await service.get(conn, t.id)
    assert (lapsed.status, lapsed.refusal_code) == ("refused", "talon_expired")


async def test_only_the_departing_school_issues_the_departure_talon(world: World) -> None:
    t, _, _, school_to = await _paper_transfer(world)
    async with world.pool.acquire() as conn:
        with pytest.raises(Forbidden):
            await service.depart(conn, world.school_admin(school_to), t.id, t.arrival_talon_number or "", MONDAY)


async def test_a_paper_request_is_registered_by_the_receiving_school_only(world: World) -> None:
    child, school_from, school_to = await world.moving_pupil()
    request = world.request(child, school_to, path="paper")
    async with world.pool.acquire() as conn:
        for wrong in (world.school_admin(school_from), world.region_admin("abai")):
            with pytest.raises(Forbidden):
                await service.request_transfer(conn, request, MONDAY, registrar=wrong)
        t = await service.request_transfer(conn, request, MONDAY, registrar=world.school_admin(school_to))
    assert (t.status, t.path) == ("pending", "paper")


async def test_overdue_decisions_are_listed_for_the_region_admin(world: World) -> None:
    school_from, school_to = world.schools["astana"][:2]
    friday_evening = kz(2026, 4, 17, 17)  # due Monday 17:00 (1.5 h Friday + 8 h Monday)
    child = await world.enrolled_child(school_from)
    async with world.pool.acquire() as conn:
        t = await service.request_transfer(conn, world.request(child, school_to), friday_evening)
        assert t.decision_due_at == kz(2026, 4, 20, 17)
        assert await service.overdue(conn, "astana", kz(2026, 4, 20, 16, 59)) == []
        late = await service.overdue(conn, "astana", kz(2026, 4, 20, 17, 1))
        assert [x.id for x in late] == [t.id]
        assert await service.overdue(conn, "abai", kz(2026, 4, 20, 17, 0)) == []
        await service.decide(conn, world.school_admin(school_to), t.id, kz(2026, 4, 20, 17, 5), accept=True)
        assert await service.overdue(conn, "astana", kz(2026, 4, 21, 12)) == []


async def test_the_portal_path_over_http_with_orders_prevention_ref_and_event_log(
    world: World, client: AsyncTestClient[Litestar]
) -> None:
    school_from, school_to = world.schools["astana"][:2]
    other_school = world.schools["astana"][2]
    child = await world.enrolled_child(school_from)
    body = world.portal_body(child, school_to, "bullying")
    created = await client.post("/v1/transfers", json=body)
    assert created.status_code == 201, created.text
    transfer = created.json()
    assert transfer["status"] == "pending"
    tid, parent = transfer["id"], {"Authorization": f"Bearer {transfer['transfer_token']}"}

    again = await client.post("/v1/transfers", json=body)
    assert again.status_code == 409
    assert again.json()["code"] == "transfer_in_progress"

    receiving, departing = world.school_admin(school_to), world.school_admin(school_from)
    # Prevention-work reference: attached by the departing school, seen only by the two schools' admins.
    attached = await client.put(
        f"/v1/admin/transfers/{tid}/prevention-ref", json={"reference": "PW-2026-0042"}, headers=world.bearer(departing)
    )
    assert attached.status_code == 200, attached.text
    forbidden = await client.put(
        f"/v1/admin/transfers/{tid}/prevention-ref", json={"reference": "x"}, headers=world.bearer(receiving)
    )
    assert forbidden.status_code == 403
    for admin in (receiving, departing):
        seen = await client.get(f"/v1/admin/transfers/{tid}", headers=world.bearer(admin))
        assert seen.json()["prevention_ref"] == "PW-2026-0042"
    for admin in (world.region_admin("astana"), world.ministry()):
        seen = await client.get(f"/v1/admin/transfers/{tid}", headers=world.bearer(admin))
        assert seen.status_code == 200
        assert seen.json()["prevention_ref"] is None
    outsider = await client.get(f"/v1/admin/transfers/{tid}", headers=world.bearer(world.school_admin(other_school)))
    assert outsider.status_code == 403
    assert (await client.get(f"/v1/transfers/{tid}", headers=parent)).json()["prevention_ref"] is None

    # The receiving school finds it among its pending transfers; other schools cannot look.
    inbox = await client.get(
        f"/v1/admin/schools/{school_to}/transfers", params={"status": "pending"}, headers=world.bearer(receiving)
    )
    assert [x["id"] for x in inbox.json()] == [tid]
    assert inbox.json()[0]["prevention_ref"] == "PW-2026-0042"
    peek = await client.get(
        f"/v1/admin/schools/{school_to}/transfers", headers=world.bearer(world.school_admin(other_school))
    )
    assert peek.status_code == 403
    # Only the receiving school decides.
    wrong = await client.post(
        f"/v1/admin/transfers/{tid}/decision", json={"accept": True}, headers=world.bearer(departing)
    )
    assert wrong.status_code == 403
    decided = await client.post(
        f"/v1/admin/transfers/{tid}/decision", json={"accept": True}, headers=world.bearer(receiving)
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["notification"]["school"]["bin"] == school_to

    orders = [
        (departing, {"kind": "expulsion", "number": "E-17", "date": "2026-11-20"}),
        (receiving, {"kind": "admission", "number": "Q-42", "date": "2026-11-20"}),
    ]
    for admin, order in orders:
        wrong_school = receiving if admin is departing else departing
        refused = await client.post(f"/v1/admin/transfers/{tid}/orders", json=order, headers=world.bearer(wrong_school))
        assert refused.status_code == 403
        recorded = await client.post(f"/v1/admin/transfers/{tid}/orders", json=order, headers=world.bearer(admin))
        assert recorded.status_code == 200, recorded.text
    final = (await client.get(f"/v1/transfers/{tid}", headers=parent)).json()
    assert final["status"] == "completed"
    assert (final["admission_order_number"], final["expulsion_order_number"]) == ("Q-42", "E-17")
    stranger = await client.get(f"/v1/transfers/{uuid.uuid4()}", headers=parent)
    assert stranger.status_code == 401

    report = await client.get("/v1/admin/transfer-events", headers=world.bearer(world.region_admin("astana")))
    assert report.status_code == 200
    stages = [e["stage"] for e in report.json()["events"] if e["transfer_id"] == tid]
    assert stages == [
        "requested",
        "prevention_ref_attached",
        "accepted",
        "expulsion_order_recorded",
        "admission_order_recorded",
        "completed",
    ]
    assert "PW-2026-0042" not in report.text
    elsewhere = await client.get("/v1/admin/transfer-events", headers=world.bearer(world.region_admin("abai")))
    assert all(e["transfer_id"] != tid for e in elsewhere.json()["events"])
    cross = await client.get(
        "/v1/admin/transfer-events", params={"region": "astana"}, headers=world.bearer(world.region_admin("abai"))
    )
    assert cross.status_code == 403


async def test_the_region_admin_sees_overdue_transfers_over_http(
    world: World, client: AsyncTestClient[Litestar]
) -> None:
    child, _, school_to = await world.moving_pupil()
    async with world.pool.acquire() as conn:
        t = await service.request_transfer(conn, world.request(child, school_to), kz(2026, 11, 2, 10))
    office = world.bearer(world.region_admin("astana"))
    listed = await client.get("/v1/admin/regions/astana/transfers/overdue", headers=office)
    assert listed.status_code == 200
    assert [x["id"] for x in listed.json()] == [str(t.id)]
    other = await client.get(
        "/v1/admin/regions/astana/transfers/overdue", headers=world.bearer(world.region_admin("abai"))
    )
    assert other.status_code == 403


async def test_a_parent_gets_the_motivated_refusal_and_its_receipt_over_http(
    world: World, client: AsyncTestClient[Litestar]
) -> None:
    school_from, school_to = world.schools["astana"][:2]
    year = calendar.school_year_of(dt.datetime.now(KZ).date())
    # The ministry clears this school year's holidays: today is certainly not one.
    cleared = await client.put(
        f"/v1/admin/calendar/{year}", json={"holidays": []}, headers=world.bearer(world.ministry())
    )
    assert cleared.status_code == 200, cleared.text
    assert (await client.get(f"/v1/calendar/{year}")).json()["holidays"] == []
    denied = await client.put(
        f"/v1/admin/calendar/{year}", json={"holidays": []}, headers=world.bearer(world.region_admin("astana"))
    )
    assert denied.status_code == 403

    child = await world.enrolled_child(school_from)
    body = world.portal_body(child, school_to, "holidays")
    created = await client.post("/v1/transfers", json=body, headers={"Accept-Language": "ru"})
    assert created.status_code == 201, created.text
    transfer = created.json()
    assert transfer["status"] == "refused"
    assert transfer["refusal"]["ground"] == 2
    assert transfer["refusal"]["code"] == "not_school_holidays"
    assert transfer["receipt"]["copies"] == 2
    assert transfer["receipt"]["pupil_iin"] == child
    assert transfer["receipt"]["school"]["bin"] == school_to
    assert transfer["notification"]["kind"] == "transfer_refused"
