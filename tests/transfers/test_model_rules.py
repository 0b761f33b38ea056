"""Transfers as the model rules (seed 002) write them: paras 17, 19, 20, 27 and annex 2 items 7, 9 and its forms."""

from __future__ import annotations

import datetime as dt

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from transfer_world import FORM, HEAD, PARENT, World, kz

from admission import reference
from admission.readings import Readings
from admission.transfers import service, workdays
from admission.transfers.errors import InvalidTransfer
from admission.transfers.models import Transfer

TERM_TIME = kz(2026, 10, 14, 11)  # a Wednesday in the first term of 2026-2027, no holidays near


async def _request(world: World, grade: int, when: dt.datetime, **overrides: object) -> Transfer:
    """A pupil enrolled in ``grade`` (or the grade before, with ``enrolled``) asks to move to another Abai school."""
    enrolled = overrides.pop("enrolled", grade)
    school_from, school_to = world.schools["abai"][:2]
    child = await world.enrolled_child(school_from, grade=int(str(enrolled)))
    readings = overrides.pop("readings", Readings())
    request = world.request(child, school_to, grade=grade, **overrides)
    async with world.pool.acquire() as conn:
        return await service.request_transfer(conn, request, when, readings=readings)  # type: ignore[arg-type]


@pytest.mark.parametrize("grade", [10, 11, 12])
@pytest.mark.parametrize(
    ("ground", "document"),
    [("bullying", None), ("relocation", "housing 1"), ("court_decision", "court 2-1/2026")],
)
async def test_para_17_exceptions_apply_in_grade_11(
    world: World, grade: int, ground: str, document: str | None
) -> None:
    """A bullied or relocating pupil of grades 10-12 moves at any time, like any other (para 27 is admission)."""
    t = await _request(world, grade, TERM_TIME, ground=ground, document_ref=document)
    assert (t.status, t.refusal_code) == ("pending", None)


async def test_para_17_holidays_ground_in_grade_10_follows_the_school_holidays(world: World) -> None:
    in_term = await _request(world, 10, TERM_TIME, ground="holidays", document_ref=None)
    assert (in_term.status, in_term.refusal_code) == ("refused", "not_school_holidays")
    autumn = await _request(world, 10, kz(2026, 10, 28, 11), ground="holidays", document_ref=None)
    assert autumn.status == "pending"


@pytest.mark.parametrize(
    ("when", "status"),
    [
        (kz(2026, 7, 31, 11), "refused"),  # Friday 31 July, during hours: accepted that day, not August
        (kz(2026, 8, 3, 11), "pending"),
        (kz(2026, 8, 31, 11), "pending"),
        (kz(2026, 8, 31, 19), "refused"),  # after hours on 31 August: accepted on 1 September
    ],
)
async def test_para_27_admission_to_grade_10_on_the_certificate_only_in_august(
    world: World, when: dt.datetime, status: str
) -> None:
    """A grade-9 leaver entering grade 10 at another school is admitted on the certificate: 1-31 August."""
    t = await _request(world, 10, when, enrolled=9, ground="relocation", document_ref="housing 1")
    assert t.status == status
    if status == "refused":
        assert (t.refusal_ground, t.refusal_code) == (2, "grade_10_11_august_only")


async def test_para_27_the_final_grade_of_basic_secondary_is_a_setting(world: World) -> None:
    """In the 12-year programme the certificate comes after grade 10: grade 9 → 10 is an ordinary summer move."""
    july = kz(2026, 7, 15, 11)
    twelve_year = Readings(basic_secondary_final_grade=10)
    moved = await _request(world, 10, july, enrolled=9, ground="holidays", document_ref=None, readings=twelve_year)
    assert moved.status == "pending"
    admitted = await _request(world, 11, july, enrolled=10, ground="holidays", document_ref=None, readings=twelve_year)
    assert admitted.refusal_code == "grade_10_11_august_only"


async def test_annex_2_item_7_a_sunday_request_is_judged_on_its_acceptance_day(world: World) -> None:
    """Sunday 26 Oct 2025 is accepted on the next working day, in the autumn holidays (27 Oct - 2 Nov)."""
    sunday = await _request(world, 5, kz(2025, 10, 26, 15), ground="holidays", document_ref=None)
    assert (sunday.status, sunday.refusal_code) == ("pending", None)
    # The last Sunday of the holidays is accepted on Monday 3 November, in term time.
    last = await _request(world, 5, kz(2025, 11, 2, 15), ground="holidays", document_ref=None)
    assert (last.status, last.refusal_code) == ("refused", "not_school_holidays")


def test_para_20_talon_is_valid_to_the_end_of_the_third_working_day() -> None:
    # Issued Friday afternoon: Monday, Tuesday, Wednesday; valid until Wednesday's closing, not mid-day.
    assert workdays.end_of_working_days(kz(2026, 4, 17, 15), 3) == kz(2026, 4, 22, 18, 30)
    # Issued before Nauryz (21-23 March 2026; the 22nd falls on a Sunday and moves on): holidays do not count.
    issued = kz(2026, 3, 19, 10)
    days = [issued.date() + dt.timedelta(days=n) for n in range(1, 12)]
    third = [d for d in days if workdays.is_working_day(d)][2]
    assert workdays.end_of_working_days(issued, 3) == dt.datetime.combine(third, dt.time(18, 30), issued.tzinfo)
    assert third > dt.date(2026, 3, 24)


async def test_para_20_a_paper_talon_is_accepted_until_the_close_of_its_third_working_day(world: World) -> None:
    t, _, school_from, _ = await world.accepted_paper_transfer("abai", kz(2026, 4, 17, 15))  # a Friday
    assert t.arrival_talon_valid_until == kz(2026, 4, 22, 18, 30)
    async with world.pool.acquire() as conn:
        departed = await service.depart(
            conn, world.school_admin(school_from), t.id, t.arrival_talon_number or "", kz(2026, 4, 22, 17, 0)
        )
    assert departed.status == "departed"


async def test_annex_2_item_9_ground_6_without_consent_the_request_is_refused(world: World) -> None:
    t = await _request(world, 5, TERM_TIME, consent=False)
    assert (t.status, t.refusal_ground, t.refusal_code) == ("refused", 6, "no_consent")
    assert t.consent is False


async def test_para_19_a_school_refusal_is_motivated_and_its_receipt_has_the_form_fields(world: World) -> None:
    t = await _request(world, 5, kz(2026, 4, 17, 15))  # Friday: the school decides on Monday
    school = world.school_admin(t.deciding_school)
    monday = kz(2026, 4, 20, 10)
    async with world.pool.acquire() as conn:
        with pytest.raises(InvalidTransfer):  # a ground alone is not motivated
            await service.decide(conn, school, t.id, monday, accept=False, refusal_ground=1, employee=HEAD)
        with pytest.raises(InvalidTransfer):  # the receipt names the employee who refused
            await service.decide(conn, school, t.id, monday, accept=False, refusal_ground=1, reason="forged deed")
        refused = await service.decide(
            conn, school, t.id, monday, accept=False, refusal_ground=1, reason="forged deed", employee=HEAD
        )
        card = await reference.school_card(conn, service.receipt_issuer(refused))
    receipt = service.receipt(refused, card)
    assert receipt is not None
    assert receipt.recipient_full_name == FORM["applicant_full_name"]
    assert receipt.recipient_iin == PARENT
    assert (receipt.application_date, receipt.date) == (dt.date(2026, 4, 17), dt.date(2026, 4, 20))
    assert (receipt.employee, receipt.automatic) == (HEAD, False)
    assert receipt.refusal.detail == "forged deed"
    assert "ground 1" in receipt.refusal.legal_basis
    assert "art. 19-1" in receipt.refusal.legal_basis


async def test_annex_2_form_a_request_without_the_form_fields_is_a_400(
    world: World, client: AsyncTestClient[Litestar]
) -> None:
    child, _, school_to = await world.moving_pupil()
    body = world.portal_body(child, school_to, "bullying")
    for missing in ("applicant_full_name", "applicant_phone", "registered_address", "consent"):
        partial = {k: v for k, v in body.items() if k != missing}
        response = await client.post("/v1/transfers", json=partial)
        assert response.status_code == 400, (missing, response.text)
    created = await client.post("/v1/transfers", json=body)
    assert created.status_code == 201, created.text
    async with world.pool.acquire() as conn:
        stored = await service.get(conn, service.uuid.UUID(created.json()["id"]))
    assert (stored.applicant_phone, stored.registered_address, stored.consent) == (
        FORM["applicant_phone"],
        FORM["registered_address"],
        True,
    )


async def test_para_18_a_request_comes_through_the_portal_or_on_paper_at_the_school(world: World) -> None:
    school_from, school_to = world.schools["abai"][:2]
    portal_child, paper_child = [await world.enrolled_child(school_from) for _ in range(2)]
    async with world.pool.acquire() as conn:
        portal = await service.request_transfer(conn, world.request(portal_child, school_to), TERM_TIME)
        paper = await service.request_transfer(
            conn,
            world.request(paper_child, school_to, path="paper"),
            TERM_TIME,
            registrar=world.school_admin(school_to),
        )
    assert [(t.path, t.status) for t in (portal, paper)] == [("portal", "pending"), ("paper", "pending")]


async def test_annex_2_item_3_a_school_decides_within_1_working_day(world: World) -> None:
    friday_evening = kz(2026, 4, 17, 20)  # accepted Monday 09:00: due by Monday's close
    t = await _request(world, 5, friday_evening)
    assert t.decision_due_at == kz(2026, 4, 20, 18, 30)
    async with world.pool.acquire() as conn:
        assert [o.id for o in await service.overdue(conn, "abai", kz(2026, 4, 20, 18, 0))] == []
        assert [o.id for o in await service.overdue(conn, "abai", kz(2026, 4, 21, 9, 0))] == [t.id]


async def test_annex_2_item_8_leaving_the_country_needs_its_proof_instead_of_a_talon(world: World) -> None:
    school_from = world.schools["abai"][0]
    child = await world.enrolled_child(school_from)
    async with world.pool.acquire() as conn:
        with pytest.raises(InvalidTransfer):
            await service.request_transfer(
                conn, world.request(child, None, ground="leaving_country", document_ref=None), TERM_TIME
            )
        leaving = await service.request_transfer(
            conn, world.request(child, None, ground="leaving_country", document_ref="exit 55/2026"), TERM_TIME
        )
    assert (leaving.status, leaving.deciding_school) == ("pending", school_from)


async def test_para_21_para_22_and_para_24_talons_orders_and_every_stage_reported(world: World) -> None:
    """Paper path end to end: departure talon and file (21), both orders (22), each stage in the log (24)."""
    monday = kz(2026, 4, 13, 10)
    t, child, school_from, school_to = await world.accepted_paper_transfer("abai", monday)
    async with world.pool.acquire() as conn:
        t = await service.depart(conn, world.school_admin(school_from), t.id, t.arrival_talon_number or "", monday)
        assert (t.status, bool(t.departure_talon_number)) == ("departed", True)
        t = await service.record_order(
            conn, world.school_admin(school_to), t.id, "admission", "41-Қ", dt.date(2026, 4, 14), monday
        )
        assert t.status == "departed"  # the expulsion order is still missing
        t = await service.record_order(
            conn, world.school_admin(school_from), t.id, "expulsion", "17-Ш", dt.date(2026, 4, 14), monday
        )
        events = [e.stage for e in await service.events(conn, "abai") if e.transfer_id == t.id]
    assert t.status == "completed"
    move = await world.pool.fetchval("SELECT event->>'type' FROM contingent_outbox WHERE child_iin = $1", child)
    assert move == "move"
    assert events == [
        "requested",
        "accepted",
        "arrival_talon_issued",
        "departure_talon_issued",
        "personal_file_handed_over",
        "admission_order_recorded",
        "expulsion_order_recorded",
        "completed",
    ]


async def test_para_23_a_talon_shown_after_its_validity_is_refused_with_the_receipt(world: World) -> None:
    t, _, school_from, _ = await world.accepted_paper_transfer("abai", kz(2026, 4, 13, 10))
    async with world.pool.acquire() as conn:
        late = await service.depart(
            conn, world.school_admin(school_from), t.id, t.arrival_talon_number or "", kz(2026, 4, 17, 9), HEAD
        )
        card = await reference.school_card(conn, service.receipt_issuer(late))
    receipt = service.receipt(late, card)
    assert receipt is not None
    assert (late.status, late.refusal_code, receipt.school.bin, receipt.employee) == (
        "refused",
        "talon_expired",
        school_from,
        HEAD,
    )
    assert "para 23" in receipt.refusal.legal_basis


async def test_para_25_grades_2_to_9_only_while_the_class_set_has_room(world: World) -> None:
    school_from, school_to = world.schools["abai"][:2]
    await world.set_capacity(school_to, 5, "kk", classes=1, seats=1)
    first, second = [await world.enrolled_child(school_from) for _ in range(2)]
    async with world.pool.acquire() as conn:
        taken = await service.request_transfer(conn, world.request(first, school_to), TERM_TIME)
        full = await service.request_transfer(conn, world.request(second, school_to), TERM_TIME)
    assert taken.status == "pending"
    assert (full.status, full.refusal_ground, full.refusal_code) == ("refused", 7, "class_full")
