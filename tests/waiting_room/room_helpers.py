"""Waiting-room test helpers: Astana's window, a clock, ИИНs, an open room."""

from __future__ import annotations

import datetime as dt

from admission.iin import make_iin
from admission.reference import KZ
from admission.waiting_room import RoomSettings, WaitingRoom

# Astana's window (pilot annex 2): 2026-05-27 00:00 to 2026-09-01 00:00, UTC+5.
ASTANA_OPENS = dt.datetime(2026, 5, 27, tzinfo=KZ)
ASTANA_CLOSES = dt.datetime(2026, 9, 1, tzinfo=KZ)
DURING = dt.datetime(2026, 6, 1, 10, 0, tzinfo=KZ)


def iins(count: int, start: int = 0) -> list[str]:
    """``count`` distinct valid ИИНs of parents born in the 1980s."""
    out: dict[str, None] = {}
    serial = start
    while len(out) < count:
        out[make_iin(dt.date(1985, 1, 1) + dt.timedelta(days=serial // 5000), serial % 2 == 0, serial % 5000)] = None
        serial += 1
    return list(out)


async def open_room(room: WaitingRoom, region: str = "astana", now: dt.datetime = DURING, **settings: object) -> None:
    """The room with Astana's annex-2 window and the given settings."""
    await room.ensure(region, ASTANA_OPENS, ASTANA_CLOSES, RoomSettings(**settings), now=now)  # type: ignore[arg-type]
