"""Findings computed from Kezek's own records: a seeded year, a clean school and one with each nonconformity.

Everything the service allows is done through the real HTTP API (windows, class sets,
rosters, applications, withdrawals, confirmations, transfers, the outbox).  What the
API rightly never lets happen is written straight into the tables, each place saying so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest
from monitoring_helpers import (
    CLEAN,
    DIRTY,
    FROM,
    REGION,
    Admins,
    Client,
    accept_transfer,
    apply,
    child,
    commission,
    confirm,
    decide_monitoring,
    deliver_outbox,
    enrol,
    insert_application,
    now,
    open_window,
    pupil,
    put_roster,
    request_transfer,
    schedule,
    set_classes,
    today,
    withdraw,
)

from admission.monitoring.service import latest_end

pytestmark = pytest.mark.usefixtures("schools")


async def _clean_school(api: Client, admins: Admins, pool: asyncpg.Pool) -> None:
    """Capacity raised, a roster child admitted with priority, a withdrawal, a lawful ground-7 refusal,
    every admission confirmed in time and delivered, a transfer decided in time."""
    await set_classes(api, admins, CLEAN, "kk", 5)
    roster_child = child()
    await put_roster(api, admins, CLEAN, roster_child)
    first = [await apply(api, CLEAN, child()) for _ in range(3)]
    await withdraw(api, first[2])
    [await apply(api, CLEAN, child()) for _ in range(2)]
    assert (await apply(api, CLEAN, roster_child))["priority"] is True
    full = await apply(api, CLEAN, child())
    assert (full["status"], full["refusal"]["ground"]) == ("refused", 7)
    assert len(await confirm(api, admins, CLEAN)) == 5
    moving = pupil()
    await enrol(pool, moving, FROM, 2)
    await accept_transfer(api, admins, await request_transfer(api, moving, CLEAN, 2), CLEAN)


async def _dirty_school(api: Client, admins: Admins, pool: asyncpg.Pool, t0: dt.datetime) -> dict[str, Any]:
    """One of each nonconformity; returns what was planted."""
    planted: dict[str, Any] = {}
    # Accepted before the window opened (the API refuses it as window_not_open): written to the table.
    planted["accepted_outside_window"] = await insert_application(
        pool, school=DIRTY, iin=child(), language="kk", status="withdrawn",
        decided_at=t0 - dt.timedelta(hours=2), withdrawn_at=t0 - dt.timedelta(hours=1, minutes=30),
    )  # fmt: skip
    await set_classes(api, admins, DIRTY, "kk", 8)
    roster = [child() for _ in range(3)]
    for iin in roster:
        await put_roster(api, admins, DIRTY, iin)
    general = [await apply(api, DIRTY, child()) for _ in range(5)]
    assert (await apply(api, DIRTY, roster[0]))["priority"] is True
    # A roster child refused, and one admitted without priority: the API gives them their held seat.
    planted["roster_child_refused"] = await insert_application(
        pool, school=DIRTY, iin=roster[1], language="kk", status="refused", decided_at=now(),
        refusal_ground=2, refusal_code="age_out_of_range",
    )  # fmt: skip
    planted["roster_child_not_prioritised"] = await insert_application(
        pool, school=DIRTY, iin=roster[2], language="kk", status="accepted", decided_at=now()
    )
    # A window refusal while the window was open: the API never refuses so.
    planted["refusal_without_ground"] = await insert_application(
        pool, school=DIRTY, iin=child(), language="kk", status="refused", decided_at=now(),
        refusal_code="window_closed",
    )  # fmt: skip
    # ru: 3 seats taken through the API, a 4th written past the counters (their CHECK forbids it).
    russian = [await apply(api, DIRTY, child(), "ru") for _ in range(3)]
    planted["over_capacity"] = await insert_application(
        pool, school=DIRTY, iin=child(), language="ru", status="accepted", decided_at=now()
    )
    # en: 1 of 2 seats taken, then a ground-7 refusal the API would not give while a seat is free.
    english = await apply(api, DIRTY, child(), "en")
    planted["class_full_while_seat_free"] = await insert_application(
        pool, school=DIRTY, iin=child(), language="en", status="refused", decided_at=now(),
        refusal_ground=7, refusal_code="class_full",
    )  # fmt: skip
    # uz: withdrawn through the API, then the counter bumped back as if the release had been lost.
    uzbek = await apply(api, DIRTY, child(), "uz")
    await withdraw(api, uzbek)
    await pool.execute(
        "UPDATE school_classes SET general_taken = general_taken + 1"
        " WHERE school_bin = $1 AND grade = 1 AND language = 'uz'",
        DIRTY,
    )
    planted["withdrawn_seat_not_freed"] = uzbek["id"]
    in_time = [
        general[0]["id"], general[1]["id"], general[2]["id"], planted["roster_child_not_prioritised"],
        *(a["id"] for a in russian), planted["over_capacity"], english["id"],
    ]  # fmt: skip
    for application_id in in_time:
        assert await confirm(api, admins, DIRTY, application_id) == [application_id]
    assert len(await confirm(api, admins, DIRTY, (await _roster_application(pool, roster[0])))) == 1
    planted["confirmation_missing"] = general[3]["id"]
    planted["confirmation_late"] = general[4]["id"]
    planted["contingent_missing"] = general[1]["id"]
    planted["contingent_duplicated"] = general[2]["id"]

    # Transfers: one left undecided past its day (its clock moved back: the API's is real time),
    # one accepted after a pupil filled the class (the API checks capacity only at the request).
    late_pupil = pupil()
    await enrol(pool, late_pupil, FROM, 2)
    late = await request_transfer(api, late_pupil, DIRTY, 2)
    await pool.execute(
        "UPDATE transfers SET requested_at = requested_at - interval '10 days',"
        " decision_due_at = decision_due_at - interval '10 days' WHERE id = $1",
        late["id"],
    )
    await accept_transfer(api, admins, late, DIRTY)
    planted["transfer_decided_late"] = late["id"]
    await enrol(pool, pupil(), DIRTY, 3)
    into_full = pupil()
    await enrol(pool, into_full, FROM, 3)
    full = await request_transfer(api, into_full, DIRTY, 3)
    await enrol(pool, pupil(), DIRTY, 3)  # the class set (2 seats) is now full
    await accept_transfer(api, admins, full, DIRTY)
    planted["transfer_into_full_class"] = full["id"]
    return planted


async def _roster_application(pool: asyncpg.Pool, iin: str) -> str:
    return str(await pool.fetchval("SELECT id FROM applications WHERE child_iin = $1", iin))


@pytest.fixture(name="seeded")
async def seeded_fixture(api: Client, admins: Admins, db_pool: asyncpg.Pool) -> dict[str, Any]:
    """This year's admission in Astana: the clean school, the dirty one, a monitoring decision visiting both."""
    t0 = now()
    await open_window(api, admins, t0 - dt.timedelta(hours=1), t0 + dt.timedelta(days=7))
    await _clean_school(api, admins, db_pool)
    planted = await _dirty_school(api, admins, db_pool, t0)
    await open_window(api, admins, t0 - dt.timedelta(hours=1), now())  # the window closes
    late_id = planted["confirmation_late"]
    assert await confirm(api, admins, DIRTY, late_id) == [late_id]  # after the window closed
    await deliver_outbox(db_pool)
    # The contingent store loses one admission and records another twice (Kezek's outbox cannot do either).
    lost = await db_pool.fetchval(
        "SELECT child_iin FROM applications WHERE id = $1", _uuid(planted["contingent_missing"])
    )
    await db_pool.execute("DELETE FROM contingent.enrolments WHERE child_iin = $1", lost)
    twice = await db_pool.fetchval(
        "SELECT child_iin FROM applications WHERE id = $1", _uuid(planted["contingent_duplicated"])
    )
    await db_pool.execute(
        "INSERT INTO contingent.enrolments (child_iin, school_bin, grade, language, order_number, order_date, since,"
        " ended_on, end_reason) SELECT child_iin, school_bin, grade, language, order_number, order_date, since,"
        " since, 'superseded' FROM contingent.enrolments WHERE child_iin = $1",
        twice,
    )
    decision = await decide_monitoring(api, admins.region())
    visits = {
        school: await schedule(api, admins.region(), decision["id"], school, today(), latest_end(today()))
        for school in (CLEAN, DIRTY)
    }
    return {"planted": planted, "decision": decision, "visits": visits}


def _uuid(value: str) -> Any:
    import uuid

    return uuid.UUID(value)


async def compute(api: Client, admins: Admins, visit_id: str) -> list[dict[str, Any]]:
    response = await api.post(f"/v1/admin/monitoring/visits/{visit_id}/findings/compute", headers=admins.region())
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def test_the_clean_school_yields_no_finding_and_the_other_exactly_the_planted_ones(
    api: Client, admins: Admins, seeded: dict[str, Any], db_pool: asyncpg.Pool
) -> None:
    assert await compute(api, admins, seeded["visits"][CLEAN]["id"]) == []

    found = await compute(api, admins, seeded["visits"][DIRTY]["id"])
    planted = seeded["planted"]
    by_kind = {f["kind"]: f for f in found}
    assert sorted(by_kind) == sorted(planted), [f["kind"] for f in found]
    assert len(found) == len(planted)
    for kind, record_id in planted.items():
        evidence = by_kind[kind]["evidence"]
        ids = evidence.get("transfer_ids") if kind.startswith("transfer") else evidence.get("application_ids")
        assert ids == [record_id], f"{kind}: {evidence}"
        assert by_kind[kind]["verdict"] == "pending"
        assert by_kind[kind]["origin"] == "computed"
        assert by_kind[kind]["title"]["kk"]
        assert by_kind[kind]["title"]["ru"]

    over = by_kind["over_capacity"]["evidence"]
    assert over["items"] == [
        {
            "language": "ru",
            "at": over["items"][0]["at"],
            "capacity": 3,
            "taken": 4,
            "application_id": planted["over_capacity"],
        }
    ]
    free = by_kind["class_full_while_seat_free"]["evidence"]["items"][0]
    assert (free["capacity"], free["taken"], free["held_for_roster"], free["free"]) == (2, 1, 0, 1)
    assert by_kind["withdrawn_seat_not_freed"]["evidence"]["counters"] == {
        "general_taken": 1, "roster_taken": 0, "live_applications": 0, "seats_not_freed": 1,
    }  # fmt: skip
    outside = by_kind["accepted_outside_window"]["evidence"]
    assert outside["items"][0]["application_id"] == planted["accepted_outside_window"]
    # The window in force then was the one before the office's first change, shown by that audit entry's old value.
    first_change = await db_pool.fetchval(
        "SELECT min(id) FROM audit_log WHERE action = 'region.window' AND target = $1", f"region:{REGION}"
    )
    assert outside["audit_entry_ids"] == [first_change]
    missing = by_kind["contingent_missing"]["evidence"]
    assert missing["items"][0]["enrolments"] == 0
    assert missing["items"][0]["outbox_events"] == 1  # the Enrol was delivered; the store has no record of it
    delivered = await db_pool.fetchval(
        "SELECT delivered_at IS NOT NULL FROM contingent_outbox WHERE id = $1", missing["outbox_event_ids"][0]
    )
    assert delivered is True
    duplicated = by_kind["contingent_duplicated"]["evidence"]
    assert len(duplicated["enrolment_ids"]) == 2
    full = by_kind["transfer_into_full_class"]["evidence"]["items"][0]
    assert (full["capacity"], full["occupied"], full["grade"]) == (2, 2, 3)
    late = by_kind["transfer_decided_late"]["evidence"]["items"][0]
    assert late["decided_at"] > late["decision_due_at"]
    late_confirmation = by_kind["confirmation_late"]["evidence"]["items"][0]
    assert late_confirmation["order_number"] == f"{DIRTY[-3:]}-1"


async def test_the_commission_decides_every_computed_finding_before_the_certificate(
    api: Client, admins: Admins, seeded: dict[str, Any]
) -> None:
    visit = seeded["visits"][DIRTY]["id"]
    base = f"/v1/admin/monitoring/visits/{visit}"
    region = admins.region()
    found = await compute(api, admins, visit)
    certify = {"language": "ru", "signed_on": today().isoformat()}

    commission_url = f"/v1/admin/monitoring/decisions/{seeded['decision']['id']}/commission"
    assert (await api.post(f"{base}/certificate", json=certify, headers=region)).json()["code"] == "monitoring_conflict"
    assert (await api.put(commission_url, json={"members": commission()}, headers=region)).status_code == 200
    pending = await api.post(f"{base}/certificate", json=certify, headers=region)
    assert pending.status_code == 409
    assert sorted(pending.json()["pending"]) == sorted(f["id"] for f in found)

    rejected, edited, *accepted = found
    no_reason = await api.put(f"{base}/findings/{rejected['id']}/review", json={"verdict": "rejected"}, headers=region)
    assert (no_reason.status_code, no_reason.json()["code"]) == (422, "invalid_monitoring_step")
    review = {"verdict": "rejected", "note": "Бұйрық көшірмесі ұсынылды"}
    assert (await api.put(f"{base}/findings/{rejected['id']}/review", json=review, headers=region)).status_code == 200
    wording = {"verdict": "edited", "description": "Комиссия тұжырымы: бір бала кезеңнен тыс қабылданған"}
    assert (await api.put(f"{base}/findings/{edited['id']}/review", json=wording, headers=region)).status_code == 200
    for f in accepted[:-1]:
        ok = await api.put(f"{base}/findings/{f['id']}/review", json={"verdict": "accepted"}, headers=region)
        assert ok.status_code == 200
    # A recomputation keeps the reviews; the one still pending stays pending.
    again = {f["id"]: f for f in await compute(api, admins, visit)}
    assert again[rejected["id"]]["verdict"] == "rejected"
    assert again[edited["id"]]["description"] == wording["description"]
    assert again[accepted[-1]["id"]]["verdict"] == "pending"
    assert (await api.post(f"{base}/certificate", json=certify, headers=region)).status_code == 409
    last = await api.put(f"{base}/findings/{accepted[-1]['id']}/review", json={"verdict": "accepted"}, headers=region)
    assert last.status_code == 200
    own = await api.post(
        f"{base}/findings",
        json={"description": "Өтініштер журналы жүргізілмеген", "evidence": {"items": [{"note": "журнал жоқ"}]}},
        headers=region,
    )
    assert own.status_code == 201, own.text
    assert (own.json()["origin"], own.json()["verdict"]) == ("commission", "accepted")
    mistaken = await api.post(f"{base}/findings", json={"description": "Қате жазылды"}, headers=region)
    withdrawn = {"verdict": "rejected", "note": "қате енгізілді"}
    taken_back = await api.put(f"{base}/findings/{mistaken.json()['id']}/review", json=withdrawn, headers=region)
    assert taken_back.json()["verdict"] == "rejected"

    signed = await api.post(f"{base}/certificate", json=certify, headers=region)
    assert signed.status_code == 200, signed.text
    assert (signed.json()["status"], signed.json()["remediation_required"]) == ("remediation", True)
    assert signed.json()["plan_deadline"]["state"] == "due"
    # Final now: no more reviews, computations or commission changes.
    late_review = await api.put(
        f"{base}/findings/{rejected['id']}/review", json={"verdict": "accepted"}, headers=region
    )
    assert late_review.status_code == 409
    assert (await api.post(f"{base}/findings/compute", headers=region)).status_code == 409
    assert (await api.put(commission_url, json={"members": commission(9)}, headers=region)).status_code == 409

    html = (await api.get(f"{base}/certificate", headers=admins.school(DIRTY))).text
    assert html.count('class="copy"') == 2
    assert html.count('class="member-signature"') == 2 * 7
    assert "Справка о результатах проведения мониторинга" in html
    assert "ПРОЕКТ" not in html
    assert wording["description"] in html
    assert "Қате жазылды" not in html
    assert "Өтініштер журналы жүргізілмеген" in html
    for f in accepted:
        assert f["title"]["ru"] in html
        for application_id in f["evidence"].get("application_ids", []):
            assert application_id in html
    assert (await api.get(f"{base}/certificate?language=kk", headers=region)).status_code == 409

    # The school records its plan and report; both in time.
    plan = {"number": "П-1", "approved_on": today().isoformat(), "measures": ["Орындарды қайта есептеу"]}
    planned = await api.put(f"{base}/plan", json=plan, headers=admins.school(DIRTY))
    assert planned.status_code == 200, planned.text
    assert planned.json()["plan_deadline"]["state"] == "met"
    report = {"submitted_on": today().isoformat(), "summary": "Барлық ескертулер жойылды"}
    reported = await api.put(f"{base}/report", json=report, headers=admins.school(DIRTY))
    assert (reported.json()["report_deadline"]["state"], reported.json()["status"]) == ("met", "closed")


async def test_a_clean_certificate_needs_no_plan(api: Client, admins: Admins, seeded: dict[str, Any]) -> None:
    visit = seeded["visits"][CLEAN]["id"]
    base = f"/v1/admin/monitoring/visits/{visit}"
    region = admins.region()
    await compute(api, admins, visit)
    commission_url = f"/v1/admin/monitoring/decisions/{seeded['decision']['id']}/commission"
    assert (await api.put(commission_url, json={"members": commission(9)}, headers=region)).status_code == 200
    signed = await api.post(
        f"{base}/certificate", json={"language": "kk", "signed_on": today().isoformat()}, headers=region
    )
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert (body["status"], body["plan_deadline"]["state"], body["report_deadline"]["state"]) == (
        "closed", "not_required", "not_required",
    )  # fmt: skip
    html = (await api.get(f"{base}/certificate", headers=admins.school(CLEAN))).text
    assert "Сәйкессіздіктер анықталған жоқ." in html
    assert html.count('class="member-signature"') == 2 * 9
    plan = {"number": "П-1", "approved_on": today().isoformat(), "measures": ["—"]}
    assert (await api.put(f"{base}/plan", json=plan, headers=admins.school(CLEAN))).status_code == 409
    summary = (await api.get(f"/v1/admin/monitoring/regions/{REGION}", headers=region)).json()
    assert (summary["closed"], summary["in_progress"]) == (1, 1)
