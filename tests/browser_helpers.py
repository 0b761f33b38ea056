"""A headless Chromium for the page tests, and the steps a parent takes on the parents' pages.

The ``browser`` fixture (one Chromium per test) is in ``tests/conftest.py``.
"""

from __future__ import annotations

from playwright.async_api import Locator, Page, expect

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


async def join_the_queue(page: Page, parent: str) -> None:
    """On the waiting page: the parent types their ИИН and joins."""
    await page.fill("#iin", parent)
    await page.click("#join button[type=submit]")


async def refused_then_accepted(
    page: Page, child: str, again: str, school: str, language: str
) -> tuple[Locator, Locator]:
    """On the application form: ``child`` without the consent line, then ``again`` (the same child or a
    twin) with it. Returns the two decisions' sections, the refusal and the acceptance, for the test to read."""

    async def file(iin: str, *, consent: bool) -> None:
        await page.fill("#child", iin)
        await page.select_option("#school", school)
        await page.select_option("#language", language)
        if consent:
            await page.check("#consent")
        await page.click("#application button[type=submit]")

    await file(child, consent=False)
    refused = page.locator("section.decision[data-status=refused]")
    await expect(refused).to_be_visible()  # decided before the parent goes on
    await page.click("#another")
    await file(again, consent=True)
    return refused, page.locator("section.decision[data-status=accepted]")
