"""Faces test helpers: screenshots at desktop and phone widths.

The fixtures are in this folder's ``conftest.py`` (the app on a real port) and ``tests/conftest.py``
(a headless Chromium).
Screenshots of every page go to ``KEZEK_SCREENSHOTS``
(default ``.kezek/screenshots/``), one file per page and width, for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
ROOT = Path(__file__).resolve().parents[2]


async def shoot(page: Page, folder: Path, name: str) -> None:
    """The page as it is now at desktop width and at phone width (full page), then back to desktop."""
    size = page.viewport_size
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(viewport)
        await page.wait_for_timeout(150)
        await page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
    if size is not None:
        await page.set_viewport_size(size)
