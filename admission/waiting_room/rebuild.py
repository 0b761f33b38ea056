"""A room Redis lost is rebuilt so that nobody holding a ticket or a slot loses it.

PostgreSQL keeps each room's epoch (``room_epochs``).  When a worker finds a
region's room missing in Redis (at start-up, or its sweeper sees it gone), it
creates it with an epoch above the recorded one; and if a room was recorded
there -- Redis lost it, visitors may hold its tickets and tokens -- with a
recovery grace (``RECOVERY_SECONDS``, longer than the longest suggested poll
interval, 36 s) during which nobody new is admitted.  Within it every waiting
visitor's next poll re-seats it at the place its signed ticket names (in the
lost room's order, ahead of anyone who joined since) and every admitted one's
heartbeat or filing takes its slot back (the access token's ``jti`` names the
slot and the lost epoch), so the slots never exceed ``max_active``.
"""

from __future__ import annotations

import datetime as dt
import logging

from admission.db import QUERIES, Connection
from admission.waiting_room.room import RoomCreated, RoomSettings, WaitingRoom, epoch_at, epoch_number

log = logging.getLogger("kezek.waiting_room")

RECOVERY_SECONDS = 45.0
"""A rebuilt room admits nobody new for this long: every poll (≤ 36 s apart) and heartbeat comes back first."""


async def ensure_room(
    room: WaitingRoom,
    conn: Connection,
    region: str,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    defaults: RoomSettings | None = None,
    now: dt.datetime | None = None,
    recovery_seconds: float = RECOVERY_SECONDS,
) -> RoomCreated:
    """Create ``region``'s room if Redis does not have it (as a rebuild when PostgreSQL says it had one)."""
    moment = now or dt.datetime.now(dt.UTC)
    recorded: int | None = await conn.fetchval(QUERIES["room_epoch"], region)
    result = await room.ensure(
        region,
        opens_at,
        closes_at,
        defaults,
        moment,
        epoch=max(epoch_at(moment), (recorded or 0) + 1),
        recovery_seconds=recovery_seconds if recorded is not None else 0,
    )
    epoch = epoch_number(result.epoch)
    if result.created and recorded is not None:
        log.warning(
            "room %s was lost by Redis: rebuilt as epoch %s; nobody new is admitted for %.0f s",
            region, epoch, recovery_seconds,
        )  # fmt: skip
    if epoch and epoch != recorded:
        await conn.execute(QUERIES["record_room_epoch"], region, epoch)
    return result
