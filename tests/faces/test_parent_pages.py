"""The parents' pages in a real Chromium: the language kept to the form, decisions kept across a reload,
a printable receipt, withdrawal only after confirming, a countdown before the opening."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_helpers import join_the_queue, refused_then_accepted
from faces_helpers import (
    PHONE,
    shoot,
)
from playwright.async_api import Browser, expect

from admission.iin import make_iin

SCHOOL = "150645269256"  # school №1 of Astana (reference data)


def _free_ru(schools: list[dict[str, Any]]) -> int:
    return int(next(g["free"] for s in schools if s["bin"] == SCHOOL for g in s["grade1"] if g["language"] == "ru"))


@pytest.mark.browser
async def test_a_parent_in_russian_files_reloads_prints_and_withdraws_after_confirming(
    live_server: str, browser: Browser, screenshots: Path
) -> None:
    parent = make_iin(dt.date(1988, 2, 3), False, 4321)
    twin_a, twin_b = make_iin(dt.date(2020, 2, 10), True, 511), make_iin(dt.date(2020, 2, 10), False, 512)
    context = await browser.new_context(locale="kk-KZ")
    await context.add_init_script("window.print = () => { window.__printed = (window.__printed || 0) + 1; };")
    page = await context.new_page()
    await page.goto(f"{live_server}/rooms/astana?lang=ru")
    await expect(page.locator("html")).to_have_attribute("lang", "ru")
    await expect(page.locator("footer")).to_contain_text("1414")
    await shoot(page, screenshots, "parent-room")
    await join_the_queue(page, parent)

    # admitted at once: the form comes in Russian, the language carried through the redirect
    await page.wait_for_url("**/apply/astana?lang=ru*", timeout=15_000)
    await expect(page.locator("html")).to_have_attribute("lang", "ru")
    await expect(page.locator("h1")).to_contain_text("Заявление в 1 класс")
    await expect(page.locator("#applicant")).to_have_text(parent)
    first_option = page.locator("#school option").first
    await expect(first_option).to_have_text("№5 — Общеобразовательная школа (Астана)")
    await shoot(page, screenshots, "parent-form")

    # no consent: refused on ground 6, with the annex 2 receipt; the twin, with consent: accepted, with
    # school, child, number and date
    refused, accepted = await refused_then_accepted(page, twin_a, twin_b, SCHOOL, "ru")
    await expect(refused.locator(".decision-text")).to_have_text("В приёме заявления отказано.")
    await expect(refused).to_contain_text("Основание 6")
    await expect(accepted.locator(".decision-text")).to_have_text("Заявление принято: место за вами.")
    for fact in (twin_b, "№1 — Общеобразовательная школа (Астана)", "Номер заявления", "Дата решения"):
        await expect(accepted).to_contain_text(fact)
    application_id = await accepted.get_attribute("data-application")
    assert application_id
    assert application_id in await accepted.inner_text()

    # a reload keeps both decisions (read back from the API with the stored withdraw tokens)
    await page.reload()
    await expect(page.locator("section.decision")).to_have_count(2)
    accepted = page.locator("section.decision[data-status=accepted]")
    await expect(accepted).to_contain_text(twin_b)
    assert await page.locator("#application").is_hidden()
    await shoot(page, screenshots, "parent-decision")

    # the receipts print: acceptance, and the refusal receipt of annex 2 with its ground
    await accepted.locator("button.print").click()
    assert await page.evaluate("window.__printed") == 1
    await page.emulate_media(media="print")
    receipt = page.locator("#receipt")
    await expect(receipt).to_be_visible()
    await expect(receipt.locator("h2")).to_have_text("Расписка о приёме заявления")
    await expect(receipt).to_contain_text(twin_b)
    await expect(page.locator("#decisions")).to_be_hidden()
    await page.screenshot(path=str(screenshots / "parent-receipt-print.png"), full_page=True)
    pdf = await page.pdf(path=str(screenshots / "parent-receipt.pdf"), format="A4")
    assert pdf.startswith(b"%PDF")
    await page.emulate_media(media="screen")
    await page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    await page.locator("section.decision[data-status=refused] button.print").click()
    await page.emulate_media(media="print")
    await expect(receipt.locator("h2")).to_have_text("Расписка об отказе в приёме документов")
    await expect(receipt).to_contain_text("Приложение 2")
    await expect(receipt).to_contain_text("Основание 6")
    await page.screenshot(path=str(screenshots / "parent-refusal-receipt-print.png"), full_page=True)
    await page.pdf(path=str(screenshots / "parent-refusal-receipt.pdf"), format="A4")
    await page.emulate_media(media="screen")
    await page.evaluate("window.dispatchEvent(new Event('afterprint'))")

    # withdrawing asks first: "no" keeps the seat, "yes" withdraws it
    await accepted.locator("button.withdraw").click()
    dialog = page.locator("#confirm-withdraw")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text(twin_b)
    await shoot(page, screenshots, "parent-confirm-withdraw")
    await page.click("#confirm-no")
    await expect(dialog).to_be_hidden()
    async with httpx.AsyncClient(base_url=live_server) as http:
        schools = (await http.get("/v1/regions/astana/schools")).json()
        free_before = _free_ru(schools)
        await expect(page.locator("section.decision[data-status=accepted]")).to_have_count(1)
        await page.locator("section.decision[data-status=accepted] button.withdraw").click()
        await page.click("#confirm-yes")
        withdrawn = page.locator(f"section.decision[data-application='{application_id}']")
        await expect(withdrawn).to_have_attribute("data-status", "withdrawn")
        await expect(withdrawn.locator(".decision-text")).to_have_text("Заявление отозвано, место освобождено.")
        schools = (await http.get("/v1/regions/astana/schools")).json()
        free_after = _free_ru(schools)
        assert free_after == free_before + 1


@pytest.mark.browser
async def test_the_waiting_page_counts_down_to_the_opening_and_the_english_form_names_schools(
    live_server: str, browser: Browser, screenshots: Path
) -> None:
    page = await browser.new_page()
    await page.goto(f"{live_server}/rooms/zhetisu?lang=en")  # opens in two days
    await expect(page.locator("#countdown")).to_be_visible()
    clock = page.locator("#countdown-clock")
    first = await clock.inner_text()
    assert first.startswith(("1 d 23:", "2 d 00:")), first
    await expect(clock).not_to_have_text(first, timeout=5_000)  # it ticks
    await expect(page.locator("#announce")).to_have_attribute("aria-live", "polite")
    await shoot(page, screenshots, "parent-countdown")

    # English: the number comes first and the school is named (in Russian: there is no English name)
    await page.set_viewport_size(PHONE)
    await page.goto(f"{live_server}/rooms/astana?lang=en")
    await join_the_queue(page, make_iin(dt.date(1987, 7, 7), True, 77))
    await page.wait_for_url("**/apply/astana?lang=en*", timeout=15_000)
    await expect(page.locator("#school option").first).to_have_text("№5 — Общеобразовательная школа (Астана)")
    select = page.locator("#school")
    box = await select.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= PHONE["width"]
    await expect(page.locator("#school-info")).to_contain_text("Астана")
    await shoot(page, screenshots, "parent-form-en")
