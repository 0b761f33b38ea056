"""A case's life: the decision (register on grounds / refuse), the plan and its rows, removal, referral, minutes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from pathlib import Path

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prevention_helpers import (
    MONDAY,
    PUPIL_NAME,
    SCHOOL,
    World,
    assessment,
    kz,
    plan,
)

from admission.prevention import service
from admission.prevention.errors import (
    AssessmentMissing,
    InvalidPrevention,
    LiveCaseExists,
    PupilNotAtSchool,
    UnknownSitting,
    WrongCaseState,
)
from admission.prevention.models import DecisionIn, ReferralIn, RemovalIn


async def test_para_22_para_23_register_on_several_grounds_then_remove_at_a_later_sitting(world: World) -> None:
    case, sitting = await world.registered_case(grounds=(7, 5, 2))
    assert (case.state, case.grounds, case.decision_sitting_id) == ("registered", [2, 5, 7], sitting.id)
    later = await world.sitting(held_on=dt.date(2026, 12, 20))
    admin = world.school_admin()
    async with world.pool.acquire() as conn:
        removal = RemovalIn(sitting_id=later.id, reason="positive_references", note="Сабаққа тұрақты қатысады.")
        removed = await service.remove(conn, admin, SCHOOL, case.id, removal, MONDAY)
        assert (removed.state, removed.removal_reason, removed.removal_sitting_id) == (
            "removed",
            "positive_references",
            later.id,
        )
        assert removed.grounds == [2, 5, 7]  # what the registration was on stays on record
        with pytest.raises(WrongCaseState):
            await service.remove(conn, admin, SCHOOL, case.id, removal, MONDAY)
        # Off the register, the pupil may be considered again.
        pupil = removed.pupil_iin
        again = await service.open_case(conn, admin, SCHOOL, world.request_case(pupil), MONDAY)
        assert again.state == "open"


async def test_para_14_para_15_refusal_names_no_grounds_and_registration_names_at_least_one(world: World) -> None:
    case, sitting = await world.case_before_council()
    admin = world.school_admin()
    async with world.pool.acquire() as conn:
        with pytest.raises(AssessmentMissing):  # para 14: the materials come before the decision
            await service.decide(
                conn, admin, SCHOOL, case.id, DecisionIn(sitting_id=sitting.id, register=False), MONDAY
            )
        await service.set_assessment(conn, admin, SCHOOL, case.id, assessment(), MONDAY)
        for bad in (
            DecisionIn(sitting_id=sitting.id, register=True),
            DecisionIn(sitting_id=sitting.id, register=True, grounds=[5, 5]),
            DecisionIn(sitting_id=sitting.id, register=False, grounds=[1]),
        ):
            with pytest.raises(InvalidPrevention):
                await service.decide(conn, admin, SCHOOL, case.id, bad, MONDAY)
        refused = await service.decide(
            conn, admin, SCHOOL, case.id, DecisionIn(sitting_id=sitting.id, register=False, note="Негіз жоқ."), MONDAY
        )
        assert (refused.state, refused.grounds, refused.decision_note) == ("refused", [], "Негіз жоқ.")
        with pytest.raises(WrongCaseState):
            await service.set_plan(conn, admin, SCHOOL, case.id, plan(), MONDAY)
        with pytest.raises(WrongCaseState):
            await service.decide(
                conn, admin, SCHOOL, case.id, DecisionIn(sitting_id=sitting.id, register=False), MONDAY
            )


async def test_para_15_a_decision_needs_a_sitting_of_this_school(world: World) -> None:
    await world.council()
    await world.council("290246571117")
    elsewhere = await world.sitting("290246571117")
    case = await world.open_case()
    admin = world.school_admin()
    async with world.pool.acquire() as conn:
        await service.set_assessment(conn, admin, SCHOOL, case.id, assessment(), MONDAY)
        with pytest.raises(UnknownSitting):
            await service.decide(
                conn, admin, SCHOOL, case.id, DecisionIn(sitting_id=elsewhere.id, register=True, grounds=[1]), MONDAY
            )


async def test_para_4_a_case_is_for_a_pupil_of_this_school_and_one_live_case_per_pupil(world: World) -> None:
    admin = world.school_admin()
    stranger = await world.enrolled_pupil("290246571117")
    async with world.pool.acquire() as conn:
        with pytest.raises(PupilNotAtSchool):
            await service.open_case(conn, admin, SCHOOL, world.request_case(stranger), MONDAY)
        with pytest.raises(PupilNotAtSchool):
            await service.open_case(conn, admin, SCHOOL, world.request_case(world.pupil()), MONDAY)
        case = await world.open_case()
        with pytest.raises(LiveCaseExists):
            await service.open_case(conn, admin, SCHOOL, world.request_case(case.pupil_iin), MONDAY)
        with pytest.raises(InvalidPrevention):  # a request without its requester
            await service.open_case(conn, admin, SCHOOL, world.request_case(stranger, requested_by_role=None), MONDAY)
        future = MONDAY + dt.timedelta(days=1)
        with pytest.raises(InvalidPrevention):
            await service.open_case(conn, admin, SCHOOL, world.outside_case(stranger, future), MONDAY)


async def test_paras_18_19_the_plan_keeps_its_rows_in_order_each_with_deadline_state_and_is_replaced_whole(
    world: World,
) -> None:
    case, _ = await world.registered_case()
    assert case.plan is not None
    assert [r.position for r in case.plan.rows] == [1, 2]
    assert [r.kind_of_help for r in case.plan.rows] == ["Көмек түрі 1", "Көмек түрі 2"]
    admin = world.school_admin()
    rows = list(plan(3).rows)
    rows[0] = msgspec.structs.replace(rows[0], done_on=dt.date(2026, 5, 9), result="95 %")
    revised = plan(3, rows=rows, parent_name="Серікбаева Дана", acknowledged_on=dt.date(2026, 4, 18))
    async with world.pool.acquire() as conn:
        saved = await service.set_plan(conn, admin, SCHOOL, case.id, revised, MONDAY)
        assert saved.plan is not None
        assert [r.position for r in saved.plan.rows] == [1, 2, 3]
        assert saved.plan.parent_name == "Серікбаева Дана"
        seen = await service.get_case(conn, admin, SCHOOL, case.id, kz(2026, 5, 12, 10))
        assert seen.plan is not None
        # Row 1 done; row 2 (deadline 12 May) due through that day; row 3 (13 May) due.
        assert [(r.deadline, r.state) for r in seen.plan.rows] == [
            (dt.date(2026, 5, 11), "done"),
            (dt.date(2026, 5, 12), "due"),
            (dt.date(2026, 5, 13), "due"),
        ]
        late = await service.get_case(conn, admin, SCHOOL, case.id, kz(2026, 5, 14, 10))
        assert late.plan is not None
        assert [r.state for r in late.plan.rows] == ["done", "overdue", "overdue"]
        with pytest.raises(InvalidPrevention):
            await service.set_plan(conn, admin, SCHOOL, case.id, plan(period_to=dt.date(2026, 1, 1)), MONDAY)
        with pytest.raises(InvalidPrevention):
            await service.set_plan(conn, admin, SCHOOL, case.id, plan(parent_name="Серікбаева Дана"), MONDAY)


async def test_para_21_a_referral_to_the_commission_for_minors_is_kept_on_the_registered_case(world: World) -> None:
    case, _ = await world.registered_case()
    admin = world.school_admin()
    referral = ReferralIn(
        kind="parents_duties",
        sent_on=dt.date(2026, 6, 1),
        outgoing_number="01-15/233",
        note="Ата-ана көмектен бас тартты.",
    )
    async with world.pool.acquire() as conn:
        referred = await service.refer(conn, admin, SCHOOL, case.id, referral, MONDAY)
    assert [(r.kind, r.outgoing_number) for r in referred.referrals] == [("parents_duties", "01-15/233")]
    assert referred.state == "registered"


async def test_para_16_para_17_annex_1_the_whole_case_over_http_with_printable_minutes_and_plan(
    world: World, client: AsyncTestClient[Litestar]
) -> None:
    headers = world.bearer(world.school_admin())
    base = f"/v1/admin/schools/{SCHOOL}/prevention"
    # What a school's own system sends for the case's assessment and plan, kept as the JSON documents they
    # are: the field names the API promises clients (the plan's dates and names are what its print shows).
    bodies = json.loads((Path(__file__).parent / "case_bodies.json").read_text(encoding="utf-8"))
    await world.council()
    sitting_body = {
        "number": "4",
        "held_on": "2026-11-20",
        "agenda": ["Оқушыны МЕА-ға қою туралы"],
        "participants": [
            {"full_name": "Қызметкер 0 Нұрланұлы", "post": "директор"},
            {"full_name": "Серікбаева Дана", "post": "ана", "kind": "parent"},
        ],
        "heard": "Сынып жетекшісі баяндады.",
    }
    created = await client.post(f"{base}/sittings", json=sitting_body, headers=headers)
    assert created.status_code == 201, created.text
    sitting = created.json()
    assert (sitting["chair_name"], sitting["secretary_name"]) == ("Қызметкер 0 Нұрланұлы", "Қызметкер 1 Нұрланұлы")
    taken = await client.post(f"{base}/sittings", json=sitting_body, headers=headers)
    assert (taken.status_code, taken.json()["code"]) == (409, "prevention_sitting_number_taken")
    pupil = await world.enrolled_pupil()
    opened = await client.post(
        f"{base}/cases",
        json={
            "source": "request",
            "pupil_iin": pupil,
            "pupil_full_name": PUPIL_NAME,
            "situation": "Сабаққа жүйелі түрде қатыспайды.",
            "requested_by_role": "class_teacher",
        },
        headers=headers,
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    assert opened.json()["grade"] == 5  # from the contingent store
    answer = await client.put(f"{base}/cases/{case_id}/assessment", json=bodies["assessment"], headers=headers)
    assert answer.status_code == 200, answer.text
    decided = await client.post(
        f"{base}/cases/{case_id}/decision",
        json={"sitting_id": sitting["id"], "register": True, "grounds": [5, 2], "note": "Жоспар бекітілсін."},
        headers=headers,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["state"] == "registered"
    bad_ground = await client.post(
        f"{base}/cases/{case_id}/decision", json={"sitting_id": sitting["id"], "register": True, "grounds": [11]},
        headers=headers,
    )  # fmt: skip
    assert bad_ground.status_code == 400
    no_plan = await client.get(f"{base}/cases/{case_id}/plan/print", headers=headers)
    assert no_plan.json()["code"] == "prevention_no_plan"
    planned = await client.put(f"{base}/cases/{case_id}/plan", json=bodies["plan"], headers=headers)
    assert planned.status_code == 200, planned.text

    kk = await client.get(f"{base}/cases/{case_id}/plan/print", headers=headers)
    assert kk.status_code == 200
    assert kk.headers["content-type"].startswith("text/html")
    assert kk.headers["cache-control"] == "no-store"
    for text in ("БЕКІТЕМІН", "Профилактикалық жеке жұмыс жоспары", PUPIL_NAME, pupil, "Сабаққа қатысуын бақылау",
                 "Сапаны бағалау индикаторы", "23.11.2026", "25.05.2027", "Серікбаева Дана"):  # fmt: skip
        assert text in kk.text, text
    ru = await client.get(f"{base}/cases/{case_id}/plan/print", params={"lang": "ru"}, headers=headers)
    assert "УТВЕРЖДАЮ" in ru.text
    assert "Индикатор оценки качества" in ru.text

    minutes = await client.get(f"{base}/sittings/{sitting['id']}/minutes", headers=headers)
    assert minutes.status_code == 200
    assert minutes.json()["decisions"][0]["grounds"] == [2, 5]
    printed = await client.get(
        f"{base}/sittings/{sitting['id']}/minutes/print", headers={**headers, "Accept-Language": "ru-RU,ru"}
    )
    for text in ("Протокол № 4 заседания Совета профилактики", "20.11.2026", "Повестка дня", "Слушали",
                 "Постановили", PUPIL_NAME, "систематические пропуски занятий", "неблагополучие в семье",
                 "Председатель", "Қызметкер 0 Нұрланұлы", "Секретарь", "Қызметкер 1 Нұрланұлы"):  # fmt: skip
        assert text in printed.text, text

    removed = await client.post(
        f"{base}/cases/{case_id}/removal", json={"sitting_id": sitting["id"], "reason": "relocation"}, headers=headers
    )
    assert removed.json()["state"] == "removed"
    listed = await client.get(f"{base}/cases", params={"state": "removed"}, headers=headers)
    assert [c["id"] for c in listed.json()] == [case_id]
    assert (await client.get(f"{base}/cases", params={"state": "open"}, headers=headers)).json() == []
    labels = (await client.get("/v1/admin/prevention/labels", headers=headers)).json()
    assert set(labels["grounds"]) == {str(g) for g in range(1, 11)}
    assert labels["grounds"]["5"]["ru"] == "систематические пропуски занятий без уважительных причин"
    assert set(labels["states"]["registered"]) == {"kk", "ru", "en"}


async def test_concurrent_requests_for_one_pupil_open_one_case_and_concurrent_decisions_decide_once(
    world: World,
) -> None:
    admin = world.school_admin()
    pupil = await world.enrolled_pupil()

    async def open_one() -> str:
        async with world.pool.acquire() as conn:
            try:
                case = await service.open_case(conn, admin, SCHOOL, world.request_case(pupil), MONDAY)
            except LiveCaseExists:
                return "refused"
            return str(case.id)

    outcomes = await asyncio.gather(*(open_one() for _ in range(8)))
    opened = [o for o in outcomes if o != "refused"]
    assert len(opened) == 1
    assert await world.pool.fetchval("SELECT count(*) FROM prevention.cases WHERE pupil_iin = $1", pupil) == 1

    await world.council()
    sitting = await world.sitting()
    case_id = uuid.UUID(opened[0])
    async with world.pool.acquire() as conn:
        await service.set_assessment(conn, admin, SCHOOL, case_id, assessment(), MONDAY)

    async def decide(register: bool) -> str:
        decision = DecisionIn(sitting_id=sitting.id, register=register, grounds=[1] if register else [])
        async with world.pool.acquire() as conn:
            try:
                return (await service.decide(conn, admin, SCHOOL, case_id, decision, MONDAY)).state
            except WrongCaseState:
                return "too late"

    results = await asyncio.gather(*(decide(i % 2 == 0) for i in range(6)))
    assert sorted(results).count("too late") == 5
    final = await world.pool.fetchval("SELECT state FROM prevention.cases WHERE id = $1", case_id)
    assert final in results
    assert len(await world.audit("prevention.case.decision")) == 1
