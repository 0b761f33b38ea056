"""Security headers (issue 12): no page may be framed, no response sniffed, and the parents' pages
and the API docs still work in a real Chromium under their Content-Security-Policy."""

from __future__ import annotations

import re

import httpx
import pytest
from browser_helpers import join_the_queue
from playwright.async_api import Browser, ConsoleMessage, expect
from room_helpers import iins

PAGES = ("/rooms/astana?lang=en", "/apply/astana?lang=en", "/docs", "/docs/swagger")


@pytest.mark.browser
async def test_pages_work_under_their_csp_and_refuse_framing(live_server: str, browser: Browser) -> None:
    async with httpx.AsyncClient(base_url=live_server) as http:
        for path in ("/v1/regions", "/v1/nothing-here", *PAGES):
            response = await http.get(path)
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert response.headers["x-frame-options"] == "DENY", path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
        page_html = await http.get("/rooms/astana")
        csp = page_html.headers["content-security-policy"]
        nonce = re.search(r"'nonce-([^']+)'", csp)
        assert nonce is not None
        assert "unsafe-inline" not in csp
        # every executable script is a file of this origin; the only inline one is the page's JSON data
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page_html.text)
        assert inline == [' id="config" type="application/json"']
        assert '<script src="/assets/pages/room.js"' in page_html.text
        assert nonce.group(1) not in (await http.get("/rooms/astana")).headers["content-security-policy"]

    page = await browser.new_page()
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", watch)
    for path in PAGES:
        await page.goto(f"{live_server}{path}")
    # The waiting page's script runs: it joins and shows the place.
    await page.goto(f"{live_server}/rooms/astana?lang=en")
    await join_the_queue(page, iins(1, start=900)[0])
    await page.wait_for_url("**/apply/astana?lang=en#access_token=*", timeout=15_000)
    assert violations == []
    await expect(page.locator("body")).to_contain_text("Applicant (IIN)")  # filled in by apply.js
    # And nobody frames the page: Chromium refuses to render it inside another origin's frame.
    frames: list[str] = []
    page.on("console", lambda message: frames.append(message.text))
    await page.set_content(f'<iframe src="{live_server}/rooms/astana"></iframe>')
    await page.wait_for_timeout(500)
    assert await page.frames[1].locator("#iin").count() == 0  # Chromium's error page, not ours
    assert any("frame-ancestors" in text or "X-Frame-Options" in text for text in frames), frames
