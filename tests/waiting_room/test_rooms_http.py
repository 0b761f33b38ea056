"""The waiting room over HTTP: the contract the egov portal integrates against."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
from pathlib import Path

import asyncpg
import itsdangerous
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient
from room_helpers import DURING, iins, open_room

from admission import waiting_room
from admission.access import mint_access_token
from admission.signing_keys import KeySet, mint_admin_token
from admission.waiting_room import Place, WaitingRoom
from admission.waiting_room.applicants import ApplicantRefs
from admission.waiting_room.keys import room_keys
from admission.waiting_room.room import CFG_FIELDS
from admission.waiting_room.tickets import derive_ticket_secret

Client = AsyncTestClient[Litestar]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def set_room(client: Client, ministry: dict[str, str], **settings: object) -> None:
    response = await client.patch("/v1/admin/rooms/astana", json=settings, headers=ministry)
    assert response.status_code == 200, response.text


async def test_join_wait_get_admitted_when_a_slot_is_released(
    rooms: Client, ministry: dict[str, str], keys: KeySet
) -> None:
    await set_room(rooms, ministry, max_active=1)
    first, second = iins(2)
    a = (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": first})).json()
    assert a["status"] == "admitted"
    assert a["redirect_url"] == f"/apply/astana#access_token={a['access_token']}"
    b = await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": second})
    assert b.status_code == 200
    waiting = b.json()
    assert (waiting["status"], waiting["position"], waiting["ahead"]) == ("waiting", 1, 0)
    assert waiting["eta_seconds"] >= 0
    assert 1.6 <= waiting["poll_after_seconds"] <= 36
    assert "access_token" not in waiting

    polled = (await rooms.get("/v1/rooms/astana/visitors/me", headers=bearer(waiting["ticket"]))).json()
    assert polled["status"] == "waiting"

    beat = await rooms.post("/v1/rooms/astana/sessions/heartbeat", headers=bearer(a["access_token"]))
    assert beat.status_code == 200
    assert beat.json()["status"] == "active"
    assert (await rooms.delete("/v1/rooms/astana/sessions/me", headers=bearer(a["access_token"]))).status_code == 204
    assert (await rooms.delete("/v1/rooms/astana/sessions/me", headers=bearer(a["access_token"]))).status_code == 204

    admitted = (await rooms.get("/v1/rooms/astana/visitors/me", headers=bearer(waiting["ticket"]))).json()
    assert admitted["status"] == "admitted"
    assert admitted["access_token"]
    # the released token is refused from now on
    again = await rooms.post("/v1/rooms/astana/sessions/heartbeat", headers=bearer(a["access_token"]))
    assert (again.status_code, again.json()["code"]) == (401, "session_ended")
    # the released visitor's ticket no longer holds a place
    gone = (await rooms.get("/v1/rooms/astana/visitors/me", headers=bearer(a["ticket"]))).json()
    assert gone["status"] == "expired"
    assert "access_token" not in gone


async def test_same_applicant_from_twenty_concurrent_requests_holds_one_place(
    rooms: Client, ministry: dict[str, str]
) -> None:
    await set_room(rooms, ministry, max_active=0)
    me = iins(1)[0]
    answers = await asyncio.gather(
        *(rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": me}) for _ in range(20))
    )
    assert {r.status_code for r in answers} == {200}
    assert {r.json()["position"] for r in answers} == {1}
    state = (await rooms.get("/v1/rooms/astana")).json()
    assert state["waiting"] == 1


async def test_invalid_iin_is_refused_with_a_clear_error(rooms: Client) -> None:
    response = await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": "850101300006"})
    assert (response.status_code, response.json()["code"]) == (422, "invalid_iin")
    russian = await rooms.post("/v1/rooms/astana/visitors?lang=ru", json={"applicant_iin": "12345"})
    assert "ИИН" in russian.json()["title"]


async def test_window_not_open_closed_and_queue_full(rooms: Client, ministry: dict[str, str]) -> None:
    me = iins(1)[0]
    early = await rooms.post("/v1/rooms/zhetisu/visitors", json={"applicant_iin": me})
    assert (early.status_code, early.json()["code"]) == (409, "window_not_open")
    assert dt.datetime.fromisoformat(early.json()["opens_at"]) > dt.datetime.now(dt.UTC)
    late = await rooms.post("/v1/rooms/abai/visitors", json={"applicant_iin": me})  # annex 2: closed 1 Sep 2026
    assert (late.status_code, late.json()["code"]) == (409, "window_closed")
    assert late.json()["closes_at"] == "2026-08-31T19:00:00+00:00"

    await set_room(rooms, ministry, max_active=0, max_waiting=2)
    for iin in iins(2, start=10):
        assert (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": iin})).status_code == 200
    full = await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": me})
    assert (full.status_code, full.json()["code"]) == (429, "queue_full")
    assert int(full.headers["Retry-After"]) >= 10


async def test_forged_expired_and_other_region_tickets_are_rejected(
    rooms: Client, ministry: dict[str, str], keys: KeySet, refs: ApplicantRefs
) -> None:
    await set_room(rooms, ministry, max_active=0)
    me = iins(1)[0]
    ticket = (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": me})).json()["ticket"]
    payload, stamp, signature = ticket.rsplit(".", 2)
    assert me not in ticket  # an opaque reference, not the ИИН
    forged = f"{payload.replace(refs.ref(me), refs.ref(iins(1, start=50)[0]))}.{stamp}.{signature}"
    moved_up = f"{payload.replace('.1.', '.0.')}.{stamp}.{signature}"

    class OldSigner(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return int(dt.datetime.now(dt.UTC).timestamp()) - 13 * 3600

    old = (
        OldSigner(
            derive_ticket_secret("", keys.raw_private),
            salt="kezek-ticket",
            digest_method=hashlib.sha256,
            key_derivation="hmac",
        )
        .sign(payload)
        .decode()
    )
    for bad in (forged, moved_up, old, "garbage", ticket + "x"):
        response = await rooms.get("/v1/rooms/astana/visitors/me", headers=bearer(bad))
        assert (response.status_code, response.json()["code"]) == (401, "invalid_ticket"), bad
    other_region = await rooms.get("/v1/rooms/abai/visitors/me", headers=bearer(ticket))
    assert (other_region.status_code, other_region.json()["code"]) == (401, "invalid_ticket")
    missing = await rooms.get("/v1/rooms/astana/visitors/me")
    assert missing.status_code == 401
    assert (await rooms.get("/v1/rooms/astana/visitors/me", headers=bearer(ticket))).status_code == 200


async def test_forged_expired_other_region_and_released_access_tokens_are_rejected(
    rooms: Client, ministry: dict[str, str], keys: KeySet
) -> None:
    await set_room(rooms, ministry, max_active=2)
    me = iins(1)[0]
    token = (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": me})).json()["access_token"]
    jti = __import__("jwt").decode(token, options={"verify_signature": False})["jti"]
    forged = mint_access_token(KeySet.generate(), "astana", me, dt.timedelta(minutes=5), jti=jti)
    expired = mint_access_token(
        keys, "astana", me, dt.timedelta(minutes=5), jti=jti, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    )
    other_region = mint_access_token(keys, "abai", me, dt.timedelta(minutes=5), jti=jti)
    not_my_slot = mint_access_token(keys, "astana", me, dt.timedelta(minutes=5), jti="someone-else")
    for bad in (forged, other_region):
        response = await rooms.post("/v1/rooms/astana/sessions/heartbeat", headers=bearer(bad))
        assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")
    response = await rooms.post("/v1/rooms/astana/sessions/heartbeat", headers=bearer(expired))
    assert (response.status_code, response.json()["code"]) == (401, "session_ended")
    response = await rooms.post("/v1/rooms/astana/sessions/heartbeat", headers=bearer(not_my_slot))
    assert (response.status_code, response.json()["code"]) == (401, "session_ended")
    # a forged token cannot release someone's slot either
    assert (await rooms.delete("/v1/rooms/astana/sessions/me", headers=bearer(forged))).status_code == 401
    assert (await rooms.delete("/v1/rooms/astana/sessions/me", headers=bearer(not_my_slot))).status_code == 204
    assert (await rooms.get("/v1/rooms/astana")).json()["active"] == 1
    assert (await rooms.delete("/v1/rooms/astana/sessions/me", headers=bearer(token))).status_code == 204
    assert (await rooms.get("/v1/rooms/astana")).json()["active"] == 0
    released = await rooms.post("/v1/rooms/astana/sessions/heartbeat", headers=bearer(token))
    assert (released.status_code, released.json()["code"]) == (401, "session_ended")


async def test_polls_are_answered_without_a_redis_call_each(
    settings: object, keys: KeySet, astana_open_now: None, redis_client: aioredis.Redis
) -> None:
    import msgspec

    from queue_service.app import create_app
    from queue_service.settings import Settings

    assert isinstance(settings, Settings)
    app = create_app(msgspec.structs.replace(settings, room_snapshot_ms=60_000, room_sweep_ms=60_000), keys=keys)
    async with AsyncTestClient(app=app) as client:
        await WaitingRoom(redis_client).configure("astana", {"max_active": 0})
        people = iins(50)
        tickets = [
            (await client.post("/v1/rooms/astana/visitors", json={"applicant_iin": iin})).json()["ticket"]
            for iin in people
        ]
        before = await _script_calls(redis_client)
        for _ in range(4):
            for position, ticket in enumerate(tickets, start=1):
                body = (await client.get("/v1/rooms/astana/visitors/me", headers=bearer(ticket))).json()
                assert (body["status"], body["position"]) == ("waiting", position)
        calls = await _script_calls(redis_client) - before
    assert calls <= 2  # 200 polls: at most one snapshot refresh (and the touches flushed at shutdown)


async def _script_calls(redis_client: aioredis.Redis) -> int:
    stats = await redis_client.info("commandstats")
    return sum(int(stats.get(name, {}).get("calls", 0)) for name in ("cmdstat_evalsha", "cmdstat_eval"))


async def test_a_lease_that_ends_admits_the_next_without_anyone_polling(
    rooms: Client, redis_client: aioredis.Redis, refs: ApplicantRefs
) -> None:
    await WaitingRoom(redis_client).configure("astana", {"max_active": 1, "arrival_grace": 1})
    first, second = iins(2)
    assert (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": first})).json()["status"] == "admitted"
    assert (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": second})).json()["position"] == 1
    # the first never comes for the slot; nobody polls; the app's sweeper moves the slot on
    for _ in range(50):
        await asyncio.sleep(0.1)
        active = await redis_client.zrange(room_keys("astana")[3], 0, -1)
        if active == [refs.ref(second).encode()]:
            break
    assert active == [refs.ref(second).encode()]


async def test_public_room_state(rooms: Client) -> None:
    every = (await rooms.get("/v1/rooms")).json()
    assert len(every) == 20
    astana = (await rooms.get("/v1/rooms/astana")).json()
    assert astana["phase"] == "open"
    assert {"waiting", "active", "max_active", "eta_seconds", "opens_at", "closes_at"} <= set(astana)
    assert (await rooms.get("/v1/rooms/abai")).json()["phase"] == "closed"
    assert (await rooms.get("/v1/rooms/atlantis")).status_code == 404


async def test_admin_settings_by_scope_and_audited(rooms: Client, keys: KeySet, database_url: str) -> None:
    def token(role: str, **scope: str) -> dict[str, str]:
        return bearer(mint_admin_token(keys, f"{role}-admin", role, **scope))  # type: ignore[arg-type]

    change = {"max_active": 7, "queue_policy": "shuffle_prequeue"}
    assert (await rooms.patch("/v1/admin/rooms/astana", json=change)).status_code == 401
    denied = await rooms.patch("/v1/admin/rooms/astana", json=change, headers=token("region", region="abai"))
    assert denied.status_code == 403
    school = token("school", region="astana", school="150645269256")
    assert (await rooms.patch("/v1/admin/rooms/astana", json=change, headers=school)).status_code == 403
    bad = await rooms.patch("/v1/admin/rooms/astana", json={"max_active": -1}, headers=token("ministry"))
    assert bad.status_code == 400
    ok = await rooms.patch("/v1/admin/rooms/astana", json=change, headers=token("region", region="astana"))
    assert ok.status_code == 200
    assert ok.json()["settings"]["max_active"] == 7
    assert ok.json()["room"]["max_active"] == 7
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT actor, action, region_slug, old_value, new_value FROM audit_log WHERE action = 'room.settings'"
        )  # the refused attempts above are audited too (action refused)
    finally:
        await conn.close()
    assert row is not None
    assert (row["actor"], row["action"], row["region_slug"]) == ("region-admin", "room.settings", "astana")
    assert '"max_active": 7' in row["new_value"]
    assert '"max_active": 200' in row["old_value"]


async def test_malformed_join_bodies_are_problems(rooms: Client) -> None:
    for body in (b"{not json", b'{"applicant_iin": "850101300005", "extra": 1}', b"{}", b'{"applicant_iin": 5}'):
        response = await rooms.post(
            "/v1/rooms/astana/visitors", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, body
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] in ("bad_request", "validation_error")


async def test_metrics_show_each_rooms_waiting_and_active(rooms: Client, ministry: dict[str, str]) -> None:
    await set_room(rooms, ministry, max_active=1)
    for iin in iins(3, start=300):
        await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": iin})
    for _ in range(30):
        await asyncio.sleep(0.1)  # the sweeper runs every 100 ms in these tests
        text = (await rooms.get("/metrics")).text
        if 'kezek_room_waiting{region="astana"} 2.0' in text:
            break
    assert 'kezek_room_waiting{region="astana"} 2.0' in text
    assert 'kezek_room_active{region="astana"} 1.0' in text


async def test_a_paused_room_keeps_places_shows_the_message_and_admits_nobody_until_resumed(
    rooms: Client, ministry: dict[str, str]
) -> None:
    await set_room(rooms, ministry, max_active=1)
    first, second = iins(2)
    a = (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": first})).json()
    await set_room(rooms, ministry, paused=True, pause_message="Техникалық жұмыстар: 10 минут")
    b = (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": second})).json()
    assert (b["status"], b["position"], b["paused"]) == ("waiting", 1, True)
    assert b["pause_message"] == "Техникалық жұмыстар: 10 минут"
    # the slot freed while paused is not handed on
    assert (await rooms.delete("/v1/rooms/astana/sessions/me", headers=bearer(a["access_token"]))).status_code == 204
    await asyncio.sleep(0.3)  # a few sweeps
    held = (await rooms.get("/v1/rooms/astana/visitors/me", headers=bearer(b["ticket"]))).json()
    assert (held["status"], held["position"], held["paused"]) == ("waiting", 1, True)
    assert (await rooms.get("/v1/rooms/astana")).json()["paused"] is True

    await set_room(rooms, ministry, paused=False)
    resumed = (await rooms.get("/v1/rooms/astana/visitors/me", headers=bearer(b["ticket"]))).json()
    assert resumed["status"] == "admitted"
    assert "paused" not in resumed


async def test_a_hold_stops_admissions_and_lapses_by_itself(room: WaitingRoom) -> None:
    await open_room(room, max_active=1)
    first, second = iins(2)
    await room.hold("astana", DURING + dt.timedelta(seconds=5), DURING)
    held = await room.join("astana", first, DURING)
    assert isinstance(held, Place)
    assert held.status == "waiting"
    assert not (await room.state("astana", DURING)).admitting_at(DURING.timestamp())
    # nobody renews the hold: once it lapses the next sweep admits
    later = DURING + dt.timedelta(seconds=6)
    assert (await room.sweep("astana", later)).admitted == 1
    assert (await room.visit("astana", first, later)).status == "admitted"
    assert (await room.join("astana", second, later)).status == "waiting"  # type: ignore[union-attr]


def test_python_and_lua_name_the_same_room_fields_in_the_same_order() -> None:
    lua = (Path(waiting_room.__file__).parent / "lua" / "_lib.lua").read_text()
    listed = re.search(r"local CFG_FIELDS = \{(.*?)\}", lua, re.S)
    assert listed is not None
    assert tuple(re.findall(r"'(\w+)'", listed.group(1))) == CFG_FIELDS
