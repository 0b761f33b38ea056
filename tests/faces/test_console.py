"""The admin console in a real Chromium: sign-in, live rooms, settings and pause, seats, confirmations, scope."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from browser_helpers import join_the_queue
from faces_helpers import (
    shoot,
)
from playwright.async_api import Browser, Page, expect

from admission.iin import make_iin
from admission.signing_keys import KeySet, mint_admin_token

REGION_ADMIN = {"subject": "astana-office", "role": "region", "region": "astana"}
SCHOOL = "150645269256"  # school №1 of Astana (reference data): kk 3 × 30, ru 2 × 30
OTHER = "290246571117"  # school №2 of Astana: kk 3 × 25


def _parents(count: int, start: int) -> list[str]:
    return [make_iin(dt.date(1986, 5, 1), start % 2 == 0, start + n) for n in range(count)]


async def sign_in(page: Page, base: str, token: str, lang: str = "en") -> None:
    await page.goto(f"{base}/admin?lang={lang}")
    await page.wait_for_url("**/admin/sign-in*")
    await page.fill("#token", token)
    await page.click("form.card button[type=submit]")


async def _join(http: httpx.AsyncClient, parent: str) -> dict[str, object]:
    response = await http.post("/v1/rooms/astana/visitors", json={"applicant_iin": parent})
    assert response.status_code == 200, response.text
    view: dict[str, object] = response.json()
    return view


@pytest.mark.browser
async def test_a_region_admin_watches_the_room_admits_more_and_pauses_it_for_parents(
    live_server: str, browser: Browser, keys: KeySet, screenshots: Path
) -> None:
    token = mint_admin_token(keys, "astana-office", "region", region="astana")
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, live_server, token)
    await page.wait_for_url("**/admin/rooms")
    cookies = {c["name"]: c for c in await context.cookies()}
    session = cookies["kezek_admin"]
    assert session["httpOnly"]
    assert session["sameSite"] == "Strict"
    assert session["path"] == "/admin"
    assert token not in session["value"]  # encrypted, not the bearer token in clear
    astana = page.locator("tr[data-region=astana]")
    await expect(astana.locator("[data-field=waiting]")).to_have_text("0")
    assert await page.locator("tr[data-region]").count() == 1  # its own region's room only

    # the room's page: one slot at a time
    await astana.locator("a").click()
    await page.wait_for_url("**/admin/rooms/astana")
    await page.fill("#max_active", "1")
    await page.click("form.card button[type=submit]")
    await expect(page.locator("p.card.ok[role=status]")).to_have_text("Saved.")

    # parents join: the numbers move by themselves
    first, second, third = _parents(3, 500)
    async with httpx.AsyncClient(base_url=live_server) as http:
        assert (await _join(http, first))["status"] == "admitted"
        waiting = [await _join(http, second), await _join(http, third)]
        assert [v["status"] for v in waiting] == ["waiting", "waiting"]
        live = page.locator("[data-live]")
        await expect(live.locator("[data-field=waiting]")).to_have_text("2", timeout=15_000)
        await expect(live.locator("[data-field=active]")).to_have_text("1")

        # raise max_active: the waiting parents are admitted
        await page.fill("#max_active", "3")
        await page.click("form.card button[type=submit]")
        await expect(live.locator("[data-field=waiting]")).to_have_text("0", timeout=15_000)
        await expect(live.locator("[data-field=active]")).to_have_text("3")
        await expect(live.locator("[data-field=max_active]")).to_have_text("3")
        for view in waiting:
            polled = await http.get(
                "/v1/rooms/astana/visitors/me", headers={"Authorization": f"Bearer {view['ticket']}"}
            )
            assert polled.json()["status"] == "admitted"

        # pause with a message: a parent waiting on the page reads it
        await page.check("#paused")
        await page.fill("#pause_message", "Техникалық жұмыстар: 15 минуттан кейін жалғастырамыз.")
        await page.click("form.card button[type=submit]")
        await expect(live.locator("[data-field=state]")).to_contain_text("Paused")
        await shoot(page, screenshots, "console-room")

        parent_page = await browser.new_page()
        await parent_page.goto(f"{live_server}/rooms/astana?lang=ru")
        await join_the_queue(parent_page, _parents(1, 900)[0])
        await expect(parent_page.locator("#paused")).to_be_visible(timeout=15_000)
        await expect(parent_page.locator("#paused")).to_contain_text("Техникалық жұмыстар: 15 минуттан кейін")
        await expect(parent_page.locator("#announce")).to_have_text("Ваше место в очереди: 1. Перед вами: 0 чел.")
        await expect(parent_page.locator("#keep-open")).to_be_visible()
        await shoot(parent_page, screenshots, "parent-waiting-paused")

    await page.goto(f"{live_server}/admin/rooms")
    await shoot(page, screenshots, "console-rooms")
    # every change is in the audit log, filtered by action
    await page.goto(f"{live_server}/admin/audit?action=room")
    await expect(page.locator("#audit tbody tr")).to_have_count(3)
    await expect(page.locator("#audit tbody tr").first).to_contain_text("astana-office")
    await expect(page.locator("#audit tbody tr").first).to_contain_text('"paused":true')
    await shoot(page, screenshots, "console-audit")


@pytest.mark.browser
async def test_a_region_admin_sees_neither_another_regions_room_nor_its_schools(
    live_server: str, browser: Browser, keys: KeySet, screenshots: Path
) -> None:
    page = await browser.new_page()
    await sign_in(page, live_server, mint_admin_token(keys, "astana-office", "region", region="astana"), lang="ru")
    await page.wait_for_url("**/admin/rooms")
    for path in ("/admin/rooms/zhetisu", "/admin/regions/zhetisu/schools", "/admin/audit?region=zhetisu"):
        response = await page.goto(live_server + path)
        assert response is not None
        assert response.status == 403, path
        await expect(page.locator("h1")).to_have_text("Нет доступа")
    await shoot(page, screenshots, "console-forbidden")
    # a form posted without the CSRF token is refused, and nothing changes
    response = await page.request.post(f"{live_server}/admin/rooms/astana", form={"max_active": "7"})
    assert response.status == 403
    async with httpx.AsyncClient(base_url=live_server) as http:
        assert (await http.get("/v1/rooms/astana")).json()["max_active"] != 7


async def _schools_api(http: httpx.AsyncClient) -> dict[tuple[str, str], int]:
    listed = (await http.get("/v1/regions/astana/schools")).json()
    return {(s["bin"], g["language"]): g["capacity"] for s in listed for g in s["grade1"]}


@pytest.mark.browser
async def test_a_region_admin_edits_seats_uploads_a_csv_and_confirms_an_admission(
    live_server: str, browser: Browser, keys: KeySet, screenshots: Path, tmp_path: Path
) -> None:
    page = await browser.new_page()
    await sign_in(page, live_server, mint_admin_token(keys, "astana-office", "region", region="astana"))
    await page.wait_for_url("**/admin/rooms")
    await page.click("nav.console >> text=Schools and seats")
    await page.wait_for_url("**/admin/regions/astana/schools")
    await shoot(page, screenshots, "console-schools")

    # one class set by hand
    row = page.locator(f"tr[data-school='{SCHOOL}'][data-language=ru]")
    await row.locator("input[name=classes]").fill("3")
    await row.locator("input[name=seats_per_class]").fill("25")
    await row.locator("button").click()
    await expect(page.locator("p.card.ok[role=status]")).to_contain_text("Capacity 75")
    await expect(page.locator(f"tr[data-school='{SCHOOL}'][data-language=ru] [data-field=capacity]")).to_have_text("75")

    async with httpx.AsyncClient(base_url=live_server) as http:
        before = await _schools_api(http)
        assert before[(SCHOOL, "ru")] == 75

        # a CSV with one bad row (41 seats breaks the sanitary limit): reported, nothing changed
        bad = tmp_path / "capacities.csv"
        bad.write_text(
            f"school_bin;language;classes;seats_per_class\n{SCHOOL};kk;3;20\n{OTHER};kk;2;41\n{SCHOOL};ru;1;20\n",
            encoding="utf-8",
        )
        await page.set_input_files("#capacity-file", str(bad))
        await page.click("form[enctype] button[type=submit]")
        await expect(page.locator("#upload-verdict")).to_contain_text("nothing was changed")
        await expect(page.locator("#upload-rows tr[data-line='3']")).to_contain_text("sanitary")
        await expect(page.locator("#upload-rows tr[data-line='2']")).to_contain_text("90 → 60")
        assert await page.locator("#apply-upload").count() == 0
        await shoot(page, screenshots, "console-upload-errors")
        assert await _schools_api(http) == before

        # the fixed file: preview, then apply
        good = tmp_path / "fixed.csv"
        good.write_text(bad.read_text().replace(f"{OTHER};kk;2;41", f"{OTHER};kk;2;15"), encoding="utf-8")
        await page.goto(f"{live_server}/admin/regions/astana/schools")
        await page.set_input_files("#capacity-file", str(good))
        await page.click("form[enctype] button[type=submit]")
        await expect(page.locator("#upload-verdict")).to_contain_text("Every row is fine")
        assert await _schools_api(http) == before  # a preview changes nothing
        await page.click("#apply-upload")
        await expect(page.locator("p.card.ok[role=status]")).to_contain_text("Capacities changed: 3 rows")
        after = await _schools_api(http)
        assert (after[(SCHOOL, "kk")], after[(OTHER, "kk")], after[(SCHOOL, "ru")]) == (60, 30, 20)

        # a parent's accepted application, confirmed with the admission order
        parent = _parents(1, 700)[0]
        access = (await _join(http, parent))["access_token"]
        child = make_iin(dt.date(2020, 4, 2), False, 321)
        filed = await http.post(
            "/v1/applications",
            json={"applicant_iin": parent, "child_iin": child, "school_bin": SCHOOL, "language": "kk",
                  "consent": True},
            headers={"Authorization": f"Bearer {access}"},
        )  # fmt: skip
        assert filed.json()["status"] == "accepted", filed.text
        application = filed.json()["id"]

    await page.goto(f"{live_server}/admin/schools/{SCHOOL}")
    line = page.locator(f"tr[data-application='{application}']")
    await expect(line.locator("[data-field=status]")).to_have_text("accepted")
    await shoot(page, screenshots, "console-school")
    await line.locator("input[name=order_number]").fill("12-Қ")
    await line.locator("button").click()
    await expect(page.locator("p.card.ok[role=status]")).to_have_text("Confirmed: 1")
    await expect(page.locator(f"tr[data-application='{application}'] [data-field=status]")).to_have_text("confirmed")
    await expect(page.locator(f"tr[data-application='{application}']")).to_contain_text("№ 12-Қ")
