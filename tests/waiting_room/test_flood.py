"""Flood defence on join (issue 12): a per-client rate limit (429 + Retry-After) and a room's
optional proof of work (ALTCHA), verified by the server: missing, forged, foreign, expired and
replayed answers are refused."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import altcha
import httpx
import msgspec
import pytest
import redis.asyncio as aioredis
from browser_helpers import join_the_queue
from litestar import Litestar
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Page
from room_helpers import iins

from admission.signing_keys import KeySet, mint_admin_token
from queue_service.app import create_app
from queue_service.settings import Settings

JOIN = "/v1/rooms/astana/visitors"


async def test_joins_beyond_the_configured_rate_from_one_client_get_429_with_retry_after(
    settings: Settings, keys: KeySet, astana_open_now: None
) -> None:
    limited = msgspec.structs.replace(settings, join_rate_per_minute=5, trusted_proxies="testclient")
    async with AsyncTestClient(app=create_app(limited, keys=keys)) as client:
        people = iins(8)
        for iin in people[:5]:
            assert (await client.post(JOIN, json={"applicant_iin": iin})).status_code == 200
        flooded = await client.post(JOIN, json={"applicant_iin": people[5]}, headers={"Accept-Language": "en"})
        assert flooded.status_code == 429
        assert flooded.headers["content-type"].startswith("application/problem+json")
        assert flooded.json()["code"] == "too_many_requests"
        assert 1 <= int(flooded.headers["retry-after"]) <= 60
        assert (flooded.headers["ratelimit-limit"], flooded.headers["ratelimit-remaining"]) == ("5", "0")
        # Another client behind our proxy has its own allowance; reading the room is never limited.
        other = {"X-Forwarded-For": "203.0.113.7"}
        assert (await client.post(JOIN, json={"applicant_iin": people[6]}, headers=other)).status_code == 200
        for _ in range(10):
            assert (await client.get("/v1/rooms/astana")).status_code == 200
        # The allowance is per room: the same client is not refused as a flood by another region's
        # room (Zhetisu's is not open yet, and says so).
        elsewhere = await client.post("/v1/rooms/zhetisu/visitors", json={"applicant_iin": people[7]})
        assert (elsewhere.status_code, elsewhere.json()["code"]) == (409, "window_not_open")


async def test_a_rate_of_zero_counts_no_join(
    settings: Settings, keys: KeySet, astana_open_now: None, redis_client: aioredis.Redis
) -> None:
    """``KEZEK_JOIN_RATE_PER_MINUTE=0`` switches the limit off: one client joins as often as it likes,
    and Redis keeps no counter for it."""
    unlimited = msgspec.structs.replace(settings, join_rate_per_minute=0)
    async with AsyncTestClient(app=create_app(unlimited, keys=keys)) as client:
        answers = [await client.post(JOIN, json={"applicant_iin": iin}) for iin in iins(40, start=900)]
    assert [a.status_code for a in answers] == [200] * 40
    assert [key async for key in redis_client.scan_iter(match="kezek:room:*:rate:*")] == []


async def test_the_limit_holds_for_concurrent_joins_across_two_apps(
    settings: Settings, keys: KeySet, astana_open_now: None
) -> None:
    """Two workers share the counter in Redis; of a burst of concurrent joins, exactly the allowance passes."""
    limited = msgspec.structs.replace(settings, join_rate_per_minute=10)
    async with (
        AsyncTestClient(app=create_app(limited, keys=keys)) as one,
        AsyncTestClient(app=create_app(limited, keys=keys)) as two,
    ):
        people = iins(60, start=100)
        answers = await asyncio.gather(
            *((one if i % 2 else two).post(JOIN, json={"applicant_iin": iin}) for i, iin in enumerate(people))
        )
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 429}
    # One atomic count in Redis for every worker: exactly the allowance gets through.
    assert statuses.count(200) == 10, statuses


@pytest.fixture
async def guarded(rooms: AsyncTestClient[Litestar], ministry: dict[str, str]) -> AsyncTestClient[Any]:
    """Astana's room with its proof of work switched on by an admin."""
    switched = await rooms.patch("/v1/admin/rooms/astana", json={"challenge": True}, headers=ministry)
    assert switched.status_code == 200, switched.text
    return rooms


async def _solved(client: AsyncTestClient[Any], region: str = "astana") -> str:
    answer = await client.get(f"/v1/rooms/{region}/challenge")
    assert answer.status_code == 200, answer.text
    challenge = altcha.Challenge.from_dict(answer.json())
    solution = altcha.solve_challenge(challenge)
    assert solution is not None
    return altcha.Payload(challenge, solution).to_base64()


def _tampered(payload: str, change: Any) -> str:
    document = json.loads(base64.b64decode(payload))
    change(document)
    return base64.b64encode(json.dumps(document).encode()).decode()


async def test_a_room_with_the_challenge_on_admits_only_solved_unused_challenges_of_its_own(
    guarded: AsyncTestClient[Any], ministry: dict[str, str]
) -> None:
    people = iins(8, start=300)
    missing = await guarded.post(JOIN, json={"applicant_iin": people[0]})
    assert (missing.status_code, missing.json()["code"]) == (403, "challenge_required")

    payload = await _solved(guarded)
    forgeries = {
        "wrong answer": _tampered(payload, lambda d: d["solution"].update(derivedKey="00" * 32)),
        "easier challenge": _tampered(payload, lambda d: d["challenge"]["parameters"].update(keyPrefix="00")),
        "no signature": _tampered(payload, lambda d: d["challenge"].pop("signature")),
        "not base64": "definitely-not-a-payload",
    }
    for label, forged in forgeries.items():
        refused = await guarded.post(JOIN, json={"applicant_iin": people[1]}, headers={"X-Altcha": forged})
        assert (refused.status_code, refused.json().get("code")) == (403, "challenge_failed"), (label, refused.text)

    foreign = await _solved(guarded, "abai")
    refused = await guarded.post(JOIN, json={"applicant_iin": people[1]}, headers={"X-Altcha": foreign})
    assert (refused.status_code, refused.json()["code"]) == (403, "challenge_failed")

    joined = await guarded.post(JOIN, json={"applicant_iin": people[1]}, headers={"X-Altcha": payload})
    assert joined.status_code == 200, joined.text
    replayed = await guarded.post(JOIN, json={"applicant_iin": people[2]}, headers={"X-Altcha": payload})
    assert (replayed.status_code, replayed.json()["code"]) == (403, "challenge_failed")
    # The widget's way: the answer in the `altcha` cookie.
    guarded.cookies.set("altcha", await _solved(guarded))
    by_cookie = await guarded.post(JOIN, json={"applicant_iin": people[2]})
    assert by_cookie.status_code == 200, by_cookie.text

    # Switched off again: joining needs no challenge.
    assert (
        await guarded.patch("/v1/admin/rooms/astana", json={"challenge": False}, headers=ministry)
    ).status_code == 200
    await asyncio.sleep(0.05)
    guarded.cookies.clear()
    assert (await guarded.post(JOIN, json={"applicant_iin": people[3]})).status_code == 200


async def test_an_expired_challenge_is_refused(settings: Settings, keys: KeySet, astana_open_now: None) -> None:
    quick = msgspec.structs.replace(settings, challenge_ttl_seconds=1, room_snapshot_ms=0)
    async with AsyncTestClient(app=create_app(quick, keys=keys)) as client:
        ministry = {"Authorization": f"Bearer {mint_admin_token(keys, 'm', 'ministry')}"}
        assert (await client.patch("/v1/admin/rooms/astana", json={"challenge": True}, headers=ministry)).status_code
        payload = await _solved(client)
        await asyncio.sleep(2.1)
        late = await client.post(JOIN, json={"applicant_iin": iins(1, start=500)[0]}, headers={"X-Altcha": payload})
        assert (late.status_code, late.json()["code"]) == (403, "challenge_failed")
        assert "expired" in late.json()["detail"]


async def widget_verified(page: Page, within: float) -> bool:
    """Whether the page's ALTCHA widget solved its challenge within ``within`` seconds (polled from
    outside: the page's CSP forbids the eval ``wait_for_function`` needs)."""
    state = "document.querySelector('altcha-widget')?.getState?.()"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if await page.evaluate(state) == "verified":
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.browser
async def test_a_real_browser_solves_the_challenge_under_the_page_csp_and_joins(
    live_server: str, keys: KeySet, browser: Browser
) -> None:
    ministry = {"Authorization": f"Bearer {mint_admin_token(keys, 'minister', 'ministry')}"}
    async with httpx.AsyncClient(base_url=live_server) as http:
        switched = await http.patch("/v1/admin/rooms/astana", json={"challenge": True}, headers=ministry)
        assert switched.status_code == 200
        await asyncio.sleep(0.3)  # the page reads the room from the worker's snapshot
    page = await browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    await page.goto(f"{live_server}/rooms/astana?lang=en")
    assert await widget_verified(page, 60.0)
    await join_the_queue(page, iins(1, start=800)[0])
    await page.wait_for_url("**/apply/astana?lang=en#access_token=*", timeout=15_000)
    assert [p for p in problems if "Content Security Policy" in p] == []
