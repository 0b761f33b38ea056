"""The one place that names the waiting room's Redis keys.

Every key of a room carries the hash tag ``{room:<region>}``, so a room's
scripts touch one Redis Cluster slot and run unchanged on a cluster.

============  =====  ==========================================================
key           type   holds
============  =====  ==========================================================
``cfg``       hash   settings, window (epoch ms), counters ``head`` (places
                     taken off the queue so far), ``tail`` (places given),
                     ``epoch`` (seconds since 2024 when the room was created:
                     a rebuilt room's is larger), ``gen`` (bumped when the
                     shuffled pre-queue takes its places), ``jseq`` (slots
                     handed out), ``opened``, ``pre_base``, ``hold_until``,
                     ``recover_until``
``q``         list   waiting applicant refs in arrival order
``v``         hash   ref -> ``w|seq|seen``, ``p|seen``, ``s|seen`` or
                     ``a|jti|arrived``
``act``       zset   refs holding a slot, by lease / arrival-grace end (ms)
``frees``     list   times (ms) of the last 200 slot frees (the rate estimate)
``pre``       zset   shuffled pre-queue: refs by a random draw made at the join
``old``       zset   survivors of a lost room: refs by (epoch, place)
``filed:<jti>`` set  the children (refs) one slot filed for; TTL 1 day
``rate:<client>`` string  joins one client made in this room in the current
                     window (flood defence); TTL the window
``altcha:<id>`` string  a proof-of-work challenge already used to join this
                     room; kept until the challenge expires
============  =====  ==========================================================

A ref is the applicant's opaque reference (``applicants.py``), never the ИИН.
Only ``filed:<jti>``, ``rate:<client>`` and ``altcha:<id>`` expire by TTL: a room lives as long as its region;
visitors leave the structures when admitted, skipped, released or expired.
"""

from __future__ import annotations

PREFIX = "kezek:room"


def room_keys(region: str) -> list[str]:
    """The seven keys of ``region``'s room, in the order the Lua scripts expect (``KEYS[1..7]``)."""
    tag = f"{PREFIX}:{{{region}}}"
    return [f"{tag}:cfg", f"{tag}:q", f"{tag}:v", f"{tag}:act", f"{tag}:frees", f"{tag}:pre", f"{tag}:old"]


def filed_key(region: str, jti: str) -> str:
    """The children one slot filed for (a filing's key in ``session.lua``); same hash tag as the room."""
    return f"{PREFIX}:{{{region}}}:filed:{jti}"


def client_key(region: str, client: str) -> str:
    """One client's join counter in ``region``'s room (a KEYS entry of ``join.lua``): counted per room,
    so the count rides the join's own script call on a Redis Cluster too (one slot per room)."""
    return f"{PREFIX}:{{{region}}}:rate:{client}"


def challenge_key(region: str, challenge: str) -> str:
    """The marker of a proof-of-work challenge used to join ``region``'s room (a KEYS entry of ``join.lua``)."""
    return f"{PREFIX}:{{{region}}}:altcha:{challenge}"
