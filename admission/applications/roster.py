"""Pilot para 4: a pre-school roster child is admitted to its own school automatically, in any language.

Para 4 sets no language condition, no age check and no competition.  The
school holds a seat for each roster child in the language it listed; when the
parent asks for another language the held seat moves there (the roster entry
follows the parent's choice), so the child takes it without competing and
the roster language's class set gets the seat back.  When the asked
language's class sets have no room for it, the class's sanitary limit still
binds: ``Readings.roster_language_full`` says what happens then.
"""

from __future__ import annotations

import asyncpg

from admission.db import QUERIES, Connection
from admission.readings import Readings


async def admission_language(
    conn: Connection, school_bin: str, child_iin: str, roster_language: str, asked: str, readings: Readings
) -> str | None:
    """The language a roster child asking for ``asked`` is admitted in; None: refused (class sets full).

    Moves the held seat to ``asked`` when that class set has room for it (one
    statement; the roster trigger moves the hold and the class sets' CHECKs
    refuse an overfull one).
    """
    if asked == roster_language:
        return asked
    try:
        async with conn.transaction():
            await conn.execute(QUERIES["put_roster_entry"], school_bin, child_iin, asked)
    except asyncpg.CheckViolationError:
        return roster_language if readings.roster_language_full == "held_language" else None
    return asked
