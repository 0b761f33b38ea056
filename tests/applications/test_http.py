"""The parents' HTTP API: filing with the waiting room's access token, reading, withdrawing, free seats."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
import redis.asyncio as aioredis
from admission_helpers import (
    ABAI_SCHOOL,
    APPLICANT,
    GENERAL_SEATS,
    REGION,
    SCHOOL,
    access_token,
    child_iin,
    slot_token,
)
from litestar import Litestar
from litestar.testing import AsyncTestClient

from admission.reference import set_window
from admission.signing_keys import KeySet, mint_admin_token

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def open_windows(db_pool: asyncpg.Pool, schools: None) -> None:
    """Astana's and Abai's windows open around the real clock (the HTTP layer reads it)."""
    now = dt.datetime.now(dt.UTC)
    async with db_pool.acquire() as conn:
        for region in ("astana", "abai"):
            await set_window(conn, region, now - dt.timedelta(hours=1), now + dt.timedelta(days=7))


pytestmark = pytest.mark.usefixtures("open_windows")


def body(child: str, **overrides: object) -> dict[str, object]:
    return {
        "applicant_iin": APPLICANT,
        "child_iin": child,
        "school_bin": SCHOOL,
        "language": "kk",
        "consent": True,
    } | overrides


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_file_read_and_withdraw_over_http(client: Client, keys: KeySet, redis_client: aioredis.Redis) -> None:
    response = await client.post(
        "/v1/applications", json=body(child_iin()), headers=bearer(await slot_token(redis_client, keys))
    )
    assert response.status_code == 201, response.text
    filed = response.json()
    assert (filed["status"], filed["refusal"], filed["region"]) == ("accepted", None, REGION)
    token = filed["withdraw_token"]

    read = await client.get(f"/v1/applications/{filed['id']}", headers=bearer(token))
    assert read.status_code == 200
    assert read.json() == {k: v for k, v in filed.items() if k != "withdraw_token"}  # the answer was the record

    # Nobody else reads or withdraws it: not without a token, not with another application's.
    other = await client.post(
        "/v1/applications", json=body(child_iin()), headers=bearer(await slot_token(redis_client, keys))
    )
    other_token = other.json()["withdraw_token"]
    assert (await client.get(f"/v1/applications/{filed['id']}")).status_code == 401
    stolen = await client.post(f"/v1/applications/{filed['id']}/withdraw", headers=bearer(other_token))
    assert stolen.status_code == 403
    assert stolen.json()["code"] == "wrong_application_token"
    access_as_withdraw = await client.post(
        f"/v1/applications/{filed['id']}/withdraw", headers=bearer(access_token(keys))
    )
    assert access_as_withdraw.status_code == 403

    withdrawn = await client.post(f"/v1/applications/{filed['id']}/withdraw", headers=bearer(token))
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"


async def test_refusal_answer_carries_ground_and_receipt(
    client: Client, keys: KeySet, redis_client: aioredis.Redis
) -> None:
    response = await client.post(
        "/v1/applications", json=body(child_iin(), consent=False), headers=bearer(await slot_token(redis_client, keys))
    )
    assert response.status_code == 201
    refusal = response.json()["refusal"]
    assert (response.json()["status"], refusal["ground"], refusal["code"]) == ("refused", 6, "no_consent")
    assert refusal["receipt"]["applicant_iin"] == APPLICANT
    assert set(refusal["reason"]) == {"kk", "ru", "en"}
    token = response.json().pop("withdraw_token")
    read = await client.get(f"/v1/applications/{response.json()['id']}", headers=bearer(token))
    assert read.json() == {k: v for k, v in response.json().items() if k != "withdraw_token"}


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("missing", 401, "unauthenticated"),
        ("expired", 401, "session_ended"),
        ("never_admitted", 401, "session_ended"),  # signed by Kezek, but the room never gave its slot
        ("forged", 401, "unauthenticated"),
        ("admin_token", 401, "unauthenticated"),  # Kezek's own signature, but an admin's token, not a slot's
        ("foreign_region", 403, "foreign_region"),
        ("other_applicant", 403, "applicant_mismatch"),
    ],
)
async def test_filing_needs_a_valid_access_token_for_the_schools_region_and_applicant(
    client: Client, keys: KeySet, redis_client: aioredis.Redis, case: str, status: int, code: str
) -> None:
    if case == "never_admitted":  # the room is open and gives slots, just never this one
        await slot_token(redis_client, keys, applicant=child_iin(dt.date(1986, 6, 6)))
    tokens = {
        "missing": None,
        "expired": access_token(keys, ttl=dt.timedelta(seconds=-5)),
        "never_admitted": access_token(keys),
        "forged": access_token(KeySet.generate()),
        "admin_token": mint_admin_token(keys, APPLICANT, "ministry"),
        "foreign_region": await slot_token(redis_client, keys, region="abai"),
        "other_applicant": access_token(keys, applicant=child_iin(dt.date(1985, 1, 1))),
    }
    token = tokens[case]
    response = await client.post("/v1/applications", json=body(child_iin()), headers=bearer(token) if token else {})
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_token_for_the_schools_region_works_there(
    client: Client, keys: KeySet, redis_client: aioredis.Redis
) -> None:
    response = await client.post(
        "/v1/applications",
        json=body(child_iin(), school_bin=ABAI_SCHOOL),
        headers=bearer(await slot_token(redis_client, keys, region="abai")),
    )
    assert (response.status_code, response.json()["status"]) == (201, "accepted")


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"child_iin": "123456789012"}, 422, "invalid_iin"),
        ({"applicant_iin": "12345"}, 422, "invalid_iin"),
        ({"language": "fr"}, 400, "validation_error"),
        ({"school_bin": "990000000099"}, 404, "unknown_school"),
        ({"language": "ru"}, 422, "language_not_offered"),
        ({"nickname": "x"}, 400, "validation_error"),
    ],
)
async def test_bad_input_is_a_problem_not_a_decision(
    client: Client, keys: KeySet, redis_client: aioredis.Redis, overrides: dict[str, object], status: int, code: str
) -> None:
    response = await client.post(
        "/v1/applications", json=body(child_iin(), **overrides), headers=bearer(await slot_token(redis_client, keys))
    )
    assert (response.status_code, response.json()["code"]) == (status, code), response.text


async def test_region_schools_show_free_general_seats_per_language(client: Client) -> None:
    def seats(payload: list[dict[str, object]]) -> dict[str, object]:
        school = next(s for s in payload if s["bin"] == SCHOOL)
        return school["grade1"][0]  # type: ignore[index,no-any-return]

    before = await client.get("/v1/regions/astana/schools")
    assert before.status_code == 200
    assert seats(before.json()) == {"language": "kk", "capacity": 27, "held_for_roster": 3, "free": GENERAL_SEATS}
    assert len(before.json()) > 10  # the demo schools of Astana too
    assert (await client.get("/v1/regions/atlantis/schools")).status_code == 404
