"""Waiting-room fixtures: a room on the real Redis."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from admission.waiting_room import WaitingRoom


@pytest.fixture
def room(redis_client: aioredis.Redis) -> WaitingRoom:
    return WaitingRoom(redis_client)
