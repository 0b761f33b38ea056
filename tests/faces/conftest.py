"""Fixtures of the faces tests: the app on a real port with Astana open now, the screenshots folder
(``KEZEK_SCREENSHOTS``, default ``.kezek/screenshots/``); the headless Chromium is ``tests/conftest.py``'s."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import msgspec
import pytest
from faces_helpers import ROOT

from admission import reference
from admission.signing_keys import KeySet
from devservices import in_thread
from queue_service.app import create_app
from queue_service.settings import Settings


@pytest.fixture(name="open_windows")
async def open_windows_fixture(database_url: str) -> None:
    """Astana's window opens now (as demo mode does); Zhetisu's in two days."""
    conn = await asyncpg.connect(database_url)
    try:
        now = dt.datetime.now(dt.UTC)
        await reference.open_demo_window(conn, "astana", now - dt.timedelta(minutes=1))
        await reference.set_window(conn, "zhetisu", now + dt.timedelta(days=2), now + dt.timedelta(days=30))
    finally:
        await conn.close()


@pytest.fixture(name="live_server")
def live_server_fixture(settings: Settings, keys: KeySet, open_windows: None) -> Iterator[str]:
    """The app on a real port (uvicorn in a thread); rooms swept often so the pages move quickly."""
    fast = msgspec.structs.replace(settings, room_snapshot_ms=100, room_sweep_ms=200, schools_cache_seconds=0)
    with in_thread(create_app(fast, keys=keys), name="live-server") as url:
        yield url


@pytest.fixture(scope="session", name="screenshots")
def screenshots_fixture() -> Path:
    folder = Path(os.environ.get("KEZEK_SCREENSHOTS") or ROOT / ".kezek" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
