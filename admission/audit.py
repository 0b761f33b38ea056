"""The audit trail: who changed what, old → new, when."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

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


async def entries(
    conn: Connection, region: str | None, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    """Newest first; ``region=None`` is every region (ministry view)."""
    rows = await conn.fetch(QUERIES["list_audit_entries"], region, limit, before_id)
    return [AuditEntry(**dict(r)) for r in rows]


class AuditFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What the admin console filters the log by; None = any."""

    region: str | None = None
    action: str | None = None
    """A prefix: ``room`` matches ``room.settings``."""
    actor: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


async def search(
    conn: Connection, which: AuditFilter, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    """Newest first, filtered."""
    action = which.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") if which.action else None
    rows = await conn.fetch(
        QUERIES["search_audit_entries"], which.region, limit, before_id, action, which.actor, which.since, which.until
    )
    return [AuditEntry(**dict(r)) for r in rows]
