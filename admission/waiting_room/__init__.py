"""The waiting room (pilot algorithm para 5): a fair Redis-backed queue per region that caps
how many applications are processed at once.

``WaitingRoom`` is the room in Redis; ``tickets`` signs visitors' places; ``visitors`` is the
service the HTTP edge calls (join, poll from a per-worker snapshot, heartbeat, leave).
"""

from __future__ import annotations

from admission.waiting_room.room import Place, RoomSettings, RoomState, SweepReport, WaitingRoom, WindowRefusal

__all__ = ["Place", "RoomSettings", "RoomState", "SweepReport", "WaitingRoom", "WindowRefusal"]
