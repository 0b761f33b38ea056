"""The audit trail: who changed what, old → new, when."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from admission import reference
from admission.db import QUERIES, Connection
from admission.signing_keys import AdminPrincipal


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: dt.datetime
    actor: str
    actor_role: str
    action: str
    region_slug: str | None
    target: str
    old_value: Any
    new_value: Any


async def record(
    conn: Connection,
    actor: AdminPrincipal,
    action: str,
    target: str,
    *,
    region: str | None,
    old: Any,
    new: Any,
) -> None:
    """Write one entry; call it in the same transaction as the change it describes."""
    await conn.execute(
        QUERIES["insert_audit_entry"],
        actor.subject,
        actor.role,
        action,
        region,
        target,
        msgspec.to_builtins(old),
        msgspec.to_builtins(new),
    )


class AuditFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What a page of the log is filtered by (the admin API's and the console's); None = any."""

    region: str | None = None
    action: str | None = None
    """A prefix: ``room`` matches ``room.settings``."""
    actor: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    @classmethod
    def of_days(
        cls,
        region: str | None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        action: str | None = None,
        actor: str | None = None,
    ) -> AuditFilter:
        """The filter of a page of the log: ``since`` and ``until`` are days in Kazakhstan (UTC+5), both
        included; empty texts are no filter (a form's blank field)."""
        return cls(
            region=region or None,
            action=action or None,
            actor=actor or None,
            since=_day_start(since) if since else None,
            until=_day_start(until) + dt.timedelta(days=1) if until else None,
        )


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), reference.KZ)


async def search(
    conn: Connection, which: AuditFilter, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    """Newest first, filtered; ``before_id`` pages back (the last id of the page before)."""
    action = which.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") if which.action else None
    rows = await conn.fetch(
        QUERIES["search_audit_entries"], which.region, limit, before_id, action, which.actor, which.since, which.until
    )
    return [AuditEntry(**dict(r)) for r in rows]
