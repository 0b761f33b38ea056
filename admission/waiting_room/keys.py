"""The one place that names the waiting room's Redis keys.

Every key of a room carries the hash tag ``{room:<region>}``, so a room's
scripts touch one Redis Cluster slot and run unchanged on a cluster.

============  =====  ==========================================================
key           type   holds
============  =====  ==========================================================
``cfg``       hash   settings, window (epoch ms), counters ``head`` (places
                     taken off the queue so far), ``tail`` (places given),
                     ``epoch`` (the room's random id), ``gen`` (bumped when
                     the pre-queue is shuffled), ``jseq`` (slots handed out),
                     ``opened``
``q``         list   waiting ИИНs in admission order
``v``         hash   ИИН -> ``w|seq|last_seen_s`` or ``a|jti|arrived``
``act``       zset   admitted ИИНs by lease / arrival-grace deadline (ms)
``frees``     list   times (ms) of the last 200 slot frees (the rate estimate)
============  =====  ==========================================================

Nothing expires by TTL: a room lives as long as its region; visitors leave
the structures when admitted, skipped, released or expired.
"""

from __future__ import annotations

PREFIX = "kezek:room"


def room_keys(region: str) -> list[str]:
    """The five keys of ``region``'s room, in the order the Lua scripts expect (``KEYS[1..5]``)."""
    tag = f"{PREFIX}:{{{region}}}"
    return [f"{tag}:cfg", f"{tag}:q", f"{tag}:v", f"{tag}:act", f"{tag}:frees"]
