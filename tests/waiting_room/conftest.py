"""Waiting-room fixtures: a room on the real Redis; an app whose Astana room is open now (in-process, on a port)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator

import asyncpg
import msgspec
import pytest
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient
from room_helpers import live_app

from admission import reference
from admission.signing_keys import KeySet, mint_admin_token
from admission.waiting_room import WaitingRoom
from admission.waiting_room.applicants import ApplicantRefs
from admission.waiting_room.tickets import derive_ticket_secret
from queue_service.app import create_app
from queue_service.settings import Settings


@pytest.fixture
def room(redis_client: aioredis.Redis) -> WaitingRoom:
    return WaitingRoom(redis_client)


@pytest.fixture
async def astana_open_now(database_url: str) -> None:
    """Astana's window in PostgreSQL opens now (as demo mode does); read by the app at start-up."""
    conn = await asyncpg.connect(database_url)
    try:
        await reference.open_demo_window(conn, "astana", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        await reference.set_window(
            conn,
            "zhetisu",
            dt.datetime.now(dt.UTC) + dt.timedelta(days=2),
            dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
        )
    finally:
        await conn.close()


@pytest.fixture
async def rooms(settings: Settings, keys: KeySet, astana_open_now: None) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A client of an app whose Astana room is open now and answers polls from a fresh snapshot."""
    app = create_app(msgspec.structs.replace(settings, room_snapshot_ms=0, room_sweep_ms=100), keys=keys)
    async with AsyncTestClient(app=app) as client:
        yield client


@pytest.fixture
def ministry(keys: KeySet) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_admin_token(keys, 'minister', 'ministry')}"}


@pytest.fixture
def refs(keys: KeySet) -> ApplicantRefs:
    """The applicant references the app's room keeps (its ticket secret is derived from ``keys``)."""
    return ApplicantRefs(derive_ticket_secret("", keys.raw_private))


@pytest.fixture
def live_server(settings: Settings, keys: KeySet, astana_open_now: None) -> Iterator[str]:
    """The app on a real port (uvicorn in a thread), Astana open now."""
    with live_app(settings, keys) as url:
        yield url
