"""The monitoring's steps: the 1 November rule, the commission, visits and deadlines on the calendar, scopes,
the certificate in Kazakh and Russian, the region and ministry views, ``kezek monitoring summary``."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg
import pytest
from click.testing import CliRunner
from monitoring_helpers import (
    ABAI,
    CLEAN,
    DIRTY,
    REGION,
    Admins,
    Client,
    commission,
    decide_monitoring,
    schedule,
    today,
    workday,
    year,
)

from admission.monitoring import service
from admission.monitoring.models import InvalidMonitoringStep, InvalidVisit, OrderTooLate
from admission.signing_keys import AdminPrincipal
from queue_service.cli import main as cli

pytestmark = pytest.mark.usefixtures("schools")

DECISIONS = "/v1/admin/monitoring/decisions"
OFFICE = AdminPrincipal(subject="office", role="region", region=REGION)


# ---------------------------------------------------------------- 1 November


async def test_para_3_a_decision_after_1_november_is_refused_with_a_clear_problem(api: Client, admins: Admins) -> None:
    body = {"admission_year": 2026, "order_number": "12", "order_date": "2026-11-02"}
    response = await api.post(DECISIONS, json=body, headers=admins.region(), params={"lang": "ru"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "monitoring_order_too_late"
    assert "до 1 ноября 2026" in problem["title"]
    assert (await api.get(DECISIONS, headers=admins.region())).json() == []


async def test_an_order_of_1_november_is_in_time(db_pool: asyncpg.Pool) -> None:
    async with db_pool.acquire() as conn:
        made = await service.create_decision(
            conn, OFFICE, region=None, admission_year=2026, order_number="7", order_date=dt.date(2026, 11, 1),
            now=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC),
        )  # fmt: skip
        assert (made.region_slug, made.order_date) == (REGION, dt.date(2026, 11, 1))
        with pytest.raises(OrderTooLate):
            await service.create_decision(
                conn, OFFICE, region=None, admission_year=2026, order_number="8", order_date=dt.date(2026, 11, 2),
                now=dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC),
            )  # fmt: skip
        with pytest.raises(InvalidMonitoringStep):  # the order of another year
            await service.create_decision(
                conn, OFFICE, region=None, admission_year=2026, order_number="9", order_date=dt.date(2025, 10, 1),
                now=dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC),
            )  # fmt: skip


# ---------------------------------------------------------------- commission


def _members(size: int, **changes: Any) -> list[dict[str, Any]]:
    members = commission(size)
    for index, fields in changes.items():
        members[int(index.removeprefix("m"))] |= fields
    return members


@pytest.mark.parametrize(
    ("members", "why"),
    [
        (_members(5), "at least 7"),
        (_members(8), "odd"),
        (_members(7, m1={"is_chair": True}), "2 chairs"),
        (_members(7, m0={"is_chair": False}), "0 chairs"),
        (_members(7, m0={"is_lead": False}), "0 leads"),
        (
            _members(7, m0={"is_lead": False}, m3={"is_lead": True, "affiliation": "college"}),
            "ministry or the education",
        ),
        (_members(7, m2={"full_name": "Мүше 1 Тестов"}), "twice"),
    ],
)
async def test_para_4_the_commission_is_odd_at_least_7_with_one_chair_and_one_lead(
    api: Client, admins: Admins, members: list[dict[str, Any]], why: str
) -> None:
    decision = await decide_monitoring(api, admins.region())
    url = f"{DECISIONS}/{decision['id']}/commission"
    response = await api.put(url, json={"members": members}, headers=admins.region(), params={"lang": "en"})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_commission"
    assert why in response.json()["title"]
    assert (await api.get(f"{DECISIONS}/{decision['id']}", headers=admins.region())).json()["commission"] == []


async def test_a_valid_commission_may_be_led_by_a_member_other_than_the_chair(api: Client, admins: Admins) -> None:
    decision = await decide_monitoring(api, admins.region())
    members = _members(9, m0={"is_lead": False}, m4={"is_lead": True, "affiliation": "ministry"})
    response = await api.put(
        f"{DECISIONS}/{decision['id']}/commission", json={"members": members}, headers=admins.region()
    )
    assert response.status_code == 200, response.text
    saved = response.json()
    assert len(saved) == 9
    assert [m["full_name"] for m in saved if m["is_lead"]] == [members[4]["full_name"]]


# ---------------------------------------------------------------- calendar


def test_para_9_plan_and_report_deadlines_move_off_weekends_and_holidays() -> None:
    # Signed Wed 18 Nov 2026: +10 is Sat 28 Nov -> Mon 30 Nov; +30 is Fri 18 Dec.
    assert service.due_after(dt.date(2026, 11, 18), 10) == dt.date(2026, 11, 30)
    assert service.due_after(dt.date(2026, 11, 18), 30) == dt.date(2026, 12, 18)
    # Signed Mon 16 Nov 2026: +30 is Wed 16 Dec, Independence Day -> Thu 17 Dec.
    assert service.due_after(dt.date(2026, 11, 16), 30) == dt.date(2026, 12, 17)
    # Signed Tue 22 Dec 2026: +10 is Fri 1 Jan 2027; 2 Jan (Sat, New Year), 3 Jan (Sun), 4 Jan (moved) -> Tue 5 Jan.
    assert service.due_after(dt.date(2026, 12, 22), 10) == dt.date(2027, 1, 5)


def _state(required: bool, done_on: dt.date | None, today: dt.date) -> tuple[str, dt.date | None]:
    signed = dt.date(2026, 11, 18)  # plan due Mon 30 Nov 2026
    found = service.deadline(required, signed, 10, done_on, today)
    assert found is not None
    return found.state, found.due_on


def test_deadline_states_due_met_overdue() -> None:
    due = dt.date(2026, 11, 30)
    assert _state(True, None, dt.date(2026, 11, 30)) == ("due", due)
    assert _state(True, None, dt.date(2026, 12, 1)) == ("overdue", due)
    assert _state(True, dt.date(2026, 11, 30), dt.date(2027, 1, 1)) == ("met", due)
    assert _state(True, dt.date(2026, 12, 2), dt.date(2027, 1, 1)) == ("overdue", due)  # done, but late
    assert _state(False, None, dt.date(2027, 1, 1)) == ("not_required", None)
    assert service.deadline(None, None, 10, None, dt.date(2027, 1, 1)) is None  # no certificate yet


async def test_para_3_a_visit_lasts_at_most_5_working_days_on_the_calendar(db_pool: asyncpg.Pool) -> None:
    now = dt.datetime(2026, 12, 20, 9, tzinfo=dt.UTC)
    async with db_pool.acquire() as conn:
        decision = await service.create_decision(
            conn, OFFICE, region=REGION, admission_year=2026, order_number="31", order_date=dt.date(2026, 10, 15),
            now=now,
        )  # fmt: skip
        # Mon 14 - Mon 21 Dec 2026: 16 Dec is Independence Day, so 5 working days over 8 calendar days.
        visit = await service.schedule_visit(
            conn, OFFICE, decision.id, school_bin=CLEAN, starts_on=dt.date(2026, 12, 14), ends_on=dt.date(2026, 12, 21),
            now=now,
        )  # fmt: skip
        assert visit.working_days == 5
        # Mon 7 - Mon 14 Dec: 6 working days; the problem names the last allowed day, Fri 11 Dec.
        with pytest.raises(InvalidVisit) as refused:
            await service.schedule_visit(
                conn, OFFICE, decision.id, school_bin=DIRTY, starts_on=dt.date(2026, 12, 7),
                ends_on=dt.date(2026, 12, 14), now=now,
            )  # fmt: skip
        assert refused.value.extra["latest_end"] == "2026-12-11"
        assert "6 working days" in str(refused.value.extra["problem"])
        with pytest.raises(InvalidVisit):
            await service.schedule_visit(  # Sat-Sun only
                conn, OFFICE, decision.id, school_bin=DIRTY, starts_on=dt.date(2026, 12, 5),
                ends_on=dt.date(2026, 12, 6), now=now,
            )  # fmt: skip


# ---------------------------------------------------------------- scopes


async def test_a_region_admin_cannot_monitor_another_region(api: Client, admins: Admins) -> None:
    abai = admins.region("abai")
    order = {"admission_year": year(), "order_number": "1", "order_date": today().isoformat(), "region": REGION}
    assert (await api.post(DECISIONS, json=order, headers=abai)).status_code == 403
    mine = await decide_monitoring(api, admins.region())
    visit = {"school_bin": ABAI, "starts_on": workday().isoformat(), "ends_on": workday().isoformat()}
    response = await api.post(f"{DECISIONS}/{mine['id']}/visits", json=visit, headers=admins.region())
    assert response.status_code == 403
    foreign = await decide_monitoring(api, abai, order_number="2")
    for method, path, body in [
        ("GET", f"{DECISIONS}/{foreign['id']}", None),
        ("PUT", f"{DECISIONS}/{foreign['id']}/commission", {"members": commission()}),
        ("POST", f"{DECISIONS}/{foreign['id']}/visits", {**visit, "school_bin": CLEAN}),
        ("GET", "/v1/admin/monitoring/regions/abai", None),
        ("GET", "/v1/admin/monitoring/regions", None),
    ]:
        response = await api.request(method, path, json=body, headers=admins.region())
        assert response.status_code == 403, f"{method} {path}: {response.text}"
    # The ministry's nationwide decision is run by the ministry only.
    national = await decide_monitoring(api, admins.ministry(), order_number="3")
    assert national["region_slug"] is None
    response = await api.post(f"{DECISIONS}/{national['id']}/visits", json={**visit, "school_bin": CLEAN},
                              headers=admins.region())  # fmt: skip
    assert response.status_code == 403


async def test_a_school_sees_only_its_own_visit(api: Client, admins: Admins) -> None:
    decision = await decide_monitoring(api, admins.region())
    mine = await schedule(api, admins.region(), decision["id"], CLEAN, workday(), workday())
    other = await schedule(api, admins.region(), decision["id"], DIRTY, workday(), workday())
    school = admins.school(CLEAN)
    assert (await api.get(f"/v1/admin/monitoring/visits/{mine['id']}", headers=school)).status_code == 200
    listed = (await api.get("/v1/admin/monitoring/visits", headers=school)).json()
    assert [v["id"] for v in listed] == [mine["id"]]
    for method, path in [
        ("GET", f"/v1/admin/monitoring/visits/{other['id']}"),
        ("GET", f"/v1/admin/monitoring/visits/{other['id']}/findings"),
        ("GET", f"/v1/admin/monitoring/visits/{other['id']}/certificate"),
        ("GET", f"/v1/admin/monitoring/visits?school_bin={DIRTY}"),
        ("GET", DECISIONS),
        ("GET", f"/v1/admin/monitoring/regions/{REGION}"),
        ("POST", f"/v1/admin/monitoring/visits/{mine['id']}/findings/compute"),
    ]:
        response = await api.request(method, path, headers=school)
        assert response.status_code == 403, f"{method} {path}: {response.text}"
    order = {"admission_year": year(), "order_number": "5", "order_date": today().isoformat()}
    assert (await api.post(DECISIONS, json=order, headers=school)).status_code == 403


# ---------------------------------------------------------------- certificate


@pytest.mark.parametrize(
    ("language", "title", "chair", "copy"),
    [
        ("kk", "Мониторинг жүргізу қорытындылары туралы анықтама", "комиссия төрағасы", "1-дана (барлығы 2 дана)"),
        (
            "ru",
            "Справка о результатах проведения мониторинга",
            "председатель комиссии",
            "Экземпляр 2 (всего 2 экземпляра)",
        ),
    ],
)
async def test_para_7_the_certificate_renders_in_kazakh_and_russian_with_every_members_line(
    api: Client, admins: Admins, language: str, title: str, chair: str, copy: str
) -> None:
    decision = await decide_monitoring(api, admins.region())
    members = commission(11)
    await api.put(f"{DECISIONS}/{decision['id']}/commission", json={"members": members}, headers=admins.region())
    visit = await schedule(api, admins.region(), decision["id"], CLEAN, workday(), workday())
    response = await api.get(
        f"/v1/admin/monitoring/visits/{visit['id']}/certificate", params={"language": language},
        headers=admins.school(CLEAN),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-language"] == language
    html = response.text
    assert f'<html lang="{language}">' in html
    assert title in html
    assert copy in html
    assert chair in html
    assert html.count('class="copy"') == 2
    assert html.count('class="member-signature"') == 2 * len(members)
    for member in members:
        assert html.count(member["full_name"]) == 2 * 2  # listed in the commission and on its signature line, twice
    assert ("ЖОБА" if language == "kk" else "ПРОЕКТ") in html  # not signed yet


# ---------------------------------------------------------------- views and the command line


async def test_region_and_ministry_views_and_the_cli_summary(
    api: Client, admins: Admins, db_pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    decision = await decide_monitoring(api, admins.region())
    await schedule(api, admins.region(), decision["id"], CLEAN, workday(), workday())
    later = service.latest_end(today() + dt.timedelta(days=30), 1)
    await schedule(api, admins.region(), decision["id"], DIRTY, later, later)
    # A visit that ended without a certificate is overdue (its end moved back: the API refuses a past schedule
    # only before the order, and the order is of today).
    await db_pool.execute(
        "UPDATE monitoring_visits SET starts_on = $2, ends_on = $2 WHERE school_bin = $1", CLEAN,
        today() - dt.timedelta(days=1),
    )  # fmt: skip
    region = (await api.get(f"/v1/admin/monitoring/regions/{REGION}", headers=admins.region())).json()
    assert (region["scheduled"], region["awaiting_certificate"], region["overdue"]) == (1, 1, 1)
    assert [v["plan_deadline"] for v in region["visits"]] == [None, None]  # they run from the certificate
    assert {v["school_bin"]: v["status"] for v in region["visits"]} == {
        CLEAN: "awaiting_certificate", DIRTY: "scheduled",
    }  # fmt: skip
    national = (await api.get("/v1/admin/monitoring/regions", headers=admins.ministry())).json()
    assert national == [
        {"region": REGION, "scheduled": 1, "in_progress": 0, "awaiting_certificate": 1, "open_plans": 0,
         "overdue": 1, "closed": 0},
    ]  # fmt: skip

    monkeypatch.setenv("KEZEK_DATABASE_URL", database_url)
    # The command runs its own event loop: off this test's loop, in a thread.
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["monitoring", "summary", REGION, "--year", str(year())])
    assert result.exit_code == 0, result.output
    assert "scheduled 1" in result.output
    assert "overdue 1" in result.output
    assert f"{CLEAN}" in result.output
    assert "awaiting_certificate OVERDUE" in result.output
    unknown = await asyncio.to_thread(CliRunner().invoke, cli, ["monitoring", "summary", "atlantis"])
    assert unknown.exit_code != 0
    assert "atlantis" in unknown.output


async def test_a_region_reads_the_ministrys_visits_in_it_and_the_audit_shows_every_step(
    api: Client, admins: Admins
) -> None:
    national = await decide_monitoring(api, admins.ministry())
    here = await schedule(api, admins.ministry(), national["id"], CLEAN, workday(), workday())
    await schedule(api, admins.ministry(), national["id"], ABAI, workday(), workday())
    read = await api.get(f"{DECISIONS}/{national['id']}", headers=admins.region())
    assert read.status_code == 200
    assert [v["id"] for v in read.json()["visits"]] == [here["id"]]  # not Abai's
    assert (await api.get(f"/v1/admin/monitoring/visits/{here['id']}", headers=admins.region())).status_code == 200
    listed = (await api.get(DECISIONS, headers=admins.region())).json()
    assert [d["id"] for d in listed] == [national["id"]]
    audit = (await api.get("/v1/admin/audit", headers=admins.region())).json()
    assert [e["action"] for e in audit if e["action"].startswith("monitoring.")] == ["monitoring.visit"]


async def test_a_certificate_never_closes_over_a_finding_computed_at_the_same_moment(
    db_pool: asyncpg.Pool, admins: Admins
) -> None:
    """Computing findings and signing run at once, again and again: the certificate either sees the new
    finding (refused) or comes first (then the computation is refused); never a signed certificate over
    a finding the commission has not reviewed."""
    import uuid

    from monitoring_helpers import child, insert_application

    from admission.monitoring.models import MonitoringConflict

    now = dt.datetime.now(dt.UTC)
    office = AdminPrincipal(subject="office", role="region", region=REGION)
    outcomes = []
    for round_ in range(8):
        async with db_pool.acquire() as conn:
            decision = await service.create_decision(
                conn, office, region=REGION, admission_year=year(), order_number=f"R{round_}",
                order_date=min(today(), dt.date(year(), 11, 1)), now=now,
            )  # fmt: skip
            visit = await service.schedule_visit(
                conn, office, decision.id, school_bin=CLEAN, starts_on=today(), ends_on=service.latest_end(today()),
                now=now,
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO monitoring_commission_members (decision_id, seat, full_name, post, organisation,"
                " affiliation, is_chair, is_lead) SELECT $1, i, 'Мүше ' || i, 'маман', 'басқарма', 'office', i = 1,"
                " i = 1 FROM generate_series(1, 7) AS i",
                decision.id,
            )
            for earlier in await service.compute_findings(conn, office, visit.id, now):  # earlier rounds' records
                await service.review_finding(
                    conn, office, visit.id, earlier.id, verdict="accepted", note=None, description=None, now=now
                )
        # A record the next computation will find: a refusal naming no ground (the API always names one).
        await insert_application(
            db_pool, school=CLEAN, iin=child(), language="kk", status="refused", decided_at=now,
            refusal_code="class_full",
        )  # fmt: skip

        async def compute(visit_id: uuid.UUID = visit.id) -> str:
            async with db_pool.acquire() as conn:
                try:
                    await service.compute_findings(conn, office, visit_id, now)
                except MonitoringConflict:
                    return "refused"
                return "computed"

        async def sign(visit_id: uuid.UUID = visit.id) -> str:
            async with db_pool.acquire() as conn:
                try:
                    await service.issue_certificate(conn, office, visit_id, language="kk", signed_on=today(), now=now)
                except MonitoringConflict:
                    return "refused"
                return "signed"

        if round_ % 2:  # either one sent first
            signed, computed = await asyncio.gather(sign(), compute())
        else:
            computed, signed = await asyncio.gather(compute(), sign())
        outcomes.append(signed)
        pending = await db_pool.fetchval(
            "SELECT count(*) FROM monitoring_findings WHERE visit_id = $1 AND verdict = 'pending'", visit.id
        )
        if signed == "signed":
            assert (computed, pending) == ("refused", 0)
        else:
            assert (computed, pending) == ("computed", 1)
    assert set(outcomes) == {"signed", "refused"}, outcomes  # both orders happened


async def test_garbage_to_every_monitoring_route_with_a_valid_token_is_a_problem(
    api: Client, admins: Admins, quiet_app: Any
) -> None:
    """tests/test_problems.py walks every route with an unmatched id; here the ids are real UUIDs, so the
    garbage reaches the handlers."""
    import re
    import uuid

    bodies = [b"{not json", b'{"admission_year": "x", "members": 3, "verdict": 1}', b'{"unknown": 1}', b"[]", b""]
    routes = [
        (method, re.sub(r"\{[^}]+:int\}", "1", re.sub(r"\{[^}]+:uuid\}", str(uuid.uuid4()), route.path)))
        for route in quiet_app.routes
        if route.path.startswith("/v1/admin/monitoring")
        for method in sorted(getattr(route, "methods", set()) - {"HEAD", "OPTIONS"})
    ]
    assert len(routes) == 17
    for method, path in routes:
        for body in bodies:
            response = await api.request(
                method, path, content=body if method in {"POST", "PUT"} else None,
                headers={**admins.ministry(), "Content-Type": "application/json"}, params={"year": "abc"},
            )  # fmt: skip
            where = f"{method} {path} {body[:20]!r}"
            assert 400 <= response.status_code < 500, f"{where}: {response.status_code} {response.text[:200]}"
            assert response.headers["content-type"].startswith("application/problem+json"), where


async def test_deadlines_shown_by_the_api_move_off_weekends_and_holidays(api: Client, admins: Admins) -> None:
    """A 2026 monitoring: the certificate signed Mon 16 Nov 2026, so the plan is due Thu 26 Nov and the
    report Thu 17 Dec (30 days is Wed 16 Dec, Independence Day)."""
    decision = await decide_monitoring(api, admins.region(), admission_year=2026, order_date="2026-10-15")
    visit = await schedule(api, admins.region(), decision["id"], CLEAN, dt.date(2026, 11, 16), dt.date(2026, 11, 20))
    base = f"/v1/admin/monitoring/visits/{visit['id']}"
    region = admins.region()
    assert (await api.put(f"{DECISIONS}/{decision['id']}/commission", json={"members": commission()},
                          headers=region)).status_code == 200  # fmt: skip
    assert (await api.post(f"{base}/findings/compute", headers=region)).json() == []
    own = {"description": "Қабылдау журналы толтырылмаған"}
    assert (await api.post(f"{base}/findings", json=own, headers=region)).status_code == 201
    outside = await api.post(f"{base}/certificate", json={"language": "kk", "signed_on": "2026-11-21"}, headers=region)
    assert outside.status_code == 422  # after the visit ended
    signed = await api.post(f"{base}/certificate", json={"language": "kk", "signed_on": "2026-11-16"}, headers=region)
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert (body["plan_deadline"]["due_on"], body["report_deadline"]["due_on"]) == ("2026-11-26", "2026-12-17")
    assert body["report_deadline"]["state"] == ("overdue" if today() > dt.date(2026, 12, 17) else "due")
    plan = {"number": "П-7", "approved_on": "2026-11-27", "measures": ["Журналды толтыру"]}
    late = await api.put(f"{base}/plan", json=plan, headers=admins.school(CLEAN))
    assert late.status_code == 200, late.text
    assert late.json()["plan_deadline"] == {"due_on": "2026-11-26", "done_on": "2026-11-27", "state": "overdue"}
    assert late.json()["overdue"] is True
    again = await api.put(f"{base}/plan", json=plan, headers=admins.school(CLEAN))
    assert again.status_code == 409
