"""The API docs render with no internet: every script and style comes from this service."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from faces_helpers import (
    shoot,
)
from playwright.async_api import Browser, Route, expect


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/docs", "/docs/swagger"])
async def test_the_docs_render_with_every_outside_request_blocked(
    live_server: str, browser: Browser, screenshots: Path, path: str
) -> None:
    blocked: list[str] = []

    async def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort("internetdisconnected")

    page = await browser.new_page()
    await page.route("**/*", only_local)
    await page.goto(live_server + path)
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Kezek", timeout=20_000)
    await expect(page.locator(".opblock-tag-section").first).to_be_visible()
    await expect(page.get_by_text("/v1/rooms/{region}/visitors", exact=True).first).to_be_visible()
    assert blocked == []
    if path == "/docs":
        await shoot(page, screenshots, "docs")
