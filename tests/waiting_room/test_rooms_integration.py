"""The waiting room with the admission API: the slot is the right to file; a moved window reaches the room."""

from __future__ import annotations

import datetime as dt

import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient
from room_helpers import first_grade_classes, iins

from admission.iin import make_iin
from admission.waiting_room.applicants import ApplicantRefs
from admission.waiting_room.keys import room_keys

Client = AsyncTestClient[Litestar]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_one_slot_files_for_three_children_then_passes_to_the_next_visitor(
    rooms: Client, ministry: dict[str, str], database_url: str, redis_client: aioredis.Redis, refs: ApplicantRefs
) -> None:
    school = (await first_grade_classes(database_url))[0]
    assert (await rooms.patch("/v1/admin/rooms/astana", json={"max_active": 1}, headers=ministry)).status_code == 200
    first, second = iins(2)
    admitted = (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": first})).json()
    assert admitted["status"] == "admitted"
    assert (await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": second})).json()["position"] == 1
    triplets = [make_iin(dt.date(2020, 3, 1), True, 77 + i) for i in range(4)]

    async def file(child: str) -> int:
        form = {
            "applicant_iin": first,
            "child_iin": child,
            "school_bin": school["school_bin"],
            "language": school["language"],
            "consent": True,
        }
        response = await rooms.post("/v1/applications", json=form, headers=bearer(admitted["access_token"]))
        return response.status_code

    assert [await file(child) for child in triplets[:2]] == [201, 201]
    # two children filed: the family still holds the slot (a third child may follow)
    assert await redis_client.zrange(room_keys("astana")[3], 0, -1) == [refs.ref(first).encode()]
    assert await file(triplets[2]) == 201
    # the third child ends the slot: nobody called DELETE /sessions/me or polled, the next visitor holds it
    assert await redis_client.zrange(room_keys("astana")[3], 0, -1) == [refs.ref(second).encode()]
    assert await file(triplets[3]) == 401  # no fourth child on that slot
    assert await file(triplets[2]) != 401  # the same form again still reaches the service (a lost answer)


async def test_a_window_moved_by_an_admin_reaches_the_room(rooms: Client, ministry: dict[str, str]) -> None:
    opens = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(microsecond=0)
    closes = opens + dt.timedelta(days=30)
    moved = await rooms.put(
        "/v1/admin/regions/astana/window",
        json={"opens_at": opens.isoformat(), "closes_at": closes.isoformat(), "reason": "test: outside annex 2"},
        headers=ministry,
    )
    assert moved.status_code == 200, moved.text
    room = (await rooms.get("/v1/rooms/astana")).json()
    assert room["phase"] == "not_open"
    assert dt.datetime.fromisoformat(room["opens_at"]) == opens
    refused = await rooms.post("/v1/rooms/astana/visitors", json={"applicant_iin": iins(1)[0]})
    assert (refused.status_code, refused.json()["code"]) == (409, "window_not_open")
