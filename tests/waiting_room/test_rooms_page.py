"""The waiting page: languages, and a real headless Chromium that waits, moves up and is redirected."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import httpx
import msgspec
import pytest
import redis.asyncio as aioredis
from browser_helpers import join_the_queue, refused_then_accepted
from litestar import Litestar
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, expect
from room_helpers import KillableRedis, iins, live_app

from admission.iin import make_iin
from admission.signing_keys import KeySet, mint_admin_token
from admission.waiting_room import WaitingRoom
from queue_service.settings import Settings


async def test_the_page_speaks_kazakh_by_default_then_russian_or_english(rooms: AsyncTestClient[Litestar]) -> None:
    kazakh = await rooms.get("/rooms/astana")
    assert kazakh.status_code == 200
    assert kazakh.headers["content-type"].startswith("text/html")
    assert '<html lang="kk">' in kazakh.text
    assert "Күту залы" in kazakh.text
    russian = await rooms.get("/rooms/astana", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert "Зал ожидания" in russian.text
    english = await rooms.get("/rooms/astana?lang=en", headers={"Accept-Language": "ru"})
    assert "Waiting room" in english.text
    assert (await rooms.get("/rooms/atlantis")).status_code == 404


@pytest.mark.browser
async def test_a_visitor_waits_sees_its_position_fall_and_is_redirected(
    live_server: str, keys: KeySet, browser: Browser
) -> None:
    ministry = {"Authorization": f"Bearer {mint_admin_token(keys, 'minister', 'ministry')}"}
    first, second, me = iins(3)
    async with httpx.AsyncClient(base_url=live_server) as http:
        assert (await http.patch("/v1/admin/rooms/astana", json={"max_active": 1}, headers=ministry)).status_code == 200
        holder = (await http.post("/v1/rooms/astana/visitors", json={"applicant_iin": first})).json()
        assert holder["status"] == "admitted"
        next_one = (await http.post("/v1/rooms/astana/visitors", json={"applicant_iin": second})).json()
        assert next_one["position"] == 1

        page = await browser.new_page()
        await page.goto(f"{live_server}/rooms/astana?lang=en")
        await join_the_queue(page, me)
        await expect(page.locator("#position")).to_have_text("2")
        await expect(page.locator("#ahead")).to_have_text("1")

        # the holder submits and leaves: the next one is admitted, the page moves up by itself
        headers = {"Authorization": f"Bearer {holder['access_token']}"}
        assert (await http.delete("/v1/rooms/astana/sessions/me", headers=headers)).status_code == 204
        await expect(page.locator("#position")).to_have_text("1", timeout=15_000)
        assert await page.locator("#progress").get_attribute("value") == "100"

        # that one finishes too: the page redirects to the application with an access token
        admitted = (
            await http.get("/v1/rooms/astana/visitors/me", headers={"Authorization": f"Bearer {next_one['ticket']}"})
        ).json()
        assert admitted["status"] == "admitted"
        headers = {"Authorization": f"Bearer {admitted['access_token']}"}
        assert (await http.delete("/v1/rooms/astana/sessions/me", headers=headers)).status_code == 204
        await page.wait_for_url("**/apply/astana?lang=en#access_token=*", timeout=15_000)


@pytest.mark.browser
async def test_a_parent_goes_from_the_queue_to_a_decision_and_withdraws_in_the_browser(
    live_server: str, browser: Browser
) -> None:
    """The demo flow end to end: join, be redirected, apply, see the decision, withdraw; the seat comes back."""
    parent = iins(1, start=700)[0]
    child = make_iin(dt.date(2020, 3, 14), True, 4242)
    async with httpx.AsyncClient(base_url=live_server) as http:
        schools = (await http.get("/v1/regions/astana/schools")).json()
        school = schools[0]
        page = await browser.new_page()
        await page.goto(f"{live_server}/rooms/astana?lang=en")
        await join_the_queue(page, parent)
        await page.wait_for_url("**/apply/astana*", timeout=15_000)
        await expect(page.locator("#applicant")).to_have_text(parent)

        # no consent: refused on ground 6 of annex 2, item 9 (the receipt names the applicant); with
        # consent: accepted, a seat is taken; the slot stays for a twin (it ends with the third child, when
        # the parent leaves, or a minute after the tab is closed)
        await page.fill("#applicant-name", "Ахметова Айгүл Маратқызы")
        refused, accepted = await refused_then_accepted(page, child, child, school["bin"], "kk")
        await expect(refused.locator(".decision-text")).to_have_text("Application refused.")
        await expect(refused).to_contain_text("Ground 6")
        await expect(accepted.locator(".decision-text")).to_have_text("Application accepted: the seat is yours.")
        room = (await http.get("/v1/rooms/astana")).json()
        assert room["active"] == 1

        await accepted.locator("button.withdraw").click()
        await page.click("#confirm-yes")  # the page asks first
        withdrawn = page.locator("section.decision[data-status=withdrawn]")
        await expect(withdrawn.locator(".decision-text")).to_have_text("Application withdrawn; the seat is free again.")


async def test_the_application_page_without_an_access_token_sends_the_parent_to_the_queue(
    rooms: AsyncTestClient[Litestar],
) -> None:
    page = await rooms.get("/apply/astana?lang=ru")
    assert page.status_code == 200
    assert "Заявление в 1 класс" in page.text
    assert 'href="/rooms/astana?lang=ru"' in page.text
    assert (await rooms.get("/apply/atlantis")).status_code == 404


@pytest.mark.browser
async def test_the_page_says_the_queue_is_paused_while_redis_is_down_and_carries_on_by_itself(
    settings: Settings, keys: KeySet, astana_open_now: None, tmp_path: Path, browser: Browser
) -> None:
    redis_server = KillableRedis(tmp_path / "redis", append_only=True)
    redis_server.start()
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        with live_app(
            msgspec.structs.replace(settings, redis_url=redis_server.url, redis_mode="standalone"), keys
        ) as url:
            await WaitingRoom(client).configure("astana", {"max_active": 1})
            await WaitingRoom(client).join("astana", "someone ahead holding the slot", dt.datetime.now(dt.UTC))
            page = await browser.new_page()
            await page.goto(f"{url}/rooms/astana?lang=en")
            await join_the_queue(page, iins(1, start=900)[0])
            await expect(page.locator("#position")).to_have_text("1")
            await asyncio.sleep(1.5)  # on disk (appendfsync everysec)
            redis_server.kill()
            await expect(page.locator("#message")).to_contain_text("paused", timeout=15_000)
            await expect(page.locator("#message")).to_contain_text("Your place is kept")
            redis_server.start()
            # back by itself, same place, no message
            await expect(page.locator("#message")).to_be_hidden(timeout=20_000)
            await expect(page.locator("#position")).to_have_text("1")
    finally:
        await client.aclose()
        redis_server.stop()


@pytest.mark.browser
async def test_the_form_keeps_its_slot_by_heartbeat_and_a_closed_tab_frees_it_within_the_lease(
    settings: Settings, keys: KeySet, astana_open_now: None, redis_client: aioredis.Redis, browser: Browser
) -> None:
    with live_app(settings, keys) as url:
        room = WaitingRoom(redis_client)
        await room.configure("astana", {"max_active": 1, "session_ttl": 3})
        page = await browser.new_page()
        await page.goto(f"{url}/rooms/astana?lang=en")
        await join_the_queue(page, iins(1, start=950)[0])
        await page.wait_for_url("**/apply/astana*", timeout=15_000)
        await asyncio.sleep(8)  # well past the 3 s lease: the page's heartbeats keep the slot
        assert (await room.state("astana")).active == 1
        await page.close()  # the parent closes the tab
        for _ in range(100):
            await asyncio.sleep(0.1)
            if (await room.state("astana")).active == 0:
                break
        assert (await room.state("astana")).active == 0
