"""The admin API: the full scope matrix, capacity never below seats taken, audit, windows, auto-confirm."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from admission_helpers import (
    ABAI_SCHOOL,
    APPLICANT,
    SCHOOL,
    access_token,
    child_iin,
    seat_counters,
    slot_token,
)
from litestar import Litestar
from litestar.testing import AsyncTestClient

from admission.reference import set_window
from admission.signing_keys import KeySet, mint_admin_token

Client = AsyncTestClient[Litestar]
pytestmark = pytest.mark.usefixtures("schools")

TARGETS = {"own": ("astana", SCHOOL), "other": ("abai", ABAI_SCHOOL)}
ROSTER_CHILD = child_iin()


def endpoints(region: str, school: str) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    """(name, method, path, body) of every admin endpoint, aimed at ``region`` / ``school``."""
    return [
        ("school", "PATCH", f"/v1/admin/schools/{school}", {"phone": "+7 717 000 0000"}),
        ("classes", "PUT", f"/v1/admin/schools/{school}/classes/1/kk", {"classes": 2, "seats_per_class": 25}),
        ("classes_grade5", "PUT", f"/v1/admin/schools/{school}/classes/5/ru", {"classes": 1, "seats_per_class": 30}),
        ("roster_put", "PUT", f"/v1/admin/schools/{school}/roster/{ROSTER_CHILD}", {"language": "kk"}),
        ("roster_delete", "DELETE", f"/v1/admin/schools/{school}/roster/{ROSTER_CHILD}", None),
        ("confirm", "POST", f"/v1/admin/schools/{school}/confirmations",
         {"order_number": "7", "order_date": "2026-06-20"}),
        ("applications", "GET", f"/v1/admin/schools/{school}/applications", None),
        ("window", "PUT", f"/v1/admin/regions/{region}/window",  # narrowed inside annex 2 (pilot para 7)
         {"opens_at": "2026-06-01T00:00:00+05:00", "closes_at": "2026-08-30T00:00:00+05:00"}),
        ("auto_confirm", "PUT", f"/v1/admin/regions/{region}/auto-confirm", {"enabled": False}),
        ("audit", "GET", f"/v1/admin/audit?region={region}", None),
    ]  # fmt: skip


SCHOOL_ENDPOINTS = {"school", "classes", "classes_grade5", "roster_put", "roster_delete", "confirm", "applications"}


def allowed(role: str, endpoint: str, target: str) -> bool:
    if role == "ministry":
        return True
    if role == "region":
        return target == "own"
    return target == "own" and endpoint in SCHOOL_ENDPOINTS


async def call(client: Client, method: str, path: str, body: dict[str, Any] | None, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.request(method, path, json=body, headers=headers)
    return response.status_code


async def test_every_role_on_every_admin_endpoint_in_its_own_and_another_region(client: Client, keys: KeySet) -> None:
    tokens = {
        "ministry": mint_admin_token(keys, "minister", "ministry"),
        "region": mint_admin_token(keys, "astana-office", "region", region="astana"),
        "school": mint_admin_token(keys, "director-900", "school", region="astana", school=SCHOOL),
    }
    got: dict[tuple[str, str, str], int] = {}
    expected: dict[tuple[str, str, str], int] = {}
    for role, token in tokens.items():
        for target, (region, school) in TARGETS.items():
            for name, method, path, body in endpoints(region, school):
                status = await call(client, method, path, body, token)
                got[role, name, target] = 200 if 200 <= status < 300 else status
                expected[role, name, target] = 200 if allowed(role, name, target) else 403
    assert got == expected
    for target, (region, school) in TARGETS.items():
        for name, method, path, body in endpoints(region, school):
            assert await call(client, method, path, body, None) == 401, (name, target)
            # A waiting-room access token is no admin token.
            assert await call(client, method, path, body, access_token(keys)) == 401, (name, target)


async def test_capacity_cannot_go_below_seats_taken_or_held(
    client: Client, keys: KeySet, db_pool: asyncpg.Pool, redis_client: aioredis.Redis
) -> None:
    now = dt.datetime.now(dt.UTC)
    async with db_pool.acquire() as conn:
        await set_window(conn, "astana", now - dt.timedelta(hours=1), now + dt.timedelta(days=1))

    async def file_a_child() -> httpx.Response:
        """An application for a new child of ``APPLICANT`` at ``SCHOOL``, with a fresh waiting-room slot."""
        return await client.post(
            "/v1/applications",
            json={"applicant_iin": APPLICANT, "child_iin": child_iin(), "school_bin": SCHOOL, "language": "kk",
                  "consent": True},
            headers={"Authorization": f"Bearer {await slot_token(redis_client, keys)}"},
        )  # fmt: skip

    for _ in range(5):
        assert (await file_a_child()).json()["status"] == "accepted"
    admin = {
        "Authorization": f"Bearer {mint_admin_token(keys, 'director-900', 'school', region='astana', school=SCHOOL)}"
    }
    # 5 taken + 3 held for the roster = 8: a class of 7 is refused, a class of 8 is fine.
    too_small = await client.put(
        f"/v1/admin/schools/{SCHOOL}/classes/1/kk", json={"classes": 1, "seats_per_class": 7}, headers=admin
    )
    assert too_small.status_code == 409
    assert (too_small.json()["code"], too_small.json()["taken"], too_small.json()["requested"]) == (
        "capacity_below_taken",
        8,
        7,
    )
    ok = await client.put(
        f"/v1/admin/schools/{SCHOOL}/classes/1/kk", json={"classes": 1, "seats_per_class": 8}, headers=admin
    )
    assert ok.status_code == 200
    assert ok.json()["capacity"] == 8
    full = await file_a_child()
    assert (full.json()["status"], full.json()["refusal"]["ground"]) == ("refused", 7)
    # No seat left to hold for a new roster child either.
    roster = await client.put(
        f"/v1/admin/schools/{SCHOOL}/roster/{child_iin()}", json={"language": "kk"}, headers=admin
    )
    assert (roster.status_code, roster.json()["code"]) == (409, "roster_conflict")

    ministry = {"Authorization": f"Bearer {mint_admin_token(keys, 'minister', 'ministry')}"}
    audit = (await client.get("/v1/admin/audit", headers=ministry)).json()
    change = next(e for e in audit if e["action"] == "school_classes.set")
    assert (change["actor"], change["actor_role"], change["region_slug"]) == ("director-900", "school", "astana")
    assert (change["old_value"], change["new_value"]) == (
        {"classes": 1, "seats_per_class": 27},
        {"classes": 1, "seats_per_class": 8},
    )


async def test_a_school_admin_edits_its_schools_card_and_the_change_is_audited(client: Client, keys: KeySet) -> None:
    director = {
        "Authorization": f"Bearer {mint_admin_token(keys, 'director-900', 'school', region='astana', school=SCHOOL)}"
    }
    changed = await client.patch(f"/v1/admin/schools/{SCHOOL}", json={"phone": "+7 717 111 2233"}, headers=director)
    assert (changed.status_code, changed.json()["phone"], changed.json()["name_ru"]) == (
        200,
        "+7 717 111 2233",
        "Школа №900",
    )
    listed = (await client.get("/v1/regions/astana/schools")).json()
    assert next(s for s in listed if s["bin"] == SCHOOL)["phone"] == "+7 717 111 2233"
    empty = await client.patch(f"/v1/admin/schools/{SCHOOL}", json={"name_kk": " "}, headers=director)
    assert empty.status_code == 422
    office = {"Authorization": f"Bearer {mint_admin_token(keys, 'astana-office', 'region', region='astana')}"}
    audit = (await client.get("/v1/admin/audit", headers=office)).json()
    entry = next(e for e in audit if e["action"] == "school.update")
    assert (entry["old_value"], entry["new_value"]) == ({"phone": ""}, {"phone": "+7 717 111 2233"})


@pytest.mark.parametrize(("field", "length"), [("name_ru", 301), ("email", 255), ("phone", 101)])
async def test_an_over_long_school_card_field_is_refused_and_the_card_stays(
    client: Client, keys: KeySet, field: str, length: int
) -> None:
    office = {"Authorization": f"Bearer {mint_admin_token(keys, 'astana-office', 'region', region='astana')}"}
    before = next(s for s in (await client.get("/v1/regions/astana/schools")).json() if s["bin"] == SCHOOL)
    refused = await client.patch(f"/v1/admin/schools/{SCHOOL}", json={field: "x" * length}, headers=office)
    assert (refused.status_code, field in refused.text) == (400, True), refused.text
    after = next(s for s in (await client.get("/v1/regions/astana/schools")).json() if s["bin"] == SCHOOL)
    assert after == before
    at_the_limit = await client.patch(f"/v1/admin/schools/{SCHOOL}", json={field: "x" * (length - 1)}, headers=office)
    assert (at_the_limit.status_code, at_the_limit.json()[field]) == (200, "x" * (length - 1))


async def test_roster_edits_hold_and_free_seats(client: Client, keys: KeySet, db_pool: asyncpg.Pool) -> None:
    admin = {"Authorization": f"Bearer {mint_admin_token(keys, 'astana-office', 'region', region='astana')}"}
    child = child_iin()
    assert (
        await client.put(f"/v1/admin/schools/{SCHOOL}/roster/{child}", json={"language": "kk"}, headers=admin)
    ).status_code == 200
    assert (await seat_counters(db_pool))["roster_held"] == 4
    assert (await client.delete(f"/v1/admin/schools/{SCHOOL}/roster/{child}", headers=admin)).status_code == 204
    assert (await seat_counters(db_pool))["roster_held"] == 3
    bad = await client.put(f"/v1/admin/schools/{SCHOOL}/roster/123", json={"language": "kk"}, headers=admin)
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_iin")


async def test_window_and_auto_confirm_changes_take_effect(
    client: Client, keys: KeySet, db_pool: asyncpg.Pool, redis_client: aioredis.Redis
) -> None:
    # Windows around today lie outside annex 2: the ministry's, with a reason (pilot para 7).
    admin = {"Authorization": f"Bearer {mint_admin_token(keys, 'minister', 'ministry')}"}
    # The slot comes first: each window change reaches the room in Redis later, by the keeper
    # (a notification), and a room closed until tomorrow would refuse the join itself.
    access = {"Authorization": f"Bearer {await slot_token(redis_client, keys)}"}
    now = dt.datetime.now(dt.UTC)
    tomorrow = {
        "opens_at": (now + dt.timedelta(days=1)).isoformat(),
        "closes_at": (now + dt.timedelta(days=9)).isoformat(),
        "reason": "test",
    }
    assert (await client.put("/v1/admin/regions/astana/window", json=tomorrow, headers=admin)).status_code == 200

    def form() -> dict[str, Any]:
        return {
            "applicant_iin": APPLICANT,
            "child_iin": child_iin(),
            "school_bin": SCHOOL,
            "language": "kk",
            "consent": True,
        }

    early = (await client.post("/v1/applications", json=form(), headers=access)).json()
    assert early["refusal"]["code"] == "window_not_open"
    backwards = {"opens_at": tomorrow["closes_at"], "closes_at": tomorrow["opens_at"]}
    assert (await client.put("/v1/admin/regions/astana/window", json=backwards, headers=admin)).json()[
        "code"
    ] == "invalid_window"

    open_now = {
        "opens_at": (now - dt.timedelta(hours=1)).isoformat(),
        "closes_at": (now + dt.timedelta(days=9)).isoformat(),
        "reason": "test",
    }
    assert (await client.put("/v1/admin/regions/astana/window", json=open_now, headers=admin)).status_code == 200
    switched = await client.put("/v1/admin/regions/astana/auto-confirm", json={"enabled": True}, headers=admin)
    assert switched.json() == {"region": "astana", "auto_confirm": True, "was": False}
    filed = (await client.post("/v1/applications", json=form(), headers=access)).json()
    assert filed["status"] == "confirmed"
    assert filed["order_number"].startswith("AUTO-astana-")
    event = await db_pool.fetchval("SELECT event::text FROM contingent_outbox WHERE child_iin = $1", filed["child_iin"])
    assert event is not None
    assert '"type":"enrol"' in event.replace(" ", "")


async def test_the_audit_log_filters_by_days_in_kazakhstan_action_and_actor(client: Client, keys: KeySet) -> None:
    director = {
        "Authorization": f"Bearer {mint_admin_token(keys, 'director-900', 'school', region='astana', school=SCHOOL)}"
    }
    office = {"Authorization": f"Bearer {mint_admin_token(keys, 'astana-office', 'region', region='astana')}"}
    assert (await client.patch(f"/v1/admin/schools/{SCHOOL}", json={"phone": "+7 1"}, headers=director)).is_success
    switched = await client.put("/v1/admin/regions/astana/auto-confirm", json={"enabled": True}, headers=office)
    assert switched.is_success

    async def log(**params: str) -> list[tuple[str, str]]:
        answer = await client.get("/v1/admin/audit", params=params, headers=office)
        assert answer.status_code == 200, answer.text
        return [(e["action"], e["actor"]) for e in answer.json()]

    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=5))).date()  # the log's days are Kazakhstan's
    assert set(await log()) == {("school.update", "director-900"), ("region.auto_confirm", "astana-office")}
    assert await log(action="school") == [("school.update", "director-900")]  # a prefix
    assert await log(actor="astana-office") == [("region.auto_confirm", "astana-office")]
    assert len(await log(since=today.isoformat(), until=today.isoformat())) == 2  # both days included
    assert await log(until=(today - dt.timedelta(days=1)).isoformat()) == []
    assert await log(since=(today + dt.timedelta(days=1)).isoformat()) == []
    for bad in ({"since": "30.11.2026"}, {"action": "x" * 101}):
        refused = await client.get("/v1/admin/audit", params=bad, headers=office)
        assert refused.status_code == 400, refused.text
